"""Fashion-MNIST loading.

The kit reads the IDX files shipped by Debian's ``dataset-fashion-mnist`` package
directly with gzip + numpy, so nothing is ever downloaded. Another location can be
given with the ``FASHION_MNIST_DIR`` environment variable.
"""
from __future__ import annotations

import gzip
import os
from dataclasses import dataclass

import numpy as np

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"

#: Label names as published with the dataset (index = class id).
LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def data_dir() -> str:
    """Directory holding the four ``*-idx?-ubyte.gz`` files."""
    return os.environ.get("FASHION_MNIST_DIR", DEFAULT_DIR)


def _read_idx(path: str) -> np.ndarray:
    """Parse one (gzipped) IDX file into a numpy array of unsigned bytes."""
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = int.from_bytes(raw[0:4], "big")
    if magic >> 8 != 0x08:  # 0x08 = unsigned byte payload
        raise ValueError(f"{path}: unsupported IDX type {magic:#x}")
    ndim = magic & 0xFF
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(dims).copy()


@dataclass(frozen=True)
class Split:
    """One split: ``images`` uint8 [N,28,28] (light item on dark background), ``labels`` int64 [N]."""
    images: np.ndarray
    labels: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


_CACHE: dict = {}


def load(split: str) -> Split:
    """Load the ``train`` (60,000) or ``test`` (10,000) split."""
    if split not in _CACHE:
        img_name, lab_name = _FILES[split]
        images = _read_idx(os.path.join(data_dir(), img_name))
        labels = _read_idx(os.path.join(data_dir(), lab_name)).astype(np.int64)
        if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
            raise ValueError(f"unexpected shapes {images.shape} / {labels.shape}")
        _CACHE[split] = Split(images, labels)
    return _CACHE[split]


def normalisation(split: Split | None = None) -> tuple[float, float]:
    """Mean and standard deviation of ``pixel/255`` over every pixel of the train split.

    Returned rounded to 4 decimals: the rounded values are the ones written into the
    model configs and used for training, so serving and training agree exactly.
    """
    split = split or load("train")
    x = split.images.astype(np.float64) / 255.0
    return round(float(x.mean()), 4), round(float(x.std()), 4)
