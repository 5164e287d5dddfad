"""Training and evaluation of the two Fashion-MNIST classifiers."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, asdict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import data
from .common import log, setup_torch
from .models import FashionCNN, LeNet


@dataclass
class Recipe:
    """Hyper-parameters of one classifier run (written into the model card)."""
    name: str
    epochs: int
    batch_size: int
    optimizer: str          # "adam" | "sgd"
    max_lr: float
    weight_decay: float
    label_smoothing: float
    augment: bool           # random crop (zero padding 2) + horizontal flip
    seed: int

    def describe(self) -> dict:
        return asdict(self)


RECIPES = {
    "lenet": Recipe("lenet", epochs=20, batch_size=128, optimizer="adam", max_lr=0.01,
                    weight_decay=0.0, label_smoothing=0.0, augment=False, seed=1),
    "fashion-cnn": Recipe("fashion-cnn", epochs=12, batch_size=128, optimizer="sgd", max_lr=0.1,
                          weight_decay=5e-4, label_smoothing=0.1, augment=True, seed=2),
}


def build(name: str) -> nn.Module:
    return {"lenet": LeNet, "fashion-cnn": FashionCNN}[name]()


def normalise(images: torch.Tensor, mean: float, std: float) -> torch.Tensor:
    """uint8 [N,28,28] -> float [N,1,28,28] with ``(pixel/255 - mean)/std``."""
    return ((images.float() / 255.0 - mean) / std).unsqueeze(1)


def augment(images: torch.Tensor, gen: torch.Generator, pad: int = 2) -> torch.Tensor:
    """Random crop after zero padding by ``pad`` pixels, and horizontal flip with p=0.5.

    ``images``: uint8 [B,28,28]. Implemented with one gather so it costs little
    next to the network.
    """
    b, h, w = images.shape
    padded = F.pad(images, (pad, pad, pad, pad))
    oy = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
    ox = torch.randint(0, 2 * pad + 1, (b,), generator=gen)
    flip = torch.rand(b, generator=gen) < 0.5
    ar_h = torch.arange(h)
    ar_w = torch.arange(w)
    rows = oy[:, None] + ar_h[None, :]
    cols = ox[:, None] + torch.where(flip[:, None], (w - 1) - ar_w[None, :], ar_w[None, :])
    return padded[torch.arange(b)[:, None, None], rows[:, :, None], cols[:, None, :]]


@torch.no_grad()
def predict(model: nn.Module, images: np.ndarray, mean: float, std: float,
            batch: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """Logits and features for uint8 images [N,28,28]."""
    model.eval()
    logits, feats = [], []
    x = torch.from_numpy(images)
    for i in range(0, len(x), batch):
        lo, fe = model(normalise(x[i:i + batch], mean, std))
        logits.append(lo.numpy())
        feats.append(fe.numpy())
    return np.concatenate(logits), np.concatenate(feats)


def train(recipe: Recipe, eval_every: int = 1) -> tuple[nn.Module, dict]:
    """Train one classifier on the 60,000 training images and evaluate it on the 10,000 test images.

    Returns the model (eval mode) and a dict of metrics and timings.
    """
    setup_torch(recipe.seed)
    train_split, test_split = data.load("train"), data.load("test")
    mean, std = data.normalisation(train_split)
    model = build(recipe.name)
    gen = torch.Generator().manual_seed(recipe.seed)
    x_all = torch.from_numpy(train_split.images)
    y_all = torch.from_numpy(train_split.labels)
    steps_per_epoch = math.ceil(len(x_all) / recipe.batch_size)
    if recipe.optimizer == "adam":
        opt = torch.optim.Adam(model.parameters(), lr=recipe.max_lr, weight_decay=recipe.weight_decay)
    else:
        opt = torch.optim.SGD(model.parameters(), lr=recipe.max_lr, momentum=0.9, nesterov=True,
                              weight_decay=recipe.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.max_lr, epochs=recipe.epochs,
                                                steps_per_epoch=steps_per_epoch, pct_start=0.25)
    history = []
    start = time.perf_counter()
    for epoch in range(1, recipe.epochs + 1):
        model.train()
        t0 = time.perf_counter()
        perm = torch.randperm(len(x_all), generator=gen)
        total_loss, correct = 0.0, 0
        for i in range(steps_per_epoch):
            idx = perm[i * recipe.batch_size:(i + 1) * recipe.batch_size]
            xb, yb = x_all[idx], y_all[idx]
            if recipe.augment:
                xb = augment(xb, gen)
            logits, _ = model(normalise(xb, mean, std))
            loss = F.cross_entropy(logits, yb, label_smoothing=recipe.label_smoothing)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total_loss += loss.item() * len(idx)
            correct += (logits.argmax(1) == yb).sum().item()
        row = {"epoch": epoch, "loss": round(total_loss / len(x_all), 4),
               "train_acc": round(correct / len(x_all), 4),
               "seconds": round(time.perf_counter() - t0, 1)}
        if epoch % eval_every == 0 or epoch == recipe.epochs:
            logits, _ = predict(model, test_split.images, mean, std)
            row["test_acc"] = round(float((logits.argmax(1) == test_split.labels).mean()), 4)
        history.append(row)
        log(f"[{recipe.name}] " + " ".join(f"{k}={v}" for k, v in row.items()))
    train_seconds = time.perf_counter() - start
    model.eval()
    logits, _ = predict(model, test_split.images, mean, std)
    pred = logits.argmax(1)
    per_class = [float((pred[test_split.labels == c] == c).mean()) for c in range(10)]
    confusion = np.zeros((10, 10), dtype=np.int64)
    np.add.at(confusion, (test_split.labels, pred), 1)
    metrics = {
        "test_accuracy": float((pred == test_split.labels).mean()),
        "per_class_accuracy": per_class,
        "confusion": confusion.tolist(),
        "train_seconds": round(train_seconds, 1),
        "history": history,
        "mean": mean, "std": std,
        "parameters": sum(p.numel() for p in model.parameters()),
        "recipe": recipe.describe(),
    }
    return model, metrics
