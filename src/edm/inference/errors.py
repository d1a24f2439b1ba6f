"""Errors of the inference layer, under the tree of :mod:`edm.errors`.

ConfigError
└── InvalidModelRefError    a --model REF that names no checkpoint, version, stage or alias
"""

from __future__ import annotations

from edm.errors import ConfigError


class InvalidModelRefError(ConfigError):
    pass
