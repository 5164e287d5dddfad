"""Paths, seeding and timing shared by the stages."""
from __future__ import annotations

import hashlib
import json
import os
import random
import time
from contextlib import contextmanager

import numpy as np

KIT_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO_DIR = os.path.dirname(KIT_DIR)
MODELS_DIR = os.environ.get("VISION_MODELS_DIR", os.path.join(REPO_DIR, "models"))
SAMPLES_DIR = os.environ.get("VISION_SAMPLES_DIR", os.path.join(REPO_DIR, "samples"))
#: Checkpoints, logs and the ONNX Runtime checker live here (never committed).
WORK_DIR = os.environ.get("VISION_KIT_WORK", os.path.join(KIT_DIR, ".work"))


def setup_torch(seed: int) -> None:
    """Seed every generator, use all cores and ask for deterministic kernels."""
    import torch  # here, not at the top: the torch-free stages (centernet) import this module too

    torch.set_num_threads(os.cpu_count() or 1)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True)


def work_path(*parts: str) -> str:
    """A path below :data:`WORK_DIR`, creating its parent folder."""
    path = os.path.join(WORK_DIR, *parts)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    return path


def sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def to_json(obj, indent: int = 2, level: int = 0) -> str:
    """Pretty JSON that keeps lists of numbers/strings (shapes, labels, vectors) on one line."""
    pad, inner = " " * (indent * level), " " * (indent * (level + 1))
    if isinstance(obj, dict):
        if not obj:
            return "{}"
        items = [f"{inner}{json.dumps(str(k))}: {to_json(v, indent, level + 1)}" for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(obj, (list, tuple)):
        if all(not isinstance(v, (dict, list, tuple)) for v in obj):
            return "[" + ", ".join(json.dumps(v) for v in obj) + "]"
        return "[\n" + ",\n".join(inner + to_json(v, indent, level + 1) for v in obj) + "\n" + pad + "]"
    return json.dumps(obj)


def write_json(path: str, obj, indent: int = 2) -> None:
    """Write ``obj`` as UTF-8 JSON (see :func:`to_json`) with a final newline."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as f:
        f.write(to_json(obj, indent))
        f.write("\n")


def read_json(path: str):
    with open(path) as f:
        return json.load(f)


def log(msg: str) -> None:
    print(msg, flush=True)


@contextmanager
def timed(label: str, timings: dict | None = None):
    """Print how long the block took (and store it in ``timings[label]`` in seconds)."""
    start = time.perf_counter()
    log(f"==> {label}")
    try:
        yield
    finally:
        seconds = time.perf_counter() - start
        if timings is not None:
            timings[label] = round(seconds, 1)
        log(f"<== {label}: {seconds:.1f} s")
