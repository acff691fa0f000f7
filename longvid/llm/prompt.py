"""Prompt pieces shared by the backends: timestamps as text and the chat wrapper.

Every backend writes a prompt in which each frame (or Qwen temporal patch) is labelled with its
time on the video's own timeline and its visual tokens appear as ONE placeholder token; the
placeholder is expanded to the frame's token count after tokenisation.
"""

from __future__ import annotations

from typing import Any

from ..timecode import format_time_s


def clock(t_s: float) -> str:
    """Seconds as ``HH:MM:SS.s`` (tenths), e.g. 83.46 -> ``00:01:23.5``."""
    return format_time_s(max(0.0, float(t_s)), 1, pad_hours=True)


def chat_prompt(processor: Any, body: str) -> str:
    """``body`` as one user turn in the model's chat template, ready for the assistant's reply.

    The body goes in as a text part, so templates that treat images or videos specially (SmolVLM's
    processor switches templates when a video part is present) see plain text.
    """
    template = getattr(processor, "chat_template", None) or getattr(processor.tokenizer, "chat_template", None)
    if not template:  # a base model without a chat template: question-answer layout
        return f"{body}\nAnswer:"
    messages = [{"role": "user", "content": [{"type": "text", "text": body}]}]
    return processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
