"""Model registry on MLflow 3: versions, stages (as aliases), audit trail, model references.

``ModelRegistry`` imports MLflow, so it is loaded on first use: parsing a model reference
(``edm.registry.refs``), or a command's ``--help``, stays light.
"""

from edm.registry.audit import AuditEntry, production_timeline
from edm.registry.gate import PromotionGate, PromotionRefusedError
from edm.registry.records import StageHolders, VersionComparison, VersionRecord
from edm.registry.stages import Stage

__all__ = [
    "AuditEntry",
    "ModelRegistry",
    "PromotionGate",
    "PromotionRefusedError",
    "Stage",
    "StageHolders",
    "VersionComparison",
    "VersionRecord",
    "production_timeline",
]


def __getattr__(name: str) -> object:
    if name == "ModelRegistry":
        from edm.registry.model_registry import ModelRegistry

        return ModelRegistry
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
