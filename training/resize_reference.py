"""Reference outputs of torchvision/PIL resizing and normalising for the Java conformance tests.

Writes, for a few images and each resize policy the services support, the uint8 pixels that
PIL (via torchvision.transforms) produces, and what ToTensor + Normalize make of every pixel
value 0-255 for the shipped mean/std sets, so the Java tests can compare without Python.
Run: /usr/bin/python3 training/resize_reference.py OUT_DIR
"""
import json
import os
import sys

import numpy as np
from PIL import Image
from torchvision import transforms

SAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "samples")


def letterbox(img, w, h, pad):
    scale = min(w / img.width, h / img.height)
    rw, rh = max(1, round(img.width * scale)), max(1, round(img.height * scale))
    resized = img.resize((rw, rh), Image.BILINEAR)
    canvas = Image.new(img.mode, (w, h), pad if img.mode == "L" else (pad, pad, pad))
    canvas.paste(resized, ((w - rw) // 2, (h - rh) // 2))
    return canvas


def main(out):
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20261126)
    images = {
        "large-scene-637x411.png": Image.open(os.path.join(SAMPLES, "large-scene-637x411.png")),
        "random-333x517.png": Image.fromarray(rng.integers(0, 256, (517, 333, 3), dtype=np.uint8)),
        "smooth-150x97.png": Image.fromarray(
            (np.add.outer(np.linspace(0, 255, 97), np.linspace(0, 255, 150)) / 2).astype(np.uint8)).convert("RGB"),
        "tiny-20x15.png": Image.fromarray(rng.integers(0, 256, (15, 20, 3), dtype=np.uint8)),
    }
    cases = []
    for name, img in images.items():
        img = img.convert("RGB")
        img.save(os.path.join(out, name))
        policies = {
            "stretch-gray-28x28": (transforms.Compose([transforms.Grayscale(), transforms.Resize((28, 28))]),
                                   {"policy": "stretch", "width": 28, "height": 28}, "GRAY"),
            "stretch-rgb-96x96": (transforms.Resize((96, 96)), {"policy": "stretch", "width": 96, "height": 96}, "RGB"),
            "shorter-256-crop-224": (transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224)]),
                                     {"policy": "shorter-side-crop", "width": 224, "height": 224, "shorter_side": 256},
                                     "RGB"),
            "letterbox-128x128": (lambda im: letterbox(im, 128, 128, 0),
                                  {"policy": "letterbox", "width": 128, "height": 128, "pad_value": 0}, "RGB"),
        }
        for policy, (transform, resize, colour) in policies.items():
            result = np.asarray(transform(img), dtype=np.uint8)
            file = f"{os.path.splitext(name)[0]}--{policy}.bin"
            result.tofile(os.path.join(out, file))
            cases.append({"image": name, "policy": policy, "resize": resize, "colour": colour,
                          "shape": list(result.shape), "expected": file})
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump({"made_with": "PIL %s via torchvision.transforms (bilinear, antialiased)" % Image.__version__,
                   "cases": cases}, f, indent=1)
    print(f"wrote {len(cases)} cases to {out}")
    normalisation(out)


# (mean, std) sets: ImageNet (torchvision's classifiers, the zoo), the caption encoder's scenes and
# Fashion-MNIST (fashion-cnn, lenet).
NORMALISATIONS = {
    "imagenet": ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    "scenes": ([0.061, 0.059, 0.053], [0.168, 0.156, 0.161]),
    "fashion": ([0.286], [0.353]),
}


def normalisation(out):
    """ToTensor + Normalize of an image holding each pixel value 0-255 once per channel, as float32."""
    cases = []
    for name, (mean, std) in NORMALISATIONS.items():
        values = np.arange(256, dtype=np.uint8).reshape(16, 16)
        img = Image.fromarray(values) if len(mean) == 1 else Image.fromarray(np.stack([values] * 3, axis=-1))
        tensor = transforms.Normalize(mean, std)(transforms.ToTensor()(img))
        file = f"normalise-{name}.bin"
        tensor.numpy().astype("<f4").tofile(os.path.join(out, file))
        cases.append({"mean": mean, "std": std, "scale": 255.0, "shape": list(tensor.shape), "expected": file})
    with open(os.path.join(out, "normalisation.json"), "w") as f:
        json.dump({"made_with": "torchvision.transforms ToTensor + Normalize (float32)", "cases": cases}, f, indent=1)
    print(f"wrote {len(cases)} normalisation cases to {out}")


if __name__ == "__main__":
    main(sys.argv[1])
