"""Held-out caption scenes for end-to-end evaluation of the captioning service, and their scoring.

    python -m visionkit.evaluate scenes DIR [--count 3000]   # PNG scenes + manifest.json
    python -m visionkit.evaluate score DIR CAPTIONS.jsonl...  # metrics of service captions

``scenes`` writes the same held-out test scenes the model card is measured on (test-split
items only, seed ``caption_stage.TEST_SEED``) as lossless PNG files. ``score`` reads the
captions a client got back for them (JSON lines with ``file``, ``caption`` and ``search``/
``beam_width``), computes the model card's metrics with the same code, and prints them beside
the figures the kit measured in PyTorch (``models/caption-decoder/<v>/metrics.json``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from PIL import Image

from . import metrics, scenes
from .caption_stage import TEST_SEED
from .common import MODELS_DIR, write_json
KEYS = ["bleu4", "exact_match", "class_accuracy", "colour_accuracy", "item_set_accuracy", "well_formed"]


def write_scenes(out: str, count: int) -> None:
    os.makedirs(out, exist_ok=True)
    gen = scenes.SceneGenerator("test", TEST_SEED)
    listing = []
    for k in range(count):
        sc = gen.scene(k)
        name = f"scene-{k:05d}.png"
        Image.fromarray(sc.image).save(os.path.join(out, name))
        listing.append({"file": name, "index": k, "caption": sc.caption,
                        "items": [[it.cell, it.label, it.colour, it.source_index, list(it.box)] for it in sc.items]})
    write_json(os.path.join(out, "manifest.json"), {"split": "test", "seed": TEST_SEED, "count": count,
                                                     "scenes": listing})
    print(f"wrote {count} held-out test scenes to {out}")


def _items(entry) -> tuple:
    return tuple(scenes.Item(cell=c, label=l, colour=col, source_index=s, box=tuple(b))
                 for c, l, col, s, b in entry["items"])


def kit_figures(decoder: str = "caption-decoder") -> dict:
    root = os.path.join(MODELS_DIR, decoder)
    versions = sorted((int(v) for v in os.listdir(root) if v.isdigit()), reverse=True)
    path = os.path.join(root, str(versions[0]), "metrics.json")
    return json.load(open(path)) if os.path.exists(path) else {}


def score(scene_dir: str, files: list[str]) -> int:
    manifest = json.load(open(os.path.join(scene_dir, "manifest.json")))
    by_file = {e["file"]: e for e in manifest["scenes"]}
    runs: dict[str, dict[str, str]] = {}
    for path in files:
        for line in open(path):
            if line.strip():
                r = json.loads(line)
                width = int(r.get("beam_width") or 1)
                runs.setdefault("greedy" if width <= 1 else f"beam{width}", {})[os.path.basename(r["file"])] = r["caption"]
    kit = kit_figures()
    status = 0
    print(f"{'search':<8} {'metric':<20} {'service':>9} {'kit (PyTorch)':>14}  scenes")
    for search, captions in sorted(runs.items()):
        missing = [f for f in by_file if f not in captions]
        if missing:
            print(f"{search}: {len(missing)} of {len(by_file)} scenes have no caption (first: {missing[0]})")
            status = 1
        entries = [by_file[f] for f in by_file if f in captions]
        got = metrics.caption_metrics([captions[e["file"]].split() for e in entries], [_items(e) for e in entries])
        ref = kit.get(search, {})
        for key in KEYS:
            theirs = ref.get(key)
            print(f"{search:<8} {key:<20} {got[key]:>9.4f} {'' if theirs is None else f'{theirs:.4f}':>14}  {len(entries)}")
        same = [k for k in KEYS if ref.get(k) is not None and abs(ref[k] - got[k]) < 5e-5]
        print(f"{search:<8} equal to the kit's figures: {len(same)}/{len([k for k in KEYS if k in ref])}"
              + ("" if ref.get("scenes") in (None, len(entries)) else f" (kit measured {ref['scenes']} scenes)"))
    return status


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m visionkit.evaluate", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("scenes", help="write held-out test scenes as PNG + manifest.json")
    s.add_argument("out")
    s.add_argument("--count", type=int, default=3000)
    m = sub.add_parser("score", help="metrics of captions (JSON lines) for scenes written by 'scenes'")
    m.add_argument("scene_dir")
    m.add_argument("captions", nargs="+")
    a = p.parse_args(argv)
    if a.command == "scenes":
        write_scenes(a.out, a.count)
        return 0
    return score(a.scene_dir, a.captions)


if __name__ == "__main__":
    sys.exit(main())
