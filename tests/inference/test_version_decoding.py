"""A version keeps the decoding settings it was registered with: a later change of a default
in edm does not change its answers (edm.decoding.settings)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from audio_material import write_material

import edm.decoding.settings as settings_module
from edm.decoding.decode import DecodeParams
from edm.decoding.settings import decode_params_from_settings, decode_settings
from edm.inference.pipeline import File2Structure
from edm.registry import ModelRegistry

pytestmark = pytest.mark.slow  # two registrations, each writes a whole MLflow model


def test_settings_round_trip_and_tolerate_other_editions() -> None:
    params = DecodeParams()
    changed = dataclasses.replace(
        params,
        tempo=dataclasses.replace(params.tempo, min_bpm=90.0),
        sections=dataclasses.replace(params.sections, penalty=0.9, length_costs=((8, 0.5),)),
    )
    assert decode_params_from_settings(decode_settings(changed)) == changed
    recorded = decode_settings(changed)
    recorded["tempo"]["from_a_newer_edm"] = 1.0  # a setting this edm does not know: left out
    del recorded["labels"]  # a setting the version's edm did not have: today's default
    back = decode_params_from_settings(recorded)
    assert back.tempo.min_bpm == 90.0 and back.labels == params.labels
    assert decode_params_from_settings(None) == params


def test_a_version_answers_as_registered_after_a_default_changes(
    tiny_checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlflow.pyfunc

    uri = str(tmp_path / "mlruns")
    registry = ModelRegistry(tracking_uri=uri, promotion_gate=None, download_dir=tmp_path / "dl")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{uri}/mlflow.db")
    wav = write_material(tmp_path, "four", 128.0, seconds=12.0)
    audio = pd.DataFrame({"audio": [wav.read_bytes()]})

    registry.log_model(tiny_checkpoint, "before", {}, {"best_val_loss": 1.0})
    first = mlflow.pyfunc.load_model("models:/edm-structure-detector/1")
    [answer_before] = first.predict(audio)

    # A later edm changes defaults: the tempo range and a section penalty.
    later = DecodeParams()
    later = dataclasses.replace(
        later,
        tempo=dataclasses.replace(later.tempo, min_bpm=140.0, max_bpm=200.0),
        sections=dataclasses.replace(later.sections, penalty=0.9),
    )
    monkeypatch.setattr(settings_module, "DecodeParams", lambda: later)
    registry.log_model(tiny_checkpoint, "after", {}, {"best_val_loss": 1.0})

    # Version 1, loaded again under the new defaults, decodes and answers as before.
    again = mlflow.pyfunc.load_model("models:/edm-structure-detector/1")
    decoding = again.unwrap_python_model().analyzer.decode_params
    assert (decoding.tempo.min_bpm, decoding.tempo.max_bpm) == (60.0, 210.0)
    assert decoding.sections.penalty == DecodeParams().sections.penalty
    [answer_after] = again.predict(audio)
    assert answer_after == answer_before
    # Version 2 was registered with the new defaults and keeps them.
    second = mlflow.pyfunc.load_model("models:/edm-structure-detector/2")
    decoding = second.unwrap_python_model().analyzer.decode_params
    assert (decoding.tempo.min_bpm, decoding.tempo.max_bpm) == (140.0, 200.0)
    assert decoding.sections.penalty == 0.9
    config = second.model_config
    assert config["decoding"]["tempo"]["min_bpm"] == 140.0 and config["min_bpm"] == 140.0

    # edm's own loaders (edm analyze, edm serve, edm evaluate...) read the same settings from
    # the downloaded version, and answer as its pyfunc does.
    for number, low, model in ((1, 60.0, again), (2, 140.0, second)):
        path = registry.download_version(number)
        analyzer = File2Structure.from_checkpoint(path)
        assert analyzer.decode_params.tempo.min_bpm == low
        [expected] = model.predict(audio)
        assert analyzer(wav).to_dict() == expected
