"""Spatial samplers: one module per method, registered by name and imported on first use.

A sampler is ``fn(frames, counts, options) -> [(flat_index, features), ...]`` (see ``base``);
register your own with ``SAMPLERS.register("name", fn)`` and pass ``method="name"``.
"""

from __future__ import annotations

from ...registry import Registry

SAMPLERS: Registry = Registry("token sampler")
SAMPLERS.register("pool", "longvid.tokens.samplers.pool:sample_pool")
SAMPLERS.register("kcenter", "longvid.tokens.samplers.divprune:sample_kcenter")  # DivPrune, joint
SAMPLERS.register("kcenter-frame", "longvid.tokens.samplers.kcenter:sample_kcenter_frame")
SAMPLERS.register("relevance", "longvid.tokens.samplers.relevance:sample_relevance")
SAMPLERS.register("hybrid", "longvid.tokens.samplers.hybrid:sample_hybrid")

__all__ = ["SAMPLERS"]
