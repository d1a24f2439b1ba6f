"""The promotion gate: a version reaches Production only if measured at least as good.

``edm evaluate --log`` (``log_evaluation`` in Python) stores held-out scores on a version's
run as ``test_*`` metrics. Before a promotion to Production, the gate compares the candidate's
primary metric (higher is better) with the current production version's. A candidate that is
worse, or was never evaluated, is refused with both figures in the message; ``force`` with a
reason overrides, and the audit entry records that it was forced and why.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from edm.errors import PromotionRefusedError

__all__ = ["DEFAULT_GATE_METRIC", "ENV_GATE_METRIC", "PromotionGate", "PromotionRefusedError"]

DEFAULT_GATE_METRIC = "test_boundary_f_0.5"
ENV_GATE_METRIC = "EDM_GATE_METRIC"
_OVERRIDE = "override with force=True and a reason (CLI: --force --reason TEXT)"


@dataclass(frozen=True)
class PromotionGate:
    """``metric`` None means ``EDM_GATE_METRIC``, else ``test_boundary_f_0.5``."""

    metric: str | None = None

    @property
    def primary_metric(self) -> str:
        return self.metric or os.environ.get(ENV_GATE_METRIC) or DEFAULT_GATE_METRIC

    def check(
        self,
        version: int,
        metrics: Mapping[str, float],
        production_version: int | None,
        production_metrics: Mapping[str, float],
    ) -> None:
        """Raise PromotionRefusedError unless ``version`` may replace the production one."""
        metric = self.primary_metric
        candidate = metrics.get(metric)
        if candidate is None:
            raise PromotionRefusedError(
                f"version {version} was never evaluated ({metric} missing on its run): "
                f"evaluate it onto its run (CLI: edm evaluate DATA_DIR --model {version} --log; "
                "Python: edm.evaluation.tracking.log_evaluation), "
                f"or {_OVERRIDE}"
            )
        if production_version is None or production_version == version:
            return
        current = production_metrics.get(metric)
        if current is not None and candidate < current:
            raise PromotionRefusedError(
                f"version {version} is worse than production version {production_version} "
                f"on {metric}: {candidate:.4f} < {current:.4f}; {_OVERRIDE}"
            )
