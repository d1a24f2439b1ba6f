"""Model registry on MLflow 3: versions, stages (as aliases), audit trail."""

from edm.registry.audit import AuditEntry
from edm.registry.gate import PromotionGate, PromotionRefusedError
from edm.registry.mlflow_registry import ModelRegistry
from edm.registry.stages import Stage

__all__ = ["AuditEntry", "ModelRegistry", "PromotionGate", "PromotionRefusedError", "Stage"]
