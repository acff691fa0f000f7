"""Which encoder to search with when the user names none: the one the videos were indexed with.

    choice = indexed_model(config, target="~/archive")       # a folder or a store folder
    choice = indexed_model(config, videos=["a.mp4", "b.mp4"])
    config = with_overrides(config, model=choice.spec)       # then search as usual

Stored vectors can only be searched with the model that made them, so `longvid search DIR`
without ``--model``/``--preset`` should not load the default preset's encoder (from the hub) for
an archive indexed with another one. The store names each model by its ``model_id``
(``open_clip:NAME@digest``); the part before ``@`` gives the model string to load it again, and
the loaded encoder must then have the same id (search refuses a different digest). A model from a
local folder is stored by the folder's name only, so that one must be named with ``--model``.

When the videos in scope were indexed with several models, the one that covers the most of them
is chosen (ties: one loadable by its id, then the most vectors, then the id), and the choice is
said on stderr.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import NotIndexedError


@dataclass(frozen=True)
class ModelChoice:
    model_id: str
    spec: str  # what load_encoder takes
    videos: int  # videos in scope indexed with it
    others: list[tuple[str, int]] = field(default_factory=list)  # (model_id, videos) of the other models

    def note(self) -> str | None:
        """One line for stderr when there was a choice, else None."""
        if not self.others:
            return None
        others = ", ".join(f"{m} ({n} videos)" for m, n in self.others)
        return (f"searching with {self.model_id}, the model most of these videos are indexed with ({self.videos}); "
                f"also indexed with: {others}; choose one with --model")


def spec_for(model_id: str) -> str | None:
    """The model string that loads ``model_id`` again, or None when the id cannot tell (a local folder)."""
    from ..embed.resolve import TINY_MODEL_DIR

    name = model_id.rpartition("@")[0] or model_id
    scheme, _, rest = name.partition(":")
    if scheme == "open_clip":
        if rest == TINY_MODEL_DIR.name:
            return "tiny"
        arch, _, tag = rest.partition("/")
        return f"open_clip:{rest}" if arch and tag and not os.path.isabs(rest) else None
    if scheme == "hf" and "/" in rest and not os.path.isabs(rest):
        return f"hf:{rest}"
    return None


def indexed_model(config, *, target: str | os.PathLike | None = None, videos: list[str] | None = None) -> ModelChoice | None:
    """The model the videos in scope were indexed with: those of ``target`` (a folder or a store
    folder; None = the whole store of ``config``), or ``videos`` (files). None when there is no
    store, or none of ``videos`` is in it (the caller goes on with its configured encoder); a
    ``target`` with no indexed video is ``NotIndexedError`` (searching it needs one)."""
    from ..store import DB_NAME, Store
    from .search import resolve_scope

    if videos is not None:
        root, folder = config.store.resolved_path(), None
    else:
        scope = resolve_scope(target, config)
        root, folder = scope.store, scope.folder
    if not (root / DB_NAME).is_file():
        return None
    with Store.open(root) as store:
        if videos is not None:
            ids = sorted({v.id for v in (_stored(store, p) for p in videos) if v is not None})
        else:
            ids = None if folder is None else sorted(store.videos_under(folder))
        ranked = _models(store, ids) if ids != [] else []
    if not ranked and videos is None:
        where = f" under {folder}" if folder is not None else ""
        raise NotIndexedError(f"no video{where} is indexed in {root}", f"run `longvid index {folder or 'DIR'}` first")
    if not ranked:
        return None
    (model_id, count), others = ranked[0], ranked[1:]
    spec = spec_for(model_id)
    if spec is None:
        where = "in the store" if ids is None else "here"
        raise NotIndexedError(
            f"{count} videos {where} are indexed with {model_id}, a model from a local folder that its id does not name",
            "pass that folder with --model (or --encoder for ask/eval)",
        )
    return ModelChoice(model_id, spec, count, others)


def _stored(store, path: str) -> Any:
    from ..errors import VideoInputError

    try:
        return store.video_for_path(path, remember=False)[0]
    except VideoInputError:  # missing or unreadable and never indexed: nothing to go by
        return None


def _models(store, ids: list[int] | None) -> list[tuple[str, int]]:
    """(model_id, videos) of every model with vectors for the videos ``ids`` (None: all), best first."""
    wanted = None if ids is None else set(ids)
    videos: dict[str, int] = {}
    vectors: dict[str, int] = {}
    for video_id, model_id, count in store._query(
        "SELECT s.video_id, m.model_id, SUM(s.count) FROM segments s JOIN models m ON m.id = s.model GROUP BY s.video_id, m.model_id"
    ):
        if wanted is None or video_id in wanted:
            videos[model_id] = videos.get(model_id, 0) + 1
            vectors[model_id] = vectors.get(model_id, 0) + count
    # most videos first; in a tie a model that can be loaded by its id, then the most vectors
    return sorted(videos.items(), key=lambda item: (-item[1], spec_for(item[0]) is None, -vectors[item[0]], item[0]))
