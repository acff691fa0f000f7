"""A store.sqlite3 that is missing, empty, or lost its tables with its -wal file, beside existing
vector files, is a damaged store: refused with one line, nothing created or collected, never
"ok: 0 videos" followed by advice to `gc` every vector away. Real SQLite and FAISS files."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest
from cli_run import run_cli

from longvid.errors import StoreCorruptError
from longvid.store import Fingerprint, Store


def fill(root, videos=2, n=20):
    rng = np.random.default_rng(0)
    with Store.open(root) as s:
        for i in range(videos):
            s.add_run(fingerprint=Fingerprint(f"v1-{i:032x}", 1000 + i, 0), path=None, model_id="m:test@1",
                      vectors=rng.normal(size=(n, 8)).astype(np.float32), pts_s=np.arange(n, dtype=float),
                      frame_index=np.arange(n), source="uniform", settings={})


def _lose_database(root, how):
    db = root / "store.sqlite3"
    if how == "empty":
        db.write_bytes(b"")
    elif how == "missing":
        db.unlink()
    for extra in ("-wal", "-shm"):
        (root / f"store.sqlite3{extra}").unlink(missing_ok=True)


@pytest.mark.parametrize("how", ["empty", "missing"])
def test_lost_database_beside_segments_is_damage_not_an_empty_store(tmp_path, how, cli_env):
    root = tmp_path / "store"
    fill(root)
    files = sorted(p for p in root.rglob("*.faiss"))
    _lose_database(root, how)
    with pytest.raises(StoreCorruptError) as info:
        Store.open(root)
    message = str(info.value)
    assert message.startswith(f"store database {root / 'store.sqlite3'} {'is missing' if how == 'missing' else 'is empty (0 bytes)'}")
    assert "it is damaged" in message and "gc" not in message and "\n" not in message
    for args in (["store", "check"], ["store", "gc"], ["store", "info"]):
        code, out, err = run_cli(*args, "--store", root)
        assert code == 1 and out == "" and err.startswith("error: store database") and err.count("\n") == 1, (args, out, err)
        assert "ok: 0 videos" not in out
    assert sorted(p for p in root.rglob("*.faiss")) == files  # every vector is still there
    assert (root / "store.sqlite3").is_file() == (how == "empty")  # and nothing was created


KILLED_WRITER = textwrap.dedent(
    """
    import os, sys, numpy as np
    from longvid.store import Fingerprint, Store
    s = Store.open(sys.argv[1])
    s.add_run(fingerprint=Fingerprint("v1-" + "1" * 32, 10, 0), path=None, model_id="m", vectors=np.eye(4, dtype=np.float32),
              pts_s=[0, 1, 2, 3], frame_index=[0, 1, 2, 3], source="uniform", settings={})
    os._exit(0)  # killed: everything is still in the WAL file
    """
)


def test_lost_wal_file_beside_segments_is_damage(tmp_path):
    root = tmp_path / "store"
    subprocess.run([sys.executable, "-c", KILLED_WRITER, str(root)], check=True)
    assert (root / "store.sqlite3").stat().st_size > 0 and list(root.rglob("*.faiss"))
    _lose_database(root, "wal")
    with pytest.raises(StoreCorruptError, match=r"store.sqlite3 holds no store tables"):
        Store.open(root)


def test_a_new_store_and_an_empty_database_without_vectors_still_open(tmp_path):
    Store.open(tmp_path / "new").close()
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "store.sqlite3").write_bytes(b"")  # killed while creating it: nothing lost
    with Store.open(tmp_path / "empty") as s:
        assert s.check().ok
