"""Sample inputs for the services' tests and demos (written to ``samples/``).

Everything is made from Fashion-MNIST *test* items (never seen in training):

* ``items/``: one 28x28 PNG per class (exact dataset pixels) and a few 112x112 JPEG
  upscales; ``expected.json`` holds the classifiers' outputs on the PNGs;
* ``scenes/``: caption scenes (96x96 PNG, written by the caption stage together with the
  decoder fixture) plus two 192x192 JPEG scenes;
* two larger RGB images of odd sizes (637x411 PNG, 1023x769 JPEG) with a textured
  background, to exercise resizing;
* ``video.mp4``: 20 s, 25 fps, 320x240, H.264 yuv420p, five 4-second segments each
  showing one item filling most of the frame; ``video-schedule.json`` says which.
"""
from __future__ import annotations

import glob
import os
import subprocess

import numpy as np
import torch
from PIL import Image

from . import classifier, data, ortcheck, scenes
from .cards import model_path
from .common import SAMPLES_DIR, log, read_json, work_path, write_json
from .models import FashionCNN, LeNet

VIDEO_FPS = 25
VIDEO_SIZE = (320, 240)
SEGMENT_SECONDS = 4
VIDEO_CLASSES = [9, 1, 8, 7, 3]      # ankle boot, trouser, bag, sneaker, dress
JPEG_CLASSES = [0, 3, 5, 8]
EXTRA_SCENE_SEED, EXTRA_SCENES = 4242, 2


def _nth_of_class(test: data.Split, label: int, n: int) -> int:
    return int(np.flatnonzero(test.labels == label)[n])


def _rel(path: str) -> str:
    return os.path.relpath(path, SAMPLES_DIR)


