"""Reference zoo: classic ImageNet CNNs from torchvision with *random* (seeded) weights.

The zoo exercises the serving stack with real architectures and realistic sizes without
downloading anything: every network is built with ``weights=None`` and initialised from a
fixed seed, put in eval mode and exported to ONNX with a dynamic batch dimension (input
``input`` [-1,3,224,224], 299x299 for Inception v3; output ``output`` [-1,1000]). Next to
each graph it stores a few fixed random inputs and PyTorch's outputs for them as raw
little-endian float32 files, described by ``index.json``, so a runtime can be checked
against PyTorch bit-for-bit-ish (tolerance of float arithmetic).

Usage: ``python -m visionkit.zoo [--out DIR] [--list] [MODEL ...]``; the default folder is
``$VISION_ZOO_DIR`` or ``~/.cache/vision-zoo``. Outputs are large (VGG-16 is ~550 MB) and
are never committed.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import onnx
import torch
import torchvision.models as tvm

from . import ortcheck
from .common import log, sha256, write_json

SEED = 1234
CASES = 3          # fixed random inputs per model (each of batch 1), plus one batch of 2

MODELS = {
    "alexnet": (lambda: tvm.alexnet(weights=None), 224),
    "vgg16": (lambda: tvm.vgg16(weights=None), 224),
    "googlenet": (lambda: tvm.googlenet(weights=None, aux_logits=False, init_weights=True), 224),
    "inception_v3": (lambda: tvm.inception_v3(weights=None, aux_logits=False, init_weights=True), 299),
    "resnet50": (lambda: tvm.resnet50(weights=None), 224),
    "mobilenet_v2": (lambda: tvm.mobilenet_v2(weights=None), 224),
    "squeezenet1_1": (lambda: tvm.squeezenet1_1(weights=None), 224),
}
ALIASES = {"squeezenet": "squeezenet1_1", "inception": "inception_v3", "mobilenet": "mobilenet_v2",
           "vgg": "vgg16", "resnet": "resnet50"}


def default_dir() -> str:
    return os.environ.get("VISION_ZOO_DIR", os.path.join(os.path.expanduser("~"), ".cache", "vision-zoo"))


def _save(path: str, arr: np.ndarray) -> None:
    np.ascontiguousarray(arr, dtype="<f4").tofile(path)


def build(name: str, out_dir: str) -> dict:
    """Export one model with its test vectors into ``out_dir/name``; returns its index entry."""
    factory, size = MODELS[name]
    folder = os.path.join(out_dir, name)
    os.makedirs(folder, exist_ok=True)
    torch.manual_seed(SEED)
    model = factory().eval()
    path = os.path.join(folder, "model.onnx")
    t0 = time.perf_counter()
    with torch.no_grad():
        torch.onnx.export(model, (torch.zeros(1, 3, size, size),), path, input_names=["input"],
                          output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}},
                          opset_version=13, do_constant_folding=True)
    onnx.checker.check_model(path, full_check=True)   # path form: also works above 2 GB
    export_s = time.perf_counter() - t0

    gen = torch.Generator().manual_seed(SEED + 1)
    shapes = [(1, 3, size, size)] * CASES + [(2, 3, size, size)]
    cases, diffs = [], []
    for k, shape in enumerate(shapes):
        x = torch.randn(*shape, generator=gen)
        with torch.no_grad():
            y = model(x)
        _save(os.path.join(folder, f"input-{k}.bin"), x.numpy())
        _save(os.path.join(folder, f"output-{k}.bin"), y.numpy())
        cases.append({"input": f"input-{k}.bin", "input_shape": list(shape),
                      "output": f"output-{k}.bin", "output_shape": list(y.shape)})
        if ortcheck.available():
            got = ortcheck.run(path, {"input": x.numpy()})["output"]
            diffs.append(float(np.abs(got - y.numpy()).max()))
    entry = {
        "name": name, "file": "model.onnx", "sha256": sha256(path), "bytes": os.path.getsize(path),
        "opset": 13, "weights": f"random (torch.manual_seed({SEED})), not trained",
        "input": {"name": "input", "datatype": "FP32", "shape": [-1, 3, size, size], "layout": "NCHW"},
        "output": {"name": "output", "datatype": "FP32", "shape": [-1, 1000]},
        "dtype": "float32, little-endian, C order", "cases": cases,
        "parameters": sum(p.numel() for p in model.parameters()),
        "onnx_checker": "passed",
        "onnxruntime_max_abs_diff": max(diffs) if diffs else None,
    }
    write_json(os.path.join(folder, "index.json"), entry)
    log(f"[zoo] {name}: {entry['bytes'] / 1e6:.1f} MB, {entry['parameters']:,} parameters, "
        f"export+check {export_s:.1f} s" + (f", ONNX Runtime max abs diff {max(diffs):.2e}" if diffs else ""))
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(prog="make-zoo", description="Build the random-weight reference zoo.")
    parser.add_argument("models", nargs="*", help=f"models to build (default all): {', '.join(MODELS)}")
    parser.add_argument("--out", default=default_dir(), help="output folder (default %(default)s)")
    parser.add_argument("--list", action="store_true", help="list the models and exit")
    args = parser.parse_args()
    if args.list:
        for name, (_, size) in MODELS.items():
            print(f"{name}\t{size}x{size}")
        return
    names = [ALIASES.get(n, n) for n in args.models] or list(MODELS)
    unknown = [n for n in names if n not in MODELS]
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {list(MODELS)}")
    torch.set_num_threads(os.cpu_count() or 1)
    os.makedirs(args.out, exist_ok=True)
    index_path = os.path.join(args.out, "index.json")
    index = {}
    if os.path.exists(index_path):
        import json
        with open(index_path) as f:
            index = {m["name"]: m for m in json.load(f).get("models", [])}
    for name in names:
        t0 = time.perf_counter()
        index[name] = build(name, args.out)
        log(f"[zoo] {name} done in {time.perf_counter() - t0:.1f} s")
    write_json(index_path, {"models": [index[n] for n in MODELS if n in index]})
    log(f"[zoo] index: {index_path}")


if __name__ == "__main__":
    main()
