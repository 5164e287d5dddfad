"""Photographs in the formats phones and cameras save, with reference decodes, for the decoder tests.

HEIC (iPhones), AVIF (Android phones, browsers) and MPO (stereo cameras) made from
samples/photos/chelsea.jpg (scikit-image, CC0) with the reference encoders Debian ships
(libheif-examples: heif-enc, heif-convert; libavif-bin: avifenc, avifdec) and PIL:

  chelsea.heic            heif-enc -q 90 (HEVC, 4:2:0, BT.601 full range)
  chelsea.avif            avifenc, default quality (AV1, 4:2:0)
  chelsea-rot1-mir1.avif  avifenc --irot 1 --imir 1: stored sideways and mirrored; a reader turns it
  chelsea.mpo             PIL's MPO writer: the photograph, then a second picture (dog.jpg)

and, for each, the pixels a reference reader gives (PNG): heif-convert for HEIC and for the
transformed AVIF (libheif applies irot and imir), avifdec for AVIF, PIL (first frame) for MPO.
Run: /usr/bin/python3 training/phone_formats.py OUT_DIR
"""
import os
import subprocess
import sys
import tempfile

from PIL import Image

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHOTO = os.path.join(ROOT, "samples", "photos", "chelsea.jpg")
SECOND = os.path.join(ROOT, "samples", "photos", "dog.jpg")


def run(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main(out):
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        source = os.path.join(tmp, "chelsea.png")
        Image.open(PHOTO).convert("RGB").save(source)
        heic = os.path.join(out, "chelsea.heic")
        run("heif-enc", "-q", "90", "-o", heic, source)
        run("heif-convert", heic, os.path.join(out, "chelsea-heic.png"))
        avif = os.path.join(out, "chelsea.avif")
        run("avifenc", "-j", "1", source, avif)
        run("avifdec", avif, os.path.join(out, "chelsea-avif.png"))
        turned = os.path.join(out, "chelsea-rot1-mir1.avif")
        run("avifenc", "-j", "1", "--irot", "1", "--imir", "1", source, turned)
        run("heif-convert", turned, os.path.join(out, "chelsea-rot1-mir1-avif.png"))
    first = Image.open(PHOTO)
    second = Image.open(SECOND).convert("RGB").resize(first.size)
    mpo = os.path.join(out, "chelsea.mpo")
    first.save(mpo, format="MPO", save_all=True, append_images=[second], quality=90)
    with Image.open(mpo) as m:
        assert m.format == "MPO" and m.n_frames == 2, (m.format, m.n_frames)
        m.seek(0)
        m.convert("RGB").save(os.path.join(out, "chelsea-mpo.png"))
    for name in sorted(os.listdir(out)):
        print(f"{name:30s} {os.path.getsize(os.path.join(out, name)):8d} bytes")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "libs", "media", "src", "test", "resources", "phone-formats"))
