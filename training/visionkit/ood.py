"""Stage ``ood``: an out-of-domain score for the shipped image models, calibrated on held-out sets.

The demo models answer any image with one of their classes, however unlike their training data it
is (a cat photograph: ``fashion-cnn`` says "Bag"). This stage measures three established scores on
in-domain and out-of-domain sets, keeps the best one per model, calibrates its threshold at a true
positive rate of 95 % on held-out in-domain images and writes the result where the services read it:

* ``max_softmax``: 1 - max softmax(logits) (Hendrycks & Gimpel, ICLR 2017);
* ``energy``: -logsumexp(logits), temperature 1 (Liu et al., NeurIPS 2020);
* ``mahalanobis``: min over classes of (f - mu_c)^T P (f - mu_c) on the ``features`` output, with
  class means and one shared covariance from the training set, P its (ridged) inverse
  (Lee et al., NeurIPS 2018, without input pre-processing or layer ensembles);
* ``mahalanobis_ensemble`` (classifiers): the same distance on two layers, the model's input tensor
  (averaged over 4x4 blocks) and its ``features``, as in Lee et al.'s feature ensemble; each divided by its own scale (its
  distance at the same quantile of the calibration half, chosen so that the two together keep the
  true positive rate) and the larger taken. The input layer sees what the features lose: a
  photograph's background, which no Fashion-MNIST item has;
* ``joint_energy`` (caption encoder only, measured, multi-label): -sum softplus(presence)
  (Wang et al., NeurIPS 2021).

Higher is more out of domain for every score. Inputs are preprocessed as the services do for the
model's ``config.json`` (PIL decoding, RGB, BT.601 luma for GRAY, PIL bilinear stretch,
``(pixel/scale - mean)/std`` in float32), and the graphs run in ONNX Runtime (Node.js bridge), so
the kit's scores are the ones a service computes. Needs numpy, PIL, ONNX Runtime and, for the
digits set, scikit-learn; no PyTorch.

Outputs per model: the ``out_of_domain`` block of ``config.json``, ``ood.f32`` (Mahalanobis
statistics), ``fixtures/ood.json`` (+ a noise PNG), the "Out-of-domain score" section of
``MODEL_CARD.md``, and ``.work/metrics/ood.json`` (every figure).
"""
from __future__ import annotations

import glob
import math
import os
import re
from collections import OrderedDict

import numpy as np
from PIL import Image

from . import data, ortcheck, scenes
from .common import MODELS_DIR, REPO_DIR, SAMPLES_DIR, log, read_json, sha256, work_path, write_json

MODELS = ("fashion-cnn", "lenet", "caption-encoder")
CLASSIFIERS = ("fashion-cnn", "lenet")
SEED = 4242
TPR = 0.95
# The caption encoder separates its scenes from everything else almost perfectly (AUROC 0.9998), so
# its threshold can keep more of them; the others keep the usual 95 %.
TPR_OF = {"caption-encoder": 0.99, "lenet": 0.98}
#: Ridge added to the diagonal of the shared covariance, as a fraction of its mean variance
#: (trace / dimensions). Needed: ReLU features have dimensions that are (almost) always zero.
RIDGE = 1e-3
STATISTICS = "ood.f32"
INPUT_STATISTICS = "ood-input.f32"
# The ensemble's input layer is the input tensor averaged over 4x4 blocks (7x7 per channel for the
# 28x28 classifiers): better than the full 784 values (AUROC on digits 0.947 against 0.372, on the
# photographs 0.968 against 0.949) and 250 times cheaper for the services to score.
INPUT_POOL = 4
#: The three photographs every model must flag.
MUST_FLAG = ("chelsea.jpg", "person.jpg", "rocket.jpg")
SKIMAGE_DIR = "/usr/lib/python3/dist-packages/skimage/data"
#: Natural photographs (colour or grey) of python3-skimage that are not already in samples/photos
#: (astronaut, chelsea, coffee, rocket, motorcycle_left are; motorcycle_right is its stereo twin).
#: Left out as synthetic or not photographs: block, bw_text, checker_bilevel, chessboard_*, color,
#: foo3x5x4indexed, green_palette, horse (a silhouette), logo, palette_*, phantom, truncated.jpg.
SKIMAGE_PHOTOS = ("brick.png", "camera.png", "cell.png", "clock_motion.png", "coins.png", "grass.png",
                  "gravel.png", "hubble_deep_field.jpg", "ihc.png", "microaneurysms.png", "moon.png",
                  "page.png", "retina.jpg", "text.png")
