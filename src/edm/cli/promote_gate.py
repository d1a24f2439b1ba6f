"""``edm models promote``'s gate: the rules (gate.toml, [tool.edm.gate], --require) and the
held-out set both versions are compared on, evaluated there and then when they were not."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from edm.cli import context
from edm.cli.output import err_console, files_progress, plain

if TYPE_CHECKING:
    from edm.registry import ModelRegistry

HOLDOUT_HELP = (
    "Folder of held-out tracks to compare the candidate and Production on (its split file's "
    "held-out tracks when it has one, from 'edm data split'); either version not yet evaluated "
    "there is evaluated and logged first. Default: holdout in gate.toml / [tool.edm.gate]."
)
REQUIRE_HELP = (
    "A gate rule, repeatable, over gate.toml and the defaults: 'METRIC>=FLOOR' or "
    "'METRIC:delta>=MIN_CHANGE' against Production (e.g. 'beat_f:delta>=-0.01')."
)


def holdout_option() -> Path | None:
    return typer.Option(None, "--holdout", help=HOLDOUT_HELP)  # type: ignore[no-any-return]


def require_option() -> list[str]:
    return typer.Option([], "--require", help=REQUIRE_HELP)  # type: ignore[no-any-return]


def gated_registry(
    ctx: typer.Context, version: int, holdout: Path | None, requires: list[str]
) -> ModelRegistry:
    """A registry whose gate follows the configured rules and, with a held-out set, compares
    on it, having evaluated the candidate and Production there if they were not."""
    from edm.registry import ModelRegistry, PromotionGate
    from edm.registry.gate_rules import load_gate_settings

    settings = load_gate_settings(Path.cwd(), requires)
    holdout = holdout or settings.holdout
    base = context.registry(ctx)
    if holdout is None:
        gate = PromotionGate(rules=settings.rules)
    else:
        digest = _evaluate_missing(ctx, base, version, holdout)
        gate = PromotionGate(rules=settings.rules, holdout=digest, holdout_dir=str(holdout))
    return ModelRegistry(tracking_uri=base.tracking_uri, promotion_gate=gate)


def _evaluate_missing(
    ctx: typer.Context, registry: ModelRegistry, version: int, holdout: Path
) -> str:
    """Evaluate the candidate and Production on ``holdout`` where not yet; the set's digest."""
    from edm.evaluation.evaluate import dataset_digest, evaluate_dataset
    from edm.evaluation.tracking import log_evaluation
    from edm.inference.pipeline import File2Structure

    digest = dataset_digest(holdout, heldout_only=True)
    production = registry.stage_holders().production
    for number in dict.fromkeys(v for v in (production, version) if v is not None):
        if digest in registry.evaluations(number):
            continue
        resolved = context.resolve_model(ctx, str(number))
        analyzer = File2Structure.from_checkpoint(resolved.path, device="cpu")
        with files_progress(f"Evaluating version {number} on {holdout.name}") as on_file:
            report = evaluate_dataset(
                holdout, analyzer.analyze, model=f"version {number}", on_track=on_file,
                heldout_only=True,
            )  # fmt: skip
        log_evaluation(registry, number, report)
        err_console.print(  # progress, like the bar: stdout stays the answer (--json)
            f"Evaluated version {number} on {plain(holdout)} ({len(report.tracks)} tracks) "
            "and logged it",
            highlight=False,
        )
    return digest
