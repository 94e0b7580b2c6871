"""The SRMEval study: models side by side in one JSON and one Markdown table."""

import json

import torch

from experiments.srmeval_study import main
from reward_model.modeling import SimilarRewardModel
from reward_model.modeling_config import SimilarRMConfig


def test_study_writes_results_and_table(pairs_file, tmp_path, tiny_model_kwargs, capsys):
    torch.manual_seed(0)
    model = SimilarRewardModel(SimilarRMConfig(**{**tiny_model_kwargs, "gate_trained": True}))
    model.save_pretrained(tmp_path / "rm")
    out = tmp_path / "study"
    code = main(
        [
            "--data", str(pairs_file), "--out", str(out), "--models", "heuristic=heuristic",
            f"triple-m={tmp_path / 'rm'}", f"stage1={tmp_path / 'rm'}:stage1",
        ]
    )  # fmt: skip
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert list(results["models"]) == ["heuristic", "triple-m", "stage1"]
    heuristic = results["models"]["heuristic"]["accuracy"]
    assert heuristic["all"]["average"]["acc"] == 1.0, "word overlap picks every 'red shirt'"
    full, stage1 = (results["models"][k]["accuracy"]["all"] for k in ("triple-m", "stage1"))
    for kind in ("H", "OS", "E", "TR", "C"):
        assert full[kind] == stage1[kind], "the gate changes only the reward (total)"
    table = (out / "table.md").read_text()
    assert table.splitlines()[0].startswith("| model | H | OS | E | TR | C | total | average")
    assert "| heuristic | 100.0 |" in table and "average heldout-templates" in table
    assert (out / "accuracy.png").stat().st_size > 5_000
    assert main(["--data", str(pairs_file), "--out", str(out), "--models", "nolabel"]) == 2
    assert "LABEL=NAME" in capsys.readouterr().err
