"""Progress of a batch job as the shell shows it (issue 28, point 13): the last line once, a
rate of tracks really analysed, and a sign of life every few seconds on a small job.

Spark's status tracker is replaced by a table of task counts: what is under test is how the
counts become progress reports, not Spark's API (the job tests drive the real one)."""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from edm.batch import progress as progress_module
from edm.batch.progress import BatchProgress, ChunkProgress


class _Tracker:
    """Job groups -> (tasks done, tasks in all), as Spark's status tracker reports them."""

    def __init__(self) -> None:
        self.tasks: dict[str, tuple[int, int]] = {}

    def getJobIdsForGroup(self, group: str) -> list[str]:
        return [group] if group in self.tasks else []

    def getJobInfo(self, job: str) -> SimpleNamespace:
        return SimpleNamespace(stageIds=[job])

    def getStageInfo(self, stage: str) -> SimpleNamespace:
        done, total = self.tasks[stage]
        return SimpleNamespace(numCompletedTasks=done, numTasks=total)


def _session(tracker: _Tracker) -> SimpleNamespace:
    return SimpleNamespace(sparkContext=SimpleNamespace(statusTracker=lambda: tracker))


def test_the_last_line_is_shown_once() -> None:
    seen: list[BatchProgress] = []
    with ChunkProgress(_session(_Tracker()), 6, seen.append, 60.0) as progress:
        progress.watch("chunk-0", 6)
        progress.finish("chunk-0", 6, 2, 0)
    assert [(p.processed, p.failed) for p in seen] == [(6, 2)]


def test_the_rate_counts_only_tracks_analysed() -> None:
    resumed = BatchProgress(processed=10, total=12, failed=1, skipped=8, elapsed_s=4.0)
    assert resumed.rate == pytest.approx(0.5)  # 2 tracks worked on in 4 s, not 10
    assert resumed.eta_s == pytest.approx(4.0)
    only_skipped = BatchProgress(processed=8, total=12, failed=0, skipped=8, elapsed_s=1.0)
    assert only_skipped.rate == 0.0 and only_skipped.eta_s is None


def test_a_small_job_shows_a_sign_of_life_while_no_task_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(progress_module, "HEARTBEAT_S", 0.2)
    tracker = _Tracker()
    tracker.tasks["chunk-0"] = (0, 2)
    seen: list[BatchProgress] = []
    with ChunkProgress(_session(tracker), 4, seen.append, 0.05) as progress:
        progress.watch("chunk-0", 4)
        time.sleep(1.0)
        tracker.tasks["chunk-0"] = (1, 2)
        time.sleep(0.2)
        progress.finish("chunk-0", 4, 0, 0)
    counts = [p.processed for p in seen]
    assert counts.count(0) >= 3  # a line every 0.2 s while nothing ended
    assert 2 in counts and counts[-1] == 4 and counts.count(4) == 1
    elapsed = [p.elapsed_s for p in seen]
    assert elapsed == sorted(elapsed)
