from __future__ import annotations

import json

import pytest

from edm.errors import ModelError
from edm.models import ModelConfig
from edm.vocabulary import LABELS


def test_defaults_follow_the_backbone() -> None:
    cnn = ModelConfig()
    mert = ModelConfig(backbone="mert-95m")

    assert (cnn.backbone, cnn.input_kind, cnn.sample_rate, cnn.n_mels) == ("cnn", "mel", 22050, 80)
    assert (mert.input_kind, mert.sample_rate) == ("audio", 24000)
    assert cnn.labels == LABELS
    assert cnn.n_labels == 7


def test_dict_round_trip_is_plain_and_equal() -> None:
    config = ModelConfig(labels=("intro", "drop", "outro"), dropout=0.3, freeze_backbone=True)

    values = config.to_dict()

    assert json.loads(json.dumps(values)) == values
    assert values["labels"] == ["intro", "drop", "outro"]
    assert ModelConfig.from_dict(values) == config
    assert ModelConfig.from_dict(json.loads(json.dumps(values))) == config


def test_unknown_field_is_named() -> None:
    with pytest.raises(ModelError, match="hidden_sise"):
        ModelConfig.from_dict({"backbone": "cnn", "hidden_sise": 3})


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"backbone": "resnet"}, "unknown backbone 'resnet'"),
        ({"backbone": "mert-95m", "input_kind": "mel"}, "input_kind 'mel'"),
        ({"backbone": "mert-330m", "sample_rate": 22050}, "sample_rate 22050"),
        ({"labels": ("drop", "drop")}, "distinct"),
        ({"dropout": 1.0}, "dropout"),
        ({"n_mels": 8}, "n_mels=8"),
        ({"conv_channels": (8,)}, "one entry per conv block"),
    ],
)
def test_invalid_values_are_refused(changes: dict[str, object], fragment: str) -> None:
    with pytest.raises(ModelError, match=fragment):
        ModelConfig(**changes)  # type: ignore[arg-type]


def test_replacing_the_backbone_brings_its_input() -> None:
    mert = ModelConfig().replace(backbone="mert-330m")

    assert (mert.input_kind, mert.sample_rate) == ("audio", 24000)
