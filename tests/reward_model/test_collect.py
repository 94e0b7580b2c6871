"""``collect``: units, resuming after an interruption, merging into the SRM files."""

import json

import pandas as pd
import pytest

from reward_model.collect import collect, finalize, resolve_units, unit_key
from reward_model.mcts_p_config import HELDOUT_TEMPLATES, MCTSPConfig, preset
from similar_gym.srm_data import read_pairs, read_steps


def small(**kw):
    base = dict(
        tasks=("mail/archive-from", "calendar/delete-event"),
        instances_per_task=1,
        max_depth=3,
        root_rollouts=1,
        rollouts_per_candidate=1,
        num_candidates=3,
        judge="oracle",
        workers=1,
        screenshot_size=(240, 320),
    )
    base.update(kw)
    return MCTSPConfig(**base)


def test_units_and_splits():
    cfg = preset("srmeval-web-v2")
    units = resolve_units(cfg)
    tasks = {t for t, _ in units}
    assert tasks == set(cfg.heldout_templates) | set(cfg.heldout_miniwob)
    own = [u for u in units if not u[0].startswith("miniwob/")]
    assert len(own) == len(cfg.heldout_templates) * cfg.instances_per_task
    assert len(units) - len(own) == len(cfg.heldout_miniwob) * cfg.miniwob_instances_per_task
    train = {t for t, _ in resolve_units(preset("srmtrain"))}
    assert not train & tasks, "SRMTrain never sees SRMEval's tasks"
    assert cfg.split_of(HELDOUT_TEMPLATES[0]) == "heldout-templates"
    assert cfg.split_of("miniwob/click-button") == "train"
    assert unit_key(("mail/archive-from", 3)) == "mail__archive-from__3"


def test_v1_presets_keep_the_v1_policies():
    # The first release's data stay reproducible after the defaults moved to oracle rollouts.
    for name in ("srmeval-web-v1", "srmtrain-v1"):
        cfg = preset(name)
        assert cfg.rollout_policy == "oracle:0.05"
        assert (cfg.miniwob_proposer, cfg.miniwob_rollout_policy) == ("random", "random")
    for name in ("srmeval-web-v2", "srmtrain"):
        cfg = preset(name)
        assert cfg.rollout_policy == cfg.miniwob_rollout_policy == "oracle:0"
    assert resolve_units(preset("srmtrain-v1")) == resolve_units(preset("srmtrain"))


def test_config_validation():
    with pytest.raises(ValueError, match="num_candidates"):
        MCTSPConfig(num_candidates=1)
    with pytest.raises(ValueError, match="judge_url"):
        MCTSPConfig(judge="llm")
    with pytest.raises(ValueError, match="unknown task"):
        resolve_units(MCTSPConfig(heldout_templates=("shop/no-such-template",)))
    with pytest.raises(KeyError, match="unknown preset"):
        preset("nope")


def test_interrupted_run_resumes_without_redoing_or_losing(tmp_path):
    out = tmp_path / "run"
    seen = []

    def crash_after_first(stats):
        seen.append(stats["task"])
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        collect(small(), out, progress=False, on_unit=crash_after_first)
    assert seen == ["mail/archive-from"]
    first = read_steps(out / "parts" / "mail__archive-from__0.parquet")
    assert first.num_rows > 0

    again = []
    report = collect(small(), out, progress=False, on_unit=lambda s: again.append(s["task"]))
    assert again == ["calendar/delete-event"], "the finished unit is not redone"
    assert (report.skipped, report.done, report.units) == (1, 1, 2)
    assert read_steps(out / "parts" / "mail__archive-from__0.parquet").equals(first)

    with pytest.raises(ValueError, match="another config"):
        collect(small(max_depth=4), out, progress=False)

    manifest = finalize(out, command=["similar", "collect"])
    steps = read_steps(out / "steps.parquet")
    pairs = read_pairs(out / "pairs.parquet")
    assert manifest["steps"] == steps.num_rows > 0
    assert manifest["pairs"] == pairs.num_rows > 0
    assert manifest["units_done"] == 2 and manifest["command"] == "similar collect"
    assert set(manifest["versions"]) >= {"python", "playwright", "chromium", "torch"}
    assert json.loads((out / "manifest.json").read_text()) == manifest
    df = pd.read_parquet(out / "pairs.parquet")
    assert set(df["type"]) <= {"H", "OS", "E", "TR", "C", "total"}
    assert (df["split"] == "train").all()


def test_a_finished_run_grows_with_more_instances(tmp_path):
    out = tmp_path / "run"
    one = dict(tasks=("mail/archive-from",), max_depth=2)
    collect(small(**one), out, progress=False)
    first = read_steps(out / "parts" / "mail__archive-from__0.parquet")
    grown = []
    report = collect(
        small(**one, instances_per_task=2), out, progress=False, on_unit=lambda s: grown.append(s)
    )
    assert [s["seed"] for s in grown] == [1] and (report.skipped, report.done) == (1, 1)
    assert read_steps(out / "parts" / "mail__archive-from__0.parquet").equals(first)
    assert finalize(out, command=["similar", "collect"])["units_done"] == 2
    # A fresh run of the grown config gives the same records as growing: units are independent.
    fresh = tmp_path / "fresh"
    collect(small(**one, first_instance_seed=1), fresh, progress=False)
    a = read_steps(out / "parts" / "mail__archive-from__1.parquet").to_pandas()
    b = read_steps(fresh / "parts" / "mail__archive-from__1.parquet").to_pandas()
    pd.testing.assert_frame_equal(a.drop(columns=["image"]), b.drop(columns=["image"]))
    assert (out / "srmtrain" / "pairs.parquet").exists()
    assert not (out / "srmeval").exists()
    lines = (out / "trajectories.jsonl").read_text().splitlines()
    assert lines and all(json.loads(x)["actions"] for x in lines)
