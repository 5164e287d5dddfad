"""Real photographs as cameras and editors write them, with torchvision's preprocessing as reference.

Sources are public-domain / CC0 photographs shipped with scikit-image (Debian's python3-skimage):
astronaut.png (NASA), coffee.png (Rachel Michetti, CC0), chelsea.png (Stefan van der Walt, CC0),
rocket.jpg (SpaceX, public domain), hubble_deep_field.jpg (NASA). Each is turned into one of the
files real cameras and editors produce:

  adobe-rgb.jpg       pixels converted to Adobe RGB (1998) with LittleCMS, that profile embedded
  display-p3.jpg      pixels converted to Display P3, that profile embedded (made here, ICC v2)
  cmyk.jpg            CMYK JPEG with an Adobe marker (PIL's writer), no profile
  progressive.jpg     progressive JPEG
  exif-rotated.jpg    stored sideways with EXIF orientation 6
  rgb-16bit.png       16 bits per channel RGB PNG
  hubble.jpg          the original NASA JPEG, re-saved at quality 90

For each the reference is torchvision's ImageNet recipe on PIL's decode,
PIL.Image.open -> [ImageOps.exif_transpose: the services apply EXIF orientation] ->
convert("RGB") -> Resize(256) -> CenterCrop(224), written as the uint8 pixels ToTensor and
Normalize then map affinely; with colour management "srgb" the decoded image is first converted
from its embedded profile to sRGB by ImageCms.profileToProfile (LittleCMS).
Run: /usr/bin/python3 training/photo_fixtures.py OUT_DIR
"""
import io
import json
import os
import struct
import sys
import zlib

import numpy as np
from PIL import Image, ImageCms, ImageOps
from torchvision import transforms

SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
ADOBE = "/usr/share/color/icc/colord/AdobeRGB1998.icc"  # Debian colord-data
RECIPE = transforms.Compose([transforms.Resize(256), transforms.CenterCrop(224)])


def s15(v):
    return struct.pack(">i", int(round(v * 65536)))


def display_p3_profile():
    """An ICC v2 matrix/TRC profile for Display P3 (P3 primaries, D65 white, sRGB curve)."""
    prim = {"r": (0.680, 0.320), "g": (0.265, 0.690), "b": (0.150, 0.060)}
    xyz = lambda x, y: np.array([x / y, 1.0, (1 - x - y) / y])
    cols = np.stack([xyz(*prim[c]) for c in "rgb"], axis=1)
    white = xyz(0.3127, 0.3290)
    m = cols * np.linalg.solve(cols, white)
    d50 = np.array([0.9642, 1.0, 0.8249])
    brad = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
    adapt = np.linalg.inv(brad) @ np.diag((brad @ d50) / (brad @ white)) @ brad
    m50 = adapt @ m
    curve = [((i / 1023) / 12.92 if i / 1023 <= 0.04045 else (((i / 1023) + 0.055) / 1.055) ** 2.4)
             for i in range(1024)]
    curv = b"curv" + b"\0" * 4 + struct.pack(">I", 1024) + b"".join(struct.pack(">H", round(v * 65535)) for v in curve)
    text = b"Display P3"
    desc = (b"desc" + b"\0" * 4 + struct.pack(">I", len(text) + 1) + text + b"\0" + b"\0" * 8 + b"\0" * 3 + b"\0" * 67)
    cprt = b"text" + b"\0" * 4 + b"No copyright, use freely\0"
    tags = [(b"desc", desc), (b"cprt", cprt), (b"wtpt", b"XYZ " + b"\0" * 4 + b"".join(s15(v) for v in d50))]
    for i, name in enumerate([b"rXYZ", b"gXYZ", b"bXYZ"]):
        tags.append((name, b"XYZ " + b"\0" * 4 + b"".join(s15(v) for v in m50[:, i])))
    tags += [(b"rTRC", curv), (b"gTRC", curv), (b"bTRC", curv)]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for name, body in tags:
        while (offset + len(data)) % 4:
            data += b"\0"
        table += name + struct.pack(">II", offset + len(data), len(body))
        data += body
    size = offset + len(data)
    header = (struct.pack(">I", size) + b"lcms" + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
              + struct.pack(">6H", 2026, 1, 1, 0, 0, 0) + b"acsp" + b"APPL" + b"\0" * 4 + b"\0" * 8 + b"\0" * 8
              + struct.pack(">I", 0) + b"".join(s15(v) for v in d50) + b"\0" * 4 + b"\0" * 16 + b"\0" * 28)
    assert len(header) == 128
    return header + struct.pack(">I", len(tags)) + table + data