NOISE_IMAGES = 250         # per noise kind
NOISE_SIZE = (128, 128)    # width, height of the noise images (neither model's input size)
TEST_SCENES = 2000         # caption encoder in-domain: calibration half + evaluation half
TRAIN_SCENES = 6000        # caption encoder Mahalanobis statistics (train-split items)
OOD_SCENES = 500           # generated scenes as out-of-domain inputs of the classifiers
CHUNK = 2000               # images per ONNX Runtime call
#: Scores each kind of model is measured with, in the order of the tables.
METHODS = {"classification": ("max_softmax", "energy", "mahalanobis", "mahalanobis_ensemble"),
           "caption-encoder": ("mahalanobis", "joint_energy")}
OUTPUT_OF = {"max_softmax": "logits", "energy": "logits", "mahalanobis": "features", "joint_energy": "presence",
             "mahalanobis_ensemble": "features"}
CITATION = {
    "max_softmax": "maximum softmax probability baseline (Hendrycks & Gimpel, ICLR 2017): 1 - max softmax(logits)",
    "energy": "energy score (Liu et al., NeurIPS 2020): -logsumexp(logits), temperature 1",
    "mahalanobis": ("Mahalanobis distance (Lee et al., NeurIPS 2018): min over classes of (f - mu_c)^T P (f - mu_c) "
                    "on `features`, class means and one shared covariance from the training set, P its ridged inverse"),
    "joint_energy": "joint energy for multi-label outputs (Wang et al., NeurIPS 2021): -sum softplus(presence)",
    "mahalanobis_ensemble": ("Mahalanobis distance on two layers, the input tensor and `features` (Lee et al., "
                             "NeurIPS 2018, feature ensemble): each divided by its scale, the larger taken"),
}
#: Fixture inputs (repository-relative), besides the three photographs and the noise PNG.
FIXTURE_ITEMS = ("samples/items/0-t-shirt-test19.png", "samples/items/5-sandal-test11-112.jpg",
                 "samples/items/8-bag-test18.png")
FIXTURE_SCENES = ("samples/scenes/scene-00.png", "samples/scenes/scene-01.png")
FIXTURE_NOISE = "noise-uniform-64x48.png"
SECTION = "## Out-of-domain score"


# -- scores ---------------------------------------------------------------------------------------

def _logsumexp(logits: np.ndarray) -> np.ndarray:
    x = np.asarray(logits, dtype=np.float64)
    m = x.max(axis=1)
    return m + np.log(np.exp(x - m[:, None]).sum(axis=1))


def max_softmax_score(logits: np.ndarray) -> np.ndarray:
    """1 - max softmax probability, per row (float64)."""
    x = np.asarray(logits, dtype=np.float64)
    return 1.0 - np.exp(x.max(axis=1) - _logsumexp(x))


def energy_score(logits: np.ndarray) -> np.ndarray:
    """Free energy at temperature 1: -logsumexp(logits), per row."""
    return -_logsumexp(logits)


def joint_energy_score(logits: np.ndarray) -> np.ndarray:
    """Multi-label joint energy: -sum over labels of log(1 + exp(l)), per row."""
    x = np.asarray(logits, dtype=np.float64)
    return -np.logaddexp(0.0, x).sum(axis=1)


def mahalanobis_fit(features: np.ndarray, labels: np.ndarray, classes: int, ridge: float = RIDGE):
    """Class means [classes, d] and precision [d, d] (float32, as stored) of a shared covariance.

    The covariance is the mean of the outer products of features minus their class mean (one
    matrix for all classes), plus ``ridge * trace / d`` on the diagonal.
    """
    f = np.asarray(features, dtype=np.float64)
    labels = np.asarray(labels)
    d = f.shape[1]
    means = np.zeros((classes, d))
    centred = np.empty_like(f)
    for c in range(classes):
        rows = labels == c
        if not rows.any():
            raise ValueError(f"class {c} has no training sample")
        means[c] = f[rows].mean(axis=0)
        centred[rows] = f[rows] - means[c]
    cov = centred.T @ centred / len(f)
    cov += np.eye(d) * (ridge * np.trace(cov) / d)
    precision = np.linalg.inv(cov)
    precision = (precision + precision.T) / 2
    return means.astype(np.float32), precision.astype(np.float32)


def mahalanobis_score(features: np.ndarray, means: np.ndarray, precision: np.ndarray) -> np.ndarray:
    """min over rows c of ``means`` of (f - mu_c)^T P (f - mu_c), computed in float64."""
    f = np.asarray(features, dtype=np.float64)
    p = np.asarray(precision, dtype=np.float64)
    best = np.full(len(f), np.inf)
    for mu in np.asarray(means, dtype=np.float64):
        diff = f - mu
        best = np.minimum(best, np.einsum("nd,nd->n", diff @ p, diff))
    return best


