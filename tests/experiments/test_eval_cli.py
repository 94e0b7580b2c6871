import json

import pytest

from experiments.cli import build_parser, main
from similar_gym.srm_data import PAIR_TYPES, SHIPPED_SRMEVAL


def test_eval_json(pairs_file, capsys):
    code = main(
        ["eval", "--model", "heuristic", "--data", str(pairs_file), "--json", "--no-progress"]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert out["model"] == "heuristic" and out["n_pairs"] == 24
    assert out["splits"] == ["heldout-templates", "train"]
    assert out["accuracy"]["all"]["average"]["acc"] == 1.0
    assert out["accuracy"]["train"]["H"]["n"] == 2
    assert set(out["accuracy"]["all"]) == {*PAIR_TYPES, "average"}


def test_eval_table_with_split_and_seed(pairs_file, capsys):
    argv = ["eval", "--model", "random", "--seed", "3", "--data", str(pairs_file)]
    assert main([*argv, "--split", "train", "--no-progress"]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert "pairs: 12" in lines[0]
    assert [line.split()[0] for line in lines[2:9]] == [*PAIR_TYPES, "average"]
    assert main([*argv, "--json", "--no-progress"]) == 0
    first = capsys.readouterr().out
    assert main([*argv, "--json", "--no-progress"]) == 0
    assert capsys.readouterr().out == first  # seeded


def test_eval_errors(pairs_file, tmp_path, capsys):
    assert main(["eval", "--model", "gpt-9", "--data", str(pairs_file)]) == 2
    assert "unknown model 'gpt-9'" in capsys.readouterr().err
    assert main(["eval", "--model", "random", "--data", str(tmp_path / "none.parquet")]) == 2
    assert "not found" in capsys.readouterr().err
    argv = ["eval", "--model", "random", "--data", str(pairs_file), "--split", "nope"]
    assert main(argv) == 2
    assert "no pair of split 'nope'" in capsys.readouterr().err


def test_help_lists_models():
    sub = build_parser()._subparsers._group_actions[0].choices["eval"]
    text = sub.format_help()
    assert all(name in text for name in ("random", "heuristic", "minilm"))


def test_eval_shipped_file(capsys):
    if not SHIPPED_SRMEVAL.is_file():
        pytest.skip("the shipped SRMEval file is not generated yet")
    assert main(["eval", "--model", "heuristic", "--json", "--no-progress"]) == 0
    assert json.loads(capsys.readouterr().out)["n_pairs"] > 0
