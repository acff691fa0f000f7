"""What ``VideoLLM.answer`` returns (plain data; no torch import needed to read it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class LLMResult:
    """One answer and its accounting.

    ``tokens_before``: visual tokens the frames have natively (what the model's own processor
    would send); ``tokens_after``: visual tokens actually sent (the budget when it was smaller).
    ``frame_tokens[i]``: tokens kept for input frame ``i`` (for Qwen, whose tokens cover two frames
    each, a temporal patch's tokens are split between its two frames; ``unit_tokens`` has them per
    patch). Tokens that only frame a picture (LLaVA-OneVision's newline after each frame,
    vision start/end markers) are prompt structure and counted in neither.
    ``prompt``: the exact text sent, where each frame's (or patch's) visual tokens appear as ONE
    placeholder token that expands to ``unit_tokens[i]`` copies.
    ``seconds``: wall time of "vision" (tower + projector), "reduce" (token stage), "generate"
    (prefill + decoding) and, when options were given, "options" (scoring them).
    ``option_scores[i]``: mean log-probability per token of option ``i`` as the answer
    (``VideoLLM.option_logprobs``), when options were given.
    """

    text: str
    tokens_before: int
    tokens_after: int
    frame_tokens: list[int]
    prompt: str
    seconds: dict[str, float]
    unit_tokens: list[int] = field(default_factory=list)
    unit_timestamps_s: list[float] = field(default_factory=list)
    input_tokens: int = 0  # length of the sequence the LLM received (text + kept visual tokens)
    new_tokens: int = 0
    model: str = ""
    token_account: dict[str, Any] | None = None  # the token stage's own accounting, when it ran
    decoder_tokens_after: int | None = None  # FastV: visual tokens left after its layer k
    option_scores: list[float] | None = None
    first_token_logits: Any = field(default=None, repr=False)  # torch (vocab,) float32 on CPU

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "first_token_logits"}
        data["seconds"] = {k: round(v, 4) for k, v in self.seconds.items()}
        return data