def write_statistics(path: str, means: np.ndarray, precision: np.ndarray) -> None:
    """``ood.f32``: little-endian float32, the means (row-major) then the precision (row-major)."""
    blob = np.concatenate([np.asarray(means, "<f4").ravel(), np.asarray(precision, "<f4").ravel()])
    with open(path, "wb") as f:
        f.write(blob.tobytes())


def read_statistics(path: str, classes: int, dimensions: int) -> tuple[np.ndarray, np.ndarray]:
    blob = np.fromfile(path, dtype="<f4")
    if blob.size != classes * dimensions + dimensions * dimensions:
        raise ValueError(f"{path}: {blob.size} floats, expected {classes} x {dimensions} + {dimensions}^2")
    split = classes * dimensions
    return blob[:split].reshape(classes, dimensions), blob[split:].reshape(dimensions, dimensions)


def threshold_at_tpr(scores: np.ndarray, tpr: float = TPR) -> float:
    """Threshold that keeps (score <= threshold) the smallest share >= ``tpr`` of ``scores``.

    With k = ceil(tpr * n) the k-th smallest score is kept and the threshold lies halfway to the
    next one, so values a little off in the last bits fall on the same side.
    """
    s = np.sort(np.asarray(scores, dtype=np.float64))
    k = min(len(s), max(1, math.ceil(round(tpr * len(s), 9))))
    if k == len(s):
        return float(s[-1])
    return float((s[k - 1] + s[k]) / 2)


def auroc(inside: np.ndarray, outside: np.ndarray) -> float:
    """Area under the ROC curve of separating ``outside`` (positive, higher score) from ``inside``.

    The Mann-Whitney statistic with average ranks for ties: P(out > in) + P(out == in) / 2.
    """
    a = np.asarray(inside, dtype=np.float64)
    b = np.asarray(outside, dtype=np.float64)
    both = np.concatenate([a, b])
    order = np.argsort(both, kind="mergesort")
    ranks = np.empty(len(both))
    sorted_scores = both[order]
    i = 0
    while i < len(both):  # average rank over each run of ties (ranks start at 1)
        j = i
        while j + 1 < len(both) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    rb = ranks[len(a):].sum()
    return float((rb - len(b) * (len(b) + 1) / 2) / (len(a) * len(b)))


# -- preprocessing, as the services do it ----------------------------------------------------------

def open_rgb(path: str) -> Image.Image:
    with Image.open(path) as img:
        return img.convert("RGB")


def preprocess(img: Image.Image, spec: dict) -> np.ndarray:
    """One image → the float32 [C, H, W] tensor of an input spec (colour, stretch, scale/mean/std)."""
    if spec["resize"]["policy"] != "stretch" or spec["layout"] != "NCHW":
        raise ValueError("only NCHW inputs with the stretch policy are handled here")
    img = img.convert("RGB")
    if spec["colour"] == "GRAY":
        img = img.convert("L")  # ITU-R BT.601 luma, as the services convert colour for GRAY models
    size = (spec["resize"]["width"], spec["resize"]["height"])
    if img.size != size:
        img = img.resize(size, Image.BILINEAR)
    px = np.asarray(img, dtype=np.uint8)
    px = px[:, :, None] if px.ndim == 2 else px
    if spec["colour"] == "BGR":
        px = px[:, :, ::-1]
    x = px.astype(np.float32) / np.float32(spec["scale"])
    x = (x - np.asarray(spec["mean"], dtype=np.float32)) / np.asarray(spec["std"], dtype=np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1))


def batch(images, spec: dict) -> np.ndarray:
    """A list of PIL images or uint8 arrays ([H,W] grey or [H,W,3] RGB) → float32 [N, C, H, W]."""
    return np.stack([preprocess(im if isinstance(im, Image.Image) else Image.fromarray(im), spec)
                     for im in images])


def infer(model: str, images, spec: dict) -> dict[str, np.ndarray]:
    """Every graph output for ``images``, preprocessed and run in chunks with ONNX Runtime."""
    parts: dict[str, list] = {}
    for i in range(0, len(images), CHUNK):
        tensor = batch(images[i:i + CHUNK], spec)
        out = ortcheck.run(model, {"image": tensor})
        out["_input"] = pooled(tensor, INPUT_POOL)
        for name, value in out.items():
            parts.setdefault(name, []).append(value)
    return {name: np.concatenate(v) for name, v in parts.items()}


# -- the sets ---------------------------------------------------------------------------------------

def rel(path: str) -> str:
    return os.path.relpath(path, REPO_DIR)


def photo_paths() -> list[str]:
    own = sorted(glob.glob(os.path.join(SAMPLES_DIR, "photos", "*.jpg")))
    extra = [os.path.join(SKIMAGE_DIR, n) for n in SKIMAGE_PHOTOS if os.path.exists(os.path.join(SKIMAGE_DIR, n))]
    return own + extra


