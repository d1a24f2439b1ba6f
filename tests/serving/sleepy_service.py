"""``python -m edm`` whose analyses of long audio sleep first: a stand-in for a stuck model.

The tests start it instead of ``python -m edm`` (with ``--workers 1``: the patch lives in this
process). Everything else is the real service: the registry, the real loading path, the real
analysis once the sleep is over. Audio longer than ``EDM_TEST_STUCK_OVER_S`` seconds (default
10) sleeps ``EDM_TEST_SLEEP_S`` seconds (default 30) before it is analysed; shorter audio, the
warm-up clip included, is analysed at once.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import soundfile

from edm.inference.pipeline import File2Structure

STUCK_OVER_S = float(os.environ.get("EDM_TEST_STUCK_OVER_S", "10"))
SLEEP_S = float(os.environ.get("EDM_TEST_SLEEP_S", "30"))
_analyze = File2Structure.analyze


def sleepy_analyze(self: File2Structure, path: Path | str, *args: Any, **kwargs: Any) -> Any:
    if soundfile.info(str(path)).duration > STUCK_OVER_S:
        time.sleep(SLEEP_S)
    return _analyze(self, path, *args, **kwargs)


if __name__ == "__main__":
    File2Structure.analyze = sleepy_analyze  # type: ignore[method-assign]
    from edm.cli.main import main

    main()
