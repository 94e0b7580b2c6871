import json
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from similar_gym.records import StepContext, decode_image, encode_png
from similar_gym.srm_data import (
    PAIR_TYPES,
    SCORE_CODES,
    SHIPPED_SRMEVAL,
    SHIPPED_SRMEVAL_MANIFEST,
    SRM_PAIR_SCHEMA,
    SRM_STEP_SCHEMA,
    pair_contexts,
    pair_row,
    read_pairs,
    read_steps,
    step_context,
    step_row,
    write_pairs,
    write_steps,
)


def _png(rng, h=24, w=32):
    return encode_png(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def make_rows(n=12, n_images=4, seed=0):
    rng = np.random.default_rng(seed)
    images = [_png(rng) for _ in range(n_images)]
    rows = []
    for i in range(n):
        rows.append(
            {
                "id": f"p{i}",
                "step_idx": i % 3,
                "instruction": f"Buy the red shirt {i}",
                "type": PAIR_TYPES[i % 6],
                "reason_steps": ['click(1) on link "Shop"'] * (i % 3),
                "image": images[i % n_images],
                "chosen_action": "click(3)",
                "chosen_target": 'button "red shirt"',
                "rejected_action": 'fill(4, "blue")',
                "rejected_target": "",
                "chosen_scores": [0.1, 1.0, 0.2, 1.0, 1.0],
                "rejected_scores": [-0.1, 0.0, 0.0, 1.0, 0.0],
                "task": "shop/buy-product",
                "suite": "own",
                "split": "heldout-templates" if i % 2 else "heldout-miniwob",
                "seed": i,
                "page_text": '[3] button "red shirt"',
                "node": f"n{i % n_images}",
            }
        )
    return rows, images


def test_type_names_match_reward_model():
    from reward_model.dimensions import CODES
    from reward_model.dimensions import PAIR_TYPES as RM_TYPES

    assert PAIR_TYPES == RM_TYPES
    assert SCORE_CODES == CODES


def test_import_does_not_start_torch():
    code = "import sys, similar_gym.srm_data; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_round_trip(tmp_path):
    rows, images = make_rows()
    path = tmp_path / "pairs.parquet"
    write_pairs(rows, path)
    table = read_pairs(path)
    assert table.schema.names == SRM_PAIR_SCHEMA.names
    assert table.num_rows == len(rows)
    assert read_pairs(tmp_path).num_rows == len(rows)  # a folder holding pairs.parquet
    by_id = {r["id"]: r for r in table.to_pylist()}
    r = by_id["p5"]
    assert r["chosen"] == 'click(3) on button "red shirt"'
    assert r["rejected"] == 'fill(4, "blue")'
    assert r["template"] == "shop/buy-product"
    assert r["chosen_scores"] == [0.1, 1.0, 0.2, 1.0, 1.0]
    assert r["image"]["bytes"] == images[1]
    good, bad = pair_contexts(r)
    assert isinstance(good, StepContext)
    assert good.describe() == r["chosen"] and bad.describe() == r["rejected"]
    assert good.history == ('click(1) on link "Shop"',) * 2
    assert good.task_id == "shop/buy-product" and good.step_idx == 2
    assert np.array_equal(good.image(), decode_image(images[1]))


def test_rows_grouped_by_image(tmp_path):
    rows, _ = make_rows(n=12, n_images=4)
    write_pairs(rows, tmp_path / "p.parquet")
    ids = read_pairs(tmp_path / "p.parquet").column("id").to_pylist()
    # Groups in order of first appearance, input order within a group.
    assert ids == [f"p{i}" for g in range(4) for i in range(g, 12, 4)]


def test_repeated_screenshots_cost_almost_nothing(tmp_path):
    rng = np.random.default_rng(1)
    images = [_png(rng, 100, 100) for _ in range(200)]  # ~30 KB each, incompressible
    raw = sum(len(images[i % 200]) for i in range(2000))
    rows = [
        {
            "id": f"p{i}",
            "step_idx": 0,
            "instruction": "x",
            "type": "OS",
            "reason_steps": [],
            "image": images[(i * 7) % 200],  # interleaved: the writer groups them
            "chosen": "a",
            "rejected": "b",
        }
        for i in range(2000)
    ]
    path = tmp_path / "big.parquet"
    write_pairs(rows, path)
    size = path.stat().st_size
    distinct = sum(map(len, images))
    assert raw > 55e6
    assert size < distinct * 1.1, (size, distinct)
    col = pq.ParquetFile(path).metadata.row_group(0).column(5)
    assert col.path_in_schema == "image.bytes" and "RLE_DICTIONARY" in col.encodings


def test_hf_datasets_decodes_images(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    datasets = pytest.importorskip("datasets")
    from PIL import Image

    rows, images = make_rows(n=6)
    path = tmp_path / "pairs.parquet"
    write_pairs(rows, path)
    ds = datasets.load_dataset(
        "parquet", data_files=str(path), split="train", cache_dir=str(tmp_path / "cache")
    )
    assert isinstance(ds.features["image"], datasets.Image)
    first = ds[0]
    assert isinstance(first["image"], Image.Image) and first["image"].size == (32, 24)
    assert first["reason_steps"] == [] and len(first["chosen_scores"]) == 5
    assert ds.column_names == SRM_PAIR_SCHEMA.names


def test_pandas_reads_it(tmp_path):
    pd = pytest.importorskip("pandas")
    rows, _ = make_rows(n=6)
    write_pairs(rows, tmp_path / "p.parquet")
    df = pd.read_parquet(tmp_path / "p.parquet")
    assert list(df.columns) == SRM_PAIR_SCHEMA.names and len(df) == 6
    assert set(df["type"]) == set(PAIR_TYPES)


def test_rows_from_contexts_and_steps(tmp_path):
    rng = np.random.default_rng(2)
    shot = rng.integers(0, 256, (16, 20, 3), dtype=np.uint8)
    ctx = StepContext("Send mail", ("click(2)",), shot, "[5] button", "click(5)", 'button "Send"')
    ctx = ctx.__class__(**{**ctx.__dict__, "task_id": "mail/send-mail", "step_idx": 1})
    bad = ctx.with_action("scroll(down)")
    row = pair_row("x1", "TR", ctx, bad, [0, 1, 0, 1, 1], [0, 0, 0, 0, 1], split="train")
    write_pairs([row], tmp_path / "pairs.parquet")
    got_good, got_bad = pair_contexts(read_pairs(tmp_path / "pairs.parquet").to_pylist()[0])
    assert got_good.describe() == ctx.describe() and got_bad.describe() == "scroll(down)"
    assert np.array_equal(got_good.image(), shot)

    steps = [
        step_row(f"s{i}", ctx, [0.0, 0.5, 0.1, 1, 1], followed=i == 0, node="n0") for i in range(3)
    ]
    write_steps(steps, tmp_path / "steps.parquet")
    table = read_steps(tmp_path)
    assert table.schema.names == SRM_STEP_SCHEMA.names
    rec = table.to_pylist()[0]
    assert rec["followed"] is True and rec["template"] == "mail/send-mail"
    back = step_context(rec)
    assert back.describe() == ctx.describe() and back.history == ctx.history
    assert back.page_text == ctx.page_text and back.step_idx == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"type": "helpfulness"}, r"row 'p0': column 'type'"),
        ({"chosen_scores": [1, 2, 3]}, r"row 'p0': column 'chosen_scores': must hold 5"),
        ({"rejected_scores": [1, 2, 3, 4, float("nan")]}, r"row 'p0': column 'rejected_scores'"),
        ({"step_idx": "3"}, r"row 'p0': column 'step_idx'"),
        ({"chosen": "click(9)"}, r"row 'p0': column 'chosen': .* does not describe"),
        ({"colour": "red"}, r"row 'p0': unknown column\(s\) 'colour'"),
        ({"suite": "android"}, r"row 'p0': column 'suite'"),
        ({"image": np.zeros((4, 4))}, r"row 'p0': column 'image'"),
    ],
)
def test_write_validation(tmp_path, change, message):
    rows, _ = make_rows(n=2)
    rows[0].update(change)
    with pytest.raises(ValueError, match=message):
        write_pairs(rows, tmp_path / "p.parquet")
    assert not (tmp_path / "p.parquet").exists()


