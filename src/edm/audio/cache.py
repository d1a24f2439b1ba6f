"""Features computed once per audio file and kept on disk, so later epochs never decode audio.

An entry is keyed by the sha256 of the audio file's bytes and by the feature parameters
(:meth:`FeatureParams.cache_key`): renaming or moving a file keeps its features, changing a
single byte or a parameter computes new ones. Entries are ``.npy`` files written to a temporary
name and renamed into place, so concurrent workers and interrupted runs never leave a half
written entry behind.

Location: ``EDM_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/edm/features``, else
``~/.cache/edm/features``.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from edm.atomic import atomic_write
from edm.audio.features import FeatureParams, log_mel
from edm.audio.io import load_audio
from edm.file_hash import file_sha256, is_remembered

logger = logging.getLogger(__name__)

ENV_CACHE_DIR = "EDM_CACHE_DIR"
_WAVEFORM_CODE_VERSION = 1


def default_cache_dir() -> Path:
    explicit = os.environ.get(ENV_CACHE_DIR)
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "edm" / "features"


class FeatureCache:
    """A folder of cached arrays: ``root/<kind key>/<hash[:2]>/<hash>.npy``."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root).expanduser() if root is not None else default_cache_dir()

    def __repr__(self) -> str:
        return f"FeatureCache({str(self.root)!r})"

    def path_for(self, content_hash: str, key: str) -> Path:
        return self.root / key / content_hash[:2] / f"{content_hash}.npy"

    def load(
        self,
        content_hash: str,
        key: str,
        *,
        mmap: bool = False,
        problem: Callable[[np.ndarray], str | None] | None = None,
    ) -> np.ndarray | None:
        """The cached array, or None when absent or unusable: unreadable (truncated, not a
        .npy), or found wrong by ``problem`` (shape, NaN). An unusable entry is removed, so
        that the caller computes and stores it again."""
        path = self.path_for(content_hash, key)
        try:
            array = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
            wrong = _check_entry(path, array, problem)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except (OSError, ValueError, EOFError) as exc:
            wrong = f"unreadable ({exc})"
        if wrong is None:
            return array
        logger.warning("discarding cache entry %s: %s", path, wrong)
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
        return None

    def store(self, content_hash: str, key: str, array: np.ndarray) -> Path | None:
        """Write an entry; None when it cannot be written (a full disk, a read-only folder):
        the cache is an optimisation, so that costs a warning, never the caller's work."""
        path = self.path_for(content_hash, key)
        try:
            with atomic_write(path) as handle:
                np.save(handle, np.ascontiguousarray(array), allow_pickle=False)
        except OSError as exc:
            logger.warning("cannot write cache entry %s: %s", path, exc.strerror or exc)
            return None
        return path


def load_features(
    path: Path | str,
    params: FeatureParams | None = None,
    cache: FeatureCache | bool = True,
    *,
    mmap: bool = False,
) -> np.ndarray:
    """Log-mel features ``(n_mels, n_frames)`` float32 of an audio file.

    ``cache``: True uses the default cache folder, False computes without caching, a
    :class:`FeatureCache` uses that one. ``mmap=True`` maps a cached array instead of reading it
    (cheap when only a crop is needed). Raises :class:`~edm.errors.AudioError` for bad audio.
    """
    params = params or FeatureParams()
    store = _resolve(cache)
    if store is None:
        return log_mel(load_audio(path, params.sample_rate), params)
    content_hash = _content_hash(path)
    key = params.cache_key()
    problem = _feature_problem(params)
    cached = store.load(content_hash, key, mmap=mmap, problem=problem)
    if cached is not None:
        return cached
    features = log_mel(load_audio(path, params.sample_rate), params)
    if store.store(content_hash, key, features) is None or not mmap:
        return features
    mapped = store.load(content_hash, key, mmap=True, problem=problem)
    return features if mapped is None else mapped


def load_waveform(
    path: Path | str,
    sample_rate: int,
    cache: FeatureCache | bool = True,
    *,
    mmap: bool = False,
) -> np.ndarray:
    """Mono float32 samples at ``sample_rate``, cached like features (for raw-audio models)."""
    store = _resolve(cache)
    if store is None:
        return load_audio(path, sample_rate)
    content_hash = _content_hash(path)
    key = f"wave-v{_WAVEFORM_CODE_VERSION}-{sample_rate}"
    cached = store.load(content_hash, key, mmap=mmap, problem=_waveform_problem)
    if cached is not None:
        return cached
    samples = load_audio(path, sample_rate)
    if store.store(content_hash, key, samples) is None or not mmap:
        return samples
    mapped = store.load(content_hash, key, mmap=True, problem=_waveform_problem)
    return samples if mapped is None else mapped


# Entries found sound in this process: (path, size, mtime_ns) → checked once, not per epoch.
_checked: set[tuple[str, int, int]] = set()


def _check_entry(
    path: Path, array: np.ndarray, problem: Callable[[np.ndarray], str | None] | None
) -> str | None:
    stat = path.stat()
    memo = (str(path), stat.st_size, stat.st_mtime_ns)
    if memo in _checked:
        return None
    if array.dtype != np.float32:
        return f"dtype {array.dtype}, expected float32"
    wrong = problem(array) if problem is not None else None
    if wrong is None and not np.isfinite(array).all():
        wrong = "holds NaN or infinite values"
    if wrong is None:
        _checked.add(memo)
    return wrong


def _feature_problem(params: FeatureParams) -> Callable[[np.ndarray], str | None]:
    def problem(array: np.ndarray) -> str | None:
        if array.ndim != 2 or array.shape[0] != params.n_mels or array.shape[1] == 0:
            return f"shape {array.shape}, expected ({params.n_mels}, frames)"
        return None

    return problem


def _waveform_problem(array: np.ndarray) -> str | None:
    if array.ndim != 1 or array.shape[0] == 0:
        return f"shape {array.shape}, expected (samples,)"
    return None


def _resolve(cache: FeatureCache | bool) -> FeatureCache | None:
    if cache is True:
        return FeatureCache()
    if cache is False:
        return None
    return cache


def _content_hash(path: Path | str) -> str:
    from edm.audio.io import read_audio_info  # its checks name the file in the error

    try:
        if is_remembered(path):
            return file_sha256(path)
    except OSError:
        pass
    # First sight of this file: its header is checked (an absurd one is refused, with the
    # file's name) before its bytes are hashed, which for a huge file takes long.
    read_audio_info(path)
    return file_sha256(path)
