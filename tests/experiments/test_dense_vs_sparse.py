"""The dense-vs-sparse study: curves, sample efficiency, table and plot from run logs."""

import json

import numpy as np
import pytest

from experiments import dense_vs_sparse as dvs


def write_run(config, algo, reward, task, seed, successes, length=4):
    folder = dvs.run_folder(config, algo, reward, task, seed)
    folder.mkdir(parents=True)
    rows = [
        {"step": (i + 1) * length, "return": 0.0, "length": length, "success": bool(s)}
        for i, s in enumerate(successes)
    ]
    (folder / "episodes.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = {"global_step": len(rows) * length}
    (folder / "summary.json").write_text(json.dumps(summary))


def test_success_curve_bins_episodes_by_the_step_they_ended():
    eps = [{"step": s, "success": ok} for s, ok in [(4, 0), (8, 1), (12, 1), (30, 0)]]
    curve = dvs.success_curve(eps, total=32, bin_steps=8)
    assert curve[:2].tolist() == [0.5, 1.0] and np.isnan(curve[2]) and curve[3] == 0.0
    assert dvs.final_rate(eps, 32) == 0.0 and np.isnan(dvs.final_rate([], 32))
    assert dvs.steps_to_reach(np.array([np.nan, 0.2, 0.6]), 0.5, 10) == 30
    assert dvs.steps_to_reach(np.array([0.1, 0.2]), 0.5, 10) is None


@pytest.fixture
def study(tmp_path):
    config = dvs.DenseVsSparseConfig(
        tasks=("a/x", "b/y"),
        algos=("ppo",),
        seeds=(0, 1, 2),
        total_timesteps=64,
        bin_steps=16,
        out=str(tmp_path),
    )
    for seed in config.seeds:
        # a/x: sparse learns late (final 1.0); similar succeeds from step 16 on.
        write_run(config, "ppo", "sparse", "a/x", seed, [0] * 12 + [1] * 4)
        write_run(config, "ppo", "similar", "a/x", seed, [0] * 4 + [1] * 12)
        # b/y: sparse never succeeds.
        write_run(config, "ppo", "sparse", "b/y", seed, [0] * 16)
        write_run(config, "ppo", "similar", "b/y", seed, [0] * 8 + [1] * 8)
    return config


def test_a_sparse_run_that_never_learns_gives_a_floor_not_a_speed_up(study):
    floor = dvs.DenseVsSparseConfig(**{**study.to_dict(), "tasks": ("c/z",), "out": study.out})
    for seed in floor.seeds:
        # c/z: sparse stays at 25 % from its first bin on; similar climbs from 25 % to 100 %.
        write_run(floor, "ppo", "sparse", "c/z", seed, [1, 0, 0, 0] * 4)
        write_run(floor, "ppo", "similar", "c/z", seed, [1, 0, 0, 0] + [1] * 12)
    results = dvs.summarize(floor)
    (c,) = results["cells"]
    assert c["efficiency"] == 4.0 and c["floor"] and c["note"].startswith("floor: sparse's first")
    assert results["cells_with_ratio"] == 0 and results["cells_meeting_2x"] == 0
    assert results["cells_floor"] == 1 and "at the floor (not counted): 1" in dvs.markdown_table(
        results
    )


def test_an_early_sparse_plateau_meets_2x_on_the_budget_but_not_head_to_head(study):
    plateau = dvs.DenseVsSparseConfig(**{**study.to_dict(), "tasks": ("d/w",), "out": study.out})
    for seed in plateau.seeds:
        # d/w: both rewards reach 50 % in their second bin (step 32) and stay there.
        for reward in ("sparse", "similar"):
            write_run(plateau, "ppo", reward, "d/w", seed, [0] * 4 + [1, 0] * 6)
    results = dvs.summarize(plateau)
    (c,) = results["cells"]
    assert (c["steps_to_sparse_final"], c["efficiency"]) == (32, 2.0)
    assert (c["sparse_steps_to_final"], c["head_to_head"]) == (32, 1.0)
    assert results["cells_meeting_2x"] == 1 and results["cells_meeting_2x_head_to_head"] == 0
    assert "| 32 | 2.00x | 32 | 1.00x |" in dvs.markdown_table(results)


def test_summary_measures_sample_efficiency_and_says_when_it_cannot(study):
    results = dvs.summarize(study)
    cells = {c["task"]: c for c in results["cells"]}
    a = cells["a/x"]
    assert a["rewards"]["sparse"]["final_success"] == 1.0
    assert a["rewards"]["similar"]["curve_mean"] == [0.0, 1.0, 1.0, 1.0]
    assert a["steps_to_sparse_final"] == 32 and a["efficiency"] == 2.0
    assert a["rewards"]["similar"]["curve_lo"] == a["rewards"]["similar"]["curve_mean"]
    b = cells["b/y"]
    assert b["efficiency"] is None and "never succeeded" in b["note"]
    assert results["cells_with_ratio"] == 1 and results["cells_meeting_2x"] == 1
    table = dvs.markdown_table(results)
    assert "| ppo | a/x | 3/3 | 100.0 | 100.0 | 32 | 2.00x | 64 | 2.00x |" in table
    assert a["sparse_steps_to_final"] == 64 and results["cells_meeting_2x_head_to_head"] == 1
    assert "nothing to reach" in table


def test_unfinished_runs_do_not_count(study):
    unfinished = dvs.run_folder(study, "ppo", "similar", "b/y", 1) / "summary.json"
    unfinished.write_text(json.dumps({"global_step": 32}))
    cells = {c["task"]: c for c in dvs.summarize(study)["cells"]}
    assert cells["b/y"]["rewards"]["similar"]["seeds"] == 2
    for seed in study.seeds:
        (dvs.run_folder(study, "ppo", "sparse", "a/x", seed) / "summary.json").unlink()
    a = {c["task"]: c for c in dvs.summarize(study)["cells"]}["a/x"]
    assert a["rewards"]["sparse"]["seeds"] == 0 and a["efficiency"] is None
    assert "| ppo | a/x | 0/3 | - | 100.0 |" in dvs.markdown_table(dvs.summarize(study))


def test_run_on_finished_runs_writes_results_table_and_plot(study, monkeypatch):
    monkeypatch.setattr(dvs, "run_all", lambda config, progress: None)
    results = dvs.run(study, progress=False)
    out = dvs.Path(study.out)
    assert json.loads((out / "results.json").read_text())["cells"] == json.loads(
        json.dumps(results["cells"])
    )
    assert (out / "table.md").read_text().startswith("64 env steps per run")
    assert (out / "curves.png").stat().st_size > 10_000
    changed = dvs.DenseVsSparseConfig(**{**study.to_dict(), "total_timesteps": 128})
    with pytest.raises(FileExistsError, match="another budget"):
        dvs.run(changed, progress=False)


def test_finished_runs_are_skipped(study, monkeypatch):
    calls = []
    monkeypatch.setattr("agents.ppo.train_ppo", lambda *a, **k: calls.append(a))
    dvs.run_all(study, progress=False)
    assert calls == [], "every run already has a summary with the full budget"


def test_the_dense_reward_compared_is_the_first_that_is_not_sparse(study):
    config = dvs.DenseVsSparseConfig(**{**study.to_dict(), "rewards": ("sparse", "similar-only")})
    for seed in config.seeds:  # a/x: similar-only reaches the sparse final rate at step 48
        write_run(config, "ppo", "similar-only", "a/x", seed, [0] * 8 + [1] * 8)
    results = dvs.summarize(config)
    a = {c["task"]: c for c in results["cells"]}["a/x"]
    assert a["steps_to_sparse_final"] == 48 and a["efficiency"] == pytest.approx(1.33)
    table = dvs.markdown_table(results)
    assert "similar-only final %" in table and "| ppo | a/x | 3/3 | 100.0 | 100.0 | 48 |" in table
    assert dvs.dense_reward(("sparse", "similar")) == "similar"


def test_the_grpo_weighting_reaches_the_runs_and_guards_the_study(study):
    config = dvs.DenseVsSparseConfig(
        **{
            **study.to_dict(),
            "grpo_process_weight": 0.25,
            "grpo_process_to_go": False,
            "grpo_process_decay_steps": 512,
        }
    )
    grpo = dvs.agent_config(config, "grpo", "similar", "a/x", 0)
    assert (grpo.process_weight, grpo.process_to_go, grpo.process_decay_steps) == (0.25, False, 512)
    ppo = dvs.agent_config(config, "ppo", "similar", "a/x", 0)
    assert not hasattr(ppo, "process_weight") and ppo.similar_decay_steps == 0
    ppo_decay = dvs.DenseVsSparseConfig(**{**study.to_dict(), "ppo_similar_decay_steps": 256})
    assert dvs.agent_config(ppo_decay, "ppo", "similar", "a/x", 0).similar_decay_steps == 256
    shaped = dvs.DenseVsSparseConfig(
        **{**study.to_dict(), "similar_shaping": "potential", "grpo_process_to_go": False}
    )
    for algo in ("ppo", "grpo"):
        assert dvs.agent_config(shaped, algo, "similar", "a/x", 0).similar_shaping == "potential"
    dvs.DenseVsSparseConfig.save(study, dvs.Path(study.out) / "settings.json")
    for changed in (config, shaped):
        with pytest.raises(FileExistsError, match="reward weighting"):
            dvs.run(changed, progress=False)


def test_the_final_rates_are_compared_with_welchs_t_test(study):
    config = dvs.DenseVsSparseConfig(**{**study.to_dict(), "tasks": ("e/v",), "out": study.out})
    # Last quarter (4 episodes) per seed: similar 0.5 / 0.75 / 1.0, sparse 0 / 0.25 / 0.25.
    for seed, (dense, sparse) in enumerate([(2, 0), (3, 1), (4, 1)]):
        write_run(config, "ppo", "similar", "e/v", seed, [0] * 12 + [1] * dense + [0] * (4 - dense))
        write_run(
            config, "ppo", "sparse", "e/v", seed, [0] * 12 + [1] * sparse + [0] * (4 - sparse)
        )
    results = dvs.summarize(config)
    (c,) = results["cells"]
    # Welch: t = (0.75 - 1/6) / sqrt(0.0625 / 3 + 0.0208 / 3) = 3.5 with 3.2 degrees of freedom.
    assert c["welch"] == {"t": 3.5, "df": 3.2, "p": pytest.approx(0.0357, abs=1e-4)}
    assert "| 0.036 |" in dvs.markdown_table(results)
    # Every seed the same on both sides: no test, and the table says so.
    same = {c["task"]: c for c in dvs.summarize(study)["cells"]}["a/x"]
    assert same["welch"] is None and "| 2.00x | - |" in dvs.markdown_table(dvs.summarize(study))
    assert dvs.welch([0.5], [0.1, 0.2]) is None
