"""Integrity check, repair and garbage collection (``longvid store check|gc|info``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import time

from ..errors import StoreCorruptError
from ..filenames import to_sql
from .archive_index import ARCHIVE_DIR
from .integrity import is_store_file
from .records import CheckReport
from .segments import SEGMENT_DIR, SUFFIX, TMP_PREFIX

# A build writes its archive index outside any transaction (it takes minutes), so gc leaves
# unregistered archive files younger than this alone: they may belong to a build under way.
ARCHIVE_GRACE_S = 3600.0


class MaintenanceMixin:
    def check(self) -> CheckReport:
        """SQLite ``integrity_check`` and foreign keys; every file name inside the store and every
        video path absolute and normalised; every segment present, unchanged (SHA-256), readable
        by FAISS, finite, holding exactly its run's frame ids; run counts consistent. Files found
        good are remembered as verified (integrity.py), damaged ones as not (damage that left a
        file's identity as it was, such as a bit flipped on disk, then fails every read too)."""
        report = CheckReport(db_file=str(self.db_file))
        with self.errors():
            result = [r[0] for r in self.conn.execute("PRAGMA integrity_check").fetchall()]
            if result != ["ok"]:
                report.problems += [f"SQLite: {r}" for r in result[:10]]
                return report  # nothing below can be trusted
            for table, rowid, parent, _ in self.conn.execute("PRAGMA foreign_key_check").fetchall()[:10]:
                report.problems.append(f"SQLite: {table} row {rowid} points to a missing {parent} row")
            c = self.conn
            report.videos = c.execute("SELECT COUNT(*) FROM videos").fetchone()[0]
            report.runs = c.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
            report.frames = c.execute("SELECT COUNT(*) FROM frames").fetchone()[0]
            runs = c.execute(
                "SELECT r.id, r.frames_added, (SELECT COUNT(*) FROM frames f WHERE f.run_id = r.id), "
                "s.id, s.file, s.count, s.dim, s.size_bytes, s.sha256, s.verified_stat "
                "FROM runs r LEFT JOIN segments s ON s.run_id = r.id"
            ).fetchall()
        problems, report.bad_video_paths, report.bad_videos = self._video_row_problems()
        report.problems += problems
        registered = set()
        for run_id, added, frame_count, *segment_row in runs:
            file, count = segment_row[1], segment_row[2]
            if added != frame_count:
                report.problems.append(f"run {run_id}: {frame_count} frames stored, {added} recorded")
                report.damaged_runs.append(run_id)
                continue
            if file is None:
                if frame_count:
                    report.problems.append(f"run {run_id}: {frame_count} frames but no vector segment")
                    report.damaged_runs.append(run_id)
                continue
            registered.add(file)
            report.segments += 1
            try:
                segment = self._load_segment(tuple(segment_row), verify=True)
            except StoreCorruptError as exc:
                report.problems.append(f"run {run_id}: {exc.message}")
                report.damaged_runs.append(run_id)
                self._remember_verified("segments", segment_row[0], segment_row[5], None)  # reads verify it again, and fail
                continue
            ids = {r[0] for r in self._query("SELECT id FROM frames WHERE run_id = ?", (run_id,))}
            if ids != set(segment.ids.tolist()):
                report.problems.append(f"run {run_id}: segment {file} ids differ from the run's frames")
                report.damaged_runs.append(run_id)
                continue
            report.vectors += count
        registered |= self._check_archive_indexes(report)
        report.orphan_files = sorted((set(self._segment_files()) | set(self._archive_files())) - registered)
        return report

    def _check_archive_indexes(self, report: CheckReport) -> set[str]:
        """Every registered archive index inside the store, present and unchanged (SHA-256),
        readable, finite. Returns their files."""
        records = self._archive_records("1", ())
        for record in records:
            report.archive_indexes += 1
            try:
                self._read_archive_index(record, verify=True)
            except StoreCorruptError as exc:
                report.problems.append(exc.message)
                report.damaged_archive_indexes.append(record.id)
                self._remember_verified("archive_indexes", record.id, record.sha256, None)
        return {r.file for r in records}

    def _segment_files(self) -> list[str]:
        return self._store_files(SEGMENT_DIR)

    def _archive_files(self) -> list[str]:
        return self._store_files(ARCHIVE_DIR)

    def _store_files(self, folder: str) -> list[str]:
        base = self.root / folder
        if not base.is_dir():
            return []
        return [
            p.relative_to(self.root).as_posix()
            for p in base.rglob("*")
            if p.is_file() and (p.name.endswith(SUFFIX) or p.name.startswith(TMP_PREFIX))
        ]

    def gc(self) -> list[str]:
        """Delete segment files no run owns (left by killed runs). Returns their names.

        Runs create and register segment files inside their write transaction, so while this
        holds the write lock no file can be between 'written' and 'registered'.
        """
        removed = []
        now = time.time()
        with self.transaction() as c:
            registered = {r[0] for r in c.execute("SELECT file FROM segments").fetchall()}
            registered |= {r[0] for r in c.execute("SELECT file FROM archive_indexes").fetchall()}
            archive = set(self._archive_files())
            for name in self._segment_files() + sorted(archive):
                if name not in registered:
                    try:
                        if name in archive and now - (self.root / name).stat().st_mtime < ARCHIVE_GRACE_S:
                            continue
                        (self.root / name).unlink()
                        removed.append(name)
                    except FileNotFoundError:
                        pass
        for folder in sorted([*(self.root / SEGMENT_DIR).glob("m*"), *(self.root / ARCHIVE_DIR).glob("m*")], reverse=True):
            try:
                folder.rmdir()  # only when empty
            except OSError:
                pass
        return removed

    def repair(self) -> tuple[CheckReport, list[int]]:
        """Drop runs whose vectors are damaged or missing (index their videos again to restore them),
        archive indexes that are damaged or hold a dropped run, and rows naming what the store never
        writes (only the row: a file outside the store is never touched); then collect orphaned
        files. Everything else stays. Returns (report before, dropped runs)."""
        report = self.check()
        if any(p.startswith("SQLite:") for p in report.problems):
            raise StoreCorruptError(
                f"store database {self.db_file} is damaged ({report.problems[0]})",
                "move that file aside and index again (the store is a cache; the videos are untouched)",
            )
        dropped = sorted(set(report.damaged_runs))
        files = []
        with self.transaction() as c:
            for path in report.bad_video_paths:
                c.execute("DELETE FROM video_paths WHERE path = ?", (to_sql(path) if isinstance(path, str) else path,))  # the video stays
            for video_id in report.bad_videos:
                c.execute("DELETE FROM videos WHERE id = ?", (video_id,))  # its runs go; gc collects their files
            for run_id in dropped:
                row = c.execute("SELECT file, model FROM segments WHERE run_id = ?", (run_id,)).fetchone()
                if row:
                    files.append(row[0])
                    # the model's archive index holds that run's vectors: rebuilt by the next batch
                    index = c.execute("SELECT id FROM archive_indexes WHERE model = ?", (row[1],)).fetchone()
                    if index:
                        report.damaged_archive_indexes.append(index[0])
                c.execute("DELETE FROM runs WHERE id = ?", (run_id,))  # frames, scenes, segment rows cascade
            for index_id in sorted(set(report.damaged_archive_indexes)):
                row = c.execute("SELECT file FROM archive_indexes WHERE id = ?", (index_id,)).fetchone()
                if row:
                    files.append(row[0])
                c.execute("DELETE FROM archive_indexes WHERE id = ?", (index_id,))
        for name in files:
            if not is_store_file(name):
                continue  # a crafted row: only the row goes, never a file outside the store
            try:
                (self.root / name).unlink()
            except OSError:
                pass
        self._recipe_indexes.clear()
        self.gc()
        return report, dropped

    def info(self) -> dict[str, Any]:
        """Counts and sizes for ``longvid store info``."""
        with self.errors():
            c = self.conn
            models = [
                {"model_id": m, "dim": d, "videos": v, "vectors": n or 0, "archive_index": None}
                for m, d, v, n in c.execute(
                    "SELECT m.model_id, m.dim, (SELECT COUNT(DISTINCT video_id) FROM segments s WHERE s.model = m.id), "
                    "(SELECT SUM(count) FROM segments s WHERE s.model = m.id) FROM models m ORDER BY m.id"
                ).fetchall()
            ]
            for model in models:
                record = self.archive_index(model["model_id"])
                if record is not None:
                    model["archive_index"] = {
                        "recipe": record.recipe, "vectors": record.count, "tail": model["vectors"] - record.count,
                        "current": self._covers(record), "size_bytes": record.size_bytes, "file": record.file,
                    }
            tables = ("videos", "runs", "frames", "segments", "text_cache", "failures")
            counts = {t: c.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in tables}
        size = sum(p.stat().st_size for p in Path(self.root).rglob("*") if p.is_file())
        return {"path": str(self.root), "db_file": str(self.db_file), "size_bytes": size, **counts, "models": models}
