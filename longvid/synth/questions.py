"""Questions with worded answers about synthetic videos, and videos planned so they are answerable.

Five kinds of question, each with one short answer in words and multiple-choice options:

=========  ==============================================  =====================================
kind       question                                        answer
=========  ==============================================  =====================================
colour     what colour is the star that jumps?             red
action     what does the red square do?                    jumps / moves left / moves right /
                                                           grows / stays still
order      which appears first, the red star or the        the red star
           blue circle?
count      how many times does the blue circle jump?       one / two / three
presence   is there a green cross?                         yes / no
=========  ==============================================  =====================================

A question is asked only when the ground truth makes its answer unique: the object of an action,
count or order question appears exactly once; the star of a colour question is the only star that
jumps; the two objects of an order question do not overlap in time. A "no" presence question
names a colour + shape that never appears but shares its colour or its shape with one that does.

``plan_qa_video`` plans a haystack video in which every kind can be asked about its needles (a
jumping object, another object, and a third for order questions), with distractors of other
colour + shape pairs; at most ``max_same_shape`` distractors share the jumping needle's shape
and none of them jumps, so "the star that jumps" stays findable among a few stars.

``truth_questions(truth)`` asks the same questions from a video's ground truth JSON (which holds
no plan): the objects are its events, and a jumper's hop count is read from its recorded boxes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidArgumentError
from .plan import VideoSpec, _frames, _Placer, _validate, as_fps, plan_scenes
from .vocab import ACTIONS, ALL_COMBOS, COLOURS, SHAPES, Combo

KINDS: tuple[str, ...] = ("colour", "action", "order", "count", "presence")
ACTION_ANSWERS: dict[str, str] = {
    "appear": "stays still",
    "move_left": "moves left",
    "move_right": "moves right",
    "jump": "jumps",
    "grow": "grows",
}
COUNT_WORDS: tuple[str, ...] = ("zero", "one", "two", "three", "four")
_THIRD_PERSON = {"appear": "appears", "move_left": "moves left", "move_right": "moves right", "jump": "jumps", "grow": "grows"}


@dataclass(frozen=True)
class WordQuestion:
    """A question with its short worded answer, the options of its multiple-choice form, and the
    events (ids and spans in seconds) that hold the evidence."""

    kind: str
    question: str
    answer: str
    options: tuple[str, ...]
    event_ids: tuple[str, ...] = ()
    spans_s: tuple[tuple[float, float], ...] = ()

    def to_dict(self) -> dict:
        return {
            "kind": self.kind, "question": self.question, "answer": self.answer, "options": list(self.options),
            "event_ids": list(self.event_ids), "spans_s": [list(s) for s in self.spans_s],
        }


def answer_vocabulary() -> list[str]:
    """Every word an answer may use (for building a tokenizer)."""
    words = set(COLOURS) | set(SHAPES) | {"the", "yes", "no"} | set(COUNT_WORDS)
    for text in ACTION_ANSWERS.values():
        words.update(text.split())
    return sorted(words)


def question_vocabulary() -> list[str]:
    """Every word the question templates use, besides colours and shapes."""
    text = " ".join([
        colour_question("star", "jump"), action_question(Combo("red", "star")),
        order_question(Combo("red", "star"), Combo("blue", "circle")), count_question(Combo("red", "star")),
        presence_question(Combo("red", "star")), *(_THIRD_PERSON[a] for a in ACTIONS),
    ])
    return sorted(set(text.replace("?", " ").replace(",", " ").split()) - set(COLOURS) - set(SHAPES))


def colour_question(shape: str, action: str) -> str:
    return f"what colour is the {shape} that {_THIRD_PERSON[action]}?"


def action_question(combo: Combo) -> str:
    return f"what does the {combo.name} do?"


def order_question(first: Combo, second: Combo) -> str:
    return f"which appears first, the {first.name} or the {second.name}?"


def count_question(combo: Combo) -> str:
    return f"how many times does the {combo.name} jump?"


def presence_question(combo: Combo) -> str:
    return f"is there a {combo.name}?"


@dataclass(frozen=True)
class Subject:
    """What a question needs of one object: which it is, what it does, and when (seconds)."""

    id: str
    colour: str
    shape: str
    action: str
    role: str
    hops: int | None  # None: a jump whose hop count could not be read (see hops_seen)
    start_frame: int
    end_frame: int  # exclusive
    start_s: float
    end_s: float

    @property
    def combo(self) -> Combo:
        return Combo(self.colour, self.shape)


def hops_seen(event) -> int | None:
    """How many hops a jumping event of a ground truth makes, read from its boxes (None: unreadable).

    The planner moves a jumper's box top along ``top0 - amount * |sin(pi * hops * t)|`` (t from 0
    to 1 over the event, see ``ObjectSpec.boxes``), rounded to whole pixels. The hop count is the
    one whose curve (amount fitted by least squares) stays within that rounding (1 px) of the
    recorded tops; None unless exactly one of 1 to 4 fits (a jump over too few frames, at 1 fps).
    """
    top = np.array([v.box[1] for v in event.visible], dtype=np.float64)
    rise = top[0] - top  # height above the ground (the first frame is on it)
    t = np.arange(top.size) / max(top.size - 1, 1)
    fits = []
    for hops in range(1, len(COUNT_WORDS)):
        curve = np.abs(np.sin(np.pi * hops * t))
        amount = float(curve @ rise / max(curve @ curve, 1e-12))
        if np.abs(rise - amount * curve).max() <= 1.0 + 1e-9 and amount > 2.0:
            fits.append(hops)
    return fits[0] if len(fits) == 1 else None


def word_questions(
    spec: VideoSpec,
    rng: np.random.Generator | None = None,
    *,
    roles: tuple[str, ...] = ("needle", "distractor", "event"),
    max_same_shape: int = 3,
) -> list[WordQuestion]:
    """Every unambiguous question about ``spec`` (see the module docstring), in a fixed order.

    Only objects whose role is in ``roles`` are asked about (``("needle",)``: the planned
    question objects of ``plan_qa_video``). A colour question ("the star that jumps") is asked
    only when at most ``max_same_shape`` objects have that shape, so its evidence fits in a frame
    budget. ``rng`` only shuffles multiple-choice options and picks absent objects for "no"
    questions; by default it is derived from the spec's seed (same spec, same questions).
    """
    subjects = [
        Subject(o.id, o.colour, o.shape, o.action, o.role, o.hops, o.start_frame, o.end_frame,
                spec.time_s(o.start_frame), spec.time_s(o.end_frame))
        for o in spec.objects
    ]
    return _questions(subjects, spec.seed, rng, roles, max_same_shape)


def truth_questions(
    truth,
    rng: np.random.Generator | None = None,
    *,
    roles: tuple[str, ...] = ("needle", "distractor", "event"),
    max_same_shape: int = 3,
) -> list[WordQuestion]:
    """``word_questions`` of the video a ground truth (``longvid.synth.GroundTruth``) describes: the
    same questions, in the same order, as for the plan it was rendered from."""
    subjects = [
        Subject(e.id, e.colour, e.shape, e.action, e.role, hops_seen(e) if e.action == "jump" else 1,
                e.start_frame, e.end_frame, e.start_s, e.end_s)
        for e in truth.events
    ]
    return _questions(subjects, int(truth.video["seed"]), rng, roles, max_same_shape)


def _span(obj: Subject) -> tuple[float, float]:
    return (obj.start_s, obj.end_s)


def _questions(objects: list[Subject], seed: int, rng: np.random.Generator | None, roles: tuple[str, ...],
               max_same_shape: int) -> list[WordQuestion]:
    rng = rng if rng is not None else np.random.default_rng([seed, 11])
    asked = [o for o in objects if o.role in roles]
    per_combo: dict[Combo, list] = {}
    for obj in objects:
        per_combo.setdefault(obj.combo, []).append(obj)
    unique = [group[0] for group in per_combo.values() if len(group) == 1 and group[0] in asked]
    out: list[WordQuestion] = []

    def options(answer: str, pool: list[str], count: int = 5) -> tuple[str, ...]:
        others = [p for p in dict.fromkeys(pool) if p != answer]
        picked = [others[i] for i in rng.permutation(len(others))[: count - 1]]
        choice = [answer] + picked
        return tuple(choice[i] for i in rng.permutation(len(choice)))

    for shape in SHAPES:  # colour: the one object of this shape doing this action
        for action in ACTIONS:
            doing = [o for o in objects if o.shape == shape and o.action == action]
            crowd = sum(o.shape == shape for o in objects)
            if len(doing) == 1 and action != "appear" and doing[0] in asked and crowd <= max_same_shape:
                obj = doing[0]
                out.append(WordQuestion("colour", colour_question(shape, action), obj.colour,
                                        options(obj.colour, list(COLOURS)), (obj.id,), (_span(obj),)))
    for obj in unique:
        answer = ACTION_ANSWERS[obj.action]
        out.append(WordQuestion("action", action_question(obj.combo), answer,
                                options(answer, list(ACTION_ANSWERS.values())), (obj.id,), (_span(obj),)))
        if obj.action == "jump":
            if obj.hops is None:
                raise InvalidArgumentError(f"event {obj.id}: how many times it jumps cannot be read from its boxes",
                                           "count questions need a jump recorded over more frames (a higher frame rate)")
            answer = COUNT_WORDS[obj.hops]
            out.append(WordQuestion("count", count_question(obj.combo), answer,
                                    options(answer, list(COUNT_WORDS[1:4]), 3), (obj.id,), (_span(obj),)))
        out.append(WordQuestion("presence", presence_question(obj.combo), "yes", ("yes", "no"),
                                (obj.id,), (_span(obj),)))
    for i, a in enumerate(unique):  # order: two unique objects that do not overlap in time
        for b in unique[i + 1 :]:
            if a.end_frame <= b.start_frame or b.end_frame <= a.start_frame:
                first, second = (a, b) if a.start_frame < b.start_frame else (b, a)
                pair = [first, second] if rng.random() < 0.5 else [second, first]
                answer = f"the {first.combo.name}"
                out.append(WordQuestion("order", order_question(pair[0].combo, pair[1].combo), answer,
                                        tuple(f"the {p.combo.name}" for p in pair), (first.id, second.id),
                                        (_span(first), _span(second))))
    present = set(per_combo)
    absent = [c for c in ALL_COMBOS if c not in present and any(c.colour == p.colour or c.shape == p.shape for p in present)]
    for k in rng.permutation(len(absent))[: max(1, len(unique))]:
        out.append(WordQuestion("presence", presence_question(absent[int(k)]), "no", ("yes", "no")))
    return out


def pick_questions(questions: list[WordQuestion], rng: np.random.Generator, kinds: tuple[str, ...] = KINDS) -> list[WordQuestion]:
    """One question per kind (where the video has one), chosen at random; presence alternates
    between "yes" and "no" by the rng."""
    picked = []
    for kind in kinds:
        pool = [q for q in questions if q.kind == kind]
        if kind == "presence" and pool:
            want = "yes" if rng.random() < 0.5 else "no"
            pool = [q for q in pool if q.answer == want] or pool
        if pool:
            picked.append(pool[int(rng.integers(len(pool)))])
    return picked


def plan_qa_video(
    seed: int,
    duration_s: float = 300.0,
    *,
    width: int = 320,
    height: int = 180,
    fps: float | str = 10,
    needle_s: tuple[float, float] = (2.5, 5.0),
    distractors_per_minute: float = 2.0,
    distractor_s: tuple[float, float] = (2.0, 6.0),
    hard_fraction: float = 0.5,
    max_same_shape: int = 2,
    scene_s: tuple[float, float] = (4.0, 40.0),
    fade_probability: float = 0.3,
) -> VideoSpec:
    """A haystack video where every question kind can be asked (see the module docstring).

    Needles: a jumping object (count, colour, action, presence), and two more objects of other
    colour + shape pairs doing random actions (action, order). Distractors never repeat a needle's
    colour + shape; ``hard_fraction`` of them share a needle's colour or shape; at most
    ``max_same_shape`` share the jumper's shape, and those never jump.
    """
    _validate(duration_s, width, height)
    rate = as_fps(fps)
    rng = np.random.default_rng([seed, 29])
    frame_count = _frames(duration_s, rate)
    scenes = plan_scenes(rng, frame_count, rate, scene_s, fade_probability)
    placer = _Placer(rng, scenes, width, height, float(rate))
    picks = [ALL_COMBOS[int(i)] for i in rng.choice(len(ALL_COMBOS), size=3, replace=False)]
    jumper = picks[0]
    actions = ["jump"] + [ACTIONS[int(rng.integers(len(ACTIONS)))] for _ in picks[1:]]
    for combo, action in zip(picks, actions):
        if combo.shape == jumper.shape and action == "jump" and combo != jumper:
            action = "appear"  # keep "the <shape> that jumps" unique
        if placer.place(combo, needle_s, role="needle", action=action) is None:
            raise InvalidArgumentError(
                f"duration_s = {duration_s} leaves no room for the question objects", "make the video longer"
            )
    needles = set(picks)
    others = [c for c in ALL_COMBOS if c not in needles]
    hard = [c for c in others if any(c.colour == n.colour or c.shape == n.shape for n in needles)]
    same_shape = 0
    for _ in range(int(rng.poisson(distractors_per_minute * duration_s / 60.0))):
        pool = hard if (hard and rng.random() < hard_fraction) else others
        combo = pool[int(rng.integers(len(pool)))]
        action = None
        if combo.shape == jumper.shape:
            if same_shape >= max_same_shape:
                continue
            action = [a for a in ACTIONS if a != "jump"][int(rng.integers(len(ACTIONS) - 1))]
        if placer.place(combo, distractor_s, role="distractor", action=action) is not None:
            same_shape += combo.shape == jumper.shape
    return VideoSpec(seed, width, height, str(rate), frame_count, scenes, placer.result(), kind="qa")


__all__ = [
    "KINDS", "ACTION_ANSWERS", "COUNT_WORDS", "WordQuestion", "Subject", "word_questions", "truth_questions", "hops_seen",
    "pick_questions", "plan_qa_video",
    "answer_vocabulary", "question_vocabulary",
    "colour_question", "action_question", "order_question", "count_question", "presence_question",
]
