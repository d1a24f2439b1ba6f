"""Checkpoint files: round trips, atomic writes, and every way a file can be unusable."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from tests.test_atomic import MODES, modes_under_umasks

from edm.errors import CheckpointError
from edm.models import (
    CHECKPOINT_FORMAT,
    FORMAT_VERSION,
    ModelConfig,
    MultiTaskModel,
    load_checkpoint,
    load_model,
    save_checkpoint,
)

FEATURES = {"sample_rate": 22050, "n_mels": 80, "hop_length": 441, "frame_rate": 50.0}


def _trained_cnn() -> MultiTaskModel:
    """A small cnn whose batch-norm statistics and weights differ from a fresh one."""
    torch.manual_seed(1)
    model = MultiTaskModel(hidden_size=24, temporal_dilations=(1, 2), labels=("intro", "drop"))
    model.train()
    model(torch.randn(2, 80, 30))  # moves running statistics away from their initial values
    return model.eval()


def _save(path: Path, model: MultiTaskModel | None = None, **kwargs: object) -> Path:
    return save_checkpoint(path, model or _trained_cnn(), feature_params=FEATURES, **kwargs)


def _tamper(path: Path, **changes: object) -> None:
    contents = torch.load(path, weights_only=True)
    for key, value in changes.items():
        if value is _DELETE:
            del contents[key]
        else:
            contents[key] = value
    torch.save(contents, path)


_DELETE = object()


def test_round_trip_gives_identical_outputs(tmp_path: Path) -> None:
    model = _trained_cnn()
    mel = torch.randn(1, 80, 90)
    path = _save(tmp_path / "best.pt", model, epoch=3, metrics={"val_loss": 0.25})

    loaded, contents = load_model(path)

    assert isinstance(loaded, MultiTaskModel) and not loaded.training
    assert loaded.config == model.config
    with torch.no_grad():
        expected, actual = model(mel, n_frames=60), loaded(mel, n_frames=60)
    for task in expected:
        assert torch.equal(expected[task], actual[task])
    assert contents["epoch"] == 3 and contents["metrics"] == {"val_loss": 0.25}


def test_contents_are_plain_and_complete(tmp_path: Path) -> None:
    model = _trained_cnn()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model.train()
    sum(v.mean() for v in model(torch.randn(2, 80, 20)).values()).backward()
    optimizer.step()
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=2)

    path = _save(
        tmp_path / "best.pt",
        model,
        optimizer_state=optimizer.state_dict(),
        scheduler_state=scheduler.state_dict(),
        epoch=7,
        metrics={"f1": np.float64(0.5), "beats": np.int64(3)},
        extra={"run_id": "abc", "data_dir": tmp_path, "tags": ["a", "b"]},
    )
    contents = load_checkpoint(path)

    assert contents["format"] == CHECKPOINT_FORMAT
    assert contents["format_version"] == FORMAT_VERSION
    assert contents["model_config"] == model.config.to_dict()
    assert contents["backbone_architecture"] is None
    assert contents["feature_params"] == FEATURES
    assert contents["labels"] == ["intro", "drop"]
    assert contents["state_dict"].keys() == model.state_dict().keys()
    assert type(contents["metrics"]["f1"]) is float and type(contents["metrics"]["beats"]) is int
    assert contents["extra"] == {"run_id": "abc", "data_dir": str(tmp_path), "tags": ["a", "b"]}
    assert {"edm_version", "torch_version", "created_at"} <= contents.keys()
    resumed = torch.optim.AdamW(model.parameters(), lr=1e-3)
    resumed.load_state_dict(contents["optimizer_state"])
    assert resumed.state_dict()["param_groups"] == optimizer.state_dict()["param_groups"]
    assert contents["scheduler_state"]["step_size"] == 2


def test_a_value_that_needs_pickled_code_is_refused_before_writing(tmp_path: Path) -> None:
    path = _save(tmp_path / "best.pt", epoch=1)
    before = path.read_bytes()

    with pytest.raises(CheckpointError, match=r"\['extra'\]\['when'\].*datetime"):
        import datetime

        _save(path, extra={"when": datetime.datetime.now()})

    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["best.pt"]


def test_a_save_that_fails_while_writing_keeps_the_previous_file(tmp_path: Path) -> None:
    """A real write failure (the file-size limit) in the middle of torch.save."""
    path = _save(tmp_path / "best.pt", epoch=1)
    before = path.read_bytes()
    script = textwrap.dedent(
        f"""
        import resource, signal, sys
        import torch
        from edm.errors import CheckpointError
        from edm.models import MultiTaskModel, save_checkpoint
        model = MultiTaskModel()  # far bigger than the limit below
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write, do not kill the process
        resource.setrlimit(resource.RLIMIT_FSIZE, ({len(before) // 2}, resource.RLIM_INFINITY))
        try:
            save_checkpoint({str(path)!r}, model, feature_params={{}})
        except CheckpointError as error:
            print(error)
            sys.exit(3)
        """
    )

    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)

    assert result.returncode == 3, result.stderr
    assert str(path) in result.stdout
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["best.pt"]
    assert load_checkpoint(path)["epoch"] == 1


def test_save_into_a_missing_folder_names_it(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="missing"):
        _save(tmp_path / "nowhere" / "best.pt")


def test_missing_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "absent.pt"

    with pytest.raises(CheckpointError, match=f"not found: {re.escape(str(path))}"):
        load_checkpoint(path)
    with pytest.raises(CheckpointError, match=r"absent\.pt"):
        load_model(path)


@pytest.mark.parametrize("keep", [0.0, 0.5, 0.9])
def test_truncated_file_is_named(tmp_path: Path, keep: float) -> None:
    path = _save(tmp_path / "best.pt")
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])

    with pytest.raises(CheckpointError, match=f"{re.escape(str(path))}: corrupt or truncated"):
        load_checkpoint(path)


def test_garbage_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "best.pt"
    path.write_bytes(b"not a checkpoint at all" * 100)

    with pytest.raises(CheckpointError, match=re.escape(str(path))):
        load_checkpoint(path)


class _Exploit:
    """Pickles as a call that writes a marker file: what a malicious checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (Path.write_text, (str(self.marker), "code ran"))


def test_pickled_objects_are_refused_and_never_run(tmp_path: Path) -> None:
    path = _save(tmp_path / "best.pt")
    marker = tmp_path / "pwned"
    contents = torch.load(path, weights_only=True)
    contents["extra"] = {"payload": _Exploit(marker)}
    torch.save(contents, path)

    with pytest.raises(CheckpointError, match=f"{re.escape(str(path))}: refused"):
        load_checkpoint(path)

    assert not marker.exists()


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"format_version": FORMAT_VERSION + 1}, "newer"),
        ({"format_version": "one"}, "invalid checkpoint format_version"),
        ({"format": "something-else"}, "not an edm checkpoint"),
        ({"state_dict": _DELETE}, "missing state_dict"),
        ({"model_config": _DELETE, "labels": _DELETE}, "missing model_config, labels"),
    ],
)
def test_incompatible_checkpoint_is_named(
    tmp_path: Path, changes: dict[str, object], fragment: str
) -> None:
    path = _save(tmp_path / "best.pt")
    _tamper(path, **changes)

    with pytest.raises(CheckpointError, match=fragment) as caught:
        load_checkpoint(path)

    assert str(path) in str(caught.value)


