"""Model slots that follow the registry's aliases: one for Production, one for Staging, and
(``follow_previous``) one for the version Production replaced, as the audit trail's production
timeline says: the comparative rollback alerts compare Production with it on the same tracks.

A watcher thread reads which versions hold the stages (every ``poll_interval``, or at once when
``trigger`` is called: the webhook does), and for each moved alias downloads the version,
loads it and warms it up in the background, then swaps it in with one assignment. A request
takes the slot's model once, at its start, and finishes on it. A version that fails to load
leaves the old model serving; the failure is kept for ``/model/info`` and counted, and the
version is tried again after ``RETRY_FAILED_S`` (or at once if its alias leaves and returns).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edm.errors import EdmError

if TYPE_CHECKING:
    from edm.decoding.decode import DecodeParams
    from edm.inference.pipeline import File2Structure
    from edm.monitoring.reference import DriftReference
    from edm.registry import AuditEntry, ModelRegistry
    from edm.serving.metrics import Metrics

log = logging.getLogger(__name__)

VARIANTS = ("production", "staging")
PREVIOUS = "previous"  # not a variant clients can ask for: it only replays Production's requests
WARM_UP_SECONDS = 4.0
RETRY_FAILED_S = 120.0  # a version that failed to load is tried again after this long


@dataclass(frozen=True)
class LoadedModel:
    """One version, loaded and warmed up, with what ``/model/info`` tells about it."""

    version: int
    analyzer: File2Structure
    run_id: str | None
    source: str
    metrics: dict[str, float]
    loaded_at: float
    load_seconds: float
    folder: Path | None = None  # its downloaded files, removed once it is swapped out
    drift_reference: DriftReference | None = None  # its training tracks' descriptors, if stored

    def info(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "run_id": self.run_id,
            "source": self.source,
            "loaded_at": _iso(self.loaded_at),
            "load_seconds": round(self.load_seconds, 3),
            "metrics": self.metrics,
            "drift_reference": self.drift_reference is not None,
        }


@dataclass
class Slot:
    """What one variant serves now, what its alias names, and the last failed load."""

    variant: str
    model: LoadedModel | None = None
    wanted: int | None = None  # the version the alias named at the last look
    failure: dict[str, Any] | None = None
    loading: int | None = None
    failed_at: dict[int, float] = field(default_factory=dict)  # version -> monotonic time

    def info(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "alias_version": self.wanted,
            "loaded": self.model.info() if self.model else None,
            "loading": self.loading,
            "last_failure": self.failure,
        }


Loader = Callable[[int], LoadedModel]


class ModelSlots:
    """The Production and Staging slots and the thread that keeps them on their aliases."""

    def __init__(
        self,
        registry: ModelRegistry,
        metrics: Metrics,
        *,
        poll_interval: float,
        device: str = "cpu",
        loader: Loader | None = None,
        trigger_file: Path | None = None,
        decode_params: DecodeParams | None = None,
        follow_previous: bool = False,
    ) -> None:
        """``trigger_file``: a file shared by the workers; touching it wakes every watcher;
        ``decode_params``: how every version's activations are decoded (the BPM hints);
        ``follow_previous``: keep the previous Production version loaded too."""
        self.decode_params = decode_params
        self.follow_previous = follow_previous
        self.registry = registry
        self.metrics = metrics
        self.poll_interval = poll_interval
        self.device = device
        self.slots = {variant: Slot(variant) for variant in VARIANTS}
        if follow_previous:
            self.slots[PREVIOUS] = Slot(PREVIOUS)
            metrics.model_version.labels(variant=PREVIOUS).set(0)
        self.last_poll: float | None = None
        self.last_poll_error: str | None = None
        self._download_dir = Path(tempfile.mkdtemp(prefix="edm-serve-")).resolve()
        self._loader = loader or self._load
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warm_up_clip: Path | None = None
        self._trigger_file = trigger_file
        self._trigger_seen = self._trigger_stamp()
        self._references: dict[int, str | None] = {}  # version -> newest reference entry seen
        for variant in VARIANTS:  # 0 until something is loaded or polled
            metrics.model_version.labels(variant=variant).set(0)
            metrics.alias_version.labels(alias=variant).set(0)

    # ------------------------------------------------------------------ reading

    def model(self, variant: str) -> LoadedModel | None:
        return self.slots[variant].model

    def ready(self) -> tuple[bool, str]:
        production = self.slots["production"]
        if production.model is not None:
            return True, f"production version {production.model.version} loaded"
        if self.last_poll is None:
            return False, "the registry has not been read yet"
        if production.loading is not None:
            return False, f"production version {production.loading} is loading"
        if production.wanted is None:
            return False, "no version is in Production"
        return False, f"production version {production.wanted} could not be loaded"

    def info(self) -> dict[str, Any]:
        return {
            "model_name": self.registry.model_name,
            "poll_interval_s": self.poll_interval,
            "last_poll": _iso(self.last_poll) if self.last_poll else None,
            "last_poll_error": self.last_poll_error,
            "variants": {variant: slot.info() for variant, slot in self.slots.items()},
        }

    # ------------------------------------------------------------------ following the aliases

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="edm-model-watcher", daemon=True)
        self._thread.start()

    def trigger(self) -> None:
        """Look at the aliases now (a webhook said something changed), in every worker."""
        if self._trigger_file is not None:
            self._trigger_file.touch()
            self._trigger_seen = self._trigger_stamp()
        self._wake.set()

    def _trigger_stamp(self) -> int:
        if self._trigger_file is None:
            return 0
        try:
            return self._trigger_file.stat().st_mtime_ns
        except OSError:
            return 0

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        shutil.rmtree(self._download_dir, ignore_errors=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sync()
            self._wait()

    def _wait(self) -> None:
        """Until the next poll, a trigger, or another worker's trigger (checked each second)."""
        deadline = time.monotonic() + self.poll_interval
        while not self._stop.is_set():
            step = min(1.0, deadline - time.monotonic())
            if step <= 0 or self._wake.wait(step):
                break
            stamp = self._trigger_stamp()
            if stamp != self._trigger_seen:
                self._trigger_seen = stamp
                break
        self._wake.clear()

    def sync(self) -> None:
        """Read the aliases once and bring every slot onto its version."""
        try:
            holders = self.registry.stage_holders()
        except EdmError as exc:
            self.last_poll_error = str(exc)
            log.warning("reading the registry failed: %s", exc)
            return
        except Exception as exc:  # the watcher must outlive any store hiccup
            self.last_poll_error = f"{type(exc).__name__}: {exc}"
            log.exception("reading the registry failed")
            return
        self.last_poll_error = None
        try:
            entries = self.registry.history()  # the previous version; replaced references
        except EdmError as exc:
            log.warning("reading the audit trail failed: %s", exc)
            entries = None
        if self.follow_previous and entries is not None:  # first: it keeps what Production drops
            self._follow_previous(holders.production, entries)
        for alias, version in (("production", holders.production), ("staging", holders.staging)):
            self.metrics.alias_version.labels(alias=alias).set(version or 0)
        for variant, version in (("production", holders.production), ("staging", holders.staging)):
            self._follow(self.slots[variant], version)
        if entries is not None:
            from edm.serving.reference_refresh import refresh_references

            slots = self.slots.values()
            refresh_references(slots, entries, self._references, self._drift_reference)
        self.last_poll = time.time()

    def _follow_previous(self, production: int | None, entries: list[AuditEntry]) -> None:
        """The previous slot onto the version before ``production`` in the production timeline
        (none when the trail records none: the first version, or an alias moved outside edm)."""
        from edm.registry import production_timeline

        timeline = production_timeline(entries)
        version = None
        if production is not None and len(timeline) >= 2 and timeline[-1] == production:
            version = timeline[-2]
        slot, serving = self.slots[PREVIOUS], self.slots["production"].model
        current = slot.model.version if slot.model else None
        if version is not None and version != current and serving and serving.version == version:
            slot.wanted, slot.model = version, serving  # the version leaving Production: kept
            self.metrics.set_model(PREVIOUS, current, version)
            return
        self._follow(slot, version)

    def _follow(self, slot: Slot, version: int | None) -> None:
        if version != slot.wanted and version is not None:
            slot.failed_at.pop(version, None)  # the alias moved back to it: try it again now
        slot.wanted = version
        current = slot.model.version if slot.model else None
        if version == current:
            return
        if version is None:  # the alias was removed: nothing to serve under it
            slot.model = None
            self.metrics.set_model(slot.variant, current, None)
            return
        failed = slot.failed_at.get(version)
        if failed is not None and time.monotonic() - failed < RETRY_FAILED_S:
            return  # tried lately: again after a while (a store hiccup passes), not every poll
        slot.loading = version
        started = time.perf_counter()
        try:
            loaded = self._loader(version)
        except Exception as exc:
            slot.failed_at[version] = time.monotonic()
            slot.failure = {
                "version": version,
                "error": str(exc) if isinstance(exc, EdmError) else f"{type(exc).__name__}: {exc}",
                "at": _iso(time.time()),
            }
            self.metrics.reloads.labels(result="failure").inc()
            log.warning("version %s failed to load for %s: %s", version, slot.variant, exc)
            return
        finally:
            slot.loading = None
        previous = slot.model
        slot.model = loaded  # the swap: requests that started earlier keep their own reference
        if previous is not None and previous.folder not in (None, loaded.folder):
            shutil.rmtree(previous.folder, ignore_errors=True)  # the weights are in memory
        slot.failure = None
        self.metrics.set_model(slot.variant, current, version)
        self.metrics.reloads.labels(result="success").inc()
        self.metrics.last_reload.set(time.time())
        log.info(
            "%s now serves version %s (loaded in %.1f s)",
            slot.variant,
            version,
            time.perf_counter() - started,
        )

    # ------------------------------------------------------------------ loading

    def _load(self, version: int) -> LoadedModel:
        from edm.inference.pipeline import File2Structure
        from edm.inference.version_decoding import with_version_settings

        started = time.perf_counter()
        path = self.registry.download_version(version, self._download_dir)
        analyzer = File2Structure.from_checkpoint(
            path, device=self.device, decode_params=with_version_settings(path, self.decode_params)
        )
        analyzer.analyze(self._warm_up_file())  # first calls pay for lazy set-up: not a user
        record = self.registry.version_record(version)
        reference = self._drift_reference(version)
        return LoadedModel(
            version=version,
            analyzer=analyzer,
            run_id=record.run_id if record else None,
            source=record.source if record else "",
            metrics=dict(record.metrics) if record else {},
            loaded_at=time.time(),
            load_seconds=time.perf_counter() - started,
            folder=self._download_dir / path.resolve().relative_to(self._download_dir).parts[0],
            drift_reference=reference,
        )

    def _drift_reference(self, version: int) -> DriftReference | None:
        """The version's drift reference; None when it has none or it cannot be read: drift
        checks are worth a warning, never a model that does not load."""
        from edm.monitoring.reference import DriftReference

        try:
            document = self.registry.drift_reference(version)
            if document is None:
                return None
            return DriftReference.from_dict(document, f"the drift reference of version {version}")
        except EdmError as exc:
            log.warning("version %s: drift reference not loaded: %s", version, exc)
            return None

    def _warm_up_file(self) -> Path:
        if self._warm_up_clip is None:
            import soundfile as sf

            rate = 22050
            t = np.arange(int(WARM_UP_SECONDS * rate)) / rate
            clicks = np.sin(2 * np.pi * 1000 * t) * (np.mod(t, 0.5) < 0.02)
            target = self._download_dir / "warm-up.wav"
            sf.write(target, (0.5 * clicks).astype(np.float32), rate, subtype="PCM_16")
            self._warm_up_clip = target
        return self._warm_up_clip


def _iso(timestamp: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(timestamp, tz=UTC).isoformat(timespec="seconds")
