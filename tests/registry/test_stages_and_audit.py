from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from edm.errors import InvalidStageError
from edm.registry.audit import GENESIS, AuditEntry, entries_from_tags, production_timeline
from edm.registry.stages import Stage, stage_of


@pytest.mark.parametrize(
    ("text", "stage"),
    [
        ("production", Stage.PRODUCTION),
        ("STAGING", Stage.STAGING),
        ("Archived", Stage.ARCHIVED),
        ("none", Stage.NONE),
    ],
)
def test_stage_words_parse_in_any_case(text: str, stage: Stage) -> None:
    assert Stage.parse(text) is stage


def test_an_invalid_stage_lists_the_valid_ones() -> None:
    with pytest.raises(InvalidStageError) as caught:
        Stage.parse("Prod")
    assert "'Prod'" in str(caught.value)
    assert "None, Staging, Production, Archived" in str(caught.value)


def test_stage_is_derived_from_aliases_then_archived_tag() -> None:
    aliases = {"production": "3", "staging": "4"}
    assert stage_of(3, aliases, {}) is Stage.PRODUCTION
    assert stage_of(4, aliases, {"archived": "true"}) is Stage.STAGING
    assert stage_of(2, aliases, {"archived": "true"}) is Stage.ARCHIVED
    assert stage_of(1, aliases, {}) is Stage.NONE


def _entry(
    version: int, to: Stage, minutes: int, action: str = "promote", frm: Stage = Stage.NONE
) -> AuditEntry:
    return AuditEntry(
        version=version,
        from_stage=frm,
        to_stage=to,
        user="u",
        timestamp=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes),
        action=action,
        key=f"edm.audit.{minutes:013d}.v{version}",
    )


def test_entries_round_trip_through_tags_newest_first() -> None:
    first = _entry(1, Stage.PRODUCTION, 1).chained(1, GENESIS)
    second = _entry(2, Stage.STAGING, 2).chained(2, first.hash or "")
    tags = {
        first.key: first.to_tag_value(),
        second.key: second.to_tag_value(),
        "other": "x",
        "edm.audit.broken": "{not json",
    }
    assert entries_from_tags(tags) == [second, first]


def test_production_timeline_replays_promotions_and_rollbacks() -> None:
    entries = [
        _entry(1, Stage.PRODUCTION, 1),
        _entry(3, Stage.PRODUCTION, 2),
        _entry(5, Stage.PRODUCTION, 3),
        _entry(3, Stage.PRODUCTION, 4, action="rollback"),
    ]
    assert production_timeline(list(reversed(entries))) == [1, 3]
    demoted = [*entries, _entry(3, Stage.ARCHIVED, 5, frm=Stage.PRODUCTION)]
    assert production_timeline(list(reversed(demoted))) == [1]


def test_an_entry_reads_as_one_line_and_still_parses_the_old_json_form() -> None:
    entry = AuditEntry(
        version=2,
        from_stage=Stage.STAGING,
        to_stage=Stage.PRODUCTION,
        user="alice",
        timestamp=datetime(2026, 1, 1, 12, 30, 5, 123000, tzinfo=UTC),
        reason="better F1 · on the held-out set",
        displaced_version=1,
        forced=True,
        key="edm.audit.0000000000001.abc",
    ).chained(3, "4f1c0a9e2b7d3e11")
    text = entry.to_tag_value()
    assert text.startswith(
        "v2 Staging → Production · promote · by alice · 2026-01-01T12:30:05.123+00:00 · #3 · "
        "displaced v1 · forced · prev 4f1c0a9e2b7d3e11 · hash "
    )
    assert text.endswith(" · reason: better F1 · on the held-out set")
    assert AuditEntry.from_tag(entry.key, text) == entry
    old = (
        '{"action":"promote","displaced_version":null,"forced":false,"from_stage":"None",'
        '"reason":"first","timestamp":"2025-06-01T10:00:00.000001+00:00","to_stage":"Production",'
        '"user":"bob","version":1}'
    )
    legacy = AuditEntry.from_tag("edm.audit.x", old)
    assert (legacy.version, legacy.user, legacy.reason, legacy.legacy) == (1, "bob", "first", True)


def test_a_rollback_to_an_older_version_drops_the_ones_above_it() -> None:
    entries = [
        _entry(1, Stage.PRODUCTION, 1),
        _entry(2, Stage.PRODUCTION, 2),
        _entry(3, Stage.PRODUCTION, 3),
        _entry(1, Stage.PRODUCTION, 4, action="rollback"),
    ]
    assert production_timeline(list(reversed(entries))) == [1]
