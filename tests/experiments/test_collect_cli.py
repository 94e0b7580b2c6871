"""``similar collect`` on the command line: two worker processes, then a resumed no-op."""

import json

from experiments.cli import main
from similar_gym.srm_data import read_pairs

ARGS = [
    "collect",
    "--tasks", "mail/archive-from", "settings/edit-address",
    "--instances-per-task", "1",
    "--max-depth", "2",
    "--root-rollouts", "1",
    "--rollouts-per-candidate", "1",
    "--num-candidates", "3",
    "--judge", "oracle",
    "--workers", "2",
    "--heldout-templates", "settings/edit-address",
]  # fmt: skip


def test_collect_cli_with_workers_then_resume(tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*ARGS, "--out", str(out), "--json"]) == 0
    text = capsys.readouterr().out
    manifest = json.loads(text[text.index("{") :])
    assert manifest["units_done"] == 2
    assert set(manifest["steps_by_split"]) == {"train", "heldout-templates"}
    evals = read_pairs(out / "srmeval" / "pairs.parquet").to_pylist()
    assert evals and {p["split"] for p in evals} == {"heldout-templates"}
    assert main([*ARGS, "--out", str(out)]) == 0
    assert "0 task instances annotated this run, 2 resumed" in capsys.readouterr().out


def test_collect_cli_rejects_bad_input(tmp_path, capsys):
    assert main(["collect", "--out", str(tmp_path / "x"), "--num-candidates", "1"]) == 2
    assert "num_candidates" in capsys.readouterr().err
