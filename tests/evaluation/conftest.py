from __future__ import annotations

from collections.abc import Callable

import pytest
from structure_factories import activations_from, make_annotation

from edm.data.annotations import Annotation
from edm.evaluation.activations import FrameActivations


@pytest.fixture
def annotation() -> Annotation:
    return make_annotation()


@pytest.fixture
def perfect_activations() -> Callable[..., FrameActivations]:
    return activations_from
