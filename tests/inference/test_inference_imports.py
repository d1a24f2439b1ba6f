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