def test_a_plain_state_dict_is_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "weights.pt"
    torch.save(_trained_cnn().state_dict(), path)

    with pytest.raises(CheckpointError, match="not an edm checkpoint"):
        load_checkpoint(path)


def test_weights_that_do_not_fit_the_config_are_named(tmp_path: Path) -> None:
    path = _save(tmp_path / "best.pt")
    _tamper(path, model_config=ModelConfig(hidden_size=32).to_dict())

    with pytest.raises(CheckpointError, match=f"{re.escape(str(path))}: weights do not fit"):
        load_model(path)


def test_a_config_edm_cannot_build_is_named(tmp_path: Path) -> None:
    path = _save(tmp_path / "best.pt")
    _tamper(path, model_config={"backbone": "transformer-xl"})

    with pytest.raises(
        CheckpointError, match=f"{re.escape(str(path))}: cannot rebuild.*transformer-xl"
    ):
        load_model(path)


def test_a_config_that_does_not_describe_the_model_is_refused(tmp_path: Path) -> None:
    model = _trained_cnn()

    with pytest.raises(CheckpointError, match="does not describe the model"):
        save_checkpoint(tmp_path / "best.pt", model, ModelConfig(), feature_params=FEATURES)

    path = save_checkpoint(
        tmp_path / "best.pt", model, model.config.to_dict(), feature_params=FEATURES
    )
    assert load_checkpoint(path)["model_config"] == model.config.to_dict()


def test_a_checkpoint_gets_the_mode_the_umask_asks_for(tmp_path: Path) -> None:
    """So that a teammate can read a registered checkpoint in a shared artifact store."""
    script = textwrap.dedent(
        """
        from pathlib import Path
        from edm.models import MultiTaskModel, save_checkpoint
        model = MultiTaskModel(hidden_size=8, temporal_dilations=(1,), labels=("intro",))
        save_checkpoint(Path(FOLDER) / "best.pt", model, feature_params={})
        """
    )
    for mask, modes in modes_under_umasks(script, tmp_path).items():
        assert modes == {"best.pt": MODES[mask]}, f"umask {mask:03o}: {oct(modes['best.pt'])}"


class _InterruptedStream:
    """A checkpoint's file whose ``write`` is where Ctrl-C lands: what a signal handler that
    raises KeyboardInterrupt does when the signal arrives while torch's writer calls back."""

    def __init__(self, handle: object, interrupt_at: int) -> None:
        self._handle = handle
        self._writes_left = interrupt_at

    def write(self, data: bytes) -> int:
        self._writes_left -= 1
        if self._writes_left == 0:
            raise KeyboardInterrupt
        return self._handle.write(data)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._handle, name)


def test_an_interrupt_in_the_middle_of_a_save_stays_an_interrupt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """torch turns it into a RuntimeError from its zip writer; the save re-raises the interrupt
    (the CLI then ends the run KILLED with exit 130, not FAILED with exit 1)."""
    import contextlib

    import edm.models.checkpoint as checkpoint

    path = _save(tmp_path / "last.pt", epoch=1)
    before = path.read_bytes()
    real_atomic_write = checkpoint.atomic_write

    @contextlib.contextmanager
    def interrupted_write(target: Path):  # type: ignore[no-untyped-def]
        with real_atomic_write(target) as handle:
            yield _InterruptedStream(handle, interrupt_at=3)

    monkeypatch.setattr(checkpoint, "atomic_write", interrupted_write)
    with pytest.raises(KeyboardInterrupt):
        _save(path, epoch=2)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["last.pt"]