def test_write_validation_missing_and_duplicate(tmp_path):
    rows, _ = make_rows(n=2)
    del rows[1]["instruction"]
    with pytest.raises(ValueError, match=r"row 'p1': missing column\(s\) 'instruction'"):
        write_pairs(rows, tmp_path / "p.parquet")
    rows, _ = make_rows(n=2)
    del rows[0]["chosen_action"]
    with pytest.raises(ValueError, match=r"row 'p0': missing column\(s\) 'chosen'"):
        write_pairs(rows, tmp_path / "p.parquet")
    rows, _ = make_rows(n=2)
    rows[1]["id"] = "p0"
    with pytest.raises(ValueError, match=r"row 'p0': column 'id': duplicate"):
        write_pairs(rows, tmp_path / "p.parquet")
    with pytest.raises(ValueError, match=r"row 's': column 'scores'"):
        write_steps(
            [
                {
                    "id": "s",
                    "step_idx": 0,
                    "instruction": "",
                    "reason_steps": [],
                    "image": None,
                    "action": "noop()",
                    "scores": [1.0],
                }
            ],
            tmp_path / "s.parquet",
        )


def test_read_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"nothing\.parquet"):
        read_pairs(tmp_path / "nothing.parquet")
    bad = tmp_path / "corrupt.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    with pytest.raises(ValueError, match=r"corrupt\.parquet: not a readable Parquet"):
        read_pairs(bad)
    pq.write_table(pa.table({"id": ["a"], "type": ["H"]}), tmp_path / "thin.parquet")
    with pytest.raises(ValueError, match=r"thin\.parquet: missing column\(s\) step_idx"):
        read_pairs(tmp_path / "thin.parquet")
    rows, _ = make_rows(n=2)
    write_pairs(rows, tmp_path / "p.parquet")
    table = read_pairs(tmp_path / "p.parquet")
    table = table.set_column(3, "type", pa.array(["H", "X"]))
    pq.write_table(table, tmp_path / "badtype.parquet")
    with pytest.raises(ValueError, match=r"badtype\.parquet: column 'type'"):
        read_pairs(tmp_path / "badtype.parquet")