def digits() -> list[np.ndarray]:
    """scikit-learn's 1,797 8x8 handwritten digits (0-16, white stroke on black) as 28x28 uint8.

    Kept white on black, like a Fashion-MNIST item (and MNIST as stored), and upscaled with PIL
    bilinear.
    """
    from sklearn.datasets import load_digits
    images = load_digits().images  # float64 [N,8,8], 0..16
    out = []
    for im in images:
        px = np.clip(np.rint(im * 255.0 / 16.0), 0, 255).astype(np.uint8)
        out.append(np.asarray(Image.fromarray(px).resize((28, 28), Image.BILINEAR)))
    return out


def noise(kind: str, count: int = NOISE_IMAGES, size=NOISE_SIZE, seed: int = SEED) -> list[np.ndarray]:
    """RGB noise images: ``uniform`` (0-255) or ``gaussian`` (mean 128, sd 64, clipped)."""
    rng = np.random.default_rng([seed, 1 if kind == "uniform" else 2])
    shape = (count, size[1], size[0], 3)
    if kind == "uniform":
        return list(rng.integers(0, 256, shape, dtype=np.uint8))
    return list(np.clip(np.rint(rng.normal(128.0, 64.0, shape)), 0, 255).astype(np.uint8))


def sample_items() -> list[str]:
    return sorted(p for p in glob.glob(os.path.join(SAMPLES_DIR, "items", "*")) if p.endswith((".png", ".jpg")))


def sample_scenes() -> list[str]:
    return sorted(glob.glob(os.path.join(SAMPLES_DIR, "scenes", "*.png")))


