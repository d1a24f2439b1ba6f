"""The data flywheel end to end: what ``make flywheel`` runs.

Music made by ``edm.benchmarks`` (evaluation-only: edm never trains on it by default) stands in
for a user's catalogue, and a STAND-IN REVIEWER stands in for the user's reviewers: it "corrects"
a proposal by replacing it with the generator's own annotation of the track. Everything else is
the commands a team would run, against one local MLflow store:

1. Production = the reference model (``make reference-model``; trained here when ``--reference``
   holds none; put back in Production when an earlier run promoted its fine-tune);
2. ``edm data other-music``: 64 catalogue tracks, and 16 more reviewed tracks held out for the
   gate;
3. ``edm batch analyze CATALOGUE --format yaml`` with Production: a proposal per track;
4. ``edm review queue``: the least sure first; the stand-in reviewer reviews the first 4, 8, 16
   and 32 of its order (the other 32 are never reviewed nor trained on: the report set);
5. per count, ``edm train REVIEWED --init-from Production --mix SYNTHETIC=W`` fine-tunes a
   version; the 16-track version goes through ``edm models promote --holdout HELD_OUT`` (the
   gate judges it on the 16 held-out tracks) into Production;
6. ``edm evaluate`` of every version on the report set and on the reference's own synthetic
   test set, and ``edm review stats --log`` of Production before and after, from the stand-in
   reviewer's corrections of each version's proposals on the report set.

Writes ``DIR/flywheel.json`` and prints the table.

    python scripts/flywheel.py --dir flywheel [--reference reference]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CATALOGUE_SEED, HELD_OUT_SEED = 23, 31


@dataclass(frozen=True)
class Sizes:
    catalogue: int = 64
    held_out: int = 16
    review_counts: tuple[int, ...] = (4, 8, 16, 32)
    promoted: int = 16  # the count whose version goes through the gate
    report: int = 32


FULL = Sizes()
QUICK = Sizes(catalogue=10, held_out=3, review_counts=(2, 4), promoted=4, report=4)
COLUMNS = (
    ("label_accuracy", "labels"),
    ("boundary_f_0.5", "bound F@0.5"),
    ("boundary_f_3", "bound F@3"),
    ("beat_f", "beat F"),
    ("downbeat_f", "downbeat F"),
    ("bpm_accuracy", "BPM acc"),
)
STAND_IN = "stand-in reviewer (copies edm.benchmarks' own annotation)"


class Flywheel:
    def __init__(self, folder: Path, reference: Path, args: argparse.Namespace) -> None:
        self.folder, self.reference, self.args = folder, reference, args
        self.sizes = QUICK if args.quick else FULL
        if args.counts:  # e.g. --counts 16: one row, the promoted one
            counts = tuple(int(c) for c in args.counts.split(","))
            self.sizes = replace(self.sizes, review_counts=counts, promoted=max(counts))
        self.store = reference / "mlruns"
        self.timings: dict[str, float] = {}
        edm = Path(sys.executable).with_name("edm")
        self.edm = [str(edm) if edm.exists() else "edm", "--tracking-uri", str(self.store)]

    def run(self, *arguments: str, json_out: bool = False, check: bool = True) -> Any:
        command = [*self.edm, *arguments]
        print("$ edm " + " ".join(arguments), flush=True)
        done = subprocess.run(command, capture_output=json_out, text=True)
        if done.returncode != 0 and not check:
            print((done.stdout or "") + (done.stderr or ""), end="", flush=True)
            return None
        if done.returncode != 0:
            if json_out:
                sys.stderr.write(done.stdout + done.stderr)
            raise SystemExit(f"flywheel: 'edm {arguments[0]}' failed ({done.returncode})")
        return json.loads(done.stdout) if json_out else None

    def timed(self, name: str, started: float) -> None:
        self.timings[name] = round(time.perf_counter() - started, 1)
        print(f"-- {name}: {self.timings[name]:.0f} s", flush=True)

    def production(self) -> int:
        from edm.registry import ModelRegistry

        registry = ModelRegistry(tracking_uri=str(self.store))
        version = registry.stage_holders().production
        if version is None:
            raise SystemExit("flywheel: the reference store has no production version")
        return version

    # 1 --------------------------------------------------------------------------------------
    def ensure_reference(self) -> int:
        started = time.perf_counter()
        if not (self.reference / "reference.json").exists():
            script = ROOT / "scripts" / "reference_model.py"
            command = [sys.executable, str(script), "--dir", str(self.reference)]
            command += ["--quick"] if self.args.quick else []
            if subprocess.run(command).returncode != 0:
                raise SystemExit("flywheel: the reference model failed")
        from edm.registry import ModelRegistry

        registry = ModelRegistry(tracking_uri=str(self.store))
        first = int(json.loads((self.reference / "reference.json").read_text())["version"])
        # An earlier flywheel promoted its fine-tune: every run starts from the reference, and
        # a version that was in Production goes back without the gate.
        if registry.stage_holders().production != first and not self.remembered("start"):
            test = str(self.reference / "data" / "test")
            self.run(
                "models", "promote", str(first), "Production", "--holdout", test,
                "--reason", "flywheel start: the reference model",
            )  # fmt: skip
        self.timed("reference_s", started)
        return self.remember("start", self.production())

    def remembered(self, key: str) -> bool:
        return key in self._versions()

    def remember(self, key: str, version: int) -> int:
        """``key``'s version from an earlier run of the flywheel in DIR, else ``version``,
        kept in ``DIR/versions.json``: a stopped run goes on where it was."""
        versions = self._versions()
        if key not in versions:
            (self.folder / "versions.json").write_text(json.dumps({**versions, key: version}))
        return int(versions.get(key, version))

    def _versions(self) -> dict[str, int]:
        made = self.folder / "versions.json"
        return json.loads(made.read_text()) if made.exists() else {}

    # 2, 3 -----------------------------------------------------------------------------------
    def catalogue(self, production: int) -> tuple[Path, Path, Path]:
        started = time.perf_counter()
        music, held_out = self.folder / "catalogue", self.folder / "held-out-truth"
        for folder, tracks, seed in (
            (music, self.sizes.catalogue, CATALOGUE_SEED),
            (held_out, self.sizes.held_out, HELD_OUT_SEED),
        ):
            if len(list(folder.glob("*.wav"))) != tracks:
                self.run(
                    "data", "other-music", str(folder), "--tracks", str(tracks), "--seed", str(seed)
                )
        self.timed("music_s", started)
        started = time.perf_counter()
        truth = self.folder / "truth"  # the generator's annotations, kept away from the batch
        truth.mkdir(exist_ok=True)
        for annotation in music.glob("*.yaml"):
            shutil.move(annotation, truth / annotation.name)
        batch = self.folder / "batch"
        self.run(
            "batch", "analyze", str(music), "--out", str(batch), "--format", "yaml",
            "--model", str(production), "--master", "local[2]",
        )  # fmt: skip
        self.timed("batch_s", started)
        return music, truth, batch / "_annotations" / f"v{production}"

    # 4 --------------------------------------------------------------------------------------
    def review_order(self, proposals: Path, production: int) -> list[str]:
        queue = self.run(
            "review", "queue", str(proposals), "--model", str(production), "--json", json_out=True
        )
        return [Path(item["track"]).stem for item in queue["tracks"]]

    def stand_in_review(
        self, tracks: list[str], proposals: Path, truth: Path, audio: Path, out: Path
    ) -> Path:
        """The stand-in reviewer: each proposal kept in OUT/.proposals, the reviewed file (tier
        1, source manual) = the generator's own annotation, the audio linked beside it."""
        from edm.data.annotations import load_annotation, save_annotation

        (out / ".proposals").mkdir(parents=True, exist_ok=True)
        for track in tracks:
            shutil.copyfile(proposals / f"{track}.yaml", out / ".proposals" / f"{track}.yaml")
            answer = load_annotation(truth / f"{track}.yaml")
            metadata = answer.metadata.model_copy(
                update={"tier": 1, "source": "manual", "verified_by": STAND_IN}
            )
            save_annotation(answer.model_copy(update={"metadata": metadata}), out / f"{track}.yaml")
            wav = out / f"{track}.wav"
            if not wav.exists():
                os.link(audio / f"{track}.wav", wav)
        return out

    # 5, 6 -----------------------------------------------------------------------------------
    def fine_tune(self, reviewed: Path, production: int, count: int) -> int:
        """The version fine-tuned on ``count`` reviewed tracks; one an earlier run of the
        flywheel made is reused (``DIR/versions.json``), so a stopped run goes on."""
        made = self.folder / "versions.json"
        if str(count) in (json.loads(made.read_text()) if made.exists() else {}):
            return self.remember(str(count), 0)
        started = time.perf_counter()
        synthetic = self.synthetic()
        mix = f"{reviewed}={self.args.reviewed_weight},{synthetic}={self.args.synthetic_weight}"
        self.run(
            "train", str(reviewed), "--init-from", str(production), "--mix", mix,
            "--epochs", str(self.args.epochs), "--lr", str(self.args.lr),
            "--warmup-epochs", "0", "--seed", "0", "--no-progress",
            "--output", str(self.folder / "outputs"),
            "--description", f"flywheel: fine-tuned on {count} reviewed tracks",
            "--tag", f"flywheel_reviewed={count}",
            *([] if self.args.learn_labels else ["--no-learn-labels"]),
        )  # fmt: skip
        self.timed(f"fine_tune_{count}_s", started)
        from edm.registry import ModelRegistry

        version = ModelRegistry(tracking_uri=str(self.store)).version_records(1)[0].version
        return self.remember(str(count), version)

    def synthetic(self) -> Path:
        """The synthetic tracks mixed in: ``--synthetic-tracks`` of the reference's training
        tracks, evenly spread (linked, not copied); all of them with 0."""
        source = self.reference / "data" / "train"
        annotations = sorted(source.glob("*.yaml"))
        most = self.args.synthetic_tracks
        if not most or most >= len(annotations):
            return source
        out = self.folder / f"synthetic-{most}"
        out.mkdir(exist_ok=True)
        step = len(annotations) / most
        for path in (annotations[int(i * step)] for i in range(most)):
            for file in (path, path.with_suffix(".wav")):
                if not (out / file.name).exists():
                    os.link(file, out / file.name)
        return out

    def evaluate(self, folder: Path, version: int) -> dict[str, float]:
        report = self.run("evaluate", str(folder), "--model", str(version), "--json", json_out=True)
        return report["aggregate"]

    def row(self, reviewed: int, version: int, report: Path, own_test: Path) -> dict[str, Any]:
        return {
            "reviewed": reviewed,
            "version": version,
            "report": self.evaluate(report, version),
            "own": self.evaluate(own_test, version),
        }

    def review_stats(
        self, music: Path, truth: Path, tracks: list[str], first: int, promoted: int | None
    ) -> dict[str, Any] | None:
        """Both versions' proposals on the report tracks (Production's and the gate
        candidate's), corrected by the stand-in reviewer, scored by edm review stats."""
        if promoted is None:
            return None
        started = time.perf_counter()
        after = self.folder / "batch-after"
        self.run(
            "batch", "analyze", str(music), "--out", str(after), "--format", "yaml",
            "--model", str(promoted), "--master", "local[2]",
        )  # fmt: skip
        proposals = after / "_annotations" / f"v{promoted}"
        self.stand_in_review(
            tracks, proposals, truth, music, self.folder / "report" / f"v{promoted}"
        )
        folders = [str(self.folder / "report" / f"v{v}") for v in (first, promoted)]
        stats = self.run("review", "stats", *folders, "--log", "--json", json_out=True)
        self.timed("review_stats_s", started)
        return stats