def test_reads_paper_csv(tmp_path):
    import csv

    rng = np.random.default_rng(3)
    (tmp_path / "img").mkdir()
    shot = _png(rng)
    (tmp_path / "img" / "a.png").write_bytes(shot)
    rows = [
        [
            "id",
            "step_idx",
            "instruction",
            "type",
            "reason_steps",
            "image_url",
            "chosen",
            "rejected",
        ],
        [
            "e1",
            "2",
            "Open settings",
            "OS",
            json.dumps(["tap home", "swipe"]),
            "img/a.png",
            "tap gear",
            "tap back",
        ],
        ["e2", "0", "Open settings", "total", "", (tmp_path / "img" / "a.png").as_uri(), "a", "b"],
        [
            "e3",
            "1",
            "Open settings",
            "tr",
            "tap home\nswipe up",
            str(tmp_path / "img" / "a.png"),
            "a",
            "b",
        ],
        [
            "e4",
            "1",
            "Open settings",
            "C",
            "tap home; swipe up",
            "https://example.org/x.png",
            "a",
            "b",
        ],
    ]
    with (tmp_path / "srmeval.csv").open("w", newline="") as f:
        csv.writer(f).writerows(rows)
    with pytest.warns(UserWarning, match="1 image URL"):
        table = read_pairs(tmp_path / "srmeval.csv")
    assert table.schema.names == SRM_PAIR_SCHEMA.names
    recs = table.to_pylist()
    assert [r["type"] for r in recs] == ["OS", "total", "TR", "C"]
    assert recs[0]["reason_steps"] == ["tap home", "swipe"]
    assert recs[2]["reason_steps"] == recs[3]["reason_steps"] == ["tap home", "swipe up"]
    assert [r["image"]["bytes"] == shot for r in recs[:3]] == [True] * 3
    assert recs[3]["image"] == {"bytes": None, "path": "https://example.org/x.png"}
    assert recs[0]["chosen_action"] is None and recs[0]["split"] is None
    good, bad = pair_contexts(recs[0])
    assert good.describe() == "tap gear" and bad.describe() == "tap back"
    assert good.step_idx == 2 and good.screenshot == shot
    assert pair_contexts(recs[3])[0].screenshot is None

    with (tmp_path / "thin.csv").open("w", newline="") as f:
        csv.writer(f).writerows([["id", "type"], ["x", "H"]])
    with pytest.raises(ValueError, match=r"thin\.csv: missing CSV column\(s\) step_idx"):
        read_pairs(tmp_path / "thin.csv")
    rows[1][5] = "img/missing.png"
    with (tmp_path / "missing.csv").open("w", newline="") as f:
        csv.writer(f).writerows(rows[:2])
    with pytest.raises(ValueError, match=r"row 'e1': column 'image_url': cannot read"):
        read_pairs(tmp_path / "missing.csv")


def test_shipped_srmeval():
    if not SHIPPED_SRMEVAL.is_file():
        pytest.skip("the shipped SRMEval file is not generated yet")
    table = read_pairs(SHIPPED_SRMEVAL)
    assert table.num_rows > 0
    assert set(table.column("type").to_pylist()) <= set(PAIR_TYPES)
    assert len(set(table.column("id").to_pylist())) == table.num_rows
    assert SHIPPED_SRMEVAL_MANIFEST.is_file()
    json.loads(SHIPPED_SRMEVAL_MANIFEST.read_text())
