"""Run names as the spec's naming convention: run_YYYYMMDD_HHMMSS_<backbone>_<description>."""

from __future__ import annotations

import re
from datetime import datetime

_UNSAFE = re.compile(r"[^A-Za-z0-9.\-]+")
MAX_DESCRIPTION_CHARS = 64


def safe_token(text: str) -> str:
    """Letters, digits, dots and dashes only; runs of anything else become one dash."""
    return _UNSAFE.sub("-", text).strip("-.")[:MAX_DESCRIPTION_CHARS].strip("-.")


def generate_run_name(backbone: str, description: str = "", *, now: datetime | None = None) -> str:
    """``run_20251205_143022_mert-95m_baseline-lr1e4``; the description is made safe."""
    stamp = (now or datetime.now()).strftime("%Y%m%d_%H%M%S")
    parts = ["run", stamp, safe_token(backbone) or "model"]
    description = safe_token(description)
    if description:
        parts.append(description)
    return "_".join(parts)
