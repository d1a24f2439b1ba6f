"""Training: TrainingConfig, the Trainer that logs every run to the registry, run names."""

from edm.training.config import TrainingConfig
from edm.training.naming import generate_run_name

__all__ = ["Trainer", "TrainingConfig", "TrainingResult", "generate_run_name"]


def __getattr__(name: str) -> object:
    # The trainer imports torch; keep `from edm.training import generate_run_name` light.
    if name == "Trainer":
        from edm.training.trainer import Trainer

        return Trainer
    if name == "TrainingResult":
        from edm.training.events import TrainingResult

        return TrainingResult
    raise AttributeError(name)
