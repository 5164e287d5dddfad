"""Command line: ``python -m visionkit [STAGE ...]`` (default: every stage, in order)."""
from __future__ import annotations

import argparse
import time

from .common import log, timed, work_path, write_json

STAGES = ["lenet", "fashion-cnn", "caption", "samples", "centernet", "ood"]


def run_stage(name: str) -> None:
    if name in ("lenet", "fashion-cnn"):
        from .stages import classifier_stage
        classifier_stage(name)
    elif name == "caption":
        from .caption_stage import caption_stage
        caption_stage()
    elif name == "samples":
        from .samples import samples_stage
        samples_stage()
    elif name == "centernet":
        from .centernet import centernet_stage
        centernet_stage()
    elif name == "ood":
        from .ood import ood_stage
        ood_stage()
    elif name == "cards":
        from .centernet import rewrite_card
        rewrite_card()
        from .ood import rewrite_sections  # torch-free: the out-of-domain sections first
        rewrite_sections()
        from .stages import rewrite_cards
        rewrite_cards()


def main() -> None:
    parser = argparse.ArgumentParser(prog="make-models", description=__doc__)
    parser.add_argument("stages", nargs="*", metavar="STAGE",
                        help="stages to run (default: all); 'cards' only rewrites the model cards "
                             "from the metrics saved by the last run")
    args = parser.parse_args()
    args.stages = args.stages or ["all"]
    unknown = [s for s in args.stages if s not in STAGES + ["all", "cards"]]
    if unknown:
        parser.error(f"unknown stage(s) {unknown}; choose from {STAGES + ['all', 'cards']}")
    stages = STAGES if "all" in args.stages else [s for s in STAGES + ["cards"] if s in args.stages]
    timings: dict[str, float] = {}
    start = time.perf_counter()
    for stage in stages:
        with timed(stage, timings):
            run_stage(stage)
    timings["total"] = round(time.perf_counter() - start, 1)
    write_json(work_path("timings.json"), timings)
    log("stage timings: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()))


if __name__ == "__main__":
    main()
