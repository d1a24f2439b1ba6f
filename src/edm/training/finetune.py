"""Fine-tuning from a version: ``edm train DATA --init-from REF``.

REF is any model reference edm accepts (a version number, a stage or alias, a ``models:/`` URI,
a local ``.pt``). The new model is the parent's: its model config (backbone, widths, labels) and
its weights; the training config (epochs, learning rate...) is the caller's. A parent whose
backbone or label vocabulary differs from what the caller trains is refused in one line, as is
a version that does not exist. The new run records the parent: ``edm.parent_version`` (for a
registry version), ``edm.parent_ref``, ``edm.parent_run_id`` and ``edm.parent_checkpoint_sha256``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edm.errors import ConfigError
from edm.vocabulary import LABELS

if TYPE_CHECKING:
    from edm.models import ModelConfig, MultiTaskModel
    from edm.registry import ModelRegistry

PARENT_VERSION_TAG = "edm.parent_version"
PARENT_REF_TAG = "edm.parent_ref"
PARENT_RUN_TAG = "edm.parent_run_id"
PARENT_HASH_TAG = "edm.parent_checkpoint_sha256"


@dataclass(frozen=True)
class Parent:
    ref: str
    path: Path
    version: int | None
    run_id: str | None
    model_config: ModelConfig
    checkpoint: dict[str, Any]

    @property
    def backbone(self) -> str:
        return self.model_config.backbone

    def tags(self) -> dict[str, str]:
        from edm.file_hash import file_sha256

        tags = {PARENT_REF_TAG: self.ref, PARENT_HASH_TAG: file_sha256(self.path)}
        if self.version is not None:
            tags[PARENT_VERSION_TAG] = str(self.version)
        if self.run_id:
            tags[PARENT_RUN_TAG] = self.run_id
        return tags

    def build_model(self) -> MultiTaskModel:
        """A fresh model with the parent's architecture and weights, in training mode."""
        from edm.errors import CheckpointError
        from edm.models import build_model

        model = build_model(
            self.model_config, backbone_architecture=self.checkpoint["backbone_architecture"]
        )
        try:
            model.load_state_dict(self.checkpoint["state_dict"], strict=True)
        except RuntimeError as error:
            first = str(error).strip().splitlines()[0]
            raise CheckpointError(f"{self.path}: weights do not fit its config: {first}") from None
        model.train()
        return model


def resolve_parent(
    ref: str,
    registry: Callable[[], ModelRegistry | None],
    download_dir: Path | str | None = None,
) -> Parent:
    """Find and read the parent REF names; a missing version or file raises one line."""
    from edm.models import ModelConfig, load_checkpoint
    from edm.registry.refs import parse_model_ref, resolve_model

    parsed = parse_model_ref(ref)

    def need_registry() -> ModelRegistry:
        store = registry()
        if store is None:
            raise ConfigError(f"--init-from {ref}: a registry version needs the registry")
        return store

    resolved = resolve_model(parsed, need_registry, download_dir)
    checkpoint = load_checkpoint(resolved.path)
    return Parent(
        ref=ref,
        path=resolved.path,
        version=resolved.version,
        run_id=resolved.run_id,
        model_config=ModelConfig.from_dict(checkpoint["model_config"]),
        checkpoint=checkpoint,
    )


def check_compatible(parent: Parent, backbone: str, labels: tuple[str, ...] = LABELS) -> None:
    """Refuse, in one line, a parent that cannot be fine-tuned into what is trained now."""
    if parent.backbone != backbone:
        raise ConfigError(
            f"--init-from {parent.ref}: its backbone is {parent.backbone}, not {backbone}: "
            f"fine-tuning keeps the backbone (drop --backbone or pass --backbone "
            f"{parent.backbone})"
        )
    theirs = tuple(parent.model_config.labels)
    if theirs != tuple(labels):
        raise ConfigError(
            f"--init-from {parent.ref}: its label vocabulary ({', '.join(theirs)}) differs "
            f"from this edm's ({', '.join(labels)}): train from scratch instead"
        )
