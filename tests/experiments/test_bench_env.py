"""Smoke tests of ``similar bench env`` (experiments/bench_env.py) with tiny budgets."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from experiments import bench_env
from similar_gym.browser import default_executable

needs_chromium = pytest.mark.skipif(default_executable() is None, reason="no Chromium here")


def _record(system: str, task: str, mode: str, steps_per_s: float, reset_ms: float) -> dict:
    return {
        "system": system,
        "task": task,
        "mode": mode,
        "status": "ok",
        "steps_per_s": steps_per_s,
        "median_reset_ms": reset_ms,
    }


def test_summarize_ratios_and_targets() -> None:
    results = [
        _record("similar", "miniwob/a", "single", 40.0, 50.0),
        _record("similar", "miniwob/b", "single", 32.0, 120.0),
        _record("farama", "miniwob/a", "single", 4.0, 200.0),
        _record("farama", "miniwob/b", "single", 8.0, 200.0),
        {
            "system": "browsergym",
            "task": "miniwob/a",
            "mode": "single",
            "status": "skipped",
            "reason": "not installed",
        },
    ]
    summary = bench_env.summarize(results)
    ratios = summary["ratios"]["similar/farama"]["single"]
    assert ratios["miniwob/a"] == pytest.approx(10.0)
    assert ratios["miniwob/b"] == pytest.approx(4.0)
    assert ratios["geomean"] == pytest.approx(40.0**0.5)
    targets = summary["targets"]
    assert targets["single_env_steps_per_s"]["met"] is True
    assert targets["single_env_steps_per_s"]["worst_task"] == "miniwob/b"
    assert targets["median_reset_ms"]["met"] is False
    assert targets["speedup_vs_farama"]["met"] is True
    assert targets["speedup_vs_browsergym"]["met"] is None
    assert "similar/browsergym" not in summary["ratios"]
    meta = {"note": None, "load_avg_before": [9.0], "load_avg_after": [1.0], "cpu_count": 2}
    text = bench_env.format_report({"results": results, "summary": summary, "meta": meta})
    assert "NOT MET" in text and "skipped: not installed" in text and "busy" in text


def test_plan_runs_peers_on_miniwob_only_and_interleaves_systems() -> None:
    parser = argparse.ArgumentParser()
    bench_env.add_arguments(parser)
    args = parser.parse_args(["--modes", "single"])
    jobs = bench_env.plan(args, ["shop/buy-product", "miniwob/click-test"])
    assert [(j.system, j.task) for j in jobs] == [
        ("similar", "shop/buy-product"),
        *((s, "miniwob/click-test") for s in bench_env.SYSTEMS),
    ]
    farama = next(j for j in jobs if j.system == "farama")
    assert (farama.steps, farama.resets) == (args.peer_steps, args.peer_resets)


def test_viewport_option() -> None:
    parser = argparse.ArgumentParser()
    bench_env.add_arguments(parser)
    assert parser.parse_args(["--viewport", "320x240"]).viewport == (320, 240)
    with pytest.raises(SystemExit):
        parser.parse_args(["--viewport", "big"])


@needs_chromium
@pytest.mark.timeout(180)
def test_bench_runs_ours_and_skips_a_missing_peer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A `browsergym` that fails to import stands in for a peer that is not installed.
    fake = tmp_path / "fake"
    (fake / "browsergym").mkdir(parents=True)
    (fake / "browsergym" / "__init__.py").write_text("raise ImportError('simulated: absent')\n")
    monkeypatch.setenv("PYTHONPATH", str(fake))
    out = tmp_path / "bench.json"
    argv = "--systems similar browsergym --tasks miniwob/click-test --steps 3 --resets 2"
    argv += " --warmup 1 --peer-steps 2 --peer-resets 1 --json"
    code = bench_env.main([*argv.split(), "--out", str(out)])
    assert code == 0
    report = json.loads(out.read_text())
    assert set(report) == {"meta", "results", "summary"}
    by_key = {(r["system"], r["mode"]): r for r in report["results"]}
    assert set(by_key) == {(s, m) for s in ("similar", "browsergym") for m in bench_env.MODES}
    for mode, n_envs in bench_env.MODES.items():
        ours = by_key[("similar", mode)]
        assert ours["status"] == "ok", ours
        assert ours["task"] == "miniwob/click-test"
        assert ours["steps_per_s"] > 0
        assert ours["median_reset_ms"] <= ours["p90_reset_ms"]
        assert ours["median_reset_b2b_ms"] > 0
        assert ours["n_steps"] == 3 * n_envs and ours["n_resets"] == 2
        assert ours["episodes_ended"] == 0
        assert ours["observation"]["screenshot"] == [480, 640, 3]
        assert "page_text" in ours["observation"]["keys"]
        peer = by_key[("browsergym", mode)]
        assert peer["status"] == "skipped"
        assert "not installed" in peer["reason"]
    targets = report["summary"]["targets"]
    assert targets["speedup_vs_browsergym"]["met"] is None
    assert targets["single_env_steps_per_s"]["met"] in (True, False)
    assert report["meta"]["cpu_count"] >= 1
