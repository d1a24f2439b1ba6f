"""``python -m edm.benchmarks FOLDER [--tracks 16] [--seed 7]``: write evaluation-only tracks."""

from __future__ import annotations

import argparse

from edm.benchmarks import write_other_music


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--tracks", type=int, default=16)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--min-bpm", type=float, default=118.0)
    parser.add_argument("--max-bpm", type=float, default=150.0)
    args = parser.parse_args()
    written = write_other_music(
        args.folder, args.tracks, args.seed, min_bpm=args.min_bpm, max_bpm=args.max_bpm
    )
    print(f"{len(written)} tracks (WAV + annotation YAML) in {args.folder}")


if __name__ == "__main__":
    main()
