"""Every error edm raises on purpose. The CLI turns each into one red line and exit code 1;
the service into an HTTP 4xx/5xx with a JSON body.

Every message names what was wrong (the version, the stage, the file, the URI) so that the
one line is enough to act on, whether it is read by a CLI user or caught in Python.

    EdmError
    ├── ConfigError                   a bad setting: tracking URI, environment variable, option
    │   └── InvalidModelRefError      a model reference that names no checkpoint, version,
    │                                 stage or alias
    ├── StoreError                    the tracking store failed or cannot be reached
    │   └── PermissionDeniedError     the server refused this user
    ├── RegistryError                 a registry request that cannot be done
    │   ├── ModelVersionNotFoundError
    │   ├── InvalidStageError
    │   ├── InvalidTransitionError    a stage change that cannot be done (nothing changed)
    │   ├── PromotionRefusedError     the promotion gate refused a candidate for Production
    │   └── NoProductionModelError
    ├── DataError                     a dataset or annotation problem
    │   ├── AnnotationError           a bad annotation file: names the file and the field
    │   └── AudioError                audio that cannot be decoded: names the file
    ├── ModelError                    a model cannot be built or loaded
    │   ├── CheckpointError           a checkpoint file that is corrupt or incompatible
    │   │   └── CheckpointNotFoundError   no checkpoint file at the path given
    │   └── WeightsNotFoundError      pretrained weights (MERT) not on disk, with how to get them
    ├── TrainingError                 training cannot go on (no epoch ran, the loss diverged)
    ├── ClusterError                  Spark or its executors failed a batch job: says what to
    │                                 do, and where the whole JVM error was written
    └── ServiceError                  a request the inference service refuses (its HTTP status)
        └── WebhookRefusedError       a webhook delivery with a bad signature or timestamp
"""

from __future__ import annotations

from collections.abc import Iterable


class EdmError(Exception):
    """Base of every error edm raises on purpose."""


class ConfigError(EdmError):
    pass


class InvalidModelRefError(ConfigError):
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


class PromotionRefusedError(RegistryError):
    pass


class NoProductionModelError(RegistryError):
    pass


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


class CheckpointNotFoundError(CheckpointError):
    def __init__(self, path: object, what: str = "checkpoint file not found") -> None:
        self.path = path
        super().__init__(f"{what}: {path}")


class WeightsNotFoundError(ModelError):
    pass


class TrainingError(EdmError):
    pass


class ClusterError(EdmError):
    pass


class ServiceError(EdmError):
    """A request the inference service refuses; ``status`` is the HTTP status it answers."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


class WebhookRefusedError(ServiceError):
    def __init__(self, message: str) -> None:
        super().__init__(401, message)


def interrupt_behind(error: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM that a library turned into another error, if one did.

    torch's zip writer, for one, reports an interrupt that lands in its write callback as a
    RuntimeError whose ``__context__`` is the KeyboardInterrupt; re-raising that keeps an
    interrupted command an interrupt (exit 130, a run ended KILLED), not a failure.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, KeyboardInterrupt):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None
