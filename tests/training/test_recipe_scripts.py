"""The reference-model and leave-one-family-out scripts, end to end in their --quick mode
(tiny data, a tiny model, one epoch): they prove the plumbing, not the recipe's quality."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from edm.training.recipe import QUICK, REFERENCE

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=600
    )


def test_the_recipes_build_valid_training_configs(tmp_path: Path) -> None:
    for recipe in (REFERENCE, QUICK):
        config = recipe.training_config(tmp_path, "run")
        assert config.num_epochs == recipe.epochs and config.augment == recipe.augment
        synth = recipe.synth_config(("classic",), None)
        assert tuple(synth.sound_families) == ("classic",)


@pytest.mark.slow
def test_lofo_quick_holds_a_family_out_of_training_and_scores_it(tmp_path: Path) -> None:
    out = tmp_path / "lofo"
    done = _run(
        ROOT / "scripts" / "lofo.py", "--quick", "--folds", "sampled", "--out", out, cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((out / "lofo.json").read_text())
    assert list(summary["folds"]) == ["sound:sampled"]
    fold = summary["folds"]["sound:sampled"]
    for scores in (fold["held_out"], fold["in_distribution"], fold["other"]["fixtures"]):
        assert 0.0 <= scores["beat_f"] <= 1.0 and scores["n_tracks"] >= 1
    assert fold["other"]["fixtures"]["n_tracks"] == 12
    fold_dir = out / "folds" / "sound-sampled"
    families = {
        part: {
            yaml.safe_load(p.read_text())["metadata"]["sound_family"]
            for p in (fold_dir / part).glob("*.yaml")
        }
        for part in ("train", "test", "in-dist")
    }
    assert families["test"] == {"sampled"}
    assert "sampled" not in families["train"] | families["in-dist"]
    assert Path(fold["checkpoint"]).is_file()
    assert "sound:sampled" in done.stdout and "mean (held out)" in done.stdout


def test_lofo_seeds_reuse_a_finished_fold_and_average_over_trainings(tmp_path: Path) -> None:
    """Spread between trainings: the same fold under two training seeds, the first reused."""
    out = tmp_path / "lofo"
    lofo = ROOT / "scripts" / "lofo.py"
    common = ("--quick", "--folds", "sampled", "--no-fixtures", "--out", out)
    assert _run(lofo, *common, cwd=tmp_path).returncode == 0
    first = json.loads((out / "lofo.json").read_text())["folds"]["sound:sampled"]

    done = _run(lofo, *common, "--seeds", "0,1", "--reuse", cwd=tmp_path)

    assert done.returncode == 0, done.stdout + done.stderr
    assert "fold sound:sampled, seed 0: reused" in done.stdout
    summary = json.loads((out / "lofo.json").read_text())
    fold = summary["folds"]["sound:sampled"]
    assert [run["recipe"]["training_seed"] for run in fold["runs"]] == [0, 1]
    assert fold["runs"][0] == first
    second = json.loads((out / "folds" / "sound-sampled-seed1" / "result.json").read_text())
    assert fold["runs"][1] == second
    for figure, value in fold["held_out"].items():
        assert value == pytest.approx((first["held_out"][figure] + second["held_out"][figure]) / 2)
    assert sorted(summary["per_seed"]) == ["0", "1"]
    assert "mean (held out), seed 1" in done.stdout
    assert _run(lofo, *common, "--seeds", "0,0", cwd=tmp_path).returncode != 0


def test_lofo_names_an_unknown_fold(tmp_path: Path) -> None:
    done = _run(ROOT / "scripts" / "lofo.py", "--quick", "--folds", "jazz", cwd=tmp_path)
    assert done.returncode != 0 and "unknown fold 'jazz'" in done.stderr


@pytest.mark.slow
def test_reference_model_quick_writes_data_checkpoint_and_store(tmp_path: Path) -> None:
    ref = tmp_path / "ref"
    done = _run(ROOT / "scripts" / "reference_model.py", "--quick", "--dir", ref, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((ref / "reference.json").read_text())
    assert Path(summary["checkpoint"]) == ref / "outputs" / "reference-quick" / "best.pt"
    assert Path(summary["checkpoint"]).is_file()
    assert len(list((ref / "data" / "train").glob("*.yaml"))) == QUICK.train_tracks
    assert (ref / "mlruns" / "mlflow.db").is_file() and (ref / "mlartifacts").is_dir()
    evaluation = json.loads((ref / "evaluation.json").read_text())
    assert evaluation["logged"]["metrics"]["test_beat_f"] == summary["own_set"]["beat_f"]
    assert summary["version"] == 1
