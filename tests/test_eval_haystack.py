"""Strategy tables and the synthetic self-check the haystack benchmark builds on."""

from __future__ import annotations

import json

import numpy as np
import pytest

from longvid.errors import InvalidArgumentError
from longvid.eval.haystack import ScoredVideo, format_table, self_check, strategy_table, synthetic_videos


def test_synthetic_videos_have_short_needles_and_gold_frames():
    videos = synthetic_videos(count=5, seed=1)
    assert len(videos) == 5
    for v in videos:
        duration = v.timestamps_s[-1] - v.timestamps_s[0]
        assert 600 <= duration <= 3600
        gold = np.asarray(v.gold_s)
        assert 1 <= gold.size <= 4 and gold[-1] - gold[0] < 3.0
        # The needle frames are the best-scoring ones.
        assert v.scores[np.searchsorted(v.timestamps_s, gold)].min() > np.quantile(v.scores, 0.99)
    assert synthetic_videos(count=2, seed=1)[1].scores.tolist() == videos[1].scores.tolist()


def test_strategy_table_hand_case():
    t = np.arange(100.0)
    s = np.zeros(100)
    s[50] = 1.0
    video = ScoredVideo("one", t, s, (50.0,))
    rows = strategy_table([video], strategies=("uniform", "topk"), frames=(1, 2))
    by = {(r.strategy, r.frames): r for r in rows}
    # uniform with 1 frame picks 50 (the centre of 0..99 is 49.5, nearest frame 49): within 5 s.
    assert by[("uniform", 1)].f1 == 1.0
    # uniform with 2 frames: 25 and 74, both far from 50.
    assert by[("uniform", 2)].f1 == 0.0
    assert by[("topk", 1)].f1 == 1.0
    # topk with 2 frames: 50, then the tie among zeros goes to the earliest frame, 0.
    assert (by[("topk", 2)].precision, by[("topk", 2)].recall) == (0.5, 1.0)
    assert all(r.frames_embedded == 100 for r in rows)
    table = format_table(rows)
    assert table.splitlines()[0] == "| strategy | F1@1 | embedded@1 | F1@2 | embedded@2 |"
    assert "| topk | 1.000 | 100 |" in table


def test_cold_search_columns_count_only_what_they_scored():
    videos = synthetic_videos(count=3, seed=2)
    rows = {r.strategy: r for r in strategy_table(videos, strategies=("tstar-coverage", "tstar"), frames=(8,))}
    n = np.mean([v.timestamps_s.size for v in videos])
    assert rows["tstar-coverage"].frames_embedded <= 0.25 * n  # a quarter of a 1 fps index
    # the published T*: at least its first look (16 frames), at most min(1000, all) + one grid of 16
    assert 16 <= rows["tstar"].frames_embedded <= min(1000, n) + 16
    json.dumps([r.to_dict() for r in rows.values()])


def test_unknown_strategy_and_empty_input_refused():
    with pytest.raises(InvalidArgumentError, match="unknown strategy 'best'"):
        strategy_table(synthetic_videos(1), strategies=("best",))
    with pytest.raises(InvalidArgumentError, match="no videos"):
        strategy_table([])


def test_self_check_query_aware_beats_uniform_by_a_wide_margin():
    check = self_check(count=20, seed=0, frames=8)
    assert check.passed, check.table
    assert check.uniform_f1 <= 0.1
    assert check.best_f1 >= 0.5 and check.margin >= 0.4
    assert check.best_strategy != "uniform"


def test_smoothing_lifts_f1_on_short_needles():
    videos = synthetic_videos(count=10, seed=3)
    plain = {r.strategy: r.f1 for r in strategy_table(videos, strategies=("topk",), frames=(8,))}
    smooth = {r.strategy: r.f1 for r in strategy_table(videos, strategies=("topk",), frames=(8,), smooth_s=3.0)}
    assert smooth["topk"] >= plain["topk"] + 0.2
    assert smooth["topk"] >= 0.8
