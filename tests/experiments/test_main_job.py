"""``similar reproduce``: the stage runner (skip, resume, start over) and a quick run end to end."""

import json
import time
from pathlib import Path

import pytest

from experiments import main_job
from experiments.cli import build_parser, main


def _fake_stages(calls, fail=None):
    """Three stages that write ``<name>/out.txt``; ``fail[name]`` interrupts a call once."""
    fail = fail if fail is not None else {}

    def make(name):
        def run(config, out):
            calls.append(name)
            folder = out / name
            folder.mkdir(exist_ok=True)
            (folder / "partial.txt").touch()
            if fail.pop(name, False):
                raise KeyboardInterrupt
            (folder / "out.txt").write_text(str(config.seed))
            return {"n": len(calls)}

        return main_job.Stage(
            name,
            f"stage {name}",
            name,
            run,
            lambda c, o: {"seed": c.seed} if name == "a" else {},
            lambda o: [o / name / "out.txt"],
        )

    return tuple(make(n) for n in ("a", "b", "c"))


def test_stages_skip_resume_and_start_over(tmp_path, monkeypatch, capsys):
    calls = []
    fail = {"b": True}
    monkeypatch.setattr(main_job, "STAGES", _fake_stages(calls, fail))
    config = main_job.ReproduceConfig()
    with pytest.raises(KeyboardInterrupt):
        main_job.run_stages(config, tmp_path, "cmd")
    state = main_job.load_state(tmp_path)
    assert calls == ["a", "b"]
    assert state["stages"]["a"]["status"] == "done"
    assert state["stages"]["b"]["status"] == "running"
    assert "c" not in state["stages"]

    # The interrupted stage resumes in its folder; the stages after it run.
    state = main_job.run_stages(config, tmp_path, "cmd")
    assert calls == ["a", "b", "b", "c"]
    assert state["stages"]["b"]["calls"] == 2
    assert all(e["status"] == "done" for e in state["stages"].values())
    assert "b: stage b: resuming" in capsys.readouterr().out

    # Done and complete: a no-op.
    main_job.run_stages(config, tmp_path, "cmd")
    assert calls == ["a", "b", "b", "c"]
    assert capsys.readouterr().out.count("skipped") == 3

    # A missing output reruns that stage (resumed) and everything after it, from scratch.
    (tmp_path / "b" / "out.txt").unlink()
    main_job.run_stages(config, tmp_path, "cmd")
    assert calls[4:] == ["b", "c"]
    assert main_job.load_state(tmp_path)["stages"]["c"]["calls"] == 1

    # Other settings: the stage starts over in a cleared folder, and so do the later ones.
    (tmp_path / "a" / "stray.txt").touch()
    state = main_job.run_stages(main_job.ReproduceConfig(seed=1), tmp_path, "cmd")
    assert calls[6:] == ["a", "b", "c"]
    assert not (tmp_path / "a" / "stray.txt").exists()
    assert (tmp_path / "a" / "out.txt").read_text() == "1"
    assert [state["stages"][n]["calls"] for n in "abc"] == [1, 1, 1]
    assert main_job.total_seconds(state) >= 0


def test_rolling_success():
    episodes = [{"step": s, "success": ok} for s, ok in ((3, True), (7, False), (9, False))]
    assert main_job.rolling_success(episodes, 2) == ([3, 7, 9], [1.0, 0.5, 0.0])


def test_options_quick_and_bad_folder(tmp_path, capsys):
    parser = build_parser()
    args = parser.parse_args(["reproduce", "--quick", "--ppo-timesteps", "64"])
    config = main_job.config_from_args(args)
    assert config.ppo_timesteps == 64
    assert config.max_depth == main_job.QUICK["max_depth"]
    assert main_job.config_from_args(parser.parse_args(["reproduce"])) == (
        main_job.ReproduceConfig()
    )
    assert "--quick" in main_job.command_line(args)
    (tmp_path / "precious.txt").touch()
    assert main(["reproduce", "--out", str(tmp_path), "--fresh"]) == 2
    assert "not a run folder" in capsys.readouterr().err
    assert (tmp_path / "precious.txt").exists()


def test_similar_shaping_reaches_the_similar_run_and_is_checked(tmp_path):
    args = build_parser().parse_args(["reproduce", "--similar-shaping", "none"])
    configs = main_job.ppo_configs(main_job.config_from_args(args), tmp_path)
    assert configs["similar"].similar_shaping == "none"
    default = main_job.ReproduceConfig()
    assert default.similar_shaping == "potential"
    assert main_job.ppo_configs(default, tmp_path)["similar"].similar_shaping == "potential"
    with pytest.raises(ValueError, match="similar_shaping must be one of"):
        main_job.ReproduceConfig(similar_shaping="linear")


@pytest.mark.slow
def test_reproduce_quick_end_to_end_then_noop(tmp_path, capsys):
    out = tmp_path / "reproduce"
    assert main(["reproduce", "--out", str(out), "--quick"]) == 0
    printed = capsys.readouterr().out
    state = json.loads((out / "stages.json").read_text())
    names = [s.name for s in main_job.STAGES]
    assert list(state["stages"]) == names
    assert all(state["stages"][n]["status"] == "done" for n in names)
    report = (out / "report.md").read_text()
    for heading in ("## Wall clock", "| model | H | OS | E | TR | C | total | average |"):
        assert heading in report
    for row in ("| Similar (this run) |", "| random |", "| heuristic |", "| sparse |"):
        assert row in report
    assert "| similar |" in report and "tensorboard --logdir" in report
    for png in ("srmeval/accuracy.png", "ppo/success.png"):
        assert f"]({png})" in report
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for folder in main_job.tensorboard_dirs(out):
        assert any(Path(folder).glob("events.out.tfevents.*"))
    assert str(out / "report.md") in printed

    start = time.perf_counter()
    assert main(["reproduce", "--out", str(out), "--quick"]) == 0
    assert time.perf_counter() - start < 20
    printed = capsys.readouterr().out
    assert printed.count("skipped") == len(names)
    assert json.loads((out / "stages.json").read_text())["stages"] == state["stages"]
