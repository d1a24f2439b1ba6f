"""The promotion gate: Production only for a version measured at least as good, on the same
held-out data, on every metric that matters.

Evaluations are kept per dataset digest (``edm.registry.evaluations``). Before a promotion to
Production the gate:

1. finds an evaluation of the candidate and of Production on the same data (the same digest):
   the held-out set's when one is given (``holdout``), else the newest they share. None in
   common: refused, with the commands that evaluate both on the held-out set
   (``edm models promote --holdout DIR`` runs them itself);
2. refuses that data when it shares tracks (by audio content hash) with the candidate's
   training data, naming them: a score on training data says nothing;
3. checks every rule (``edm.registry.gate_rules``): per metric a minimum change against
   Production and a floor; the defaults cover beats, downbeats, tempo, boundaries, labels.

The refusal gives the table (metric, Production, candidate, rule, verdict); a promotion that
passes, or is forced past it (``force`` with a reason), records the table in its audit entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from edm.errors import PromotionRefusedError
from edm.registry.evaluations import DataRecord, EvaluationRecord
from edm.registry.gate_rules import DEFAULT_RULES, Rule

__all__ = ["GateDecision", "GateRow", "PromotionGate", "PromotionRefusedError", "Rule"]

_OVERRIDE = "override with force=True and a reason (CLI: --force --reason TEXT)"
Evaluations = Mapping[str, EvaluationRecord]


@dataclass(frozen=True)
class GateRow:
    metric: str
    production: float | None
    candidate: float | None
    rule: str
    verdict: str  # "pass", "FAIL", "missing"

    def cells(self) -> tuple[str, str, str, str, str]:
        return (self.metric, _number(self.production), _number(self.candidate), self.rule,
                self.verdict)  # fmt: skip


@dataclass(frozen=True)
class GateDecision:
    candidate: int
    production: int | None
    data: DataRecord
    rows: list[GateRow] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(row.verdict == "pass" for row in self.rows)

    @property
    def failed(self) -> list[GateRow]:
        return [row for row in self.rows if row.verdict != "pass"]

    def table(self) -> str:
        """The rows as a plain text table, header first."""
        header = ("metric", "Production" if self.production is None else f"v{self.production}",
                  f"v{self.candidate}", "rule", "verdict")  # fmt: skip
        lines = [header, *(row.cells() for row in self.rows)]
        widths = [max(len(line[i]) for line in lines) for i in range(5)]
        return "\n".join(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
            for line in lines
        )

    def summary(self) -> str:
        """One line for the audit entry: the data and every row."""
        rows = "; ".join(
            f"{r.metric} {_number(r.production)}→{_number(r.candidate)} {r.rule} {r.verdict}"
            for r in self.rows
        )
        return f"on {self.data.name} ({self.data.digest[:8]}): {rows}"


@dataclass(frozen=True)
class PromotionGate:
    """``rules``: what each metric must meet; ``holdout``: the digest of the held-out set to
    compare on (None: the newest data both versions were evaluated on); ``holdout_dir``: that
    set's folder, named in the commands a refusal suggests."""

    rules: tuple[Rule, ...] = DEFAULT_RULES
    holdout: str | None = None
    holdout_dir: str | None = None

    def decide(
        self,
        version: int,
        evaluations: Evaluations,
        training: DataRecord | None,
        production: int | None,
        production_evaluations: Evaluations,
    ) -> GateDecision:
        """The table for ``version`` against ``production``; PromotionRefusedError when there
        is nothing sound to compare."""
        if production == version:
            production, production_evaluations = None, {}
        if not evaluations:
            raise PromotionRefusedError(
                f"version {version} was never evaluated: evaluate it on held-out data "
                f"({self._commands([version])}), or {_OVERRIDE}"
            )
        shared = [
            digest
            for digest in evaluations
            if production is None or digest in production_evaluations
        ]
        if self.holdout is not None:
            shared = [digest for digest in shared if digest == self.holdout]
        clean = [d for d in shared if not _overlap(evaluations[d].data, training)]
        if not clean:
            raise PromotionRefusedError(
                self._no_common_data(
                    version, evaluations, training, production, production_evaluations, shared
                )
            )
        digest = max(clean, key=lambda d: evaluations[d].start_time)
        mine = evaluations[digest].metrics
        theirs = production_evaluations[digest].metrics if production is not None else {}
        rows = []
        for rule in self.rules:
            current = theirs.get(rule.logged_name)
            candidate = mine.get(rule.logged_name)
            rows.append(GateRow(rule.metric, current, candidate, rule.describe(),
                                rule.verdict(current, candidate)))  # fmt: skip
        return GateDecision(version, production, evaluations[digest].data, rows)

    def check(self, *args: object, **kwargs: object) -> GateDecision:
        """:meth:`decide`, raising PromotionRefusedError with the table unless every rule
        passes."""
        decision = self.decide(*args, **kwargs)  # type: ignore[arg-type]
        if not decision.passed:
            against = (
                "has no production version to compare with"
                if decision.production is None
                else f"against production version {decision.production}"
            )
            failed = ", ".join(row.metric for row in decision.failed)
            raise PromotionRefusedError(
                f"version {decision.candidate} fails the promotion gate on {failed} "
                f"({against}, both evaluated on {decision.data.name}, {decision.data.n_tracks} "
                f"tracks, digest {decision.data.digest[:8]}); {_OVERRIDE}\n{decision.table()}"
            )
        return decision

    def _no_common_data(
        self,
        version: int,
        evaluations: Evaluations,
        training: DataRecord | None,
        production: int | None,
        production_evaluations: Evaluations,
        shared: list[str],
    ) -> str:
        overlapping = [d for d in shared if _overlap(evaluations[d].data, training)]
        if overlapping:
            data = evaluations[overlapping[0]].data
            tracks = data.overlap(training) if training else []
            named = ", ".join(tracks[:5]) + (
                f" and {len(tracks) - 5} more" if len(tracks) > 5 else ""
            )
            what = (
                f"{len(tracks)} of its {data.n_tracks} tracks ({named})" if tracks else "all of it"
            )
            head = (
                f"version {version}'s evaluation on {data.name} (digest {data.digest[:8]}) "
                f"overlaps its training data: {what}; a score on training data says nothing"
            )
        else:
            where = "the held-out set" if self.holdout else "the same data"
            head = (
                f"version {version} and production version {production} were never evaluated "
                f"on {where}"
                if production is not None
                else f"version {version} was never evaluated on {where}"
            )
        listed = [_described(version, evaluations, training)]
        if production is not None:
            listed.append(_described(production, production_evaluations, None))
        versions = [version] if production is None else [production, version]
        return (
            f"{head} ({'; '.join(listed)}): evaluate "
            f"{'both' if production is not None else 'it'} on held-out data "
            f"({self._commands(versions)}), or {_OVERRIDE}"
        )

    def _commands(self, versions: list[int]) -> str:
        folder = self.holdout_dir or "HELD_OUT_DIR"
        evaluate = " && ".join(f"edm evaluate {folder} --model {v} --log" for v in versions)
        return (
            f"CLI: {evaluate}; or edm models promote {versions[-1]} Production --holdout {folder}"
        )


def _overlap(data: DataRecord, training: DataRecord | None) -> bool:
    if training is None:
        return False
    if data.digest == training.digest:
        return True
    return bool(data.tracks.keys() & training.tracks.keys())


def _described(version: int, evaluations: Evaluations, training: DataRecord | None) -> str:
    if not evaluations:
        return f"v{version}: no evaluation"
    sets = []
    for record in evaluations.values():
        note = " = its training data" if _overlap(record.data, training) else ""
        sets.append(f"{record.data.name} ({record.data.digest[:8]}{note})")
    return f"v{version} on " + ", ".join(sets)


def _number(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"
