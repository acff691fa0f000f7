"""Budgeted visual tokens: temporal merge, query-aware per-frame counts, spatial sampling.

    from longvid.tokens import reduce_tokens
    ts = reduce_tokens(grids, relevance, budget=2048, method="hybrid", query=q)
    ts.features, ts.positions, ts.frame_counts, ts.account.to_dict()

``reduce_tokens`` and the samplers need torch and are imported on first use; ``TokenAccount``,
``TokenSet`` and ``assign_counts`` do not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .account import TokenAccount, TokenSet
from .assign import assign_counts

_LAZY = {
    "reduce_tokens": "longvid.tokens.reduce",
    "merge_temporal": "longvid.tokens.merge",
    "MergedFrame": "longvid.tokens.merge",
    "kcenter_select": "longvid.tokens.samplers.kcenter",
    "divprune_select": "longvid.tokens.samplers.divprune",
    "SAMPLERS": "longvid.tokens.samplers",
}

if TYPE_CHECKING:  # pragma: no cover
    from .merge import MergedFrame, merge_temporal
    from .reduce import reduce_tokens
    from .samplers import SAMPLERS
    from .samplers.divprune import divprune_select
    from .samplers.kcenter import kcenter_select

__all__ = ["TokenAccount", "TokenSet", "assign_counts", *_LAZY]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'longvid.tokens' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
