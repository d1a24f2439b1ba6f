"""The MLflow UI as a person sees edm's store: a real `mlflow server` on loopback over a tiny
SQLite store, drawn by Debian's chromium through Playwright (executable_path).

The registered model's page shows the aliases, who registered each version ("Created by") and
the audit trail's readable lines; the training experiment opens on its runs with the UI's
"Model training" view. Screenshots land in test-artifacts/mlflow/.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from tests.servers import free_port, start_logged, stop, wait_for_http

from edm.registry import ModelRegistry
from edm.registry.audit import entries_from_tags
from edm.settings import current_user

pytestmark = pytest.mark.slow

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "mlflow"


@pytest.fixture
def registry(tmp_path: Path, _migrated_empty_store: Path, checkpoint: Path) -> ModelRegistry:
    store = tmp_path / "mlruns"
    store.mkdir()
    shutil.copyfile(_migrated_empty_store, store / "mlflow.db")
    registry = ModelRegistry(tracking_uri=str(store), promotion_gate=None)
    for i in (1, 2):
        registry.log_model(
            model_path=checkpoint,
            run_name=f"ui-run-{i}",
            params={"backbone": "cnn"},
            metrics={"best_val_loss": 1.0 - 0.1 * i},
        )
    registry.promote_model(1, "Staging", reason="evaluated on the test set")
    registry.promote_model(1, "Production", reason="first production")
    registry.promote_model(2, "Staging", reason="next candidate")
    return registry


@pytest.fixture
def ui_url(registry: ModelRegistry, tmp_path: Path) -> Iterator[str]:
    store = Path(registry.connection.location.tracking_uri.removeprefix("sqlite:///"))
    with _mlflow_ui(store, tmp_path) as url:
        yield url


@contextmanager
def _mlflow_ui(store: Path, tmp_path: Path) -> Iterator[str]:
    """A real `mlflow server` on loopback over the SQLite file ``store``."""
    port = free_port()
    log = tmp_path / "mlflow-ui.log"
    server = start_logged(
        [str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1",
         "--port", str(port), "--backend-store-uri", f"sqlite:///{store}",
         "--default-artifact-root", str(tmp_path / "mlartifacts"), "--workers", "1"],
        log,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_http(f"{url}/health", server, log)
        yield url
    finally:
        stop(server)


@pytest.fixture
def page(ui_url: str, chromium_browser: object) -> Iterator[object]:
    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    yield context.new_page()
    context.close()


def _shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def test_the_ui_shows_aliases_creators_the_audit_trail_and_the_runs(
    registry: ModelRegistry, ui_url: str, page: object
) -> None:
    page.goto(f"{ui_url}/#/models/{registry.model_name}")  # type: ignore[attr-defined]
    page.get_by_text("Audit trail").first.wait_for(timeout=60_000)  # type: ignore[attr-defined]
    page.get_by_text("Version 1").first.wait_for(timeout=30_000)  # type: ignore[attr-defined]
    _shot(page, "model-page")
    body = page.inner_text("body")  # type: ignore[attr-defined]

    tags = registry.client.get_registered_model(registry.model_name).tags
    lines = [entry.to_tag_value() for entry in entries_from_tags(tags)]
    assert len(lines) == 3
    positions = [body.index(line) for line in lines]  # each readable line, newest first
    assert positions == sorted(positions)

    rows = page.get_by_role("row")  # type: ignore[attr-defined]
    first = rows.filter(has_text="Version 1").first.inner_text().replace("\xa0", " ")
    second = rows.filter(has_text="Version 2").first.inner_text().replace("\xa0", " ")
    assert "@ production" in first and "@ staging" in second
    assert current_user() in first and current_user() in second  # "Created by"
    header = rows.filter(has_text="Created by").first.inner_text()
    assert "Aliases" in header

    # The training experiment: tagged as model development, and on its runs in the UI's
    # "Model training" view (MLflow 3.17.2 takes the view from its switch or the link).
    experiment = registry.client.get_experiment_by_name(registry.experiment_name)
    assert experiment.tags["mlflow.experimentKind"] == "custom_model_development"
    address = f"{ui_url}/#/experiments/{experiment.experiment_id}?workflowType=machine_learning"
    page.goto(address)  # type: ignore[attr-defined]
    page.get_by_text("ui-run-2").first.wait_for(timeout=60_000)  # type: ignore[attr-defined]
    _shot(page, "experiment-runs")
    assert "/runs" in page.url  # type: ignore[attr-defined]
    assert "Traces" not in page.get_by_role("heading").all_inner_texts()  # type: ignore[attr-defined]


def test_a_training_run_page_shows_its_datasets_code_commit_and_environment(
    tmp_path: Path, _migrated_empty_store: Path, chromium_browser: object
) -> None:
    """What a person checks to trace a version back: the train and validation sets (with their
    digests), the commit of edm's own code as the run's source, the resolved environment."""
    from edm.synth import SynthConfig, write_synthetic_dataset
    from edm.training import TrainingConfig
    from edm.training.pipeline import train_from_directory

    data = tmp_path / "data"
    write_synthetic_dataset(data, 4, seed=2, config=SynthConfig(min_seconds=20, max_seconds=22))
    store = tmp_path / "mlruns"
    store.mkdir()
    shutil.copyfile(_migrated_empty_store, store / "mlflow.db")
    registry = ModelRegistry(tracking_uri=str(store), promotion_gate=None)
    config = TrainingConfig.create(
        num_epochs=1, batch_size=4, crop_seconds=4.0, output_dir=tmp_path / "outputs"
    )
    tiny = {"hidden_size": 8, "conv_channels": (4, 4), "freq_pooling": (4, 4)}
    job = train_from_directory(data, config, registry, model_options=tiny)
    run = registry.client.get_run(job.result.run_id)
    datasets = {d.dataset.name: d.dataset.digest for d in run.inputs.dataset_inputs}
    assert {"train", "validation"} <= set(datasets)
    commit = run.data.tags["git_commit"]

    context = chromium_browser.new_context(viewport={"width": 1400, "height": 1000})  # type: ignore[attr-defined]
    with _mlflow_ui(store / "mlflow.db", tmp_path) as url:
        page = context.new_page()
        page.goto(f"{url}/#/experiments/{run.info.experiment_id}/runs/{run.info.run_id}")
        page.get_by_text("Datasets").first.wait_for(timeout=60_000)
        page.get_by_text(commit).first.wait_for(timeout=30_000)  # the run's source
        _shot(page, "run-overview")
        overview = page.inner_text("body")
        assert f"train ({datasets['train'][:8]})" in overview
        page.get_by_role("tab", name="Artifacts").first.click()
        page.get_by_text("environment").first.wait_for(timeout=30_000)
        page.get_by_text("environment").first.click()
        page.get_by_text("requirements.txt").first.wait_for(timeout=30_000)
        _shot(page, "run-artifacts")
        artifacts = page.inner_text("body")
        assert "inputs" in artifacts and "python.txt" in artifacts
    context.close()
