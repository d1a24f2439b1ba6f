"""The decoding settings a registered version was registered with, for edm's own loaders.

``mlflow.pyfunc`` hands a version's ``model_config`` to its model (``edm.inference.pyfunc``);
``edm analyze`` and ``edm serve`` load the downloaded checkpoint themselves, so they read the
same ``model_config`` from the ``MLmodel`` file downloaded with it. A local checkpoint, or a
version registered before the settings were stored, decodes with today's defaults.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from edm.decoding.decode import DecodeParams
from edm.decoding.settings import decode_params_from_settings

log = logging.getLogger(__name__)

MLMODEL = "MLmodel"


def version_decode_params(checkpoint: Path) -> DecodeParams | None:
    """The settings of the version whose downloaded checkpoint this is; None when unknown."""
    import yaml

    mlmodel = Path(checkpoint).parent.parent / MLMODEL  # <version folder>/artifacts/best.pt
    if not mlmodel.is_file():
        return None
    try:
        document: Any = yaml.safe_load(mlmodel.read_text(encoding="utf-8"))
        decoding = document["flavors"]["python_function"]["config"]["decoding"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        log.info("%s: no decoding settings (%s)", mlmodel, exc)
        return None
    return decode_params_from_settings(decoding) if isinstance(decoding, dict) else None


def with_version_settings(checkpoint: Path, params: DecodeParams) -> DecodeParams:
    """``params`` (the caller's: defaults, or a tempo range a user asked for) on top of the
    version's own settings: the version's, with the user's tempo range if one was given."""
    registered = version_decode_params(checkpoint)
    if registered is None:
        return params
    if params == DecodeParams():
        return registered
    return registered.with_bpm_range(params.tempo.min_bpm, params.tempo.max_bpm)
