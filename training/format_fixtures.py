"""Image-format fixtures for the Java decoder tests, with PIL's decoded pixels as reference.

Writes one small image per format variant the services must read (CMYK and progressive and
greyscale JPEG, EXIF-rotated JPEG, 16-bit, palette and alpha PNG, lossy and lossless WebP,
animated GIF, BMP) and, for each, the RGB pixels PIL decodes (EXIF orientation applied, alpha
composited over black), so the Java test needs no Python.
Run: /usr/bin/python3 training/format_fixtures.py OUT_DIR
"""
import json
import os
import sys

import numpy as np
from PIL import Image, ImageOps


def base(w=64, h=48):
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([x * 255 // (w - 1), y * 255 // (h - 1), (x + y) * 255 // (w + h - 2)], axis=-1)
    rgb[h // 4:h // 2, w // 4:w // 2] = [250, 40, 30]
    return Image.fromarray(rgb.astype(np.uint8), "RGB")


def reference(path):
    img = ImageOps.exif_transpose(Image.open(path))
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        black = Image.new("RGBA", img.size, (0, 0, 0, 255))
        img = Image.alpha_composite(black, img)
    if img.mode in ("I;16", "I"):
        img = Image.fromarray((np.asarray(img, dtype=np.uint16) >> 8).astype(np.uint8), "L")
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


def main(out):
    os.makedirs(out, exist_ok=True)
    img = base()
    files = {}
    img.convert("CMYK").save(os.path.join(out, "cmyk.jpg"), quality=95); files["cmyk.jpg"] = "jpeg"
    img.save(os.path.join(out, "progressive.jpg"), quality=95, progressive=True); files["progressive.jpg"] = "jpeg"
    img.convert("L").save(os.path.join(out, "grey.jpg"), quality=95); files["grey.jpg"] = "jpeg"
    exif = Image.Exif()
    exif[0x0112] = 6
    img.save(os.path.join(out, "exif-orientation-6.jpg"), quality=95, exif=exif); files["exif-orientation-6.jpg"] = "jpeg"
    wide = np.asarray(img.convert("L"), dtype=np.uint16) * 257
    Image.fromarray(wide, "I;16").save(os.path.join(out, "grey-16bit.png")); files["grey-16bit.png"] = "png"
    img.quantize(16).save(os.path.join(out, "palette.png")); files["palette.png"] = "png"
    rgba = img.convert("RGBA")
    alpha = np.asarray(rgba).copy()
    alpha[:, :, 3] = np.linspace(0, 255, img.width, dtype=np.uint8)[None, :]
    Image.fromarray(alpha, "RGBA").save(os.path.join(out, "alpha.png")); files["alpha.png"] = "png"
    img.save(os.path.join(out, "lossy.webp"), quality=90); files["lossy.webp"] = "webp"
    img.save(os.path.join(out, "lossless.webp"), lossless=True); files["lossless.webp"] = "webp"
    frames = [img.quantize(32), img.transpose(Image.FLIP_LEFT_RIGHT).quantize(32)]
    frames[0].save(os.path.join(out, "animated.gif"), save_all=True, append_images=frames[1:], duration=100)
    files["animated.gif"] = "gif"
    img.save(os.path.join(out, "plain.bmp")); files["plain.bmp"] = "bmp"
    cases = []
    for name, fmt in files.items():
        ref = reference(os.path.join(out, name))
        ref_file = name + ".rgb"
        ref.tofile(os.path.join(out, ref_file))
        lossy = fmt == "jpeg" or name == "lossy.webp"
        cases.append({"file": name, "format": fmt, "width": ref.shape[1], "height": ref.shape[0],
                      "reference": ref_file, "lossy_decoder_differences": lossy})
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump({"made_with": f"PIL {Image.__version__}", "cases": cases}, f, indent=1)
    print(f"wrote {len(cases)} format fixtures to {out}")


if __name__ == "__main__":
    main(sys.argv[1])
