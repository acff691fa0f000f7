"""The vocabulary of synthetic videos: colours, shapes, actions, and the words used for them.

Colours are six fully saturated hues 60 degrees apart, so a colour stays recognisable after lossy
H.264 encoding and chroma subsampling; backgrounds only ever use muted colours (HSV saturation
at most ``BACKGROUND_MAX_SATURATION``), so a saturated pixel always belongs to an object.

=========  ===============  ====================================================
colour     RGB              hue (degrees)
=========  ===============  ====================================================
red        (235, 35, 35)    0
yellow     (240, 225, 25)   ~56
green      (35, 205, 45)    ~123
cyan       (25, 215, 235)   ~186
blue       (35, 70, 240)    ~230
magenta    (225, 45, 225)   300
=========  ===============  ====================================================

Shapes: circle, square, triangle, star, cross (all drawn inside a square box).
Actions: ``appear`` (stays still), ``move_left``, ``move_right``, ``jump`` (one to three hops),
``grow`` (its box grows steadily).
"""

from __future__ import annotations

import colorsys
from dataclasses import dataclass

COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (235, 35, 35),
    "yellow": (240, 225, 25),
    "green": (35, 205, 45),
    "cyan": (25, 215, 235),
    "blue": (35, 70, 240),
    "magenta": (225, 45, 225),
}
SHAPES: tuple[str, ...] = ("circle", "square", "triangle", "star", "cross")
ACTIONS: tuple[str, ...] = ("appear", "move_left", "move_right", "jump", "grow")

# Muted backgrounds never reach this saturation; objects are always far above it.
BACKGROUND_MAX_SATURATION = 0.25

# Verb phrases, third person ("the red star jumps") and bare ("when does the red star jump?").
_ACTION_VERBS = {
    "appear": ("appears", "appear"),
    "move_left": ("moves to the left", "move to the left"),
    "move_right": ("moves to the right", "move to the right"),
    "jump": ("jumps", "jump"),
    "grow": ("grows", "grow"),
}


@dataclass(frozen=True, order=True)
class Combo:
    """A colour + shape pair, the identity of an object in questions ("the red star")."""

    colour: str
    shape: str

    def __post_init__(self) -> None:
        if self.colour not in COLOURS:
            raise ValueError(f"unknown colour {self.colour!r}; choose one of {', '.join(COLOURS)}")
        if self.shape not in SHAPES:
            raise ValueError(f"unknown shape {self.shape!r}; choose one of {', '.join(SHAPES)}")

    @property
    def name(self) -> str:
        return f"{self.colour} {self.shape}"

    def __str__(self) -> str:
        return self.name


ALL_COMBOS: tuple[Combo, ...] = tuple(Combo(c, s) for c in COLOURS for s in SHAPES)


def hue_degrees(colour: str) -> float:
    r, g, b = (v / 255.0 for v in COLOURS[colour])
    return colorsys.rgb_to_hsv(r, g, b)[0] * 360.0


def action_verb(action: str, bare: bool = False) -> str:
    """``"jumps"`` (or ``"jump"`` with ``bare=True``) for ``"jump"``."""
    try:
        third, base = _ACTION_VERBS[action]
    except KeyError:
        raise ValueError(f"unknown action {action!r}; choose one of {', '.join(ACTIONS)}") from None
    return base if bare else third


def caption(combos: list[Combo] | tuple[Combo, ...], actions: list[str | None] | None = None) -> str:
    """A caption for a frame showing these objects: ``"a red star and a blue circle"``.

    With ``actions`` each object gets its verb: ``"a red star jumps and a blue circle grows"``.
    An empty frame is ``"an empty background"``.
    """
    if not combos:
        return "an empty background"
    parts = []
    for i, combo in enumerate(combos):
        text = f"a {combo.name}"
        if actions is not None and actions[i]:
            text += " " + action_verb(actions[i])
        parts.append(text)
    return " and ".join(parts)


def when_question(combo: Combo, action: str) -> str:
    return f"when does the {combo.name} {action_verb(action, bare=True)}?"


def what_question(combo: Combo) -> str:
    return f"what does the {combo.name} do?"


def classification_prompts() -> list[str]:
    """One zero-shot prompt per colour + shape class, in ``ALL_COMBOS`` order."""
    return [f"a {combo.name}" for combo in ALL_COMBOS]
