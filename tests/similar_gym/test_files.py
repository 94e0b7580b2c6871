"""Atomic writes: readers see a whole old or a whole new file, never a half or a temporary."""

import os
import threading

import pytest

from reward_model.config_base import JsonConfig
from similar_gym.files import atomic_path, write_text_atomic


def test_write_replaces_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "sub" / "settings.json"
    write_text_atomic(path, "old")
    write_text_atomic(path, "new")
    assert path.read_text() == "new"
    assert [p.name for p in path.parent.iterdir()] == ["settings.json"]


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "table.parquet"
    path.write_text("old")
    with pytest.raises(RuntimeError, match="disk full"), atomic_path(path) as tmp:
        tmp.write_text("half of the new")
        raise RuntimeError("disk full")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["table.parquet"]


def test_file_mode_follows_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        write_text_atomic(tmp_path / "a.json", "{}")
    finally:
        os.umask(old)
    assert (tmp_path / "a.json").stat().st_mode & 0o777 == 0o644


def test_concurrent_writers_and_a_reader_never_meet_half_a_file(tmp_path):
    path = tmp_path / "settings.json"
    texts = ["a" * 200_000, "b" * 200_000]
    write_text_atomic(path, texts[0])
    seen, stop = set(), threading.Event()

    def write(text):
        for _ in range(30):
            write_text_atomic(path, text)

    def read():
        while not stop.is_set():
            seen.add(path.read_text())

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=write, args=(t,)) for t in texts]
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    stop.set()
    reader.join()
    assert seen <= set(texts)
    assert [p.name for p in tmp_path.iterdir()] == ["settings.json"]


def test_json_config_save_is_atomic(tmp_path):
    import dataclasses

    @dataclasses.dataclass
    class Config(JsonConfig):
        seed: int = 0

    path = tmp_path / "config.json"
    Config(seed=3).save(path)
    assert Config.load(path).seed == 3
    assert [p.name for p in tmp_path.iterdir()] == ["config.json"]
