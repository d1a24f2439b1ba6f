"""The spec's stage words, implemented with MLflow aliases and a version tag.

MLflow's own stages are deprecated (since 2.9). A version is in Production when the
``production`` alias points at it, in Staging when ``staging`` does, Archived when it carries
the ``archived`` tag, and None otherwise. ``stage_of`` is the one place that decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from edm.errors import InvalidStageError

ARCHIVED_TAG = "archived"


class Stage(StrEnum):
    NONE = "None"
    STAGING = "Staging"
    PRODUCTION = "Production"
    ARCHIVED = "Archived"

    @classmethod
    def parse(cls, text: str) -> Stage:
        """Accept any case ("production", "STAGING"); raise naming the valid stages."""
        wanted = str(text).strip().lower()
        for stage in cls:
            if stage.value.lower() == wanted:
                return stage
        raise InvalidStageError(str(text), [s.value for s in cls])

    @property
    def alias(self) -> str | None:
        return STAGE_ALIASES.get(self)


STAGE_ALIASES: dict[Stage, str] = {Stage.STAGING: "staging", Stage.PRODUCTION: "production"}


def aliased_version(aliases: Mapping[str, str | int], stage: Stage) -> int | None:
    """The version the stage's alias points at, if any."""
    alias = stage.alias
    if alias is None or alias not in aliases:
        return None
    return int(aliases[alias])


def stage_of(
    version: int, aliases: Mapping[str, str | int], version_tags: Mapping[str, str]
) -> Stage:
    if aliased_version(aliases, Stage.PRODUCTION) == int(version):
        return Stage.PRODUCTION
    if aliased_version(aliases, Stage.STAGING) == int(version):
        return Stage.STAGING
    if str(version_tags.get(ARCHIVED_TAG, "")).lower() == "true":
        return Stage.ARCHIVED
    return Stage.NONE
