"""Section labels of other vocabularies mapped onto ours, per dataset.

Annotators and other tools name sections their own way (``bridge``, ``chorus``, ``build``).
A label of :data:`~edm.vocabulary.LABELS` is read as it is; another one is looked up in the
dataset's table: the built-in :data:`DEFAULT_LABEL_MAP`, updated by a ``label_map.yaml`` in
the annotation's folder (``{bridge: breakdown, verse: null}``; ``null`` leaves a label
unmapped). A label found nowhere is read as ``unknown``: its frames get the ignore index
(never ``unlabeled``, the class of the silence before the music), so a model is not trained on
them and the label accuracy skips them. Either way the label as written is kept in the
entry's ``source_label`` and written back; ``edm data check`` shows the table it applied and
counts the unmapped labels (:func:`mapping_report`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from edm.data.yaml_io import load_yaml
from edm.errors import AnnotationError
from edm.vocabulary import LABELS

UNKNOWN_LABEL = "unknown"
"""A section whose label is outside the vocabulary and every mapping: no label to learn."""
LABEL_MAP_FILE = "label_map.yaml"

DEFAULT_LABEL_MAP: dict[str, str] = {
    # the spec project's annotator and DJ software
    "bridge": "breakdown",
    "break": "breakdown",
    "breakdown_buildup": "breakbuild",
    "break_build": "breakbuild",
    "build": "buildup",
    "build-up": "buildup",
    "build_up": "buildup",
    "riser": "buildup",
    "rise": "buildup",
    "chorus": "drop",
    "main": "drop",
    "climax": "drop",
    "start": "intro",
    "end": "outro",
    "ending": "outro",
    "fade": "outro",
    "silence": "unlabeled",
}


def normalise(label: str) -> str:
    return label.strip().lower()


def map_label(label: str, table: Mapping[str, str | None]) -> str:
    """Our label for ``label``: itself when ours, else the table's, else :data:`UNKNOWN_LABEL`."""
    key = normalise(label)
    if key in LABELS or key == UNKNOWN_LABEL:
        return key
    return table.get(key) or UNKNOWN_LABEL


def table_for(annotation_path: Path | str | None) -> dict[str, str | None]:
    """The mapping table of the dataset an annotation file belongs to (see the module doc)."""
    if annotation_path is None:
        return dict(DEFAULT_LABEL_MAP)
    folder = Path(annotation_path).parent
    override = folder / LABEL_MAP_FILE
    try:
        stamp = override.stat().st_mtime_ns
    except OSError:
        return dict(DEFAULT_LABEL_MAP)
    return dict(_table_of(str(override), stamp))


@lru_cache(maxsize=64)
def _table_of(path: str, _stamp: int) -> tuple[tuple[str, str | None], ...]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise AnnotationError(path, "document", f"cannot be read: {exc}") from None
    data = load_yaml(text, path)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise AnnotationError(path, "document", "expected a mapping {their_label: our_label}")
    table: dict[str, str | None] = dict(DEFAULT_LABEL_MAP)
    for key, value in data.items():
        if not isinstance(key, str) or not (value is None or isinstance(value, str)):
            raise AnnotationError(path, str(key), "expected their_label: our_label (or null)")
        ours = None if value is None else normalise(value)
        if ours is not None and ours not in LABELS:
            known = ", ".join(LABELS)
            raise AnnotationError(path, key, f"'{value}' is not one of our labels ({known})")
        table[normalise(key)] = ours
    return tuple(table.items())


def mapping_report(entries: Iterable[Any]) -> dict[str, Any]:
    """What a dataset's labels were read as: ``{"mapped": {source: ours}, "counts": {source:
    n}, "unmapped": {source: n}, "unmapped_total": n}`` over structure entries."""
    mapped: dict[str, str] = {}
    counts: Counter[str] = Counter()
    unmapped: Counter[str] = Counter()
    for entry in entries:
        source = getattr(entry, "source_label", None)
        if source is None:
            continue
        counts[source] += 1
        if entry.label == UNKNOWN_LABEL:
            unmapped[source] += 1
        else:
            mapped[source] = entry.label
    return {
        "mapped": dict(sorted(mapped.items())),
        "counts": dict(sorted(counts.items())),
        "unmapped": dict(sorted(unmapped.items())),
        "unmapped_total": sum(unmapped.values()),
    }
