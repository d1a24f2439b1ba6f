"""Training: TrainingConfig, the Trainer that logs every run to the registry, run names."""

from edm.training.config import TrainingConfig
from edm.training.naming import generate_run_name

__all__ = ["Trainer", "TrainingConfig", "TrainingResult", "generate_run_name"]


def __getattr__(name: str) -> object:
    # The trainer imports torch; keep `from edm.training import generate_run_name` light.
    if name in ("Trainer", "TrainingResult"):
        from edm.training import trainer

        return getattr(trainer, name)
    raise AttributeError(name)