def table(rows: list[dict[str, Any]]) -> str:
    head = "| reviewed tracks | version | " + " | ".join(title for _, title in COLUMNS)
    head += " | own test: beat F / labels / bound F@3 |"
    lines = [head, "|" + "---|" * (len(COLUMNS) + 3)]
    for row in rows:
        report, own = row["report"], row["own"]
        cells = " | ".join(f"{report[key]:.3f}" for key, _ in COLUMNS)
        own_cells = f"{own['beat_f']:.3f} / {own['label_accuracy']:.3f} / {own['boundary_f_3']:.3f}"
        version = f"v{row['version']}" + (f" ({row['gate']})" if "gate" in row else "")
        lines.append(f"| {row['reviewed']} | {version} | {cells} | {own_cells} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dir", type=Path, default=Path("flywheel"))
    parser.add_argument(
        "--reference", type=Path, help="A make reference-model folder (default DIR/reference)."
    )
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--reviewed-weight", type=float, default=1.0)
    parser.add_argument("--synthetic-weight", type=float, default=1.0)
    parser.add_argument(
        "--synthetic-tracks",
        type=int,
        default=0,
        help="How many of the reference's synthetic training tracks to mix in (default 0: "
        "all; 64 halves the fine-tunes' time, and cost the own test set 0.03 of labels).",
    )
    parser.add_argument(
        "--no-learn-labels",
        dest="learn_labels",
        action="store_false",
        help="Fine-tune with edm train --no-learn-labels (no section labeller).",
    )
    parser.add_argument("--quick", action="store_true", help="A few tiny tracks: a smoke test.")
    parser.add_argument("--counts", help="Reviewed-track counts, e.g. 16 (default 4,8,16,32).")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    folder = args.dir.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    wheel = Flywheel(folder, (args.reference or folder / "reference").resolve(), args)
    sizes = wheel.sizes

    first = wheel.ensure_reference()
    music, truth, proposals = wheel.catalogue(first)
    order = wheel.review_order(proposals, first)
    pool = max(sizes.review_counts)
    if len(order) < pool + sizes.report:
        raise SystemExit(f"flywheel: {len(order)} tracks to review, {pool + sizes.report} needed")
    report_tracks = order[pool : pool + sizes.report]  # never reviewed, never trained on
    report = wheel.stand_in_review(
        report_tracks, proposals, truth, music, folder / "report" / f"v{first}"
    )
    held_out = folder / "held-out-truth"
    own_test = wheel.reference / "data" / "test"

    started = time.perf_counter()
    rows = [wheel.row(0, first, report, own_test)]
    wheel.timed("evaluate_production_s", started)
    candidate = None
    for count in sizes.review_counts:
        reviewed = wheel.stand_in_review(
            order[:count], proposals, truth, music, folder / f"reviewed-{count}"
        )
        version = wheel.fine_tune(reviewed, first, count)
        started = time.perf_counter()
        rows.append(wheel.row(count, version, report, own_test))
        wheel.timed(f"evaluate_{count}_s", started)
        if count == sizes.promoted and wheel.production() == version:
            rows[-1]["gate"] = "promoted"  # by an earlier run of the flywheel
            candidate = version
        elif count == sizes.promoted:
            started = time.perf_counter()
            passed = wheel.run(
                "models", "promote", str(version), "Production", "--holdout", str(held_out),
                "--reason", f"flywheel: fine-tuned on {count} reviewed tracks", "--json",
                json_out=True, check=False,
            )  # fmt: skip
            wheel.timed("gate_s", started)
            rows[-1]["gate"] = "promoted" if passed is not None else "refused"
            candidate = version
    review_stats = wheel.review_stats(music, truth, report_tracks, first, candidate)
    total = round(time.perf_counter() - began, 1)
    summary = {
        "rows": rows,
        "review_stats": review_stats,
        "timings": wheel.timings,
        "total_s": total,
        "report_tracks": report_tracks,
        "reviewed_in_order": order[:pool],
        "reviewer": STAND_IN,
        "gate_candidate": candidate,
        "settings": {k: v for k, v in vars(args).items() if not isinstance(v, Path)},
    }
    (folder / "flywheel.json").write_text(json.dumps(summary, indent=2))
    print(f"\nOn the {len(report_tracks)} report tracks (never reviewed, never trained on):")
    print(table(rows))
    for stats in (review_stats or {}).get("versions", []):
        scores = ", ".join(f"{k} {v:.3f}" for k, v in stats["scores"].items() if v is not None)
        print(f"review stats of v{stats['version']} on {stats['tracks']} tracks: {scores}")
    print(f"\nflywheel done in {total:.0f} s: {folder / 'flywheel.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
