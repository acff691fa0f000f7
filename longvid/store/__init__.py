"""The persistent embedding store (SQLite metadata + FAISS vector segments).

    from longvid.store import Store
    with Store.open() as store:                 # --store / $LONGVID_STORE / platform cache folder
        video, fp = store.video_for_path("talk.mp4")
        frames, scores = store.scores(video.id, encoder.model_id, encoder.encode_text(["a whiteboard"]))

Videos are keyed by content fingerprint; vectors of different models never mix (one model row per
``model_id`` with a fixed dimension, one segment family per model); each index run is one atomic
transaction. See ``store.py`` for the layout and ``maintenance.py`` for check/repair/gc.
"""

from __future__ import annotations

from .fingerprint import Fingerprint, fingerprint_file
from .records import CheckReport, Hit, RunRecord, RunResult, StoredFrames, VideoRecord
from .store import DB_NAME, Store, path_key
from .writing import settings_key

__all__ = [
    "DB_NAME",
    "CheckReport",
    "Fingerprint",
    "Hit",
    "RunRecord",
    "RunResult",
    "Store",
    "StoredFrames",
    "VideoRecord",
    "fingerprint_file",
    "path_key",
    "settings_key",
]
