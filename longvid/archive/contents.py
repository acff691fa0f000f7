"""A store's contents in a canonical form: what was indexed, independent of row ids, file names,
timestamps and the order runs were written in. Two stores filled from the same files with the
same model and settings give equal contents however the work was split, interrupted or resumed
(local workers, Ray, a batch killed five times and run again).

    a, b = store_contents(store_a), store_contents(store_b)
    assert contents_differences(a, b) == []
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..filenames import from_sql


def store_contents(store) -> dict[str, Any]:
    """{"videos": {fingerprint: {...}}, "failures": [...]}; per video its metadata, remembered
    paths, runs, scenes, frames (pts, index, source, scene) and vectors per model in frame order."""
    q = store._query
    models = dict(q("SELECT id, model_id FROM models"))
    videos: dict[str, Any] = {}
    for video_id, digest, size, duration, start, fps, width, height in q(
        "SELECT id, fingerprint, size_bytes, duration_s, start_s, fps, width, height FROM videos"
    ):
        runs = sorted(
            (models[m], kind, key, added, decoded, source)
            for m, kind, key, added, decoded, source in q(
                "SELECT model, kind, settings_key, frames_added, frames_decoded, scene_source FROM runs WHERE video_id = ?", (video_id,)
            )
        )
        scenes = sorted(
            (models[m], key, tuple(rest))
            for m, key, *rest in q(
                "SELECT r.model, r.settings_key, s.scene_index, s.start_s, s.end_s, s.start_frame, s.end_frame "
                "FROM scenes s JOIN runs r ON r.id = s.run_id WHERE r.video_id = ?", (video_id,)
            )
        )
        frames: dict[str, list] = {}
        vectors: dict[str, np.ndarray] = {}
        for model_id in sorted({r[0] for r in runs}):
            stored, vecs = store.vectors(video_id, model_id)
            order = np.argsort(stored.frame_index, kind="stable")
            frames[model_id] = [
                (int(stored.frame_index[i]), float(stored.pts_s[i]), str(stored.source[i]), int(stored.scene_index[i])) for i in order
            ]
            vectors[model_id] = np.asarray(vecs)[order]
        paths = sorted(from_sql(p) for (p,) in q("SELECT path FROM video_paths WHERE video_id = ?", (video_id,)))
        videos[digest] = {
            "info": (size, duration, start, fps, width, height), "paths": paths, "runs": runs, "scenes": scenes,
            "frames": frames, "vectors": vectors,
        }
    failures = sorted((from_sql(p), *rest) for p, *rest in q("SELECT path, model_id, settings_key, error, reason FROM failures"))
    return {"videos": videos, "failures": failures}


def contents_differences(a: dict[str, Any], b: dict[str, Any], *, atol: float = 0.0) -> list[str]:
    """What differs between two ``store_contents`` (empty when equal); vectors compared to ``atol``."""
    out = []
    if a["failures"] != b["failures"]:
        out.append(f"failures differ: {a['failures']} != {b['failures']}")
    only_a, only_b = sorted(set(a["videos"]) - set(b["videos"])), sorted(set(b["videos"]) - set(a["videos"]))
    if only_a or only_b:
        out.append(f"videos only in the first: {only_a}; only in the second: {only_b}")
    for digest in sorted(set(a["videos"]) & set(b["videos"])):
        va, vb = a["videos"][digest], b["videos"][digest]
        for part in ("info", "paths", "runs", "scenes", "frames"):
            if va[part] != vb[part]:
                out.append(f"video {digest} ({va['paths'][:1]}): {part} differ")
        for model_id in sorted(set(va["vectors"]) | set(vb["vectors"])):
            x, y = va["vectors"].get(model_id), vb["vectors"].get(model_id)
            if x is None or y is None or x.shape != y.shape or not np.allclose(x, y, rtol=0, atol=atol):
                worst = None if x is None or y is None or x.shape != y.shape else float(np.abs(x - y).max())
                out.append(f"video {digest} ({va['paths'][:1]}): vectors of {model_id} differ (max difference {worst})")
    return out