def split_halves(n: int, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """A seeded permutation of range(n) cut into a calibration half and an evaluation half."""
    perm = np.random.default_rng([seed, n]).permutation(n)
    return np.sort(perm[: n // 2]), np.sort(perm[n // 2:])


def in_domain(task: str) -> dict:
    """Training images (statistics) and the held-out in-domain images, split in two halves."""
    if task == "classification":
        train, test = data.load("train"), data.load("test")
        cal, ev = split_halves(len(test))
        return {"train": list(train.images), "train_labels": train.labels,
                "calibration": [test.images[i] for i in cal], "evaluation": [test.images[i] for i in ev],
                "describe": {"train": f"Fashion-MNIST training split ({len(train):,} images, their labels)",
                             "held_out": f"Fashion-MNIST test split ({len(test):,} images), seeded halves"}}
    gen_train = scenes.SceneGenerator("train", SEED)
    train_images, _ = gen_train.batch(0, TRAIN_SCENES)
    test_images, _ = scenes.SceneGenerator("test", SEED).batch(0, TEST_SCENES)
    cal, ev = split_halves(TEST_SCENES)
    return {"train": list(train_images), "train_labels": np.zeros(TRAIN_SCENES, dtype=np.int64),
            "calibration": [test_images[i] for i in cal], "evaluation": [test_images[i] for i in ev],
            "describe": {"train": f"{TRAIN_SCENES:,} caption scenes of training-split items "
                                  f"(SceneGenerator('train', {SEED}), not mirrored)",
                         "held_out": f"{TEST_SCENES:,} caption scenes of test-split items "
                                     f"(SceneGenerator('test', {SEED})), seeded halves"}}


def ood_sets(task: str) -> "OrderedDict[str, dict]":
    """Out-of-domain sets: name → {"images", "files" (paths or None), "describe", "pooled"}."""
    sets: OrderedDict[str, dict] = OrderedDict()
    photos = photo_paths()
    sets["photographs"] = {"images": [open_rgb(p) for p in photos], "files": [rel(p) for p in photos],
                           "describe": f"{len(photos)} real photographs: the 12 of `samples/photos/` and "
                                       f"{len(photos) - 12} more of `python3-skimage` (natural, colour or grey)"}
    d = digits()
    sets["digits"] = {"images": d, "describe": f"{len(d):,} handwritten digits (scikit-learn `load_digits`, 8x8 "
                                              f"upscaled to 28x28 bilinear, white on black)"}
    for kind in ("uniform", "gaussian"):
        what = "uniform 0-255" if kind == "uniform" else "Gaussian, mean 128, sd 64, clipped"
        sets[f"noise-{kind}"] = {"images": noise(kind),
                                 "describe": f"{NOISE_IMAGES} RGB noise images {NOISE_SIZE[0]}x{NOISE_SIZE[1]}, {what}"}
    if task == "classification":
        imgs, _ = scenes.SceneGenerator("test", SEED + 1).batch(0, OOD_SCENES)
        sets["scenes"] = {"images": list(imgs),
                          "describe": f"{OOD_SCENES} caption scenes (96x96 RGB, the caption encoder's inputs; "
                                      f"SceneGenerator('test', {SEED + 1}))"}
    else:
        test = data.load("test")
        idx = np.random.default_rng([SEED, 3]).choice(len(test), 500, replace=False)
        sets["items"] = {"images": [test.images[i] for i in np.sort(idx)], "pooled": False,
                         "describe": "500 single Fashion-MNIST test items stretched to the whole 96x96 frame "
                                     "(the classifiers' inputs; reported, not pooled)"}
    for s in sets.values():
        s.setdefault("files", None)
        s.setdefault("pooled", True)
    return sets


# -- measuring ---------------------------------------------------------------------------------------

def scores_of(outputs: dict, methods, stats) -> dict[str, np.ndarray]:
    """Each method's scores; ``stats`` holds the Mahalanobis statistics ("features", "input") and,
    once calibrated, the ensemble's two scales ("scales")."""
    out = {}
    for m in methods:
        if m == "max_softmax":
            out[m] = max_softmax_score(outputs["logits"])
        elif m == "energy":
            out[m] = energy_score(outputs["logits"])
        elif m == "joint_energy":
            out[m] = joint_energy_score(outputs["presence"])
        elif m == "mahalanobis":
            out[m] = mahalanobis_score(outputs["features"], *stats["features"])
        elif m == "mahalanobis_ensemble":
            out["_features"] = mahalanobis_score(outputs["features"], *stats["features"])
            out["_input"] = mahalanobis_score(outputs["_input"], *stats["input"])
            if "scales" in stats:
                out[m] = ensemble_score(out["_features"], out["_input"], stats["scales"])
    return out


def pooled(tensor: np.ndarray, k: int) -> np.ndarray:
    """[N, C, H, W] averaged over k x k blocks of each channel, flattened channel by channel (the
    services pool the input they fed the model the same way, in the same order)."""
    n, c, h, w = tensor.shape
    blocks = tensor[:, :, : h // k * k, : w // k * k].reshape(n, c, h // k, k, w // k, k)
    return blocks.mean(axis=(3, 5), dtype=np.float64).astype(np.float32).reshape(n, -1)


def ensemble_score(features: np.ndarray, inputs: np.ndarray, scales) -> np.ndarray:
    """The larger of the two layers' distances, each divided by its scale."""
    return np.maximum(features / scales[0], inputs / scales[1])


def ensemble_scales(features: np.ndarray, inputs: np.ndarray, tpr: float = TPR) -> tuple[float, float]:
    """Each layer's distance at the same quantile q of the calibration half, q chosen (bisection) so
    that the two together keep ``tpr`` of it."""
    lo, hi = tpr, 1.0
    for _ in range(60):
        q = (lo + hi) / 2
        scales = (float(np.quantile(features, q)), float(np.quantile(inputs, q)))
        if np.mean(ensemble_score(features, inputs, scales) <= 1.0) < tpr:
            lo = q
        else:
            hi = q
    return float(np.quantile(features, hi)), float(np.quantile(inputs, hi))


def rate(scores: np.ndarray, threshold: float, above: bool) -> float:
    s = np.asarray(scores)
    return float(np.mean(s > threshold if above else s <= threshold))


def choose(results: dict, photo_files: list[str]) -> tuple[str, str]:
    """The method with the highest pooled AUROC among those that flag all three photographs."""
    def flags_all(m):
        r = results[m]
        return all(r["files"][f]["out_of_domain"] for f in photo_files if f in r["files"])
    ranked = sorted(results, key=lambda m: -results[m]["auroc"]["pooled"])
    catching = [m for m in ranked if flags_all(m)]
    if catching:
        m = catching[0]
        why = (f"it has the highest pooled AUROC ({results[m]['auroc']['pooled']:.4f}) of the scores that flag "
               f"{', '.join(os.path.basename(f) for f in photo_files)}")
        if m != ranked[0]:
            why += f" ({ranked[0]} has a higher pooled AUROC but misses one of them)"
        return m, why
    m = ranked[0]
    return m, (f"it has the highest pooled AUROC ({results[m]['auroc']['pooled']:.4f}); none of the scores "
               f"flags all three photographs ({', '.join(os.path.basename(f) for f in photo_files)}) at this "
               f"true positive rate")


def measure_model(name: str) -> dict:
    vdir = os.path.join(MODELS_DIR, name, "1")
    model = os.path.join(vdir, "model.onnx")
    cfg = read_json(os.path.join(vdir, "config.json"))
    spec = cfg["inputs"][0]
    task = "classification" if cfg["task"] == "classification" else "caption-encoder"
    methods = METHODS[task]
    log(f"[ood] {name}: building sets")
    ind = in_domain(task)
    sets = ood_sets(task)
    classes = len(cfg["labels"]) if task == "classification" else 1

    log(f"[ood] {name}: training features ({len(ind['train']):,} images)")
    train_out = infer(model, ind["train"], spec)
    means, precision = mahalanobis_fit(train_out["features"], ind["train_labels"], classes)
    stats = {"features": (means, precision)}
    if "mahalanobis_ensemble" in methods:
        stats["input"] = mahalanobis_fit(train_out["_input"], ind["train_labels"], classes)
    del train_out

    log(f"[ood] {name}: scoring")
    cal_out = infer(model, ind["calibration"], spec)
    cal = scores_of(cal_out, methods, stats)
    tpr = TPR_OF.get(name, TPR)
    if "mahalanobis_ensemble" in methods:
        stats["scales"] = ensemble_scales(cal["_features"], cal["_input"], tpr)
        cal = scores_of(cal_out, methods, stats)
    ev = scores_of(infer(model, ind["evaluation"], spec), methods, stats)
    ood = {k: scores_of(infer(model, s["images"], spec), methods, stats) for k, s in sets.items()}
    named = OrderedDict()
    for group, paths in (("must_flag", [os.path.join(SAMPLES_DIR, "photos", f) for f in MUST_FLAG]),
                         ("items", sample_items()), ("scenes", sample_scenes())):
        for p in paths:
            named[rel(p)] = group
    file_scores = scores_of(infer(model, [open_rgb(os.path.join(REPO_DIR, f)) for f in named], spec), methods, stats)

    results = {}
    for m in methods:
        thr = threshold_at_tpr(cal[m], tpr)
        pooled = np.concatenate([ood[k][m] for k, s in sets.items() if s["pooled"]])
        results[m] = {
            "threshold": thr,
            "calibration_kept": rate(cal[m], thr, False),
            "evaluation_kept": rate(ev[m], thr, False),
            "auroc": {**{k: auroc(ev[m], ood[k][m]) for k in sets}, "pooled": auroc(ev[m], pooled)},
            "caught": {**{k: rate(ood[k][m], thr, True) for k in sets}, "pooled": rate(pooled, thr, True)},
            "files": {f: {"group": g, "score": float(file_scores[m][i]), "out_of_domain": bool(file_scores[m][i] > thr),
                          # share of the calibration half scoring at most this: flagged at any TPR below it
                          "in_domain_below": rate(cal[m], float(file_scores[m][i]), False)}
                      for i, (f, g) in enumerate(named.items())},
        }
    photos = [rel(os.path.join(SAMPLES_DIR, "photos", f)) for f in MUST_FLAG]
    chosen, why = choose(results, photos)
    log(f"[ood] {name}: " + "; ".join(f"{m} pooled AUROC {results[m]['auroc']['pooled']:.4f}" for m in methods)
        + f" -> {chosen}")
    per_photo = {}
    for k, s in sets.items():
        if s["files"]:
            per_photo = {f: float(v) for f, v in zip(s["files"], ood[k][chosen])}
    return {"name": name, "task": task, "methods": list(methods), "chosen": chosen, "why": why,
            "ridge": RIDGE, "classes": classes, "dimensions": int(means.shape[1]), "tpr": tpr, "seed": SEED,
            "model_sha256": cfg["sha256"],
            "sizes": {"train": len(ind["train"]), "calibration": len(ind["calibration"]),
                      "evaluation": len(ind["evaluation"]), **{k: len(s["images"]) for k, s in sets.items()}},
            "describe": {**ind["describe"], **{k: s["describe"] for k, s in sets.items()}},
            "pooled_sets": [k for k, s in sets.items() if s["pooled"]],
            "results": results, "photograph_scores": per_photo,
            "scales": list(stats.get("scales", ())), "input_dimensions": int(stats["input"][0].shape[1])
            if "input" in stats else None,
            "_stats": stats, "_spec": spec}


# -- outputs -------------------------------------------------------------------------------------------

def config_block(m: dict, digest: str | None, input_digest: str | None = None) -> dict:
    method = m["chosen"]
    block = {"method": method, "output": OUTPUT_OF[method]}
    if method in ("mahalanobis", "mahalanobis_ensemble"):
        block.update({"statistics": STATISTICS, "classes": m["classes"], "dimensions": m["dimensions"]})
    if method == "mahalanobis_ensemble":
        block["scale"] = m["scales"][0]
        block["input_layer"] = {"input": m["_spec"]["name"], "pool": INPUT_POOL, "statistics": INPUT_STATISTICS,
                                "classes": m["classes"], "dimensions": m["input_dimensions"],
                                "scale": m["scales"][1], "statistics_sha256": input_digest}
    block.update({"threshold": m["results"][method]["threshold"], "true_positive_rate": m["tpr"], "dead_letter": False})
    if digest:
        block["statistics_sha256"] = digest
    return block


def write_config(name: str, block: dict) -> None:
    """Put ``block`` as ``out_of_domain`` into config.json (after ``labels``), keeping every other key."""
    path = os.path.join(MODELS_DIR, name, "1", "config.json")
    cfg = read_json(path)
    out = OrderedDict()
    for k, v in cfg.items():
        if k == "out_of_domain":
            continue
        out[k] = v
        if k == "labels":
            out["out_of_domain"] = block
    if "out_of_domain" not in out:
        out["out_of_domain"] = block
    write_json(path, out)


def write_fixture(name: str, m: dict) -> dict:
    """``fixtures/ood.json``: a few inputs with the score and flag of the configured method."""
    vdir = os.path.join(MODELS_DIR, name, "1")
    fdir = os.path.join(vdir, "fixtures")
    os.makedirs(fdir, exist_ok=True)
    noise_png = os.path.join(fdir, FIXTURE_NOISE)
    px = np.random.default_rng([SEED, 9]).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    Image.fromarray(px).save(noise_png)
    files = [rel(os.path.join(SAMPLES_DIR, "photos", f)) for f in MUST_FLAG] + list(FIXTURE_ITEMS) + \
        list(FIXTURE_SCENES) + [rel(noise_png)]
    model = os.path.join(vdir, "model.onnx")
    outputs = infer(model, [open_rgb(os.path.join(REPO_DIR, f)) for f in files], m["_spec"])
    scores = scores_of(outputs, m["methods"], m["_stats"])
    method = m["chosen"]
    thr = m["results"][method]["threshold"]
    images = []
    for i, f in enumerate(files):
        s = float(scores[method][i])
        images.append({"file": f, "score": float(f"{s:.9g}"), "out_of_domain": bool(s > thr),
                       "scores": {k: float(f"{float(scores[k][i]):.9g}") for k in m["methods"]}})
    fixture = {"model": name, "version": 1, "method": method, "output": OUTPUT_OF[method], "threshold": thr,
               "relative_tolerance": 1e-3, "images": images}
    write_json(os.path.join(fdir, "ood.json"), fixture)
    return fixture


def _fmt_score(s: float) -> str:
    return f"{s:.4g}" if abs(s) < 1e5 else f"{s:.4e}"


def card_section(m: dict) -> str:
    """The "Out-of-domain score" section of a model card, from the saved measurements."""
    method, r = m["chosen"], m["results"][m["chosen"]]
    sets = list(m["results"][method]["auroc"])
    lines = [SECTION, "",
             f"`config.json` carries an `out_of_domain` block (format in `models/README.md`): a score that is "
             f"higher the less an image looks like this model's training data, and a threshold above which "
             f"the services mark a result as out of domain. Made by `training/make-models.sh ood`.", "",
             f"**Method: `{method}`**, the {CITATION[method]}. Chosen because {m['why']}.", ""]
    if method == "mahalanobis":
        what = ("its 10 class means" if m["classes"] > 1 else "the mean")
        lines += [f"Statistics (`{STATISTICS}`): {what} and the precision matrix of the "
                  f"{'shared ' if m['classes'] > 1 else ''}covariance of the {m['dimensions']}-d `features` on "
                  f"{m['describe']['train']}, ridge {m['ridge']:g} x mean variance added to the diagonal.", ""]
    lines += ["Sets:", "",
              "| set | images | what |", "|---|---|---|",
              f"| in-domain calibration | {m['sizes']['calibration']:,} | {m['describe']['held_out']}: threshold |",
              f"| in-domain evaluation | {m['sizes']['evaluation']:,} | the other half: the figures below |"]
    for k in sets:
        if k != "pooled":
            lines.append(f"| {k} | {m['sizes'][k]:,} | {m['describe'][k]} |")
    lines += ["", "AUROC (in-domain evaluation half against each set; pooled: "
              + ", ".join(m["pooled_sets"]) + "):", "",
              "| score | " + " | ".join(sets) + " |", "|---" * (len(sets) + 1) + "|"]
    for meth in m["methods"]:
        rr = m["results"][meth]
        mark = lambda s: f"**{s}**" if meth == method else s  # noqa: E731
        lines.append(f"| {mark(meth)} | " + " | ".join(mark(f"{rr['auroc'][k]:.4f}") for k in sets) + " |")
    lines += ["", f"At a true positive rate of {m['tpr']:.0%} on the calibration half (score <= threshold: in domain):",
              "", "| score | threshold | in-domain kept (evaluation) | " + " | ".join(f"{k} caught" for k in sets) + " |",
              "|---" * (len(sets) + 3) + "|"]
    for meth in m["methods"]:
        rr = m["results"][meth]
        mark = lambda s: f"**{s}**" if meth == method else s  # noqa: E731
        kept = f"{rr['evaluation_kept']:.2%}"
        lines.append(f"| {mark(meth)} | {mark(_fmt_score(rr['threshold']))} | {mark(kept)} | "
                     + " | ".join(mark(f"{rr['caught'][k]:.2%}") for k in sets) + " |")
    lines += ["", f"Served threshold: **{r['threshold']!r}** (`{method}`).", "",
              "The three photographs that must be flagged, every score (flagged = above that score's threshold; "
              "in-domain below = share of the calibration half scoring at most as much, so the photograph is "
              "flagged at any true positive rate under it):", "",
              "| file | " + " | ".join(m["methods"]) + " |", "|---" * (len(m["methods"]) + 1) + "|"]
    for f in r["files"]:
        if r["files"][f]["group"] != "must_flag":
            continue
        cells = []
        for meth in m["methods"]:
            v = m["results"][meth]["files"][f]
            cells.append(f"{_fmt_score(v['score'])} ({'flagged' if v['out_of_domain'] else 'not flagged'}; "
                         f"in-domain below {v['in_domain_below']:.1%})")
        lines.append(f"| `{f}` | " + " | ".join(cells) + " |")
    lines += ["",
              "Sample inputs (scores of the served method; flagged = out of domain):", "",
              "| file | score | flagged |", "|---|---|---|"]
    for f, v in r["files"].items():
        lines.append(f"| `{f}` | {_fmt_score(v['score'])} | {'yes' if v['out_of_domain'] else 'no'} |")
    lines += ["", "`fixtures/ood.json` holds the scores of a few of these inputs (and of a noise PNG) for the "
              "services' tests. The score only says how far an image is from the training data as the model "
              "sees it: a clothing photograph unlike Fashion-MNIST (not centred, dark on light) scores high too."]
    return "\n".join(lines) + "\n"


def replace_section(text: str, section: str) -> str:
    """``text`` with its out-of-domain section replaced by ``section`` (inserted before ``## Files``)."""
    pattern = re.compile(r"^" + re.escape(SECTION) + r"\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub("", text)
    marker = "\n## Files\n"
    if marker in text:
        head, tail = text.split(marker, 1)
        return head.rstrip() + "\n\n" + section.rstrip() + "\n" + marker + tail
    return text.rstrip() + "\n\n" + section


def saved_section(name: str) -> str | None:
    """The section from the last ``ood`` run, if it was measured on the model now in place."""
    path = work_path("metrics", "ood.json")
    cfg_path = os.path.join(MODELS_DIR, name, "1", "config.json")
    if not (os.path.exists(path) and os.path.exists(cfg_path)):
        return None
    m = read_json(path).get(name)
    if not m or m.get("model_sha256") != read_json(cfg_path).get("sha256"):
        return None
    return card_section(m)


def rewrite_sections() -> None:
    """Put the saved section back into every card it belongs to (``make-models.sh cards``)."""
    for name in MODELS:
        section = saved_section(name)
        card = os.path.join(MODELS_DIR, name, "1", "MODEL_CARD.md")
        if section and os.path.exists(card):
            with open(card) as f:
                text = f.read()
            with open(card, "w") as f:
                f.write(replace_section(text, section))


def ood_stage() -> dict:
    if not ortcheck.available():
        raise SystemExit("the ood stage needs ONNX Runtime (training/install.sh installs the Node.js binding)")
    saved = {}
    for name in MODELS:
        m = measure_model(name)
        vdir = os.path.join(MODELS_DIR, name, "1")
        stats_path = os.path.join(vdir, STATISTICS)
        input_path = os.path.join(vdir, INPUT_STATISTICS)
        digest = None
        input_digest = None
        if m["chosen"] in ("mahalanobis", "mahalanobis_ensemble"):
            write_statistics(stats_path, *m["_stats"]["features"])
            back = read_statistics(stats_path, m["classes"], m["dimensions"])
            assert all(np.array_equal(a, b) for a, b in zip(back, m["_stats"]["features"]))
            digest = sha256(stats_path)
        elif os.path.exists(stats_path):
            os.remove(stats_path)
        if m["chosen"] == "mahalanobis_ensemble":
            write_statistics(input_path, *m["_stats"]["input"])
            input_digest = sha256(input_path)
        elif os.path.exists(input_path):
            os.remove(input_path)
        write_config(name, config_block(m, digest, input_digest))
        fixture = write_fixture(name, m)
        m["fixture"] = fixture["images"]
        saved[name] = {k: v for k, v in m.items() if not k.startswith("_")}
        write_json(work_path("metrics", "ood.json"), saved)
        rewrite_sections()
        r = m["results"][m["chosen"]]
        log(f"[ood] {name}: {m['chosen']} threshold {r['threshold']:.6g}, in-domain kept "
            f"{r['evaluation_kept']:.2%}, pooled OOD caught {r['caught']['pooled']:.2%}")
    return saved
