"""Model-test fixtures: an offline, empty Hugging Face cache and tiny MERT-family encoders.

The tiny encoders are real transformers models with random weights, saved the way the hub's
are: a plain HuBERT directory, and a MERT-like one whose model class is remote code
(``trust_remote_code``), as m-a-p/MERT-v1-* ship.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# Conv strides multiply to 320 like MERT's, so 24 kHz audio gives MERT's 75 frames per second.
TINY_ENCODER = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
    "conv_dim": [16, 16, 16],
    "conv_kernel": [10, 8, 4],
    "conv_stride": [5, 8, 8],
    "num_conv_pos_embeddings": 16,
    "num_conv_pos_embedding_groups": 2,
    "feat_proj_layer_norm": True,
}

MERT_CONFIGURATION_CODE = """
from transformers import HubertConfig


class MERTConfig(HubertConfig):
    model_type = "mert_model"

    def __init__(self, feature_extractor_cqt=False, deepnorm=False, attention_relax=-1.0, **kw):
        super().__init__(**kw)
        self.feature_extractor_cqt = feature_extractor_cqt
        self.deepnorm = deepnorm
        self.attention_relax = attention_relax
"""

MERT_MODELING_CODE = """
from transformers import HubertModel

from .configuration_mert import MERTConfig
{extra_import}


class MERTModel(HubertModel):
    config_class = MERTConfig
"""


@pytest.fixture(autouse=True)
def _offline_empty_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No model test reads the developer's Hugging Face cache or reaches the network."""
    from huggingface_hub import constants

    home = tmp_path / "hf-home"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    # huggingface_hub reads these at import; transformers looks them up on every call.
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    monkeypatch.delenv("EDM_MERT_PATH", raising=False)


@pytest.fixture(scope="session")
def _remote_code_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Remote code is copied into a modules cache: keep it out of the developer's HF_HOME."""
    import transformers.dynamic_module_utils as dynamic_modules

    modules = tmp_path_factory.mktemp("hf-modules")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(dynamic_modules, "HF_MODULES_CACHE", str(modules))
        patch.syspath_prepend(str(modules))  # undone at the end, unlike transformers' append
        yield modules


@pytest.fixture(scope="session")
def tiny_hubert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialised HuBERT saved with save_pretrained."""
    from transformers import HubertConfig, HubertModel

    directory = tmp_path_factory.mktemp("tiny-hubert")
    HubertModel(HubertConfig(**TINY_ENCODER)).save_pretrained(directory)
    return directory


def _save_remote_mert(directory: Path, **config: object) -> Path:
    """A MERT-like model directory whose classes are remote code, built through transformers."""
    from transformers import AutoConfig, AutoModel

    (directory / "configuration_mert.py").write_text(MERT_CONFIGURATION_CODE)
    (directory / "modeling_mert.py").write_text(MERT_MODELING_CODE.format(extra_import=""))
    values = {
        **TINY_ENCODER,
        **config,
        "model_type": "mert_model",
        "auto_map": {
            "AutoConfig": "configuration_mert.MERTConfig",
            "AutoModel": "modeling_mert.MERTModel",
        },
    }
    (directory / "config.json").write_text(json.dumps(values))
    encoder_config = AutoConfig.from_pretrained(directory, trust_remote_code=True)
    AutoModel.from_config(encoder_config, trust_remote_code=True).save_pretrained(directory)
    return directory


@pytest.fixture(scope="session")
def remote_mert_dir(tmp_path_factory: pytest.TempPathFactory, _remote_code_cache: Path) -> Path:
    return _save_remote_mert(tmp_path_factory.mktemp("tiny_mert"))


@pytest.fixture(scope="session")
def remote_mert_broken_code_dir(
    tmp_path_factory: pytest.TempPathFactory, remote_mert_dir: Path
) -> Path:
    """MERT-like weights whose code needs a package that is not installed here.

    A copy of ``remote_mert_dir`` under a new name: transformers registers the classes it has
    loaded once, and this code must never have loaded.
    """
    directory = tmp_path_factory.mktemp("tiny_mert_broken")
    for name in ("config.json", "configuration_mert.py", "model.safetensors"):
        shutil.copyfile(remote_mert_dir / name, directory / name)
    code = MERT_MODELING_CODE.format(extra_import="import edm_missing_package_for_tests")
    (directory / "modeling_mert.py").write_text(code)
    return directory


@pytest.fixture(scope="session")
def remote_mert_deepnorm_dir(
    tmp_path_factory: pytest.TempPathFactory, _remote_code_cache: Path
) -> Path:
    """A MERT config with an extra (DeepNorm) that only MERT's own code implements."""
    return _save_remote_mert(tmp_path_factory.mktemp("tiny_mert_deepnorm"), deepnorm=True)


@pytest.fixture
def remote_code_cache(_remote_code_cache: Path) -> Path:
    return _remote_code_cache