def png16(path, rgb16):
    """Writes an RGB PNG with 16 bits per channel (PIL cannot write these)."""
    h, w, _ = rgb16.shape
    raw = b"".join(b"\0" + rgb16[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def reference(path, srgb):
    img = Image.open(path)
    profile = img.info.get("icc_profile")
    img = ImageOps.exif_transpose(img)
    if srgb and profile:
        img = ImageCms.profileToProfile(img, ImageCms.ImageCmsProfile(io.BytesIO(profile)),
                                        ImageCms.createProfile("sRGB"), outputMode="RGB")
    return np.asarray(RECIPE(img.convert("RGB")), dtype=np.uint8)


def main(out):
    os.makedirs(out, exist_ok=True)
    srgb_profile = ImageCms.createProfile("sRGB")
    adobe = ImageCms.ImageCmsProfile(ADOBE)
    p3_bytes = display_p3_profile()
    p3 = ImageCms.ImageCmsProfile(io.BytesIO(p3_bytes))
    coffee = Image.open(os.path.join(SKIMAGE, "coffee.png")).convert("RGB")
    astronaut = Image.open(os.path.join(SKIMAGE, "astronaut.png")).convert("RGB")
    chelsea = Image.open(os.path.join(SKIMAGE, "chelsea.png")).convert("RGB")
    rocket = Image.open(os.path.join(SKIMAGE, "rocket.jpg")).convert("RGB")
    made = {}
    ImageCms.profileToProfile(coffee, srgb_profile, adobe, outputMode="RGB").save(
        os.path.join(out, "adobe-rgb.jpg"), quality=92, icc_profile=open(ADOBE, "rb").read())
    made["adobe-rgb.jpg"] = "coffee.png converted to Adobe RGB (1998) (colord-data's profile), embedded, quality 92"
    ImageCms.profileToProfile(astronaut, srgb_profile, p3, outputMode="RGB").save(
        os.path.join(out, "display-p3.jpg"), quality=92, icc_profile=p3_bytes)
    made["display-p3.jpg"] = "astronaut.png converted to Display P3 (ICC v2 written by this script), embedded, quality 92"
    chelsea.convert("CMYK").save(os.path.join(out, "cmyk.jpg"), quality=92)
    made["cmyk.jpg"] = "chelsea.png as CMYK (PIL), Adobe marker, no profile, quality 92"
    rocket.save(os.path.join(out, "progressive.jpg"), quality=90, progressive=True)
    made["progressive.jpg"] = "rocket.jpg re-saved progressive, quality 90"
    exif = Image.Exif()
    exif[0x0112] = 6
    coffee.transpose(Image.ROTATE_90).save(os.path.join(out, "exif-rotated.jpg"), quality=90, exif=exif)
    made["exif-rotated.jpg"] = "coffee.png stored rotated 90 degrees with EXIF orientation 6, quality 90"
    small = np.asarray(chelsea.resize((300, 200), Image.LANCZOS), dtype=np.uint16)
    rng = np.random.default_rng(7)
    png16(os.path.join(out, "rgb-16bit.png"), small * 257 + rng.integers(0, 256, small.shape, dtype=np.uint16))
    made["rgb-16bit.png"] = "chelsea.png at 300x200, 16 bits per channel (low byte noise), written by this script"
    Image.open(os.path.join(SKIMAGE, "hubble_deep_field.jpg")).save(os.path.join(out, "hubble.jpg"), quality=90)
    made["hubble.jpg"] = "hubble_deep_field.jpg (NASA) re-saved at quality 90"
    cases = []
    for name, how in made.items():
        path = os.path.join(out, name)
        has_profile = Image.open(path).info.get("icc_profile") is not None
        for mode in (["none", "srgb"] if has_profile else ["none"]):
            ref = reference(path, mode == "srgb")
            ref_file = f"{name}.{mode}.png"
            Image.fromarray(ref, "RGB").save(os.path.join(out, ref_file), optimize=True)
            cases.append({"file": name, "made": how, "colour_management": mode, "reference": ref_file})
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump({"made_with": f"PIL {Image.__version__}, torchvision transforms Resize(256) CenterCrop(224)",
                   "cases": cases}, f, indent=1)
    print(f"wrote {len(made)} photos, {len(cases)} references to {out}")


if __name__ == "__main__":
    main(sys.argv[1])
