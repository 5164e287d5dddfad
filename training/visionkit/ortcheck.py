"""Bridge to ONNX Runtime for checking exported graphs.

Debian ships no Python binding of ONNX Runtime, so the kit runs the exported graphs
with the official Node.js binding (npm package ``onnxruntime-node``, CPU build, installed
by ``install.sh`` under ``training/.work/ort-node``). Tensors travel as raw little-endian
files. If the binding is missing, :func:`available` is False and callers fall back to
PyTorch (and say so).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile

import numpy as np

from .common import KIT_DIR, WORK_DIR

ORT_VERSION = "1.30.0"
NODE_MODULES = os.path.join(WORK_DIR, "ort-node", "node_modules")
SCRIPT = os.path.join(KIT_DIR, "ort", "run.js")


def available() -> bool:
    return shutil.which("node") is not None and os.path.isdir(os.path.join(NODE_MODULES, "onnxruntime-node"))


def version() -> str:
    return f"onnxruntime-node {ORT_VERSION}, CPU execution provider"


def _tensor(tmp: str, name: str, arr: np.ndarray) -> dict:
    if arr.dtype == np.int64:
        kind = "int64"
    else:
        arr = arr.astype(np.float32)
        kind = "float32"
    path = os.path.join(tmp, f"{name}.bin")
    np.ascontiguousarray(arr).astype(arr.dtype.newbyteorder("<")).tofile(path)
    return {"type": kind, "dims": list(arr.shape), "file": path}


def _node(tmp: str, jobs: list) -> None:
    req = os.path.join(tmp, "request.json")
    with open(req, "w") as f:
        json.dump({"jobs": jobs}, f)
    env = dict(os.environ, NODE_PATH=NODE_MODULES)
    subprocess.run(["node", SCRIPT, req], check=True, env=env, stdout=subprocess.DEVNULL)


def run(model: str, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Run ``model`` once with ONNX Runtime; returns every graph output by name."""
    with tempfile.TemporaryDirectory() as tmp:
        feeds = {k: _tensor(tmp, f"in-{k}", v) for k, v in inputs.items()}
        out = os.path.join(tmp, "out")
        _node(tmp, [{"kind": "run", "model": os.path.abspath(model), "inputs": feeds, "out": out}])
        with open(out + ".json") as f:
            index = json.load(f)
        result = {}
        for name, meta in index.items():
            dtype = np.int64 if meta["type"] == "int64" else np.float32
            result[name] = np.fromfile(meta["file"], dtype=np.dtype(dtype).newbyteorder("<")).reshape(meta["dims"])
        return result


def greedy(encoder: str, decoder: str, image: np.ndarray, start: int, end: int, max_length: int,
           hidden: int, lstm: bool) -> dict:
    """Caption a batch of normalised images with the ONNX encoder and greedy one-step decoding."""
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "greedy.json")
        _node(tmp, [{"kind": "greedy", "encoder": os.path.abspath(encoder), "decoder": os.path.abspath(decoder),
                     "image": _tensor(tmp, "image", image), "start": start, "end": end,
                     "max_length": max_length, "hidden": hidden, "lstm": lstm, "out": out}])
        with open(out) as f:
            return json.load(f)
