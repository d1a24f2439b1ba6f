"""edm: train, track, version, promote and serve EDM track-structure models."""

from typing import Any


def __getattr__(name: str) -> Any:
    # The version comes from git through the installed distribution (edm.code_version), read
    # only when asked: importing edm stays free.
    if name == "__version__":
        from edm.code_version import installed_version

        return installed_version()
    raise AttributeError(f"module 'edm' has no attribute {name!r}")