def _texture(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A dark, smoothly varying background texture (float RGB in 0..255)."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    base = 18 + 10 * np.sin(xx / 23.0) * np.cos(yy / 31.0) + 6 * np.sin((xx + yy) / 11.0)
    tex = np.repeat(base[:, :, None], 3, axis=2) * np.array([1.0, 0.9, 1.15], dtype=np.float32)
    return tex + rng.normal(0, 3.0, size=tex.shape).astype(np.float32)


def _composite(fg: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Items are light on black: keep the brighter of item and texture per pixel."""
    return np.clip(np.rint(np.maximum(fg, bg)), 0, 255).astype(np.uint8)


def _expected_outputs(images: np.ndarray) -> dict:
    """Outputs of the two classifiers on uint8 [N,28,28] (ONNX Runtime if installed, else PyTorch)."""
    out = {}
    for name, cls in (("lenet", LeNet), ("fashion-cnn", FashionCNN)):
        if not os.path.exists(model_path(name)):
            log(f"    {name} not built yet: no expected outputs for it")
            continue
        cfg = read_json(os.path.join(os.path.dirname(model_path(name)), "config.json"))
        mean, std = cfg["inputs"][0]["mean"][0], cfg["inputs"][0]["std"][0]
        x = classifier.normalise(torch.from_numpy(images), mean, std).numpy()
        if ortcheck.available():
            logits = ortcheck.run(model_path(name), {"image": x})["logits"]
            how = ortcheck.version()
        else:
            model = cls()
            model.load_state_dict(torch.load(work_path("checkpoints", f"{name}.pt")))
            logits = classifier.predict(model, images, mean, std)[0]
            how = "PyTorch"
        out[name] = {"computed_with": how, "logits": logits.round(5).tolist(),
                     "top1": logits.argmax(1).tolist()}
    return out


def write_items(test: data.Split, index: list) -> None:
    os.makedirs(os.path.join(SAMPLES_DIR, "items"), exist_ok=True)
    picks = [_nth_of_class(test, c, 0) for c in range(10)]
    for c, i in enumerate(picks):
        path = os.path.join(SAMPLES_DIR, "items", f"{c}-{scenes.SINGULAR[c]}-test{i}.png")
        Image.fromarray(test.images[i]).save(path, optimize=True)
        index.append({"file": _rel(path), "kind": "item", "format": "PNG", "size": [28, 28], "mode": "L",
                      "test_index": i, "label": c, "class": data.LABELS[c]})
    expected = _expected_outputs(test.images[picks])
    write_json(os.path.join(SAMPLES_DIR, "items", "expected.json"), {
        "note": "Outputs for the 28x28 PNG items above, preprocessed as each model's config.json says.",
        "files": [e["file"] for e in index if e["format"] == "PNG" and e["kind"] == "item"],
        "labels": [int(test.labels[i]) for i in picks],
        **expected})
    for c in JPEG_CLASSES:
        i = _nth_of_class(test, c, 1)
        path = os.path.join(SAMPLES_DIR, "items", f"{c}-{scenes.SINGULAR[c]}-test{i}-112.jpg")
        Image.fromarray(test.images[i]).resize((112, 112), Image.BICUBIC).save(path, quality=90)
        index.append({"file": _rel(path), "kind": "item", "format": "JPEG", "size": [112, 112], "mode": "L",
                      "test_index": i, "label": c, "class": data.LABELS[c]})


def write_scenes(index: list) -> None:
    os.makedirs(os.path.join(SAMPLES_DIR, "scenes"), exist_ok=True)
    listing = os.path.join(SAMPLES_DIR, "scenes", "scenes.json")
    if os.path.exists(listing):  # written by the caption stage with the decoder fixture
        for entry in read_json(listing)["scenes"]:
            index.append({"file": "scenes/" + entry["file"], "kind": "scene", "format": "PNG", "size": [96, 96],
                          "mode": "RGB", "scene_seed": entry["scene_seed"], "scene_index": entry["scene_index"],
                          "caption": entry["caption"]})
    gen = scenes.SceneGenerator("test", EXTRA_SCENE_SEED)
    for k in range(EXTRA_SCENES):
        sc = gen.scene(k)
        path = os.path.join(SAMPLES_DIR, "scenes", f"extra-{k}-192.jpg")
        Image.fromarray(sc.image).resize((192, 192), Image.BICUBIC).save(path, quality=90)
        index.append({"file": _rel(path), "kind": "scene", "format": "JPEG", "size": [192, 192], "mode": "RGB",
                      "scene_seed": EXTRA_SCENE_SEED, "scene_index": k, "caption": sc.caption})


def write_large(test: data.Split, index: list) -> None:
    rng = np.random.default_rng(77)
    # 637x411: a test scene stretched to an odd, non-square size over a texture.
    sc = scenes.SceneGenerator("test", EXTRA_SCENE_SEED).scene(EXTRA_SCENES)
    w, h = 637, 411
    fg = np.asarray(Image.fromarray(sc.image).resize((w, h), Image.BICUBIC), dtype=np.float32)
    path = os.path.join(SAMPLES_DIR, f"large-scene-{w}x{h}.png")
    Image.fromarray(_composite(fg, _texture(rng, h, w))).save(path, optimize=True)
    index.append({"file": _rel(path), "kind": "large", "format": "PNG", "size": [w, h], "mode": "RGB",
                  "scene_seed": EXTRA_SCENE_SEED, "scene_index": EXTRA_SCENES, "caption": sc.caption})
    # 1023x769: one test item (orange) filling most of the height, off-centre, over a texture.
    w, h = 1023, 769
    i = _nth_of_class(test, 7, 2)
    item = np.asarray(Image.fromarray(test.images[i]).resize((640, 640), Image.BICUBIC), dtype=np.float32)
    fg = np.zeros((h, w, 3), dtype=np.float32)
    fg[60:700, 300:940] = item[:, :, None] * (np.array(scenes.COLOURS["orange"], dtype=np.float32) / 255.0)
    path = os.path.join(SAMPLES_DIR, f"large-item-{w}x{h}.jpg")
    Image.fromarray(_composite(fg, _texture(rng, h, w))).save(path, quality=88)
    index.append({"file": _rel(path), "kind": "large", "format": "JPEG", "size": [w, h], "mode": "RGB",
                  "test_index": i, "label": 7, "class": data.LABELS[7], "colour": "orange"})


def write_video(test: data.Split, index: list) -> dict:
    w, h = VIDEO_SIZE
    frames_per_segment = VIDEO_FPS * SEGMENT_SECONDS
    segments, frames = [], []
    for s, c in enumerate(VIDEO_CLASSES):
        i = _nth_of_class(test, c, 3)
        item = Image.fromarray(test.images[i]).resize((210, 210), Image.BICUBIC)
        start = s * frames_per_segment
        for f in range(frames_per_segment):
            frame = Image.new("L", (w, h), 0)
            dx = int(round(12 * np.sin(2 * np.pi * f / frames_per_segment)))   # slow side-to-side drift
            frame.paste(item, ((w - 210) // 2 + dx, (h - 210) // 2))
            frames.append(np.asarray(frame.convert("RGB")))
        segments.append({"segment": s, "test_index": i, "class_index": c, "class_name": data.LABELS[c],
                         "start_s": start / VIDEO_FPS, "end_s": (start + frames_per_segment) / VIDEO_FPS,
                         "start_frame": start, "end_frame": start + frames_per_segment})
    path = os.path.join(SAMPLES_DIR, "video.mp4")
    cmd = ["ffmpeg", "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
           "-r", str(VIDEO_FPS), "-i", "-", "-c:v", "libx264", "-preset", "medium", "-crf", "23",
           "-pix_fmt", "yuv420p", "-g", str(VIDEO_FPS * 2), "-threads", "1", "-movflags", "+faststart",
           "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata", "-1", path]
    subprocess.run(cmd, input=np.stack(frames).tobytes(), check=True)
    schedule = {"file": "video.mp4", "fps": VIDEO_FPS, "width": w, "height": h,
                "frames": len(frames), "duration_s": len(frames) / VIDEO_FPS, "codec": "H.264 (libx264), yuv420p",
                "note": "end_s/end_frame are exclusive; items are Fashion-MNIST test images, light on black",
                "segments": segments}
    write_json(os.path.join(SAMPLES_DIR, "video-schedule.json"), schedule)
    index.append({"file": "video.mp4", "kind": "video", "format": "MP4", "size": [w, h], "mode": "RGB",
                  "schedule": "video-schedule.json"})
    return schedule


def write_readme(index: list) -> None:
    rows = []
    for e in index:
        what = e.get("class") or e.get("caption") or ""
        if e["kind"] == "video":
            what = "five 4 s segments, one test item each (see video-schedule.json)"
        src = (f"test item {e['test_index']}" if "test_index" in e else
               f"test scene seed {e['scene_seed']} #{e['scene_index']}" if "scene_seed" in e else "")
        rows.append(f"| `{e['file']}` | {e['format']} | {e['size'][0]}x{e['size'][1]} {e['mode']} | {src} | {what} |")
    text = f"""# Samples

Inputs for the services' tests and demos, made by `training/make-models.sh samples` (and the
`caption` stage for `scenes/scene-NN.png`) from **Fashion-MNIST test items only** (never seen
in training). Items are light on a dark background, as in the dataset. `index.json` lists
every file with its source and ground truth.

| file | format | size | source | ground truth |
|---|---|---|---|---|
{chr(10).join(rows)}

Other files:

- `items/expected.json`: `lenet` and `fashion-cnn` logits and top-1 class for the ten 28x28 PNG
  items, preprocessed exactly as their `config.json` says (computed with ONNX Runtime).
- `scenes/scenes.json`: the caption scenes with their items (cell, class, colour, box) and reference caption;
  `models/caption-decoder/1/fixtures/greedy.json` has the expected encoder features, greedy and
  beam-search captions for them.
- `video-schedule.json`: for `video.mp4` ({VIDEO_SIZE[0]}x{VIDEO_SIZE[1]}, {VIDEO_FPS} fps, H.264 yuv420p), each
  segment's test item, class index and name, start/end in seconds and frames (end exclusive).
- The two `large-*` images have odd sizes and a textured background to exercise resizing;
  their ground truth is the scene caption / the item class.
"""
    with open(os.path.join(SAMPLES_DIR, "README.md"), "w") as f:
        f.write(text)


def samples_stage() -> None:
    test = data.load("test")
    os.makedirs(SAMPLES_DIR, exist_ok=True)
    for old in glob.glob(os.path.join(SAMPLES_DIR, "items", "*")) + glob.glob(os.path.join(SAMPLES_DIR, "large-*")) \
            + glob.glob(os.path.join(SAMPLES_DIR, "scenes", "extra-*")):
        os.remove(old)
    index: list = []
    write_items(test, index)
    write_scenes(index)
    write_large(test, index)
    write_video(test, index)
    write_json(os.path.join(SAMPLES_DIR, "index.json"), {"files": index})
    write_readme(index)
    total = sum(os.path.getsize(os.path.join(SAMPLES_DIR, e["file"])) for e in index)
    log(f"[samples] {len(index)} files, {total / 1e6:.2f} MB")
