"""The store's SQLite schema and its migrations.

``meta.schema_version`` says which migrations ran. Opening a store applies the missing ones in one
transaction; a store written by a newer longvid (higher version) is refused rather than guessed at.
Add a migration by appending to ``MIGRATIONS``; never edit one that has shipped.
"""

from __future__ import annotations

import sqlite3

from ..errors import StoreError

MIGRATIONS: list[str] = [
    # 1: videos by content, remembered paths, models, index runs, scenes, frames, vector segments,
    #    and a cache of text embeddings.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE videos (
        id INTEGER PRIMARY KEY,
        fingerprint TEXT NOT NULL UNIQUE,
        size_bytes INTEGER NOT NULL,
        duration_s REAL,
        start_s REAL,
        fps REAL,
        width INTEGER,
        height INTEGER,
        added_at REAL NOT NULL
    );
    CREATE TABLE video_paths (
        path TEXT PRIMARY KEY,
        video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        size_bytes INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        ctime_ns INTEGER NOT NULL,
        inode INTEGER NOT NULL,
        seen_at REAL NOT NULL
    );
    CREATE INDEX video_paths_by_video ON video_paths(video_id);
    CREATE TABLE models (
        id INTEGER PRIMARY KEY,
        model_id TEXT NOT NULL UNIQUE,
        dim INTEGER NOT NULL CHECK (dim > 0),
        added_at REAL NOT NULL
    );
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY,
        video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        model INTEGER NOT NULL REFERENCES models(id),
        kind TEXT NOT NULL CHECK (kind IN ('index', 'refine')),
        settings_key TEXT NOT NULL,
        settings_json TEXT NOT NULL,
        frames_added INTEGER NOT NULL,
        scene_source TEXT CHECK (scene_source IN ('detector', 'embeddings')),
        frames_decoded INTEGER,
        seconds REAL,
        created_at REAL NOT NULL
    );
    CREATE INDEX runs_by_video ON runs(video_id, model, settings_key);
    CREATE TABLE scenes (
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        scene_index INTEGER NOT NULL,
        start_s REAL NOT NULL,
        end_s REAL NOT NULL,
        start_frame INTEGER NOT NULL,
        end_frame INTEGER NOT NULL,
        PRIMARY KEY (run_id, scene_index)
    );
    CREATE TABLE frames (
        id INTEGER PRIMARY KEY,
        video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        model INTEGER NOT NULL REFERENCES models(id),
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        pts_s REAL NOT NULL,
        frame_index INTEGER NOT NULL,
        scene_index INTEGER,
        source TEXT NOT NULL CHECK (source IN ('uniform', 'keyframe', 'refined', 'at')),
        UNIQUE (video_id, model, frame_index)
    );
    CREATE INDEX frames_by_run ON frames(run_id);
    CREATE TABLE segments (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL UNIQUE REFERENCES runs(id) ON DELETE CASCADE,
        video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
        model INTEGER NOT NULL REFERENCES models(id),
        file TEXT NOT NULL UNIQUE,
        count INTEGER NOT NULL,
        dim INTEGER NOT NULL,
        size_bytes INTEGER NOT NULL,
        sha256 TEXT NOT NULL
    );
    CREATE INDEX segments_by_video ON segments(video_id, model);
    CREATE TABLE text_cache (
        model INTEGER NOT NULL REFERENCES models(id),
        text TEXT NOT NULL,
        vector BLOB NOT NULL,
        used_at REAL NOT NULL,
        PRIMARY KEY (model, text)
    );
    """,
    # 2: archive indexing. Files a batch could not index, with the reason and the file's identity
    #    when it failed (retried only once it changes, or on request); and at most one recipe
    #    index (HNSW, IVF-PQ, ...) per model over the segments up to ``max_segment_id``.
    """
    CREATE TABLE failures (
        path TEXT NOT NULL,
        model_id TEXT NOT NULL,
        settings_key TEXT NOT NULL,
        size_bytes INTEGER NOT NULL,
        mtime_ns INTEGER NOT NULL,
        ctime_ns INTEGER NOT NULL,
        inode INTEGER NOT NULL,
        error TEXT NOT NULL,
        reason TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 1,
        failed_at REAL NOT NULL,
        PRIMARY KEY (path, model_id, settings_key)
    );
    CREATE TABLE archive_indexes (
        id INTEGER PRIMARY KEY,
        model INTEGER NOT NULL UNIQUE REFERENCES models(id),
        recipe TEXT NOT NULL,
        params_json TEXT NOT NULL,
        file TEXT NOT NULL UNIQUE,
        count INTEGER NOT NULL,
        dim INTEGER NOT NULL,
        max_segment_id INTEGER NOT NULL,
        segments INTEGER NOT NULL,
        size_bytes INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        seconds REAL,
        created_at REAL NOT NULL
    );
    """,
    # 3: each vector file's identity (size:mtime_ns:ctime_ns:inode) when its SHA-256 last matched
    #    (integrity.py): reads trust a file that still has it and verify any other once. Rows
    #    from before have none, so every file is verified on its first read after the upgrade.
    """
    ALTER TABLE segments ADD COLUMN verified_stat TEXT;
    ALTER TABLE archive_indexes ADD COLUMN verified_stat TEXT
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    has_meta = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone()
    if not has_meta:
        return 0
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return int(row[0]) if row else 0


def migrate(conn: sqlite3.Connection, db_file: str) -> None:
    """Bring the schema to ``SCHEMA_VERSION`` (no-op when it is there already)."""
    version = schema_version(conn)
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{db_file} has schema version {version}; this longvid knows up to {SCHEMA_VERSION}",
            "upgrade longvid, or use another --store",
        )
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = schema_version(conn)  # another process may have migrated while we waited
        for step in range(version, SCHEMA_VERSION):
            for statement in MIGRATIONS[step].split(";"):
                if statement.strip():
                    conn.execute(statement)
        conn.execute(
            "INSERT INTO meta(key, value) VALUES ('schema_version', ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (str(SCHEMA_VERSION),),
        )
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
