"""User-facing errors. The CLI turns each into one red line and exit code 1.

Every message names what was wrong (the version, the stage, the file, the URI) so that the
one line is enough to act on.

    EdmError
    ├── ConfigError                 bad setting: tracking URI, environment variable, option value
    ├── StoreError                  the tracking store failed or cannot be reached
    │   └── PermissionDeniedError   the server refused this user
    └── RegistryError
        ├── ModelVersionNotFoundError
        ├── InvalidStageError
        ├── InvalidTransitionError  a promotion that cannot be done (nothing changed)
        ├── NoProductionModelError
        └── CheckpointNotFoundError
    ├── DataError                   a dataset or annotation problem
    │   ├── AnnotationError         a bad annotation file: names the file and the field
    │   └── AudioError              audio that cannot be decoded: names the file
    ├── ModelError                  a model cannot be built or loaded
    │   ├── CheckpointError         a checkpoint file that is missing, corrupt or incompatible
    │   └── WeightsNotFoundError    pretrained weights (MERT) not on disk, with how to get them
    └── TrainingError
"""

from __future__ import annotations

from collections.abc import Iterable


class EdmError(Exception):
    """Base of every error edm raises on purpose."""


class ConfigError(EdmError):
    pass


class StoreError(EdmError):
    pass


class PermissionDeniedError(StoreError):
    pass


class RegistryError(EdmError):
    pass


class ModelVersionNotFoundError(RegistryError):
    def __init__(self, model_name: str, version: int | str) -> None:
        self.model_name = model_name
        self.version = version
        super().__init__(f"model version {version} of '{model_name}' does not exist")


class InvalidStageError(RegistryError):
    def __init__(self, stage: str, valid: Iterable[str]) -> None:
        self.stage = stage
        self.valid = tuple(valid)
        super().__init__(f"invalid stage '{stage}': valid stages are {', '.join(self.valid)}")


class InvalidTransitionError(RegistryError):
    pass


class NoProductionModelError(RegistryError):
    pass


class CheckpointNotFoundError(RegistryError):
    def __init__(self, path: object) -> None:
        self.path = path
        super().__init__(f"checkpoint file not found: {path}")


class DataError(EdmError):
    pass


class AnnotationError(DataError):
    def __init__(self, path: object, field: str, problem: str) -> None:
        self.path = path
        self.field = field
        self.problem = problem
        super().__init__(f"{path}: field '{field}': {problem}")


class AudioError(DataError):
    def __init__(self, path: object, problem: str) -> None:
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class ModelError(EdmError):
    pass


class CheckpointError(ModelError):
    pass


class WeightsNotFoundError(ModelError):
    pass


class TrainingError(EdmError):
    pass
