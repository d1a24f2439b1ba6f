"""Issue 28, point 16: one spelling for machine output.

Every command that prints results takes ``--json`` (``--format`` stays where there are several
forms, and ``--format json`` means the same): a walk over the whole Typer command tree checks
it, so a new command cannot forget. Then the commands that lacked it: analyze, train, api-key.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
import typer.main
from tests.tiny_model import tiny_cnn_checkpoint

from edm.api_keys import hash_key
from edm.cli.main import app
from edm.synth import SynthConfig, write_synthetic_dataset

# Commands that run a server until stopped: they print where it listens, no result.
SERVERS = {"serve", "ui", "annotate"}


def leaf_commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple]:
    context = typer.Context(command, info_name=path[-1] if path else "edm")
    if hasattr(command, "list_commands"):  # a group (Typer's own, not click.Group)
        for name in command.list_commands(context):
            sub = command.get_command(context, name)
            assert sub is not None, name
            yield from leaf_commands(sub, (*path, name))
    else:
        yield path, command


def options_of(command: Any) -> set[str]:
    return {name for param in command.params for name in getattr(param, "opts", [])}


def test_every_command_that_prints_results_takes_json() -> None:
    commands = dict(leaf_commands(typer.main.get_command(app)))
    assert len(commands) > 15 and ("models", "list") in commands  # the walk reached the groups
    missing = [
        " ".join(path)
        for path, command in commands.items()
        if "--json" not in options_of(command) and " ".join(path) not in SERVERS
    ]
    assert not missing, f"commands without --json: {missing}"
    for path, command in commands.items():
        for param in command.params:
            if "--json" in getattr(param, "opts", []):
                assert param.is_flag and param.default is False, path  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_cnn_checkpoint(tmp_path_factory.mktemp("model") / "best.pt", seed=0)


@pytest.fixture(scope="module")
def track(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("audio")
    write_synthetic_dataset(folder, 1, seed=5, config=SynthConfig(min_seconds=30, max_seconds=32))
    return folder / "track_000.wav"


def test_analyze_json_is_format_json(run_edm, model_file: Path, track: Path) -> None:
    flag = run_edm("analyze", str(track), "--model", str(model_file), "--json")
    form = run_edm("analyze", str(track), "--model", str(model_file), "--format", "json")
    assert flag.exit_code == 0 and form.exit_code == 0, flag.stderr + form.stderr
    assert json.loads(flag.stdout) == json.loads(form.stdout)
    both = run_edm("analyze", str(track), "--model", str(model_file), "--json", "-f", "yaml")
    assert both.exit_code == 1 and "--json and --format yaml" in both.stderr


def test_api_key_json(run_edm) -> None:
    made = run_edm("api-key", "studio-a", "--json")
    assert made.exit_code == 0, made.stderr
    document = json.loads(made.stdout)
    assert document["line"] == f"studio-a:{hash_key(document['key'])}"


@pytest.mark.slow
def test_train_json(run_edm, tmp_path: Path) -> None:
    data = tmp_path / "data"
    write_synthetic_dataset(data, 3, seed=3, config=SynthConfig(min_seconds=40, max_seconds=45))
    result = run_edm(
        "train", str(data), "--no-registry", "--epochs", "1", "--batch-size", "4",
        "--crop-seconds", "6", "--run-name", "cli", "--no-progress", "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["run_name"] == "cli" and document["epochs_run"] == 1
    assert document["tracks"] == {"train": 2, "validation": 1, "excluded": 0}
    assert Path(document["best_checkpoint"]).is_file()
