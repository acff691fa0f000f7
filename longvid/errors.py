"""Typed exceptions. Every message is one line that names the file or value and says what to do.

The CLI prints ``error: <message>`` and exits with the class's ``exit_code`` (2: bad input or
usage, 1: failure while working); with ``LONGVID_DEBUG=1`` it re-raises so the traceback shows.
"""

from __future__ import annotations


class LongvidError(Exception):
    """Base class. ``message`` says what went wrong, ``hint`` what to do about it."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(self.one_line())

    def one_line(self) -> str:
        from .filenames import printable

        text = self.message.rstrip(".")
        if self.hint:
            text += f"; {self.hint.rstrip('.')}"
        # never more than one line; a file name that is not UTF-8 shows its bytes as \xNN
        return printable(" ".join(text.split()))


class InvalidArgumentError(LongvidError, ValueError):
    """A value given by the caller is out of range or malformed (checked before any work)."""

    exit_code = 2


# --- input files -------------------------------------------------------------------------------


class VideoInputError(LongvidError):
    """The path given as a video cannot be used as one."""

    exit_code = 2

    def __init__(self, path: str, problem: str, hint: str | None = None):
        self.path = str(path)
        super().__init__(f"{self.path}: {problem}", hint)


class VideoNotFoundError(VideoInputError, FileNotFoundError):
    pass


class NotAVideoError(VideoInputError):
    """Not a media file at all (empty, text, unknown container) or a directory."""


class NoVideoStreamError(VideoInputError):
    """A media file without a video stream (audio only, subtitles only)."""


class UnsupportedCodecError(VideoInputError):
    """The container opens but the video codec cannot be decoded by the chosen backend."""


class DecodeError(VideoInputError):
    """Decoding stopped early on damaged data.

    ``frames_decoded`` frames were good; ``stopped_at_s`` is the presentation time of the last good
    frame (None when not even one frame decoded).
    """

    exit_code = 1

    def __init__(
        self,
        path: str,
        problem: str,
        frames_decoded: int = 0,
        stopped_at_s: float | None = None,
        hint: str | None = None,
    ):
        self.frames_decoded = frames_decoded
        self.stopped_at_s = stopped_at_s
        super().__init__(path, problem, hint)


class BatchIncompleteError(LongvidError):
    """A batch over many files finished, but some of them could not be used (the summary says why)."""

    exit_code = 3


# --- models -------------------------------------------------------------------------------------


class ModelError(LongvidError):
    pass


class ModelNotFoundError(ModelError):
    """A model named by the user is neither available locally nor downloadable."""

    exit_code = 2


class ModelMismatchError(ModelError):
    """Vectors of one model (or dimension) would be mixed with another's."""

    exit_code = 2


# --- store --------------------------------------------------------------------------------------


class StoreError(LongvidError):
    pass


class StoreCorruptError(StoreError):
    pass


class StoreLockedError(StoreError):
    pass


class NotIndexedError(StoreError):
    """A command needed stored embeddings for a video that has none for this model."""

    exit_code = 2


# --- backends -----------------------------------------------------------------------------------


class BackendUnavailableError(LongvidError):
    """A registered backend whose optional dependency is not installed."""

    exit_code = 2
