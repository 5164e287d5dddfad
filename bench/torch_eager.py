"""PyTorch eager reference for bench/scoring.sh: the same architecture as the served model, run
with torch.no_grad() in eval mode on random inputs, printed as one JSON line.

  /usr/bin/python3 bench/torch_eager.py --model resnet50 --batch 8 --seconds 10 [--threads N]

--model is a reference-zoo name (torchvision architecture, random weights: speed does not depend
on the weight values) or fashion-cnn / lenet (the project's own networks in training/visionkit).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "training"))


def build(name: str) -> tuple[torch.nn.Module, tuple[int, ...]]:
    if name in ("fashion-cnn", "lenet"):
        from visionkit import models
        net = models.FashionCNN() if name == "fashion-cnn" else models.LeNet()
        return net, (1, 28, 28)
    from visionkit import zoo
    factory, size = zoo.MODELS[zoo.ALIASES.get(name, name)]
    return factory(), (3, size, size)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    net, row = build(args.model)
    net = net.eval()
    x = torch.randn(args.batch, *row)
    latencies = []
    with torch.no_grad():
        for _ in range(3):
            net(x)
        start = time.perf_counter()
        end = start + args.seconds
        while time.perf_counter() < end:
            t = time.perf_counter()
            net(x)
            latencies.append((time.perf_counter() - t) * 1000)
        elapsed = time.perf_counter() - start
    latencies.sort()

    def pct(p: int) -> float:
        return latencies[min(len(latencies) - 1, max(0, -(-p * len(latencies) // 100) - 1))]

    print(json.dumps({"images_per_second": len(latencies) * args.batch / elapsed, "p50_ms": pct(50),
                      "p99_ms": pct(99), "torch": torch.__version__, "threads": args.threads}))


if __name__ == "__main__":
    main()
