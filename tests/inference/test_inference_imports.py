"""Running a model loads only what running a model needs: a service imports this pipeline and
must not pay for (or depend on) scoring, training or the command line."""

from __future__ import annotations

from tests.import_reading import modules_after_import

FORBIDDEN = ("mir_eval", "edm.evaluation", "edm.training", "edm.cli", "typer", "rich", "mlflow")


def test_the_inference_pipeline_loads_no_scoring_training_or_cli() -> None:
    loaded = modules_after_import("edm.inference.pipeline")
    assert "edm.decoding" in loaded  # the check itself sees edm's modules
    unwanted = sorted(
        name for name in loaded if any(name == f or name.startswith(f"{f}.") for f in FORBIDDEN)
    )
    assert unwanted == []


def test_the_pipeline_imports_no_engine_until_a_network_is_loaded() -> None:
    """torch costs about 1.4 s to import: with a kept ONNX export, analysing needs none of it
    (``tests/inference/test_engines.py`` loads one); onnxruntime comes with the network."""
    loaded = modules_after_import("edm.inference.pipeline")
    assert "edm.inference.engines" in loaded
    assert not {"torch", "onnxruntime", "onnx"} & set(loaded)
