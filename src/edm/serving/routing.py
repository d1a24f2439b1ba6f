"""Which variant answers a request, and how far two answers agree.

A client that sends ``X-Client-Id`` always lands on the same side of the Staging share (the id
is hashed to a number in [0, 1)); one that does not is drawn at random per request.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence

import numpy as np

BEAT_TOLERANCE_S = 0.07  # mir_eval's beat F-measure window
BOUNDARY_TOLERANCE_S = 3.0  # the coarse boundary window of structure evaluation


def client_position(client_id: str | None) -> float:
    """A number in [0, 1): fixed for a client id, random without one."""
    if not client_id:
        return random.random()
    digest = hashlib.sha256(client_id.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def choose_variant(
    requested: str | None, client_id: str | None, staging_share: float, staging_loaded: bool
) -> str:
    """``requested`` (from ``?variant=``) wins; else the Staging share when Staging is loaded."""
    if requested:
        return requested
    if staging_loaded and staging_share > 0 and client_position(client_id) < staging_share:
        return "staging"
    return "production"


def f_measure(reference: Sequence[float], estimate: Sequence[float], tolerance: float) -> float:
    """F-measure of ``estimate`` against ``reference``, each event matched at most once.

    Both empty: they agree (1.0). Matching walks both sorted lists together, pairing events
    within ``tolerance``; on sorted event times this greedy pairing is maximal.
    """
    ref = np.sort(np.asarray(reference, dtype=float))
    est = np.sort(np.asarray(estimate, dtype=float))
    if ref.size == 0 and est.size == 0:
        return 1.0
    if ref.size == 0 or est.size == 0:
        return 0.0
    i = j = hits = 0
    while i < ref.size and j < est.size:
        difference = est[j] - ref[i]
        if abs(difference) <= tolerance:
            hits += 1
            i += 1
            j += 1
        elif difference < 0:
            j += 1
        else:
            i += 1
    precision, recall = hits / est.size, hits / ref.size
    return 0.0 if hits == 0 else 2 * precision * recall / (precision + recall)
