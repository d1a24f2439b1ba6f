"""A test hook that stops a promotion at a named step, so a test can kill it there.

``EDM_TEST_PAUSE_AT=<step>`` and ``EDM_TEST_PAUSE_FILE=<path>``: on reaching that step the
process writes its pid to the file and sleeps (up to ten minutes) until it is killed. Both
must be set; unset (normal use) the hook does nothing. The steps of a promotion are named in
``edm.registry.promotion``: ``locked``, ``intent``, ``move-1`` … ``move-N``, ``audited``.
"""

from __future__ import annotations

import os
import time

ENV_PAUSE_AT = "EDM_TEST_PAUSE_AT"
ENV_PAUSE_FILE = "EDM_TEST_PAUSE_FILE"
_PAUSE_S = 600.0


def pause_point(step: str) -> None:
    """Do nothing, unless a test asked this process to stop at ``step``."""
    wanted, marker = os.environ.get(ENV_PAUSE_AT), os.environ.get(ENV_PAUSE_FILE)
    if not wanted or not marker or wanted != step:
        return
    with open(marker, "w") as file:
        file.write(str(os.getpid()))
    time.sleep(_PAUSE_S)
