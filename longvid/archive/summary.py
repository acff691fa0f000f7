"""What a batch did, file by file, and how it is shown: one progress bar with ETA and live counts
while it runs (stderr), a summary table at the end (stdout), or JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..filenames import printable
from ..types import _ToDict

# "indexed": stored now; "skipped": indexed already with this model and settings (same file, or
# the same content under another name); "failed": could not be indexed now (reason recorded in
# the store); "failed_before": failed in an earlier batch and unchanged since (not retried).
STATUSES = ("indexed", "skipped", "failed", "failed_before")
# The error of a video whose worker process another process killed (the OOM killer, a user): not
# the file's fault, so a recorded failure with this error is retried by the next batch.
WORKER_KILLED = "WorkerKilled"


@dataclass
class ItemResult(_ToDict):
    path: str
    status: str
    video_id: int | None = None
    frames: int = 0  # frames stored by this batch
    seconds: float = 0.0
    error: str | None = None  # exception class of a failure
    reason: str | None = None  # its one-line message


@dataclass
class BatchSummary(_ToDict):
    store: str
    engine: str
    workers: int
    model_id: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    items: list[ItemResult] = field(default_factory=list)
    ignored: list[dict[str, str]] = field(default_factory=list)  # {"path", "why"}: not videos
    probed: int = 0
    seconds: float = 0.0
    archive_index: dict[str, Any] | None = None
    interrupted: bool = False

    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in STATUSES}
        for item in self.items:
            out[item.status] += 1
        out["ignored"] = len(self.ignored)
        return out

    def by_status(self, status: str) -> list[ItemResult]:
        return [i for i in self.items if i.status == status]

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "counts": self.counts()}


class BatchProgress:
    """The live view: one bar over the videos to index, counts beside it, failures logged above."""

    def __init__(self, total: int, *, skipped: int = 0, failed_before: int = 0, enabled: bool | None = None):
        from ..progress import progress_bar

        self.counts = {"indexed": 0, "skipped": skipped, "failed": failed_before}
        self._bar = progress_bar("indexing videos", total=total, unit="videos", enabled=enabled)

    def __enter__(self) -> "BatchProgress":
        self._bar.__enter__()
        self._show(advance=0)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._bar.__exit__(*exc)

    def _show(self, advance: float) -> None:
        c = self.counts
        self._bar.update(advance=advance, indexed=str(c["indexed"]), skipped=str(c["skipped"]), failed=str(c["failed"]))

    def done(self, item: ItemResult) -> None:
        self.counts["failed" if item.status.startswith("failed") else item.status] += 1
        if item.status == "failed":
            self._bar.log(f"failed: {printable(item.path)}: {short_reason(item)}")
        self._show(advance=1)


def short_reason(item: ItemResult) -> str:
    """The reason without the path it starts with (the path is shown beside it)."""
    reason = printable(item.reason or "?")
    prefix = f"{printable(item.path)}: "
    return reason[len(prefix):] if reason.startswith(prefix) else reason


def print_summary(summary: BatchSummary, console: Any) -> None:
    """The end-of-batch table: counts, then every failure with its reason."""
    from rich.table import Table

    counts = summary.counts()
    table = Table(box=None, pad_edge=False, title="batch", title_justify="left", title_style="dim")
    table.add_column("videos", justify="left")
    table.add_column("count", justify="right")
    labels = {
        "indexed": "indexed now",
        "skipped": "already indexed (skipped)",
        "failed": "failed",
        "failed_before": "failed before, unchanged (not retried; --retry-failed)",
        "ignored": "not videos (ignored)",
    }
    for key, label in labels.items():
        table.add_row(label, str(counts[key]))
    console.print(table)
    failures = summary.by_status("failed") + summary.by_status("failed_before")
    if failures:
        failed = Table(box=None, pad_edge=False, title="failures", title_justify="left", title_style="dim")
        failed.add_column("file", overflow="fold")
        failed.add_column("reason", overflow="fold")
        for item in failures:
            failed.add_row(printable(item.path), short_reason(item))
        console.print(failed)
    frames = sum(i.frames for i in summary.items)
    line = f"{frames} frames stored in {summary.seconds:.1f} s ({summary.engine}, {summary.workers} workers)"
    if summary.model_id:
        line += f"  model {summary.model_id}"
    console.print(line, style="dim", soft_wrap=True, highlight=False, markup=False)
    index = summary.archive_index
    if index:
        if index["exact"]:
            text = f"archive search: exact over {index['vectors']:,} vectors ({index['recipe']} recipe, no index file)"
        else:
            text = f"archive index: {index['recipe']} over {index['vectors']:,} vectors ({index['action']})"
        console.print(text, style="dim", soft_wrap=True, highlight=False, markup=False)
    if summary.interrupted:
        console.print("interrupted: run the same command again to finish (nothing indexed is lost or redone)")
