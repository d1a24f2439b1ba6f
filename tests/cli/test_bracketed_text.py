"""Text in square brackets that did not come from the code (a reason, a user or run name, a
param or tag value, a path, a folder, a track) is printed as it is by every command that prints a
table or a line through Rich, never read as markup and dropped.

Rich drops ``[alert 59905c63 since ...]`` as an unknown tag: each value below would vanish
from the output if it were not escaped.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.cli_runner import RunEdm
from tests.tiny_model import tiny_cnn_checkpoint

from edm.registry import ModelRegistry
from edm.synth import SynthConfig, write_synthetic_dataset

ALERT = "[alert 59905c63 since 2026-12-06T02:58:53+00:00]"
USER = "[ops] anna"
RUN = "[exp] first try"
PARAM = "learning_rate"  # MLflow allows no brackets in a key; in a value it does
VALUE = "[cnn small]"
TAG = "owner"
FOLDER = "[eu] store"


def flat(text: str) -> str:
    """The text without table borders and white space: a long cell or title may wrap
    anywhere, even inside a word."""
    for border in "│┃┆║":
        text = text.replace(border, " ")
    return "".join(text.split())


def shows(output: str, *values: str) -> None:
    missing = [value for value in values if flat(value) not in flat(output)]
    assert not missing, f"{missing} not in:\n{output}"


@pytest.fixture
def bracketed_store(
    tmp_path: Path, _migrated_empty_store: Path, checkpoint: Path, monkeypatch: pytest.MonkeyPatch
) -> str:
    """Two versions with bracketed run names, params and tags, promoted by a bracketed user
    for a bracketed reason, in a store whose folder name has brackets too."""
    store = tmp_path / FOLDER / "mlruns"
    store.mkdir(parents=True)
    shutil.copyfile(_migrated_empty_store, store / "mlflow.db")
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", USER)
    registry = ModelRegistry(tracking_uri=str(store), promotion_gate=None, packager=None)
    for number in (1, 2):
        registry.log_model(
            checkpoint,
            f"{RUN} {number}",
            params={"backbone": VALUE, PARAM: f"[{number}e-3]"},
            metrics={"best_val_loss": 0.5 / number},
            tags={TAG: f"[team {number}]"},
        )
    registry.promote_model(1, "Production", reason=f"first {ALERT}")
    return str(store)


def test_models_and_doctor_print_bracketed_text(
    run_edm: RunEdm, bracketed_store: str, tmp_path: Path
) -> None:
    def edm(*args: str) -> str:
        result = run_edm("--tracking-uri", bracketed_store, *args)
        assert result.exit_code == 0, result.stdout + result.stderr
        return result.stdout + result.stderr

    shows(edm("models", "list"), f"{RUN} 1", f"{RUN} 2", VALUE)
    shows(edm("models", "info", "2"), f"{RUN} 2", PARAM, "[2e-3]", VALUE, TAG, "[team 2]")
    shows(edm("models", "compare", "1", "2"), PARAM, "[1e-3]", "[2e-3]")
    edm("models", "promote", "2", "Production", "--force", "--reason", f"better {ALERT}")
    edm("models", "rollback", "--reason", f"auto-rollback: it fired {ALERT}")
    shows(
        edm("models", "history"),
        USER,
        f"first {ALERT}",
        f"better {ALERT}",
        f"auto-rollback: it fired {ALERT}",
    )
    downloads = tmp_path / "[dl] here"
    shows(edm("models", "load-production", "--output", str(downloads)), str(downloads))
    shows(edm("doctor"), FOLDER)


def test_data_analyze_and_evaluate_print_bracketed_text(run_edm: RunEdm, tmp_path: Path) -> None:
    data = tmp_path / "[set] data"
    write_synthetic_dataset(data, 1, seed=3, config=SynthConfig(min_seconds=20, max_seconds=21))
    track = data / "[live] track.wav"
    (data / "track_000.wav").rename(track)
    annotation = data / "track_000.yaml"
    text = annotation.read_text().replace("track_000.wav", f"'{track.name}'")
    annotation.unlink()
    (data / "[live] track.yaml").write_text(text)
    (tmp_path / "[v2] model").mkdir()
    model = tiny_cnn_checkpoint(tmp_path / "[v2] model" / "best.pt", seed=0)

    validated = run_edm("data", "check", str(data))
    assert validated.exit_code == 0, validated.stdout + validated.stderr
    shows(validated.stdout, str(data))

    analysed = run_edm("analyze", str(track), "--model", str(model))
    assert analysed.exit_code == 0, analysed.stderr
    shows(analysed.stdout, str(track))

    evaluated = run_edm("evaluate", str(data), "--model", str(model))
    assert evaluated.exit_code == 0, evaluated.stderr
    shows(evaluated.stdout, str(data), "[live] track", str(model))
