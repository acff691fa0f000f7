"""The persistent embedding store: SQLite (WAL) for what was indexed, FAISS segments for vectors.

    store = Store.open()                      # $LONGVID_STORE or the platform cache folder
    video, fp = store.video_for_path("a.mp4") # by content fingerprint (or remembered path)
    frames, vectors = store.vectors(video.id, encoder.model_id)

Layout of a store folder: ``store.sqlite3`` (+ its -wal/-shm files), ``segments/m<model>/*.faiss``
and, for archives past the flat recipe's size, ``archive/m<model>/*.faiss`` (see archive_index.py).
Every write is one SQLite transaction (``BEGIN IMMEDIATE``: writers queue behind each other, readers
never wait) so a failed or killed run leaves the store as it was. What is read back is checked
(integrity.py): file names stay inside the store, files are the ones written, video paths are
absolute and normalised.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from ..errors import ModelMismatchError, StoreCorruptError, StoreError, StoreLockedError, VideoInputError
from ..filenames import from_sql, is_utf8, to_sql
from . import schema
from .archive_index import ARCHIVE_DIR, ArchiveIndexMixin
from .batch import BatchMixin
from .fingerprint import Fingerprint, fingerprint_file, stat_key
from .integrity import IntegrityMixin, check_video_path, check_video_row
from .maintenance import MaintenanceMixin
from .reading import ReadMixin
from .records import RunRecord, VideoRecord
from .segments import SEGMENT_DIR
from .writing import WriteMixin

DB_NAME = "store.sqlite3"
BUSY_TIMEOUT_S = 60.0


class Store(ReadMixin, WriteMixin, MaintenanceMixin, ArchiveIndexMixin, BatchMixin, IntegrityMixin):
    def __init__(self, root: str | os.PathLike):
        self.root = Path(root).expanduser().absolute()
        self.db_file = self.root / DB_NAME
        self._create_root()
        self._views: dict = {}  # per (video, model): frames + vectors + FAISS index, see ReadMixin._view
        self._archive: dict = {}  # per model: one flat FAISS index over all its segments
        self._recipe_indexes: dict = {}  # per model: its archive index (HNSW, IVF-PQ), mapped; archive_index.py
        self._tail_indexes: dict = {}  # per model: flat index over segments newer than its archive index
        self._model_rows: dict[str, tuple[int, int]] = {}
        try:
            size = self.db_file.stat().st_size
        except FileNotFoundError:
            size = None
        if not size:
            self._refuse_lost_database("is missing" if size is None else "is empty (0 bytes)")
        try:
            self.conn = sqlite3.connect(self.db_file, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except sqlite3.Error as exc:
            raise self._translate(exc) from None
        with self.errors():
            if schema.schema_version(self.conn) == 0:  # empty, or its tables were in a lost -wal file
                self._refuse_lost_database("holds no store tables")
            self.conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            self.conn.execute("PRAGMA foreign_keys = ON")
            mode = _use_wal(self.conn)
            if mode.lower() != "wal":
                raise StoreError(f"{self.db_file}: SQLite cannot use WAL journaling here (got {mode})", "put the store on a local disk")
            self.conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: durable at checkpoints, never corrupt
            schema.migrate(self.conn, str(self.db_file))

    @classmethod
    def open(cls, path: str | os.PathLike | None = None) -> "Store":
        """The store at ``path``; default ``$LONGVID_STORE`` or the platform's cache folder."""
        if path is None:
            from ..config import StoreConfig

            path = StoreConfig().resolved_path()
        return cls(path)

    def close(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is not None:
            conn.close()
            self.conn = None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    # --- errors ---------------------------------------------------------------------------------

    def _create_root(self) -> None:
        hint = "pass --store PATH or set LONGVID_STORE to a writable folder"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except (FileExistsError, NotADirectoryError):
            raise StoreError(f"store folder {self.root} cannot be created: a file is in the way", hint) from None
        except OSError as exc:
            raise StoreError(f"store folder {self.root} cannot be created ({exc.strerror})", hint) from None
        if not os.access(self.root, os.W_OK | os.X_OK):
            raise StoreError(f"store folder {self.root} is not writable", hint)

    def _refuse_lost_database(self, problem: str) -> None:
        """A new database is fine in an empty folder; beside vector files it means the store's
        database was lost, and starting afresh would make them all look like orphans to `gc`."""
        found = next((p for folder in (SEGMENT_DIR, ARCHIVE_DIR) for p in (self.root / folder).glob("m*/*.faiss")), None)
        if found is None:
            return
        self.close()
        raise StoreCorruptError(
            f"store database {self.db_file} {problem}, but the store holds vector files ({found.relative_to(self.root)}, ...): it is damaged",
            "restore store.sqlite3 (with its -wal file) from a backup, or move the store folder aside and index again "
            "(the store is a cache; the videos are untouched)",
        )

    def _translate(self, exc: sqlite3.Error) -> StoreError:
        name = getattr(exc, "sqlite_errorname", "")
        text = " ".join(str(exc).split())
        if name in ("SQLITE_CORRUPT", "SQLITE_NOTADB") or "malformed" in text or "not a database" in text:
            return StoreCorruptError(
                f"store database {self.db_file} is damaged ({text})",
                "run `longvid store check`; if it fails, move that file aside and index again "
                "(the store is a cache; the videos are untouched)",
            )
        if name in ("SQLITE_BUSY", "SQLITE_LOCKED") or "locked" in text:
            return StoreLockedError(f"store {self.db_file} stayed locked by another process for {BUSY_TIMEOUT_S:.0f} s", "try again when it finishes")
        if name in ("SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_PERM") or "readonly" in text:
            return StoreError(f"store database {self.db_file} cannot be written ({text})", "pass --store PATH or set LONGVID_STORE to a writable folder")
        if name == "SQLITE_FULL" or "disk is full" in text:
            return StoreError(f"store {self.db_file}: the disk is full", "free space or pass --store PATH on another disk")
        return StoreError(f"store {self.db_file}: {text}")

    @contextlib.contextmanager
    def errors(self) -> Iterator[None]:
        """Turn SQLite errors into StoreError subclasses that name the file and the fix."""
        try:
            yield
        except sqlite3.Error as exc:
            raise self._translate(exc) from None

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; waits for other writers, rolls back on any exception."""
        with self.errors():
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self.errors():
            return self.conn.execute(sql, params).fetchall()

    # --- videos ---------------------------------------------------------------------------------

    def _video(self, where: str, params: tuple) -> VideoRecord | None:
        rows = self._query(
            f"SELECT id, fingerprint, size_bytes, duration_s, start_s, fps, width, height FROM videos WHERE {where}", params
        )
        if not rows:
            return None
        paths = tuple(
            from_sql(p) for (p,) in self._query("SELECT path FROM video_paths WHERE video_id = ? ORDER BY seen_at DESC", (rows[0][0],))
        )
        check_video_row(self.root, rows[0][0], rows[0][1], paths)
        return VideoRecord(*rows[0], paths=paths)

    def find_video(self, fingerprint: str | Fingerprint) -> VideoRecord | None:
        digest = fingerprint.digest if isinstance(fingerprint, Fingerprint) else fingerprint
        return self._video("fingerprint = ?", (digest,))

    def get_video(self, video_id: int) -> VideoRecord | None:
        return self._video("id = ?", (video_id,))

    def videos(self) -> list[VideoRecord]:
        return [self.get_video(i) for (i,) in self._query("SELECT id FROM videos ORDER BY id")]

    def videos_under(self, folder: str | os.PathLike) -> dict[int, str]:
        """Videos remembered under ``folder`` -> that path (the most recently seen one)."""
        low = path_key(folder).rstrip(os.sep) + os.sep
        high = low[:-1] + chr(ord(os.sep) + 1)
        # Names that are not UTF-8 are stored as BLOBs of their bytes (longvid.filenames), which
        # sort after every TEXT: the same range once more in bytes finds them.
        ranges = [(os.fsencode(low), os.fsencode(high))] + ([(low, high)] if is_utf8(low) else [])
        where = " OR ".join(["(path >= ? AND path < ?)"] * len(ranges))
        out: dict[int, str] = {}
        for path, video_id in self._query(
            f"SELECT path, video_id FROM video_paths WHERE {where} ORDER BY seen_at DESC", tuple(v for r in ranges for v in r)
        ):
            path = from_sql(path)
            check_video_path(self.root, video_id, path)  # 'DIR/../elsewhere' sorts under DIR too
            out.setdefault(video_id, path)
        return out

    def video_for_path(self, path: str | os.PathLike, *, remember: bool = True) -> tuple[VideoRecord | None, Fingerprint | None]:
        """The stored video for a file: by its content when it can be read, else by its path.

        A path remembered with the same size, mtime, ctime and inode as now is taken to hold the
        same bytes (no read). Otherwise a readable file is fingerprinted (its bytes may have
        changed since it was indexed). Only a file that cannot be read (deleted, moved away, no
        permission) falls back to the remembered path -> video mapping, and the returned
        fingerprint is then None. A known video found under a new path (a renamed or copied file)
        is remembered under it (``remember``), so the next lookup needs no read.
        """
        key = path_key(path)
        try:
            now = stat_key(os.stat(key))
        except OSError:
            now = None
        rows = self._query(
            "SELECT p.video_id, v.fingerprint, p.size_bytes, p.mtime_ns, p.ctime_ns, p.inode FROM video_paths p "
            "JOIN videos v ON v.id = p.video_id WHERE p.path = ?",
            (to_sql(key),),
        )
        if rows and now is not None and tuple(rows[0][2:]) == now:
            return self.get_video(rows[0][0]), Fingerprint(rows[0][1], *rows[0][2:])
        try:
            fp = fingerprint_file(path)
        except VideoInputError:
            if not rows:
                raise
            return self.get_video(rows[0][0]), None
        video = self.find_video(fp)
        if video is not None and remember:
            try:
                self.remember_path(video.id, path, fp)
            except StoreLockedError:
                pass  # only a shortcut for next time
        return video, fp

    # --- models and runs ------------------------------------------------------------------------

    def model_dim(self, model_id: str) -> int | None:
        rows = self._query("SELECT dim FROM models WHERE model_id = ?", (model_id,))
        return rows[0][0] if rows else None

    def _model_pk(self, model_id: str, dim: int | None = None, *, create: bool = False) -> int | None:
        rows = self.conn.execute("SELECT id, dim FROM models WHERE model_id = ?", (model_id,)).fetchall()
        if rows:
            pk, stored_dim = rows[0]
            if dim is not None and stored_dim != dim:
                raise ModelMismatchError(
                    f"model {model_id!r} is stored with {stored_dim}-dimensional vectors, got {dim}",
                    "an encoder's model_id must change whenever its weights or output size change",
                )
            return pk
        if not create:
            return None
        return self.conn.execute(
            "INSERT INTO models(model_id, dim, added_at) VALUES (?, ?, ?)", (model_id, dim, time.time())
        ).lastrowid

    def runs(self, video_id: int, model_id: str | None = None) -> list[RunRecord]:
        sql = (
            "SELECT r.id, r.video_id, m.model_id, r.kind, r.settings_json, r.frames_added, r.frames_decoded, "
            "r.seconds, r.created_at FROM runs r JOIN models m ON m.id = r.model WHERE r.video_id = ?"
        )
        params: tuple = (video_id,)
        if model_id is not None:
            sql += " AND m.model_id = ?"
            params += (model_id,)
        rows = self._query(sql + " ORDER BY r.id", params)
        return [RunRecord(r[0], r[1], r[2], r[3], json.loads(r[4]), *r[5:]) for r in rows]

    def find_run(self, video_id: int, model_id: str, settings_key: str) -> RunRecord | None:
        rows = self._query(
            "SELECT r.id FROM runs r JOIN models m ON m.id = r.model WHERE r.video_id = ? AND m.model_id = ? "
            "AND r.settings_key = ? AND r.kind = 'index'",
            (video_id, model_id, settings_key),
        )
        if not rows:
            return None
        return next(r for r in self.runs(video_id, model_id) if r.id == rows[0][0])

    def indexed_models(self, video_id: int) -> list[str]:
        rows = self._query(
            "SELECT DISTINCT m.model_id FROM frames f JOIN models m ON m.id = f.model WHERE f.video_id = ? ORDER BY 1",
            (video_id,),
        )
        return [r[0] for r in rows]


def _use_wal(conn: sqlite3.Connection) -> str:
    """Switch a new database to WAL; returns the journal mode it then has. The switch needs the
    file to itself and SQLite answers "locked" at once, without its busy handler, while another
    connection has a new store open too (two batches started together): wait for it here."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            return conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if getattr(exc, "sqlite_errorname", "") != "SQLITE_BUSY" or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def path_key(path: str | os.PathLike) -> str:
    """How a path is remembered: absolute and normalised, symlinks kept (the name the user uses)."""
    return os.path.normpath(os.path.abspath(os.path.expanduser(str(path))))
