import json

import pytest

from experiments.cli import main


def test_demo_saves_screenshots_and_prints_the_trajectory(tmp_path, capsys):
    code = main(["demo", "--task", "mail/send-mail", "--seed", "1", "--out", str(tmp_path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "instruction:" in out and "success: True" in out
    shots = sorted(tmp_path.glob("step_*.png"))
    steps = [line for line in out.splitlines() if line.startswith("step ")]
    assert len(shots) == len(steps) + 1 >= 4


def test_tasks_json(capsys):
    assert main(["tasks", "--json", "--suite", "own"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows and all(r["suite"] == "own" for r in rows)


def test_study_passes_its_options_to_the_study(capsys):
    from experiments.cli import STUDIES

    assert sorted(STUDIES) == ["dense-vs-sparse", "search", "srmeval", "value-rank"]
    for name in STUDIES:
        with pytest.raises(SystemExit) as exit_info:
            main(["study", name, "--help"])
        assert exit_info.value.code == 0
        assert "--out" in capsys.readouterr().out
