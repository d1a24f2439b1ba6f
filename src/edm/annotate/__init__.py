"""``edm annotate``: review and correct structure annotations in the browser.

- ``tracks``: the folder's tracks, their audio, their status and the review queue's order;
- ``edit``: a save from the page applied to the document on disk (everything else kept);
- ``store``: atomic saves, every earlier version in ``.history/``, ETag / If-Match conflicts;
- ``peaks``: the waveform's peaks in three bands, computed here and cached by audio hash;
- ``proposals``: the model in the loop: tracks with no annotation pre-annotated in the
  background;
- ``access``: loopback by default, reviewer keys (``edm serve``'s keys file) off loopback;
- ``app``: the FastAPI app and the page (``static/``: plain ES modules over wavesurfer.js,
  which ``scripts/vendor-js.sh`` puts in ``static/vendor/`` at install time).

A shell like :mod:`edm.serving`: it imports data, inference and the registry's public API, and
only the CLI imports it.
"""

from edm.annotate.app import AnnotateConfig, create_app

__all__ = ["AnnotateConfig", "create_app"]
