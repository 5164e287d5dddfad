"""ONNX export and verification.

Every graph is exported with opset :data:`OPSET`, a dynamic batch dimension, checked
with ``onnx.checker`` (full check, with shape inference), and then run with ONNX
Runtime (see :mod:`ortcheck`) on real inputs to compare against PyTorch.
"""
from __future__ import annotations

import os

import numpy as np
import onnx
import torch

from . import ortcheck
from .common import log

OPSET = 13


def export(module: torch.nn.Module, args: tuple, path: str, input_names: list[str],
           output_names: list[str]) -> dict:
    """Export ``module`` (eval mode) with every first dimension dynamic; return the checker result."""
    module.eval()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    dynamic = {n: {0: "batch"} for n in input_names + output_names}
    with torch.no_grad():
        torch.onnx.export(module, args, path, input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic, opset_version=OPSET, do_constant_folding=True,
                          export_params=True)
    model = onnx.load(path)
    onnx.checker.check_model(model, full_check=True)
    log(f"    onnx.checker: OK ({os.path.basename(os.path.dirname(os.path.dirname(path)))}, "
        f"opset {OPSET}, {os.path.getsize(path) / 1e6:.2f} MB)")
    return {"checker": "passed (onnx.checker.check_model, full_check=True)", "opset": OPSET,
            "onnx_version": onnx.__version__, "ir_version": model.ir_version}


def compare(path: str, inputs: dict[str, np.ndarray], reference: dict[str, np.ndarray]) -> dict:
    """Run the ONNX graph with ONNX Runtime and report the max abs difference per output.

    ``reference`` holds PyTorch's outputs for the same ``inputs``. Without ONNX
    Runtime the comparison is skipped and reported as such.
    """
    if not ortcheck.available():
        log("    ONNX Runtime not installed (run training/install.sh): runtime comparison skipped")
        return {"runtime": None}
    got = ortcheck.run(path, inputs)
    diffs = {}
    for name, ref in reference.items():
        if got[name].shape != ref.shape:
            raise AssertionError(f"{name}: ONNX shape {got[name].shape} != PyTorch {ref.shape}")
        diffs[name] = float(np.max(np.abs(got[name].astype(np.float64) - ref.astype(np.float64))))
    batch = next(iter(inputs.values())).shape[0]
    log(f"    ONNX Runtime vs PyTorch on a batch of {batch}: max abs diff " +
        ", ".join(f"{k}={v:.2e}" for k, v in diffs.items()))
    worst = max(diffs.values())
    if worst > 1e-3:
        raise AssertionError(f"ONNX Runtime and PyTorch disagree: {diffs}")
    return {"runtime": ortcheck.version(), "batch": batch, "max_abs_diff": diffs}
