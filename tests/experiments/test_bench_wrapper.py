"""similar bench wrapper: bare vs wrapped step times, single env and vector of 2."""

import json

import torch

from experiments.cli import main
from reward_model.modeling import SimilarRewardModel
from reward_model.modeling_config import SimilarRMConfig


def test_bench_wrapper_json(tmp_path, capsys, tiny_model_kwargs):
    torch.manual_seed(0)
    SimilarRewardModel(SimilarRMConfig(**tiny_model_kwargs)).save_pretrained(tmp_path / "rm")
    code = main(
        ["bench", "wrapper", "--model", str(tmp_path / "rm"), "--steps", "3", "--json",
         "--task", "mail/send-mail", "--dtype", "float32"]
    )  # fmt: skip
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report["results"]) == {"single", "vector2"}
    assert report["meta"]["dtype"] == "float32"
    for r in report["results"].values():
        assert r["bare_ms"] > 0 and r["wrapped_ms"] > 0
        assert r["ratio"] == r["wrapped_ms"] / r["bare_ms"] and r["met"] == (r["ratio"] <= 1.5)
