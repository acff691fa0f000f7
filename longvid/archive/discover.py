"""Finding the videos in folders: by extension where that settles it, by a container probe where
it does not.

    found = discover(["~/archive"], recursive=True)
    found.videos     # absolute paths, sorted: what a batch will index
    found.ignored    # [(path, why)]: not videos (text, images, audio, unknown data, empty files)

Rules, cheapest first:
* a file named on the command line is always a candidate (indexing it says what is wrong);
* hidden entries (``.name``), the store's own folder, and anything that is not a regular file
  (FIFOs, sockets, devices) are passed over;
* a known video extension (``.mp4``, ``.mkv``, ...) makes a candidate without opening the file:
  if it is empty, text or truncated, indexing it fails and the reason is recorded;
* a known non-video extension (text, subtitles, images, audio, documents) is ignored unread;
* anything else (``.bin``, no extension, ``.dat``) that is not empty is opened with PyAV, which
  reads only the container header: it is a candidate when FFmpeg recognises a container with a
  video stream (cover art does not count).
Symlinked folders are followed once (a link cycle is not walked twice).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidArgumentError, VideoNotFoundError

VIDEO_EXTENSIONS = frozenset(
    ".mp4 .m4v .mov .qt .mkv .webm .avi .wmv .asf .flv .f4v .mpg .mpeg .m2v .mpe .ts .mts .m2ts .vob "
    ".3gp .3g2 .ogv .mxf .dv .y4m .rm .rmvb .divx .h264 .h265 .hevc .ivf .nut".split()
)
NOT_VIDEO_EXTENSIONS = frozenset(
    # text, data, subtitles
    ".txt .md .rst .json .jsonl .csv .tsv .xml .html .htm .yaml .yml .toml .ini .cfg .log .nfo .srt .vtt .ass "
    ".ssa .sub .sbv .lrc .py .sh .js .c .h .pdf .doc .docx .odt .xls .xlsx .ppt .pptx .sqlite3 .sqlite .db "
    ".faiss .npy .npz .safetensors .pt "
    # images
    ".png .jpg .jpeg .bmp .tif .tiff .webp .heic .heif .svg .ico .psd .raw .cr2 .nef .dng .exr "
    # audio
    ".mp3 .wav .flac .aac .m4a .opus .wma .aiff .aif .mid .midi .amr "
    # archives and programs
    ".zip .gz .tgz .bz2 .xz .zst .7z .rar .tar .exe .dll .so .dylib .iso .dmg".split()
)


@dataclass
class Discovery:
    videos: list[str] = field(default_factory=list)  # absolute paths, sorted
    ignored: list[tuple[str, str]] = field(default_factory=list)  # (path, why it is not a video)
    probed: int = 0  # files whose container header was read to decide

    def to_dict(self) -> dict:
        return {"videos": len(self.videos), "ignored": [{"path": p, "why": w} for p, w in self.ignored], "probed": self.probed}


def discover(paths, *, recursive: bool = False, exclude: list[str | os.PathLike] | None = None) -> Discovery:
    """The video files among ``paths`` (files and folders); folders are walked one level deep,
    or all the way with ``recursive``. ``exclude``: folders to pass over (the store's own)."""
    from ..store import path_key

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    paths = list(paths)
    if not paths:
        raise InvalidArgumentError("no files or folders given", "name at least one video or folder")
    keys = [path_key(p) for p in paths]
    for given, key in zip(paths, keys):  # all of them up front: a typo fails before any work
        if not os.path.exists(key):
            raise VideoNotFoundError(str(given), "no such file or folder", "check the path")
    excluded = {path_key(e) for e in exclude or ()}
    found = Discovery()
    videos: set[str] = set()
    seen_dirs: set[tuple[int, int]] = set()
    for key in keys:
        if os.path.isdir(key):
            _walk(key, recursive, excluded, seen_dirs, videos, found)
        else:
            videos.add(key)  # named explicitly: indexing it tells what is wrong with it
    found.videos = sorted(videos)
    found.ignored.sort()
    return found


def _walk(folder: str, recursive: bool, excluded: set[str], seen_dirs: set, videos: set[str], found: Discovery) -> None:
    stack = [folder]
    while stack:
        current = stack.pop()
        try:
            st = os.stat(current)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen_dirs or current in excluded:
            continue
        seen_dirs.add((st.st_dev, st.st_ino))
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError as exc:
            found.ignored.append((current, f"folder cannot be read ({exc.strerror})"))
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():  # follows symlinks; cycles stop at seen_dirs
                    if recursive:
                        stack.append(entry.path)
                    continue
                if not entry.is_file():
                    continue
                size = entry.stat().st_size
            except OSError:
                continue
            why = classify(entry.path, size, found)
            if why is None:
                videos.add(entry.path)
            else:
                found.ignored.append((entry.path, why))


def classify(path: str, size: int, found: Discovery | None = None) -> str | None:
    """None when ``path`` is a video candidate, else why it is not one."""
    suffix = Path(path).suffix.lower()
    if suffix in VIDEO_EXTENSIONS:
        return None
    if suffix in NOT_VIDEO_EXTENSIONS:
        return f"not a video ({suffix} file)"
    if size == 0:
        return "empty file"
    if found is not None:
        found.probed += 1
    return probe_container(path)


def probe_container(path: str) -> str | None:
    """Read only the container header (PyAV): None when it holds a video stream, else why not."""
    import av

    from ..decode._pyav_probe import quiet_ffmpeg

    quiet_ffmpeg()
    try:
        with av.open(path, metadata_errors="ignore") as container:
            for stream in container.streams.video:
                if not stream.disposition & av.stream.Disposition.attached_pic:
                    return None
            kinds = sorted({s.type for s in container.streams}) or ["no streams"]
            return f"no video stream ({', '.join(kinds)})"
    except av.error.FFmpegError:
        return "not a media file FFmpeg recognises"
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
