"""Shared fixtures. Real clips come from ../shared/videos (CI has it beside the checkout; a user's
machine does not, so tests that need it skip with the reason)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_VIDEOS = Path(os.environ.get("LONGVID_SHARED_VIDEOS", REPO.parent / "shared" / "videos"))


@pytest.fixture(scope="session")
def shared_videos() -> Path:
    if not (SHARED_VIDEOS / "MANIFEST.md").is_file():
        pytest.skip(f"real test clips not found at {SHARED_VIDEOS} (set LONGVID_SHARED_VIDEOS)")
    return SHARED_VIDEOS


@pytest.fixture(scope="session")
def shared_video(shared_videos):
    """shared_video("pyscenedetect/counter.mp4") -> Path, skipping if that one file is missing."""

    def get(relative: str) -> Path:
        path = shared_videos / relative
        if not path.is_file():
            pytest.skip(f"{path} is missing")
        return path

    return get


@pytest.fixture
def cli_env(monkeypatch):
    """What a command-line test runs under: no model-hub network, and errors as one line (no
    LONGVID_DEBUG from the developer's shell)."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("LONGVID_DEBUG", raising=False)
