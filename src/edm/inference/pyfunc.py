"""An edm version as an MLflow python-function model: audio bytes in, track structure out.

MLflow loads it as *models-from-code*: the model's code is the plain file
``pyfunc_model.py`` beside this one, which MLflow copies into the logged model and runs; no
pickled Python object is stored or loaded. The weights stay the edm checkpoint, an artifact
of the model read with ``torch.load(weights_only=True)``.

Input, one row per track: the bytes of an audio file (any of
``edm.audio.io.SUPPORTED_FORMATS``) in the column ``audio`` (over ``/invocations`` JSON,
base64 text, which MLflow decodes for a binary column). Output, one dict per track: what
``edm analyze --format json`` gives (duration, bpm, tempo curve, metre, beats, downbeats,
sections with label, confidence and energy). The version's ``model_config`` holds all its
decoding settings (``decoding``: tempo range, priors, penalties; ``min_bpm``, ``max_bpm``)
besides the input caps.

Bad input (not audio, too large, too long) raises an ``MlflowException`` with
``INVALID_PARAMETER_VALUE`` naming the row and the problem: the scoring server answers 400.
"""

from __future__ import annotations

import base64
import binascii
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd
from mlflow.pyfunc import PythonModel

AUDIO_COLUMN = "audio"
CHECKPOINT_ARTIFACT = "checkpoint"
DEFAULT_MAX_AUDIO_SECONDS = 1800.0  # half an hour: a long DJ edit, not a whole set
# What half an hour of uncompressed 48 kHz 24-bit stereo takes (edm.audio.io.uncompressed_bytes),
# so that the byte cap never refuses audio the seconds cap accepts.
DEFAULT_MAX_AUDIO_MB = 496.0


class StructureModel(PythonModel):
    """Runs ``File2Structure`` on each row's audio."""

    def load_context(self, context: Any) -> None:
        from edm.decoding.settings import decode_params_from_settings
        from edm.inference.pipeline import File2Structure

        config = dict(getattr(context, "model_config", None) or {})
        self.max_audio_seconds = float(config.get("max_audio_seconds", DEFAULT_MAX_AUDIO_SECONDS))
        self.max_audio_bytes = int(float(config.get("max_audio_mb", DEFAULT_MAX_AUDIO_MB)) * 2**20)
        checkpoint = context.artifacts[CHECKPOINT_ARTIFACT]
        # The version's own decoding settings, as registered (edm.decoding.settings): a later
        # change of a default does not change its answers. Versions registered before they
        # were stored have only the tempo range.
        decode_params = decode_params_from_settings(config.get("decoding"))
        decode_params = decode_params.with_bpm_range(config.get("min_bpm"), config.get("max_bpm"))
        self.analyzer = File2Structure.from_checkpoint(
            checkpoint, device="cpu", decode_params=decode_params
        )

    def use_bpm_range(self, min_bpm: float | None, max_bpm: float | None) -> None:
        """Search tempi in ``min_bpm..max_bpm`` from now on (a user's hint for a catalogue, as
        ``--min-bpm``/``--max-bpm`` give ``edm batch``); None keeps the version's own end."""
        decoding = self.analyzer.decode_params
        self.analyzer.decode_params = decoding.with_bpm_range(min_bpm, max_bpm)

    # A DataFrame hint is one MLflow infers no schema from (so the signature stays ours) and
    # does not warn about; MLflow hands over a DataFrame after enforcing the signature.
    def predict(
        self, context: Any, model_input: pd.DataFrame, params: Mapping[str, Any] | None = None
    ):  # no return hint: MLflow would infer an output schema from it, and warn on Any
        """One structure dict per row of ``model_input`` (see the module docstring)."""
        return [self._analyze(row, data) for row, data in enumerate(_audio_rows(model_input))]

    def _analyze(self, row: int, data: bytes) -> dict[str, Any]:
        from edm.audio.io import read_audio_info
        from edm.errors import EdmError

        if not data:
            raise _invalid(row, "the audio is empty")
        if len(data) > self.max_audio_bytes:
            raise _invalid(
                row,
                f"the audio is {len(data) / 2**20:.1f} MB, over the limit of "
                f"{self.max_audio_bytes / 2**20:.0f} MB",
            )
        with tempfile.TemporaryDirectory(prefix="edm-pyfunc-") as folder:
            path = Path(folder) / f"input-{row}"
            path.write_bytes(data)
            try:
                duration = read_audio_info(path).duration
                if duration > self.max_audio_seconds:
                    raise _invalid(
                        row,
                        f"the audio lasts {duration:.0f} s, over the limit of "
                        f"{self.max_audio_seconds:.0f} s",
                    )
                structure = self.analyzer(path)
            except EdmError as exc:
                # AudioError names our temporary file; the caller knows the row, not the file.
                problem = getattr(exc, "problem", None) or str(exc)
                raise _invalid(row, problem) from None
        return structure.to_dict()


def _audio_rows(model_input: Any) -> list[bytes]:
    """The audio of each row, whatever shape MLflow or a Python caller hands over."""
    values: Iterable[Any]
    if isinstance(model_input, bytes | bytearray | str):
        values = [model_input]
    elif hasattr(model_input, "columns"):  # a pandas DataFrame
        if AUDIO_COLUMN not in model_input.columns:
            columns = ", ".join(map(str, model_input.columns)) or "none"
            raise _invalid(None, f"no '{AUDIO_COLUMN}' column in the input (columns: {columns})")
        values = model_input[AUDIO_COLUMN].tolist()
    elif isinstance(model_input, Mapping):
        if AUDIO_COLUMN not in model_input:
            raise _invalid(None, f"no '{AUDIO_COLUMN}' key in the input")
        values = model_input[AUDIO_COLUMN]
        if isinstance(values, bytes | bytearray | str):
            values = [values]
    elif isinstance(model_input, list | tuple):
        values = model_input
    else:
        raise _invalid(None, f"expected audio bytes, got {type(model_input).__name__}")
    return [_as_bytes(row, value) for row, value in enumerate(values)]


def _as_bytes(row: int, value: Any) -> bytes:
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if isinstance(value, str):  # base64 text that reached us undecoded
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise _invalid(row, "text that is not base64-encoded audio") from None
    raise _invalid(row, f"expected the bytes of an audio file, got {type(value).__name__}")


def _invalid(row: int | None, problem: str) -> Exception:
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

    where = "input" if row is None else f"input row {row}"
    return MlflowException(f"{where}: {problem}", error_code=INVALID_PARAMETER_VALUE)


def model_code_path() -> Path:
    """The models-from-code file MLflow copies into every logged edm model."""
    return Path(__file__).with_name("pyfunc_model.py")


__all__ = [
    "AUDIO_COLUMN",
    "CHECKPOINT_ARTIFACT",
    "StructureModel",
    "model_code_path",
]
