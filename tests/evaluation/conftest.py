from __future__ import annotations

import pytest
from tests.structure_factories import make_annotation

from edm.data.annotations import Annotation


@pytest.fixture
def annotation() -> Annotation:
    return make_annotation()
