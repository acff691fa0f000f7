"""Where to draw the line between a clear and a weak match (``search.match_z``), measured.

    python benchmarks/match_calibration.py               # 3 samples + 12 needle videos of 2-5 minutes
    python benchmarks/match_calibration.py --videos 4    # a quicker look (fit set only)

The rule (``longvid.search.scoring.caption_z``): a frame's score for the question minus the median
of its similarities to 30 unrelated captions, in robust spreads (1.4826 x MAD) of those; the best
moment is a clear match when one of its frames reaches ``match_z``. This script asks questions
whose answer is known from the ground truth, through the library's own paths (``Pipeline.locate``
for questions, ``search_video`` for plain queries, both over a 1 fps index of the tiny CLIP), and
counts how many land on each side of the threshold:

* present: "when does the red star jump?" about a colour + shape the video shows (an event of it);
* partial: a colour + shape the video does not show, but another object has its colour or shape
  (the hard case: a red circle and a blue star are on screen, the question asks for a red star);
* absent: neither its colour nor its shape is shown;
* oov: things the tiny CLIP never saw ("when does the dog jump?").

Videos: ``sample_videos/`` (demo, needle, scenes) and fresh needle videos (seeds 700000 + i, below
the tiny CLIP's training range, apart from the other benchmarks' seeds; cached in ``--work``).
The first half of the needle videos (with the samples) is the fit set the threshold was chosen
on; the second half is held out. The action in each question is drawn at random (seeded): the
tiny CLIP sees single frames, so the object is what decides.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from _media import needle_videos, tiny_search_config  # noqa: E402

FIRST_SEED = 700_000
KINDS = ("present", "partial", "absent", "oov")
VERBS = {"appear": "appear", "move_left": "move to the left", "move_right": "move to the right", "jump": "jump", "grow": "grow"}
OOV_QUESTIONS = (
    "when does the dog jump?", "when does the man ride a bicycle?", "when does the car turn left?", "is there a cat?",
    "when does the speaker draw a diagram?",
)


def questions(truth, rng) -> list[tuple[str, str, str]]:
    """(question, plain query, kind) for every colour + shape, and the out-of-vocabulary ones."""
    from longvid.synth.vocab import ACTIONS, ALL_COMBOS

    shown = {(e.colour, e.shape) for e in truth.events}
    out = []
    for combo in ALL_COMBOS:
        action = ACTIONS[int(rng.integers(len(ACTIONS)))]
        if (combo.colour, combo.shape) in shown:
            kind = "present"
        elif any(combo.colour == c or combo.shape == s for c, s in shown):
            kind = "partial"
        else:
            kind = "absent"
        out.append((f"when does the {combo.colour} {combo.shape} {VERBS[action]}?", f"a {combo.colour} {combo.shape}", kind))
    return out + [(q, q, "oov") for q in OOV_QUESTIONS]


def measure(path: Path, truth, store: Path, rng) -> list[dict]:
    from longvid.indexing import search_video
    from longvid.pipeline import Pipeline

    rows = []
    with Pipeline(tiny_search_config({"store": {"path": str(store)}})) as pipe:
        pipe.index(path)
        for question, query, kind in questions(truth, rng):
            asked = pipe.locate(path, question)
            assert asked.searched == "store"
            found = search_video(path, query, config=pipe.config, store=pipe.store, encoder=pipe.encoder)
            rows.append({"video": path.name, "question": question, "query": query, "kind": kind,
                         "ask_z": asked.match.z, "search_z": found.match.z})
    return rows


def counts(rows: list[dict], key: str, threshold: float) -> dict[str, tuple[int, int]]:
    """Per kind: (how many reach the threshold, how many there are)."""
    return {k: (sum(r[key] >= threshold for r in rows if r["kind"] == k), sum(r["kind"] == k for r in rows)) for k in KINDS}


def errors(rows: list[dict], key: str, threshold: float) -> int:
    c = counts(rows, key, threshold)
    return (c["present"][1] - c["present"][0]) + sum(c[k][0] for k in KINDS if k != "present")


def best_threshold(rows: list[dict], key: str) -> float:
    """The threshold with the fewest errors (present below + the rest at or above); the middle of
    the best run of candidates, so it does not sit on one measured value."""
    values = np.unique([r[key] for r in rows])
    cuts = np.concatenate([[values[0] - 1], (values[1:] + values[:-1]) / 2, [values[-1] + 1]])
    errs = np.array([errors(rows, key, t) for t in cuts])
    best = np.flatnonzero(errs == errs.min())
    return float(np.median(cuts[best]))


def show(name: str, rows: list[dict], key: str, threshold: float) -> None:
    c = counts(rows, key, threshold)
    cells = "  ".join(f"{k} {c[k][0]}/{c[k][1]}" for k in KINDS)
    print(f"  {name:<9} clear (>= {threshold:g}): {cells}   errors {errors(rows, key, threshold)}/{len(rows)}")


def main() -> None:
    from longvid.config import SearchConfig
    from longvid.synth import GroundTruth

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--videos", type=int, default=12, help="needle videos (first half: fit set, second half: held out)")
    parser.add_argument("--work", type=Path, default=REPO / "bench_out" / "match_calibration")
    args = parser.parse_args()

    samples = [(REPO / "sample_videos" / f"{n}.mp4", GroundTruth.load(REPO / "sample_videos" / f"{n}.json"))
               for n in ("demo", "needle", "scenes")]
    needles = needle_videos(args.work / "videos", args.videos, 2, 5, FIRST_SEED)
    fit_videos = samples + needles[: (args.videos + 1) // 2]
    held_videos = needles[(args.videos + 1) // 2 :]
    rng = np.random.default_rng(0)
    rows = {"fit": [], "held out": []}
    for part, videos in (("fit", fit_videos), ("held out", held_videos)):
        for path, truth in videos:
            rows[part] += measure(path, truth, args.work / "store", rng)
            print(f"  measured {path.name}", flush=True)

    shipped = SearchConfig().match_z
    for key, what in (("ask_z", "questions (Pipeline.locate, decoupled phrases)"), ("search_z", "plain queries (search_video)")):
        fitted = best_threshold(rows["fit"], key)
        print(f"\n{what}: best threshold on the fit set {fitted:.2f}")
        for part, part_rows in rows.items():
            if part_rows:
                show(part, part_rows, key, shipped)
    (args.work / "results.json").write_text(json.dumps({"match_z": shipped, "rows": rows}, indent=1))
    print(f"\nthreshold shipped (longvid.config.SearchConfig.match_z): {shipped:g}; rows in {args.work / 'results.json'}")


if __name__ == "__main__":
    main()
