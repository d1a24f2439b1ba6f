"""The serving tests' fixtures (a real SQLite store, tiny registered checkpoints, the real
service on loopback), for the real-Prometheus test."""

from tests.serving.conftest import clip, register, registry, start_service

__all__ = ["clip", "register", "registry", "start_service"]
