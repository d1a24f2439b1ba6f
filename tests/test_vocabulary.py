from __future__ import annotations

import subprocess
import sys

from edm.vocabulary import ENERGY_BANDS, LABELS, UNLABELED


def test_labels_are_the_ordered_vocabulary() -> None:
    assert LABELS == ("intro", "buildup", "drop", "breakdown", "breakbuild", "outro", "unlabeled")
    assert LABELS[UNLABELED] == "unlabeled"
    assert ENERGY_BANDS == ("low", "mid", "high")


def test_the_vocabulary_imports_nothing_heavy() -> None:
    heavy = ("numpy", "torch", "pydantic", "yaml")
    code = f"import sys, edm.vocabulary; print([m for m in {heavy!r} if m in sys.modules])"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"
