"""Model repository entries: ``config.json`` and ``MODEL_CARD.md`` per model version.

The config schema is the one documented in ``models/README.md`` (parsed by the Java
services). Cards are written from the metrics measured in the run that produced the
model, never by hand.
"""
from __future__ import annotations

import datetime
import json
import os
import platform

import torch

from . import data
from .common import MODELS_DIR, sha256, write_json

BATCHING = {"max_batch_size": 64, "max_queue_delay_us": 0, "max_queue_size": 1024}
# The decoder's beam steps arrive together, so a short window fills its batches; image models run
# what is queued at once (a full batch never waits).
DECODER_QUEUE_DELAY_US = 2000
EXECUTION = {"provider": "auto", "require_cuda": False}
# Batches run at once per model (execution.instances), chosen by bench/scoring.sh: the small image
# models score more on shared cores with two (docs/performance.md); the others keep one.
INSTANCES = {"fashion-cnn": 2, "caption-encoder": 2}


def version_dir(name: str, version: int = 1) -> str:
    return os.path.join(MODELS_DIR, name, str(version))


def model_path(name: str, version: int = 1) -> str:
    return os.path.join(version_dir(name, version), "model.onnx")


def _base(name: str, task: str, version: int) -> dict:
    return {"name": name, "version": version, "platform": "onnxruntime_onnx", "file": "model.onnx",
            "task": task}


def classifier_config(name: str, feature_dim: int, mean: float, std: float, version: int = 1) -> dict:
    cfg = _base(name, "classification", version)
    cfg["inputs"] = [{
        "name": "image", "datatype": "FP32", "shape": [-1, 1, 28, 28], "layout": "NCHW", "colour": "GRAY",
        "resize": {"policy": "stretch", "width": 28, "height": 28},
        "scale": 255.0, "mean": [mean], "std": [std], "accepts_uint8": True,
    }]
    cfg["outputs"] = [
        {"name": "logits", "datatype": "FP32", "shape": [-1, 10], "role": "logits"},
        {"name": "features", "datatype": "FP32", "shape": [-1, feature_dim], "role": "features"},
    ]
    cfg["labels"] = list(data.LABELS)
    return _finish(cfg, name, version)


def encoder_config(name: str, feature_dim: int, mean: list, std: list, version: int = 1) -> dict:
    cfg = _base(name, "caption-encoder", version)
    cfg["inputs"] = [{
        "name": "image", "datatype": "FP32", "shape": [-1, 3, 96, 96], "layout": "NCHW", "colour": "RGB",
        "resize": {"policy": "stretch", "width": 96, "height": 96},
        "scale": 255.0, "mean": mean, "std": std, "accepts_uint8": True,
    }]
    cfg["outputs"] = [
        {"name": "features", "datatype": "FP32", "shape": [-1, feature_dim], "role": "features"},
        {"name": "presence", "datatype": "FP32", "shape": [-1, 10], "role": "presence"},
    ]
    cfg["labels"] = list(data.LABELS)
    return _finish(cfg, name, version)


def decoder_config(name: str, vocab_size: int, feature_dim: int, hidden: int, encoder: str,
                   version: int = 1) -> dict:
    cfg = _base(name, "caption-decoder", version)
    cfg["inputs"] = [
        {"name": "tokens", "datatype": "INT64", "shape": [-1]},
        {"name": "features", "datatype": "FP32", "shape": [-1, feature_dim]},
        {"name": "h", "datatype": "FP32", "shape": [-1, hidden]},
        {"name": "c", "datatype": "FP32", "shape": [-1, hidden]},
    ]
    cfg["outputs"] = [
        {"name": "logits", "datatype": "FP32", "shape": [-1, vocab_size], "role": "logits"},
        {"name": "h_out", "datatype": "FP32", "shape": [-1, hidden], "role": "state"},
        {"name": "c_out", "datatype": "FP32", "shape": [-1, hidden], "role": "state"},
    ]
    cfg["vocab"] = "vocab.json"
    cfg["encoder"] = encoder
    return _finish(cfg, name, version, queue_delay_us=DECODER_QUEUE_DELAY_US)


def _finish(cfg: dict, name: str, version: int, queue_delay_us: int | None = None) -> dict:
    cfg["batching"] = dict(BATCHING)
    if queue_delay_us is not None:
        cfg["batching"]["max_queue_delay_us"] = queue_delay_us
    cfg["execution"] = dict(EXECUTION)
    if name in INSTANCES:
        cfg["execution"]["instances"] = INSTANCES[name]
    cfg["sha256"] = sha256(model_path(name, version))
    path = os.path.join(version_dir(name, version), "config.json")
    # The out-of-domain calibration (stage `ood`) stays while the graph is byte for byte the same.
    old = json.load(open(path)) if os.path.exists(path) else {}
    if old.get("out_of_domain") and old.get("sha256") == cfg["sha256"]:
        cfg = {k: v for k, v in cfg.items() if k != "sha256"}
        cfg = {**{k: v for k, v in cfg.items() if k not in ("batching", "execution")},
               "out_of_domain": old["out_of_domain"], "batching": cfg["batching"], "execution": cfg["execution"],
               "sha256": old["sha256"]}
    write_json(path, cfg)
    return cfg


def environment() -> str:
    return (f"Python {platform.python_version()}, PyTorch {torch.__version__}, "
            f"{os.cpu_count()} CPU threads, {platform.machine()}")


def pct(x: float) -> str:
    return f"{100 * x:.2f}%"


def io_table(cfg: dict) -> str:
    rows = ["| direction | name | datatype | shape | role |", "|---|---|---|---|---|"]
    for spec in cfg["inputs"]:
        rows.append(f"| input | `{spec['name']}` | {spec['datatype']} | {spec['shape']} | |")
    for spec in cfg["outputs"]:
        rows.append(f"| output | `{spec['name']}` | {spec['datatype']} | {spec['shape']} | {spec['role']} |")
    return "\n".join(rows)


def verification_text(check: dict, compare: dict) -> str:
    lines = [f"- `onnx.checker`: {check['checker']}; opset {check['opset']}, IR version {check['ir_version']}, "
             f"onnx {check['onnx_version']}."]
    if compare.get("runtime"):
        diffs = ", ".join(f"`{k}` {v:.2e}" for k, v in compare["max_abs_diff"].items())
        lines.append(f"- ONNX Runtime ({compare['runtime']}) vs PyTorch on a batch of {compare['batch']}: "
                     f"max abs difference {diffs}.")
    else:
        lines.append("- ONNX Runtime was not installed when this card was written: no runtime comparison.")
    return "\n".join(lines)


def write_card(name: str, body: str, version: int = 1) -> None:
    path = os.path.join(version_dir(name, version), "MODEL_CARD.md")
    cfg = json.load(open(os.path.join(version_dir(name, version), "config.json")))
    size = os.path.getsize(model_path(name, version))
    footer = (f"\n## Files\n\n- `model.onnx`: {size:,} bytes, sha256 `{cfg['sha256']}`\n"
              f"- `config.json`: serving configuration (see `models/README.md`)\n"
              f"\n_Generated by `training/make-models.sh` on {datetime.date.today().isoformat()} "
              f"({environment()})._\n")
    from .ood import replace_section, saved_section
    section = saved_section(name)  # the last `ood` run's section, if measured on this very model
    if section:
        body = replace_section(body, section)
    with open(path, "w") as f:
        f.write(body.rstrip() + "\n" + footer)
