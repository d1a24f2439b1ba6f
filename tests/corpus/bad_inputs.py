"""The hostile tester's corpus of bad audio and bad checkpoints, generated into a folder.

Nothing binary is committed: each file is made here from a few bytes or a small real file, so
that what makes it bad is written down next to it. Each entry is ``name -> maker(path)``.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import soundfile as sf

Maker = Callable[[Path], None]


def _wav_bytes(seconds: float = 1.0, rate: int = 22050, subtype: str = "PCM_16") -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    buffer = io.BytesIO()
    sf.write(buffer, (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), rate,
             format="WAV", subtype=subtype)  # fmt: skip
    return buffer.getvalue()


def _with_rate(rate: int) -> Maker:
    """A real WAV whose header claims another sample rate (and matching byte rate)."""

    def make(path: Path) -> None:
        data = bytearray(_wav_bytes())
        block_align = struct.unpack_from("<H", data, 32)[0]
        struct.pack_into("<II", data, 24, rate, rate * block_align)
        path.write_bytes(bytes(data))

    return make


def _endless(path: Path) -> None:
    """A header claiming ~4 GB of 4 kHz 8-bit samples (277 hours), the bytes there but sparse."""
    size = 0xFFFFFF00
    header = b"RIFF" + struct.pack("<I", size + 36) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 4000, 4000, 1, 8)
    header += b"data" + struct.pack("<I", size)
    with path.open("wb") as handle:
        handle.write(header)
        handle.truncate(len(header) + size)  # a sparse file: no disk space used


def _nan_samples(path: Path) -> None:
    samples = np.full(22050, np.nan, dtype=np.float32)
    sf.write(path, samples, 22050, subtype="FLOAT")


def _header_only(path: Path) -> None:
    path.write_bytes(_wav_bytes()[:44])


def _truncated(path: Path) -> None:
    path.write_bytes(_wav_bytes(2.0)[:20_000])


def _folder(path: Path) -> None:
    path.mkdir()


def _dangling_link(path: Path) -> None:
    path.symlink_to(path.with_name("nowhere-at-all.wav"))


def _unreadable(path: Path) -> None:
    # Not audio either, so that it is an error whoever runs the test (root reads anything).
    path.write_bytes(b"\x00" * 4096)
    path.chmod(0)


BAD_AUDIO: dict[str, Maker] = {
    "rate-1hz.wav": _with_rate(1),
    "rate-10mhz.wav": _with_rate(10_000_000),
    "endless.wav": _endless,
    "nan.wav": _nan_samples,
    "header-only.wav": _header_only,
    "truncated.wav": _truncated,
    "empty.flac": lambda p: p.write_bytes(b""),
    "text.mp3": lambda p: p.write_text("not an MP3, just words\n" * 50),
    "random.ogg": lambda p: p.write_bytes(b"\x00" + np.random.default_rng(7).bytes(8191)),
    "riff-junk.wav": lambda p: p.write_bytes(b"RIFF\xff\xff\xff\xffWAVEfmt " + os.urandom(200)),
    "folder.wav": _folder,
    "dangling.wav": _dangling_link,
    "unreadable.wav": _unreadable,
}


class _RunsCode:
    """Unpickling this would run a shell command: a checkpoint must never do that."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.marker}",))


def _evil_pickle(path: Path) -> None:
    import torch

    torch.save({"model": _RunsCode(path.with_name("PWNED"))}, path)


def _plain_pickle(path: Path) -> None:
    path.write_bytes(pickle.dumps({"state_dict": [1, 2, 3]}))


def _wrong_keys(path: Path) -> None:
    import torch

    torch.save({"weights": torch.zeros(3), "format": "something else"}, path)


def _half_of(good: Path) -> Maker:
    return lambda path: path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])


def _wrong_shapes(good: Path) -> Maker:
    def make(path: Path) -> None:
        import torch

        checkpoint = torch.load(good, map_location="cpu", weights_only=True)
        state = checkpoint["state_dict"] if "state_dict" in checkpoint else checkpoint["model"]
        name = next(iter(state))
        state[name] = torch.zeros(*(s + 3 for s in state[name].shape))
        torch.save(checkpoint, path)

    return make


def bad_checkpoints(good: Path) -> dict[str, Maker]:
    """Bad checkpoints; ``good`` is a real tiny checkpoint to cut or bend."""
    return {
        "empty.pt": lambda p: p.write_bytes(b""),
        "text.pt": lambda p: p.write_text("not a checkpoint\n"),
        "random.pt": lambda p: p.write_bytes(os.urandom(4096)),
        "truncated.pt": _half_of(good),
        "evil-pickle.pt": _evil_pickle,
        "plain-pickle.pt": _plain_pickle,
        "wrong-keys.pt": _wrong_keys,
        "wrong-shapes.pt": _wrong_shapes(good),
        "folder.pt": _folder,
    }


def build(folder: Path, makers: dict[str, Maker]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, make in makers.items():
        make(folder / name)
        paths.append(folder / name)
    return paths
