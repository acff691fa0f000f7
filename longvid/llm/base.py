"""``VideoLLM``: the backend contract and the steps every family shares.

    llm.native_tokens_per_frame(height, width) -> int    # budget checks before any work
    llm.context_length -> int
    llm.answer(frames, timestamps_s, question, token_budget=None, relevance=None, ...) -> LLMResult

``answer`` = ``prepare`` (check arguments, run the model's own vision tower + projector on the
frames through the model's own processor, reduce tokens, build prompt, ``inputs_embeds``,
attention mask and position ids for the kept tokens) + ``generate`` (greedy by default).

A family module subclasses ``VideoLLM`` and fills in: ``model_class``, ``placeholder``,
``encode_frames`` (pixels -> per-unit token grids), ``prompt_body`` (the text around the frames),
``native_tokens`` and, where positions are not 1-D, ``full_positions`` / ``generate_inputs``.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch

from ..errors import InvalidArgumentError, ModelError, ModelNotFoundError
from . import checks
from .assemble import Kept, Layout, Unit, build_embeds, expand_placeholders, keep_index
from .device import pick_device, pick_dtype
from .prompt import chat_prompt
from .resolve import ModelSpec
from .result import LLMResult


@dataclass
class Prepared:
    """Model inputs for exactly the kept tokens, plus what is needed to report on them."""

    prompt: str
    units: list[Unit]
    kept: Kept
    layout: Layout
    index: torch.Tensor  # (N,) indices of the kept tokens in the full sequence
    visual_at: torch.Tensor  # full-sequence index of each kept visual token
    inputs_embeds: torch.Tensor  # (1, N, D)
    attention_mask: torch.Tensor  # (1, N)
    position_ids: torch.Tensor  # (1, N) or (3, 1, N): the full sequence's positions at ``index``
    full_position_ids: torch.Tensor  # positions of the full sequence, for inspection
    tokens_before: int
    seconds: dict[str, float]

    @property
    def input_ids(self) -> torch.Tensor:
        return self.layout.input_ids[self.index].unsqueeze(0)


class VideoLLM:
    family = ""  # model_type
    model_class = ""  # transformers class name
    placeholder = ""  # the token that marks one unit's visual tokens in the prompt
    placeholder_attr = "video_token"  # the processor attribute naming it, when the processor has one

    def __init__(self, spec: ModelSpec, device: str = "auto", dtype: str = "auto"):
        self.spec = spec
        self.device = pick_device(device)
        self.dtype = pick_dtype(dtype, self.device)
        self.model: Any = None
        # The token stage; any callable with ``longvid.tokens.reduce_tokens``' signature can replace it.
        self.reducer: Callable[..., Any] | None = None
        self.processor = self._load_processor()
        self.tokenizer = self.processor.tokenizer
        self.placeholder = getattr(self.processor, self.placeholder_attr, None) or self.placeholder
        self.placeholder_id = int(self.tokenizer.convert_tokens_to_ids(self.placeholder))
        self._reserved = self._reserved_tokens()
        self.last_fastv: dict = {}

    # --- loading -------------------------------------------------------------------------------

    def _load_processor(self) -> Any:
        from transformers import AutoProcessor

        try:
            return AutoProcessor.from_pretrained(self.spec.source)
        except Exception as exc:
            raise ModelNotFoundError(
                f"model {self.spec.name!r}: its processor (tokenizer, image settings) did not load "
                f"({type(exc).__name__}: {' '.join(str(exc).split())[:160]})",
                "the model folder is incomplete: save it with processor.save_pretrained or download it again",
            ) from None

    def _reserved_tokens(self) -> set[str]:
        tokens = {self.placeholder}
        tokens.update(t for t in getattr(self.tokenizer, "all_special_tokens", []) if t)
        return tokens

    @property
    def weights_loaded(self) -> bool:
        return self.model is not None

    def load_weights(self) -> None:
        """Read the weights (safetensors only) onto the chosen device; no-op when done already."""
        if self.model is not None:
            return
        import transformers

        from ..progress import transformers_bars_follow_the_terminal

        transformers_bars_follow_the_terminal()
        cls = getattr(transformers, self.model_class)
        try:
            model = cls.from_pretrained(self.spec.source, dtype=self.dtype, use_safetensors=True)
        except OSError as exc:  # no (safetensors) weights file
            raise ModelNotFoundError(
                f"model {self.spec.name!r}: weights did not load ({' '.join(str(exc).split())[:200]})",
                "longvid reads safetensors weights only: use a model folder that has model.safetensors",
            ) from None
        except Exception as exc:  # a damaged or mismatched weights file
            raise ModelError(
                f"model {self.spec.name!r}: weights did not load ({type(exc).__name__}: {' '.join(str(exc).split())[:200]})",
                "the weights file looks damaged or belongs to another model: download it again",
            ) from None
        self.model = model.to(self.device).eval()

    @property
    def context_length(self) -> int:
        return self.spec.context_length

    # --- what a family provides ------------------------------------------------------------------

    def native_tokens(self, n_frames: int, height: int, width: int) -> int:
        """Visual tokens the model's own processor gives ``n_frames`` frames of this size."""
        return n_frames * self.native_tokens_per_frame(height, width)

    def native_tokens_per_frame(self, height: int, width: int) -> int:
        raise NotImplementedError

    def encode_frames(self, frames: list[np.ndarray], timestamps_s: list[float]) -> list[Unit]:
        raise NotImplementedError

    def prompt_body(self, units: list[Unit], question: str, duration_s: float | None) -> str:
        raise NotImplementedError

    def full_positions(self, layout: Layout, units: list[Unit]) -> torch.Tensor:
        """Position ids of the full sequence: plain 0..L-1 (1-D families)."""
        return torch.arange(layout.input_ids.shape[0], device=self.device).unsqueeze(0)

    def generate_inputs(self, prep: Prepared) -> dict[str, Any]:
        """Keyword arguments for ``model.generate`` / ``model(...)`` carrying the kept tokens."""
        return {
            "inputs_embeds": prep.inputs_embeds,
            "attention_mask": prep.attention_mask,
            "position_ids": prep.position_ids,
        }

    # --- checks (no model work) ----------------------------------------------------------------

    def check_budget(self, token_budget: int | None) -> None:
        checks.check_budget(token_budget, self.context_length, self.spec.name)

    def check_inputs(
        self,
        frames: Sequence[Any],
        timestamps_s: Sequence[float] | None,
        question: str,
        token_budget: int | None,
        relevance: Sequence[float] | None,
        max_new_tokens: int,
    ) -> tuple[str, list[np.ndarray], list[float], np.ndarray | None]:
        """Validate everything; returns the stripped question, frames, times and scores."""
        question = checks.check_question(question, self._reserved)
        self.check_budget(token_budget)
        checks.check_max_new_tokens(max_new_tokens)
        images, times = checks.check_frames(frames, timestamps_s)
        scores = None
        if relevance is not None:
            from ..tokens.assign import check_relevance

            scores = check_relevance(relevance, len(images))
        native = self.native_tokens(len(images), images[0].shape[0], images[0].shape[1])
        if token_budget is None and native > self.context_length:
            raise InvalidArgumentError(
                f"{len(images)} frames take {native} visual tokens, more than the context of "
                f"{self.spec.name} ({self.context_length} tokens)",
                "set a token budget (--tokens) or use fewer frames",
            )
        return question, images, times, scores

    # --- the pipeline of one answer ---------------------------------------------------------------

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    def question_query(self, question: str) -> torch.Tensor:
        """The query vector for query-aware token selection: the mean input embedding of the
        question's tokens. Projected visual tokens live in the same (LLM input) space."""
        ids = self.tokenizer(question, add_special_tokens=False)["input_ids"]
        emb = self.model.get_input_embeddings()
        return emb(torch.tensor(ids, device=emb.weight.device)).float().mean(0)

    def reduce(
        self, units: list[Unit], scores: np.ndarray | None, token_budget: int | None, query: torch.Tensor, **options
    ) -> Kept:
        total = sum(u.n_grid for u in units)
        if token_budget is None or token_budget >= total:
            return Kept.everything(units)
        reducer = self.reducer
        if reducer is None:
            from ..tokens import reduce_tokens as reducer

        unit_scores = np.ones(len(units)) if scores is None else np.array([max(scores[i] for i in u.frames) for u in units])
        grids = [u.grid.float() for u in units]
        ts = reducer(grids, torch.as_tensor(unit_scores, dtype=torch.float32), token_budget, query=query.float(), **options)
        positions = torch.as_tensor(ts.positions).long().cpu()
        features = torch.as_tensor(ts.features)
        rows, cols = max(u.shape[0] for u in units), max(u.shape[1] for u in units)
        order = torch.argsort((positions[:, 0] * rows + positions[:, 1]) * cols + positions[:, 2])  # sequence order
        account = ts.account.to_dict() if hasattr(ts.account, "to_dict") else None
        return Kept(features[order.to(features.device)], positions[order], account)

    @torch.inference_mode()
    def prepare(
        self,
        frames: Sequence[Any],
        timestamps_s: Sequence[float] | None,
        question: str,
        token_budget: int | None = None,
        relevance: Sequence[float] | None = None,
        token_method: str = "hybrid",
        merge_threshold: float = 0.95,
        alpha: float = 1.0,
        duration_s: float | None = None,
        max_new_tokens: int = 1,
    ) -> Prepared:
        question, images, times, scores = self.check_inputs(
            frames, timestamps_s, question, token_budget, relevance, max_new_tokens
        )
        if token_budget is not None:
            checks.check_token_options(token_method, merge_threshold, alpha)
            token_budget = int(token_budget)
        self.load_weights()
        seconds: dict[str, float] = {}
        start = time.perf_counter()
        units = self.encode_frames(images, times)
        self._sync()
        seconds["vision"] = time.perf_counter() - start

        start = time.perf_counter()
        query = self.question_query(question)
        kept = self.reduce(
            units, scores, token_budget, query, method=token_method, merge_threshold=merge_threshold, alpha=alpha
        )
        self._sync()
        seconds["reduce"] = time.perf_counter() - start

        prompt = chat_prompt(self.processor, self.prompt_body(units, question, duration_s))
        ids = self.tokenizer(prompt)["input_ids"]
        layout = expand_placeholders(ids, self.placeholder_id, units)
        index, visual_at = keep_index(layout, units, kept)
        if index.numel() + max_new_tokens > self.context_length:
            raise InvalidArgumentError(
                f"the prompt takes {index.numel()} tokens, which with {max_new_tokens} new tokens exceeds the "
                f"context of {self.spec.name} ({self.context_length} tokens)",
                "lower the token budget (--tokens) or the number of frames",
            )
        full_positions = self.full_positions(layout, units)
        embeds = build_embeds(self.model.get_input_embeddings(), layout, units, kept, index, visual_at)
        return Prepared(
            prompt=prompt,
            units=units,
            kept=kept,
            layout=layout,
            index=index,
            visual_at=visual_at,
            inputs_embeds=embeds.unsqueeze(0),
            attention_mask=torch.ones(1, index.numel(), dtype=torch.long, device=self.device),
            position_ids=full_positions[..., index.to(full_positions.device)],
            full_position_ids=full_positions,
            tokens_before=sum(u.n_grid for u in units),
            seconds=seconds,
        )

    @torch.inference_mode()
    def option_logprobs(self, prep: Prepared, options: Sequence[str]) -> list[float]:
        """Mean log-probability per token of each option text as the answer to the prepared prompt
        (multiple-choice scoring by likelihood; one forward pass per option)."""
        inputs = self.generate_inputs(prep)
        tokenized = []
        for option in options:
            ids = self.tokenizer(str(option), add_special_tokens=False)["input_ids"]
            if not ids:
                raise InvalidArgumentError(f"option {option!r} has no tokens", "give every option some text")
            if prep.index.numel() + len(ids) > self.context_length:
                raise InvalidArgumentError(
                    f"the prompt ({prep.index.numel()} tokens) and option {str(option)[:40]!r} ({len(ids)} tokens) exceed "
                    f"the context of {self.spec.name} ({self.context_length} tokens)",
                    "lower the token budget (--tokens) or the number of frames, or shorten the option",
                )
            tokenized.append(ids)
        scores = []
        for ids in tokenized:
            extra = torch.tensor(ids, device=self.device).unsqueeze(0)
            step = torch.arange(1, len(ids) + 1, device=self.device)
            args = dict(inputs)
            if "inputs_embeds" in args:
                added = self.model.get_input_embeddings()(extra).to(args["inputs_embeds"].dtype)
                args["inputs_embeds"] = torch.cat([args["inputs_embeds"], added], dim=1)
            else:
                args["input_ids"] = torch.cat([args["input_ids"], extra], dim=1)
            args["attention_mask"] = torch.cat([args["attention_mask"], torch.ones_like(extra)], dim=1)
            last = args["position_ids"][..., -1:]  # text after the prompt: every axis moves on by one
            args["position_ids"] = torch.cat([args["position_ids"], last + step.view(*([1] * (last.dim() - 1)), -1)], dim=-1)
            logits = self.model(**args).logits[0, -len(ids) - 1 : -1].float()
            logp = torch.log_softmax(logits, dim=-1).gather(1, extra[0].unsqueeze(1))
            scores.append(float(logp.mean()))
        return scores

    def visual_mask(self, prep: Prepared) -> torch.Tensor:
        """(N,) bool over the kept sequence: True at the visual tokens the token stage kept."""
        return torch.isin(prep.index.cpu(), prep.visual_at.cpu())

    @torch.inference_mode()
    def generate(
        self, prep: Prepared, max_new_tokens: int = 128, fastv: Any = None, **generate_kwargs: Any
    ) -> tuple[list[int], torch.Tensor]:
        """Greedy decoding (unless ``generate_kwargs`` say otherwise); returns new token ids and the
        logits of the first generated position. ``fastv`` (:class:`longvid.llm.fastv.FastV`) drops
        visual tokens inside the decoder as well; what it kept is in ``self.last_fastv``."""
        options: dict[str, Any] = dict(do_sample=False, temperature=None, top_p=None, top_k=None)
        options.update(generate_kwargs)
        inputs = self.generate_inputs(prep)
        pad = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.tokenizer.eos_token_id
        with contextlib.ExitStack() as stack:
            if fastv is not None:
                from .fastv import attach

                self.last_fastv = stack.enter_context(attach(self.model, fastv, self.visual_mask(prep)))
            out = self.model.generate(
                **inputs,
                max_new_tokens=max_new_tokens,
                output_logits=True,
                return_dict_in_generate=True,
                pad_token_id=pad,
                **options,
            )
        sequences = out.sequences[0]
        if "input_ids" in inputs:  # the prompt is echoed when generation starts from ids
            sequences = sequences[inputs["input_ids"].shape[1] :]
        return sequences.tolist(), out.logits[0][0].float().cpu()

    def answer(
        self,
        frames: Sequence[Any],
        timestamps_s: Sequence[float] | None,
        question: str,
        token_budget: int | None = None,
        relevance: Sequence[float] | None = None,
        token_method: str = "hybrid",
        max_new_tokens: int = 128,
        merge_threshold: float = 0.95,
        alpha: float = 1.0,
        duration_s: float | None = None,
        fastv: Any = None,
        options: Sequence[str] | None = None,
        **generate_kwargs: Any,
    ) -> LLMResult:
        """Answer ``question`` from ``frames`` (RGB uint8 (H, W, 3) arrays or ``Frame`` objects) at
        ``timestamps_s`` (seconds on the video's timeline; None: the frames' ``pts_s``), sending at
        most ``token_budget`` visual tokens (None: all of them).

        ``relevance`` (one score >= 0 per frame) shares the budget between frames; ``token_method``,
        ``merge_threshold`` and ``alpha`` go to the token stage (``longvid.tokens.reduce_tokens``),
        which also gets the question as a query vector (see ``question_query``). ``duration_s``:
        the video's length, for prompts that state it (SmolVLM2). ``fastv``
        (:class:`longvid.llm.fastv.FastV`) also drops visual tokens inside the decoder after its
        layer ``k``. ``generate_kwargs`` go to ``model.generate`` (e.g. ``do_sample=True``);
        decoding is greedy otherwise.

        ``options`` (multiple-choice option texts): each is also scored as the answer to the same
        prepared inputs (``option_logprobs``), in ``LLMResult.option_scores``; not with ``fastv``.
        """
        options = checks.check_options(options, fastv=fastv is not None)
        prep = self.prepare(
            frames, timestamps_s, question, token_budget, relevance, token_method,
            merge_threshold, alpha, duration_s, max_new_tokens,
        )
        start = time.perf_counter()
        new_ids, first_logits = self.generate(prep, max_new_tokens, fastv=fastv, **generate_kwargs)
        self._sync()
        prep.seconds["generate"] = time.perf_counter() - start
        option_scores = None
        if options is not None:
            start = time.perf_counter()
            option_scores = self.option_logprobs(prep, options)
            self._sync()
            prep.seconds["options"] = time.perf_counter() - start
        unit_tokens = prep.kept.per_unit(len(prep.units))
        frame_tokens = [0] * (1 + max(f for u in prep.units for f in u.frames))
        for unit, count in zip(prep.units, unit_tokens):
            real = sorted(set(unit.frames))
            for j, f in enumerate(real):  # split a patch's tokens between its frames, first gets the rest
                frame_tokens[f] = count // len(real) + (1 if j < count % len(real) else 0)
        return LLMResult(
            text=self.tokenizer.decode(new_ids, skip_special_tokens=True).strip(),
            tokens_before=prep.tokens_before,
            tokens_after=int(prep.kept.positions.shape[0]),
            frame_tokens=frame_tokens,
            prompt=prep.prompt,
            seconds=prep.seconds,
            unit_tokens=unit_tokens,
            unit_timestamps_s=[u.time_s for u in prep.units],
            input_tokens=int(prep.index.numel()),
            new_tokens=len(new_ids),
            model=self.spec.name,
            token_account=prep.kept.account,
            first_token_logits=first_logits,
            decoder_tokens_after=self.last_fastv.get("visual_kept") if fastv is not None else None,
            option_scores=option_scores,
        )
