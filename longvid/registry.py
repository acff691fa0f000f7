"""A name -> implementation map whose entries are imported only when first used.

Each pluggable family (decode backends, encoders, LLM backends, scene detectors) owns exactly one
``Registry``. Built-in entries are ``"module:attribute"`` strings so that listing names never
imports torch; users register their own objects (classes or factories) from Python.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Generic, TypeVar

from .errors import BackendUnavailableError, InvalidArgumentError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, family: str):
        self.family = family
        self._entries: dict[str, str | T] = {}

    def register(self, name: str, target: str | T, *, replace: bool = False) -> None:
        """Add ``target`` (an object, or ``"package.module:attr"`` to import lazily) as ``name``."""
        if not name or not isinstance(name, str):
            raise InvalidArgumentError(f"{self.family} name must be a non-empty string, got {name!r}")
        if name in self._entries and not replace:
            raise InvalidArgumentError(
                f"{self.family} {name!r} is already registered", "pass replace=True to override it"
            )
        self._entries[name] = target

    def names(self) -> list[str]:
        return sorted(self._entries)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def get(self, name: str) -> T:
        """The registered object; imports it on first use."""
        try:
            target = self._entries[name]
        except KeyError:
            raise InvalidArgumentError(
                f"unknown {self.family} {name!r}", f"choose one of: {', '.join(self.names())}"
            ) from None
        if isinstance(target, str) and ":" in target:
            module_name, _, attr = target.partition(":")
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                raise BackendUnavailableError(
                    f"{self.family} {name!r} needs a package that is not installed ({exc.name or exc})",
                    "install it (see README, optional extras)",
                ) from exc
            target = getattr(module, attr)
            self._entries[name] = target
        return target  # type: ignore[return-value]

    def available(self) -> dict[str, bool]:
        """Which entries import on this machine (used by ``longvid info --backends``)."""
        result = {}
        for name in self.names():
            try:
                self.get(name)
                result[name] = True
            except BackendUnavailableError:
                result[name] = False
        return result

