"""similar bench rm: times a saved model on real SRMEval steps and reports JSON."""

import json

import torch

from experiments.cli import main
from reward_model.modeling import SimilarRewardModel
from reward_model.modeling_config import SimilarRMConfig


def test_bench_rm_json(tmp_path, capsys, tiny_model_kwargs):
    torch.manual_seed(0)
    SimilarRewardModel(SimilarRMConfig(**tiny_model_kwargs)).save_pretrained(tmp_path / "rm")
    out_file = tmp_path / "bench.json"
    code = main(
        [
            "bench", "rm", "--model", str(tmp_path / "rm"), "--steps", "12",
            "--batch-size", "4", "--single", "3", "--dtype", "bfloat16", "--json",
            "--out", str(out_file),
        ]
    )  # fmt: skip
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert report == json.loads(out_file.read_text())
    r = report["results"]
    assert r["n_steps"] == 12 and r["batch_size"] == 4 and r["n_single"] == 3
    assert r["batched_steps_per_s"] > 0 and 0 < r["single_ms_p50"] <= r["single_ms_p90"]
    assert report["target"]["batched_steps_per_s"] == 100.0
    assert report["meta"]["dtype"] == "bfloat16"
    assert report["meta"]["model_config"]["fusion_hidden"] == tiny_model_kwargs["fusion_hidden"]
