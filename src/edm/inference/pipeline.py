"""From an audio file to its structure, one stage per class (named input-to-output):

    File2Structure = File2Activations + decode_structure
    File2Activations = input loading (decode, resample, log-mel; cached or not) + Frames2Activations
    Frames2Activations = the model over overlapping windows, stitched

The network is rebuilt from its checkpoint alone (``edm.inference.engines``): inference imports
no training code, and on the CPU with a cached ONNX export, no torch either.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from edm.audio.cache import FeatureCache, load_features, load_waveform
from edm.audio.features import FeatureParams
from edm.decoding.activations import FrameActivations
from edm.decoding.decode import DecodeParams, decode_structure
from edm.decoding.learned_labels import checkpoint_labeller
from edm.decoding.structure import TrackStructure
from edm.errors import ConfigError
from edm.inference.engines import Engine, load_network
from edm.inference.network import Network
from edm.inference.windows import (
    DEFAULT_CONTEXT_SECONDS,
    ProgressCallback,
    predict_in_windows,
    receptive_radius_frames,
)
from edm.monitoring.descriptors import AudioDescriptors, describe_log_mel, describe_waveform

if TYPE_CHECKING:
    import torch

    from edm.models import MultiTaskModel

DEFAULT_WINDOW_SECONDS = 60.0


class Frames2Activations:
    """Model inputs of a whole track → :class:`FrameActivations`, window by window.

    ``network`` is a :class:`~edm.inference.network.Network` (either engine), or a torch
    ``MultiTaskModel``, which runs on ``device`` with PyTorch.
    """

    def __init__(
        self,
        network: Network | MultiTaskModel,
        feature_params: FeatureParams,
        *,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        device: torch.device | str = "cpu",
    ) -> None:
        if window_seconds <= 0:
            raise ConfigError(f"window length must be positive, got {window_seconds} s")
        if not hasattr(network, "engine"):
            from edm.inference.torch_network import TorchNetwork

            network = TorchNetwork(network, device)
        self.network: Network = network
        self.feature_params = feature_params
        fps = feature_params.frame_rate
        self.core_frames = max(1, round(window_seconds * fps))
        radius = receptive_radius_frames(network.config)
        self.context_frames = (
            radius + 2 if radius is not None else round(DEFAULT_CONTEXT_SECONDS * fps)
        )

    @property
    def takes_audio(self) -> bool:
        return self.network.config.input_kind == "audio"

    @property
    def sample_rate(self) -> int:
        """The sample rate of the network's input audio."""
        return self.network.config.sample_rate or self.feature_params.sample_rate

    def __call__(
        self, inputs: np.ndarray, on_progress: ProgressCallback | None = None
    ) -> FrameActivations:
        fps = self.feature_params.frame_rate
        samples_per_frame = None
        if self.takes_audio:
            samples_per_frame = self.sample_rate / fps
            n_frames = 1 + int(inputs.shape[0] // samples_per_frame)
        else:
            n_frames = int(inputs.shape[-1])
        values = predict_in_windows(
            self.network,
            inputs,
            n_frames,
            core_frames=self.core_frames,
            context_frames=self.context_frames,
            samples_per_frame=samples_per_frame,
            on_progress=on_progress,
        )
        return FrameActivations(
            frame_rate=fps,
            beat=values["beat"],
            downbeat=values["downbeat"],
            boundary=values["boundary"],
            energy=values["energy"],
            label=values["label"],
            labels=self.network.labels,
            # The decoder reads spectral change at bar lines from the log-mel features.
            features=None if self.takes_audio else np.asarray(inputs),
        )


class File2Activations:
    """Audio file → :class:`FrameActivations` (features from the cache when ``cache`` is on)."""

    def __init__(self, frames2activations: Frames2Activations, cache: FeatureCache | bool = False):
        self.frames2activations = frames2activations
        self.cache = cache

    def load_inputs(self, path: Path | str) -> np.ndarray:
        """The model's input for ``path``; AudioError names a file that cannot be decoded."""
        stage = self.frames2activations
        if stage.takes_audio:
            return np.asarray(load_waveform(path, stage.sample_rate, self.cache))
        return np.asarray(load_features(path, stage.feature_params, self.cache))

    def __call__(
        self, path: Path | str, on_progress: ProgressCallback | None = None
    ) -> FrameActivations:
        return self.frames2activations(self.load_inputs(path), on_progress)


@dataclass
class Analysis:
    """One analysed file: its structure, the activations it was decoded from, stage times,
    and cheap descriptors of its audio (for drift checks: ``edm.monitoring``)."""

    path: Path
    structure: TrackStructure
    activations: FrameActivations
    seconds: dict[str, float] = field(default_factory=dict)
    audio: AudioDescriptors | None = None


class File2Structure:
    """Audio file → :class:`TrackStructure`. Build it with :meth:`from_checkpoint`."""

    def __init__(
        self,
        file2activations: File2Activations,
        decode_params: DecodeParams | None = None,
        checkpoint: dict[str, Any] | None = None,
    ) -> None:
        self.file2activations = file2activations
        self.decode_params = decode_params or DecodeParams()
        self.checkpoint_info = {
            k: v for k, v in (checkpoint or {}).items() if k not in ("state_dict",)
        }
        # Fitted on this network's label probabilities, so it travels with the weights.
        self.section_labeller = checkpoint_labeller(checkpoint)

    @classmethod
    def from_checkpoint(
        cls,
        path: Path | str | os.PathLike[str],
        *,
        device: str = "cpu",
        cache: FeatureCache | bool = False,
        window_seconds: float = DEFAULT_WINDOW_SECONDS,
        decode_params: DecodeParams | None = None,
        engine: Engine = "auto",
    ) -> File2Structure:
        """Load a ``.pt`` checkpoint (CheckpointError names a bad one) and build the pipeline;
        ``engine`` as :func:`edm.inference.engines.load_network` takes it. Without
        ``decode_params``, a downloaded version decodes with the settings it was registered
        with (``edm.inference.version_decoding``), anything else with today's defaults."""
        if decode_params is None:
            from edm.inference.version_decoding import version_decode_params

            decode_params = version_decode_params(Path(path))
        loaded = load_network(Path(path), device=device, engine=engine)
        feature_params = FeatureParams.from_dict(dict(loaded.checkpoint["feature_params"]))
        frames = Frames2Activations(loaded.network, feature_params, window_seconds=window_seconds)
        return cls(File2Activations(frames, cache), decode_params, loaded.checkpoint)

    def analyze(self, path: Path | str, on_progress: ProgressCallback | None = None) -> Analysis:
        path = Path(path)
        started = time.perf_counter()
        inputs = self.file2activations.load_inputs(path)
        loaded = time.perf_counter()
        activations = self.file2activations.frames2activations(inputs, on_progress)
        predicted = time.perf_counter()
        structure = decode_structure(activations, self.decode_params, self.section_labeller)
        decoded = time.perf_counter()
        return Analysis(
            path=path,
            structure=structure,
            activations=activations,
            seconds={
                "inputs": loaded - started,
                "model": predicted - loaded,
                "decoding": decoded - predicted,
            },
            audio=_describe_inputs(inputs, self.file2activations.frames2activations),
        )

    def __call__(
        self, path: Path | str, on_progress: ProgressCallback | None = None
    ) -> TrackStructure:
        return self.analyze(path, on_progress).structure


def _describe_inputs(inputs: np.ndarray, stage: Frames2Activations) -> AudioDescriptors:
    """Descriptors of what the model was given: no second decode of the file."""
    if stage.takes_audio:
        return describe_waveform(inputs, stage.sample_rate)
    return describe_log_mel(inputs, stage.feature_params)
