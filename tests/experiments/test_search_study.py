"""The inference-search study on a tiny budget: every condition, its files, resuming."""

import json

import pytest

from experiments.search_study import main, wilson


def test_wilson_interval():
    assert wilson(0, 100) == (0.0, pytest.approx(0.0370, abs=1e-4))
    lo, hi = wilson(50, 100)
    assert (lo, hi) == (pytest.approx(0.4038, abs=1e-4), pytest.approx(0.5962, abs=1e-4))


def test_study_plays_every_condition_writes_its_files_and_resumes(tmp_path, capsys):
    out = tmp_path / "study"
    args = ["--episodes", "2", "--tasks", "mail/send-mail", "--out", str(out), "--quiet"]
    conditions = ["--conditions", "base", "control", "oracle-value", "search"]
    assert main([*args, *conditions]) == 0
    results = json.loads((out / "results.json").read_text())
    assert list(results["conditions"]) == ["base", "search", "control", "oracle-value"]
    ceiling = results["conditions"]["oracle-value"]["all"]
    assert ceiling["success_rate"] == 1.0, "a perfect value with these candidates solves it"
    assert ceiling["mean_steps"] == 5.0, "in the oracle's number of steps (5 here)"
    for cond in results["conditions"].values():
        assert cond["all"]["episodes"] == 2 and 0 <= cond["all"]["ci95"][0] <= 1
    assert (out / "success.png").stat().st_size > 10_000
    assert "| oracle-value | 100.0" in (out / "table.md").read_text()
    lines = (out / "episodes.jsonl").read_text().splitlines()
    assert len(lines) == 8

    assert main([*args, "--conditions", "base"]) == 0  # all played already: nothing runs
    assert (out / "episodes.jsonl").read_text().splitlines() == lines
    with pytest.raises(SystemExit, match="other settings"):
        main([*args, "--policy", "random"])
