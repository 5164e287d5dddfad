"""Format test corpus for the Java image decoder, with PIL's decoded pixels as reference.

Writes small files in the formats the decoder sniffs beyond the everyday ones (TIFF in most of
its compressions and layouts, PNM/PAM, ICO/CUR, TGA, PSD, JPEG 2000, BMP incl. OS/2 and RLE,
SGI, PCX, odd GIFs) plus slightly broken JPEGs of the kinds found in the wild, and for each
file the pixels PIL gives, so the Java test (FormatCorpusTest) needs no Python.

Reference pixels follow training/format_fixtures.py: uint8 RGB, row-major, raw (``.rgb``),
alpha composited over black, 16-bit samples reduced to their high byte, EXIF orientation
applied (JPEG only). ``corpus.json`` lists every file with the tool and options that made it,
whether PIL (default settings, ``LOAD_TRUNCATED_IMAGES = False``) loads it, and what the
decoder is expected to do: ``decode`` (compare with the reference: exactly within 1/255, or
by mean difference for lossy JPEG-family data) or ``reject`` (an ImageRejectedException).

Two base images: a procedural one (gradients, noise texture, saturated blocks, 1-px lines and
a checkerboard) and "coffee" from scikit-image's data (CC0, photograph by Rachel Michetti),
downscaled to 75x50 with Lanczos, used for the JPEG-family files. Tools: PIL, ImageMagick 6
(``convert``), netpbm, and hand-assembled bytes (struct) where neither writes the variant.

Run: /usr/bin/python3 training/format_corpus.py OUT_DIR
"""
import io
import json
import os
import shlex
import struct
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image, ImageOps, ImageFile, features

W, H = 75, 50  # odd sizes: row padding and partial tiles/MCUs get exercised
PHOTO = "/usr/lib/python3/dist-packages/skimage/data/coffee.png"
PHOTO_NOTE = ("scikit-image data 'coffee' (Debian python3-skimage, " + PHOTO
              + "), photograph by Rachel Michetti, downscaled to 75x50 (Lanczos)")

ImageFile.LOAD_TRUNCATED_IMAGES = False


# --------------------------------------------------------------------------- base images

def procedural(w=W, h=H, seed=20240601):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    xf, yf = x.astype(np.float64), y.astype(np.float64)
    img = np.stack([255 * xf / (w - 1), 255 * yf / (h - 1),
                    127.5 + 110 * np.sin(xf / 5.0 + yf / 7.0)], axis=-1)
    img += rng.normal(0, 5, img.shape)
    img[h // 8:h * 3 // 8, w // 12:w * 5 // 16] = [250, 30, 20]
    img[h * 5 // 8:h * 7 // 8, w * 5 // 8:w * 11 // 12] = [20, 40, 240]
    img[(xf - w * 0.72) ** 2 + (yf - h * 0.3) ** 2 < (h * 0.18) ** 2] = [30, 200, 60]
    img[h // 2 - 2, :] = 255
    img[h // 2 - 1, :] = 0
    box = (x >= w // 24) & (x < w * 7 // 24) & (y >= h * 9 // 16) & (y < h * 15 // 16)
    img[box & ((x + y) % 2 == 0)] = [255, 255, 0]
    img[box & ((x + y) % 2 == 1)] = [128, 0, 128]
    return Image.fromarray(np.clip(np.round(img), 0, 255).astype(np.uint8), "RGB")


def photo(w=W, h=H):
    if os.path.exists(PHOTO):
        return Image.open(PHOTO).convert("RGB").resize((w, h), Image.LANCZOS), PHOTO_NOTE
    return procedural(w, h, seed=7), "procedural (the scikit-image photo was not found)"


def with_alpha(img):
    """RGBA: a horizontal alpha ramp in the top half, a fully transparent and an opaque block."""
    a = np.asarray(img.convert("RGBA")).copy()
    h, w = a.shape[:2]
    a[:, :, 3] = 255
    a[: h // 2, :, 3] = np.linspace(0, 255, w).round().astype(np.uint8)[None, :]
    a[h * 5 // 8:h * 7 // 8, w // 8:w * 3 // 8, 3] = 0
    a[h * 5 // 8:h * 7 // 8, w * 3 // 8:w // 2, 3] = 128
    return Image.fromarray(a, "RGBA")


def icon(size=256):
    """A smooth square icon with soft-edged transparent corners (small as PNG)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) / (size - 1)
    rgb = np.stack([255 * x, 255 * (1 - y), 128 + 100 * np.cos(6 * x * y)], axis=-1)
    rgb[(x > 0.3) & (x < 0.55) & (y > 0.3) & (y < 0.7)] = [250, 250, 250]
    r = np.hypot(x - 0.5, y - 0.5)
    alpha = np.clip((0.48 - r) / 0.04, 0, 1) * 255
    out = np.dstack([np.clip(rgb, 0, 255), alpha]).round().astype(np.uint8)
    return Image.fromarray(out, "RGBA")


def wide16(img, seed=5):
    """16-bit samples: each 8-bit value times 257 plus a little noise in the low bits."""
    rng = np.random.default_rng(seed)
    a = np.asarray(img, dtype=np.int32) * 257 + rng.integers(-90, 90, np.asarray(img).shape)
    return np.clip(a, 0, 65535).astype(np.uint16)


# --------------------------------------------------------------------------- reference

def reference(path, fmt):
    img = Image.open(path)
    if fmt in ("jpeg", "jpeg-broken"):
        img = ImageOps.exif_transpose(img)
    if img.mode == "RGBa":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "La") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        black = Image.new("RGBA", img.size, (0, 0, 0, 255))
        img = Image.alpha_composite(black, img)
    if img.mode.startswith("I;16") or img.mode == "I":
        img = Image.fromarray((np.asarray(img).astype(np.uint32) >> 8).astype(np.uint8), "L")
    return np.asarray(img.convert("RGB"), dtype=np.uint8)


def pil_loads(path):
    try:
        with Image.open(path) as im:
            im.load()
            return True, None, im.format, im.mode
    except Exception as e:  # noqa: BLE001 - any failure means PIL refuses it
        return False, f"{type(e).__name__}: {e}".replace(path, os.path.basename(path)), None, None


def libjpeg_warnings(path):
    """What libjpeg-turbo itself says about a JPEG (netpbm's jpegtopnm prints its warnings)."""
    try:
        r = subprocess.run(["jpegtopnm", path], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = [ln for ln in r.stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    return "; ".join(ln.replace("jpegtopnm: ", "") for ln in lines if "WRITING" not in ln)


# --------------------------------------------------------------------------- writers

class Corpus:
    def __init__(self, out, tmp):
        self.out = out
        self.tmp = tmp
        self.cases = []
        self.n = 0

    def path(self, name):
        return os.path.join(self.out, name)

    def add(self, name, fmt, made_with, lossy=False, note=None, reference=None, reference_by=None,
            known_difference=None):
        """reference/reference_by: pixels from elsewhere for a valid file PIL cannot read.
        known_difference: why the decoder's pixels may differ from PIL's (only the size is compared)."""
        self.cases.append(dict(file=name, format=fmt, made_with=made_with, lossy=lossy, note=note,
                               _reference=reference, reference_by=reference_by, known_difference=known_difference))

    def src(self, img, ext="png"):
        """Writes a source image for an external tool; returns its path."""
        self.n += 1
        p = os.path.join(self.tmp, f"src{self.n}.{ext}")
        if isinstance(img, bytes):
            with open(p, "wb") as f:
                f.write(img)
        else:
            img.save(p)
        return p

    def im(self, name, fmt, srcs, opts, prefix="", described_src="base.png", pre=(), **kw):
        """convert [pre] SRC... [opts] PREFIX:OUT"""
        cmd = ["convert", *pre, *srcs, *opts, prefix + self.path(name)]
        subprocess.run(cmd, check=True)
        text = " ".join(shlex.quote(a) for a in [*pre, *described_src.split(), *opts, prefix + name])
        self.add(name, fmt, f"ImageMagick {IM_VERSION}: convert {text}", **kw)

    def write(self, name, data):
        with open(self.path(name), "wb") as f:
            f.write(data)


IM_VERSION = subprocess.run(["convert", "-version"], capture_output=True, text=True).stdout.split()[2]


def pil_bytes(img, fmt, **opts):
    b = io.BytesIO()
    img.save(b, fmt, **opts)
    return b.getvalue()


# ----- BMP / ICO / TGA / PNM by hand

def dib_rows(indices_or_pixels, bpp, bottom_up=True):
    """Packs rows (numpy HxW indices, or HxWxC bytes already in file channel order) with 4-byte padding."""
    a = indices_or_pixels
    rows = []
    for row in a:
        if bpp >= 8 and a.ndim == 3:
            raw = row.astype(np.uint8).tobytes()
        elif bpp == 16:
            raw = row.astype("<u2").tobytes()
        elif bpp == 8:
            raw = row.astype(np.uint8).tobytes()
        elif bpp == 4:
            r = row.astype(np.uint8)
            if len(r) % 2:
                r = np.append(r, 0)
            raw = ((r[0::2] << 4) | r[1::2]).astype(np.uint8).tobytes()
        elif bpp == 1:
            raw = np.packbits(row.astype(np.uint8)).tobytes()
        else:
            raise ValueError(bpp)
        rows.append(raw + b"\0" * (-len(raw) % 4))
    if bottom_up:
        rows.reverse()
    return b"".join(rows)


def bmp_file(info_header, palette, bits):
    off = 14 + len(info_header) + len(palette)
    return b"BM" + struct.pack("<IHHI", off + len(bits), 0, 0, off) + info_header + palette + bits


def info40(w, h, bpp, compression=0, size_image=0, colours=0, header_size=40):
    hdr = struct.pack("<IiiHHIIiiII", header_size, w, h, 1, bpp, compression, size_image,
                      2835, 2835, colours, 0)
    if header_size == 64:  # OS/2 2.x BITMAPCOREHEADER2: 24 more bytes (units, reserved, recording,
        hdr += struct.pack("<HHHHIIII", 0, 0, 0, 0, 0, 0, 0, 0)  # rendering, size1, size2, encoding, id)
    return hdr


def rgbquad(pal):
    return b"".join(bytes((b, g, r, 0)) for r, g, b in pal)


def quantized(img, colours):
    q = img.quantize(colours, dither=Image.NONE)
    pal = np.array(q.getpalette()[: 3 * colours], dtype=np.uint8).reshape(-1, 3)
    return np.asarray(q), [tuple(int(v) for v in p) for p in pal]


def rle8(indices):
    out = bytearray()
    for row in indices[::-1]:
        x = 0
        n = len(row)
        while x < n:
            run = 1
            while x + run < n and run < 255 and row[x + run] == row[x]:
                run += 1
            if run >= 2:
                out += bytes((run, row[x]))
                x += run
                continue
            # absolute block of pixels that do not repeat
            end = x
            while end < n and end - x < 255 and not (end + 1 < n and row[end + 1] == row[end]):
                end += 1
            count = end - x
            if count >= 3:
                out += bytes((0, count)) + bytes(int(v) for v in row[x:end])
                if count % 2:
                    out += b"\0"
                x = end
            else:
                out += bytes((1, row[x]))
                x += 1
        out += b"\0\0"
    out += b"\0\1"
    return bytes(out)


def rle4(indices):
    """RLE4: runs of one index, pairs of alternating indices, even-length absolute blocks
    (PIL 9.4 mis-reads odd-length absolute blocks, so the encoder avoids them)."""
    out = bytearray()
    for row in indices[::-1]:
        row = [int(v) for v in row]
        x, n = 0, len(row)
        while x < n:
            run = 1
            while x + run < n and run < 255 and row[x + run] == row[x]:
                run += 1
            if run >= 3 or x + run == n:
                out += bytes((run, (row[x] << 4) | row[x]))
                x += run
                continue
            end = x
            while end < n and end - x < 64 and not (end + 2 < n and row[end + 1] == row[end] == row[end + 2]):
                end += 1
            count = (end - x) & ~1
            if count >= 4:
                out += bytes((0, count))
                for i in range(x, x + count, 2):
                    out.append((row[i] << 4) | row[i + 1])
                if (count // 2) % 2:
                    out += b"\0"
                x += count
            else:
                second = row[x + 1] if x + 1 < n else 0
                take = 2 if x + 1 < n else 1
                out += bytes((take, (row[x] << 4) | second))
                x += take
        out += b"\0\0"
    out += b"\0\1"
    return bytes(out)


def tga_header(w, h, depth, itype, top=True, idlen=0, cmap=None, attr=0):
    cm_type, cm_first, cm_len, cm_bits = (0, 0, 0, 0) if cmap is None else (1, 0, cmap[0], cmap[1])
    return struct.pack("<BBBHHBHHHHBB", idlen, cm_type, itype, cm_first, cm_len, cm_bits, 0, 0, w, h,
                       depth, (0x20 if top else 0) | attr)


def tga_rle_across_rows(pixels, bpp_bytes):
    """TGA RLE over the whole image as one sequence: packets cross scan lines (older encoders do)."""
    flat = [bytes(p) for p in pixels.reshape(-1, bpp_bytes)]
    out = bytearray()
    i, n = 0, len(flat)
    while i < n:
        run = 1
        while i + run < n and run < 128 and flat[i + run] == flat[i]:
            run += 1
        if run >= 2:
            out.append(0x80 | (run - 1))
            out += flat[i]
            i += run
            continue
        j = i
        while j < n and j - i < 128 and not (j + 1 < n and flat[j + 1] == flat[j]):
            j += 1
        out.append(j - i - 1)
        out += b"".join(flat[i:j])
        i = j
    return bytes(out)


def ico_dib(img, bpp):
    """A BMP DIB for an icon entry (height doubled, AND mask from alpha < 128)."""
    rgba = np.asarray(img.convert("RGBA"))
    h, w = rgba.shape[:2]
    mask = (rgba[:, :, 3] < 128).astype(np.uint8)
    palette = b""
    if bpp == 32:
        bits = dib_rows(rgba[:, :, [2, 1, 0, 3]], 32)
    elif bpp == 24:
        bits = dib_rows(rgba[:, :, [2, 1, 0]], 24)
    else:
        idx, pal = quantized(img.convert("RGB"), 1 << bpp)
        palette = rgbquad(pal + [(0, 0, 0)] * ((1 << bpp) - len(pal)))
        bits = dib_rows(idx, bpp)
    andmask = dib_rows(mask, 1)
    return info40(w, 2 * h, bpp, 0, len(bits) + len(andmask)) + palette + bits + andmask


def ico_file(entries, kind=1):
    """entries: (width, height, bpp, data[, hotspot]); kind 1 = ICO, 2 = CUR."""
    head = struct.pack("<HHH", 0, kind, len(entries))
    offset = 6 + 16 * len(entries)
    directory, blobs = b"", b""
    for e in entries:
        w, h, bpp, data = e[:4]
        colours = (1 << bpp) if bpp < 8 else 0
        a, b = (1, bpp) if kind == 1 else e[4]
        directory += struct.pack("<BBBBHHII", w % 256, h % 256, colours, 0, a, b, len(data),
                                 offset + len(blobs))
        blobs += data
    return head + directory + blobs


# ----- JPEG surgery

def jpeg_segments(d):
    """(marker, start, end) of each marker segment before the first SOS, and the SOS itself."""
    p, out = 2, []
    while p < len(d):
        assert d[p] == 0xFF, p
        m = d[p + 1]
        n = struct.unpack(">H", d[p + 2:p + 4])[0]
        out.append((m, p, p + 2 + n))
        if m == 0xDA:
            break
        p += 2 + n
    return out


def find_marker(d, m):
    for mk, s, e in jpeg_segments(d):
        if mk == m:
            return s, e
    raise KeyError(hex(m))


def app1_exif(tiff):
    body = b"Exif\0\0" + tiff
    return b"\xFF\xE1" + struct.pack(">H", len(body) + 2) + body


# --------------------------------------------------------------------------- the corpus

def build(c):
    base = procedural()
    ph, photo_note = photo()
    grey = base.convert("L")
    bilevel = grey.convert("1")
    pal256 = base.quantize(256)
    pal16 = base.quantize(16)
    rgba = with_alpha(base)
    c.photo_note = photo_note
    base_png = c.src(base)
    photo_png = c.src(ph)
    rgba_png = c.src(rgba)
    grey_png = c.src(grey)

    # ---------------- TIFF
    for name, opts, what in [
        ("tiff-raw-rgb.tif", {}, "compression=None (uncompressed)"),
        ("tiff-lzw-rgb.tif", {"compression": "tiff_lzw"}, "compression='tiff_lzw'"),
        ("tiff-deflate-rgb.tif", {"compression": "tiff_adobe_deflate"}, "compression='tiff_adobe_deflate' (8)"),
        ("tiff-deflate-old-rgb.tif", {"compression": "tiff_deflate"}, "compression='tiff_deflate' (32946, old ZIP code)"),
        ("tiff-packbits-rgb.tif", {"compression": "packbits"}, "compression='packbits'"),
    ]:
        base.save(c.path(name), "TIFF", **opts)
        c.add(name, "tiff", f"PIL {Image.__version__} (libtiff): RGB, {what}")
    ph.save(c.path("tiff-jpeg-rgb.tif"), "TIFF", compression="jpeg", quality=90)
    c.add("tiff-jpeg-rgb.tif", "tiff", f"PIL {Image.__version__} (libtiff): photo, compression='jpeg', quality=90",
          lossy=True)
    c.im("tiff-jpeg-ycbcr.tif", "tiff", [photo_png], ["-strip", "-colorspace", "YCbCr", "-compress", "JPEG", "-quality", "90"],
         "TIFF:", "photo.png", lossy=True, note="PhotometricInterpretation 6 (YCbCr), JPEG compression")
    bilevel.save(c.path("tiff-g4-bilevel.tif"), "TIFF", compression="group4")
    c.add("tiff-g4-bilevel.tif", "tiff", f"PIL {Image.__version__}: mode '1' (dithered grey), compression='group4'")
    bilevel.save(c.path("tiff-g3-bilevel.tif"), "TIFF", compression="group3")
    c.add("tiff-g3-bilevel.tif", "tiff", f"PIL {Image.__version__}: mode '1', compression='group3'")
    bilevel.save(c.path("tiff-bilevel-raw.tif"), "TIFF")
    c.add("tiff-bilevel-raw.tif", "tiff", f"PIL {Image.__version__}: mode '1', uncompressed")
    c.im("tiff-bilevel-miniswhite.tif", "tiff", [grey_png],
         ["-strip", "-type", "bilevel", "-depth", "1", "-compress", "None", "-define", "quantum:polarity=min-is-white"], "TIFF:",
         "grey.png", note="1 bit a sample, PhotometricInterpretation 0 (WhiteIsZero)")
    w16 = wide16(base)
    ppm16 = b"P6\n%d %d\n65535\n" % (W, H) + w16.astype(">u2").tobytes()
    src16 = c.src(ppm16, "ppm")
    c.im("tiff-16bit-rgb.tif", "tiff", [src16], ["-strip", "-depth", "16", "-compress", "None"], "TIFF:",
         "base16.ppm",
         note="base16.ppm: the 8-bit base x257 plus noise in the low byte")
    c.im("tiff-16bit-rgb-lzw-predictor.tif", "tiff", [src16],
         ["-strip", "-depth", "16", "-compress", "LZW", "-define", "tiff:predictor=2"], "TIFF:",
         "base16.ppm", note="16-bit horizontal differencing")
    g16 = wide16(grey)
    Image.fromarray(g16, "I;16").save(c.path("tiff-16bit-grey.tif"), "TIFF")
    c.add("tiff-16bit-grey.tif", "tiff", f"PIL {Image.__version__}: mode 'I;16' (grey x257 plus noise), uncompressed")
    grey.save(c.path("tiff-grey.tif"), "TIFF", compression="tiff_lzw")
    c.add("tiff-grey.tif", "tiff", f"PIL {Image.__version__}: mode 'L', compression='tiff_lzw'")
    pal256.save(c.path("tiff-palette.tif"), "TIFF")
    c.add("tiff-palette.tif", "tiff", f"PIL {Image.__version__}: base.quantize(256), mode 'P', uncompressed")
    c.im("tiff-palette-4bit.tif", "tiff", [base_png],
         ["-strip", "-dither", "None", "-colors", "16", "-type", "Palette", "-depth", "4", "-compress", "None"],
         "TIFF:", note="4 bits per sample palette")
    c.im("tiff-grey-4bit.tif", "tiff", [grey_png], ["-strip", "-colorspace", "Gray", "-depth", "4", "-compress", "None"],
         "TIFF:", "grey.png", note="4-bit grey (MinIsBlack, no palette): samples must be scaled by 255/15")
    base.convert("CMYK").save(c.path("tiff-cmyk.tif"), "TIFF")
    c.add("tiff-cmyk.tif", "tiff", f"PIL {Image.__version__}: base.convert('CMYK'), uncompressed, no ICC profile")
    rgba.save(c.path("tiff-rgba.tif"), "TIFF", compression="tiff_lzw")
    c.add("tiff-rgba.tif", "tiff", f"PIL {Image.__version__}: RGBA (unassociated alpha), compression='tiff_lzw'")
    c.im("tiff-rgba-associated.tif", "tiff", [rgba_png],
         ["-strip", "-define", "tiff:alpha=associated", "-compress", "None"], "TIFF:", "rgba.png",
         note="ExtraSamples=1: premultiplied alpha")
    pages = [base, base.transpose(Image.FLIP_LEFT_RIGHT).resize((128, 80)), grey.transpose(Image.FLIP_TOP_BOTTOM)]
    pages[0].save(c.path("tiff-multipage.tif"), "TIFF", save_all=True, append_images=pages[1:],
                  compression="tiff_lzw")
    c.add("tiff-multipage.tif", "tiff", f"PIL {Image.__version__}: save_all, 3 pages (75x50 RGB, 128x80 RGB, "
          "75x50 L), compression='tiff_lzw'", note="the first page must be decoded")
    c.im("tiff-tiled.tif", "tiff", [base_png], ["-strip", "-compress", "Zip", "-define", "tiff:tile-geometry=48x48"],
         "TIFF:", note="48x48 tiles: the right and bottom tiles are partial")
    c.im("tiff-tiled-jpeg.tif", "tiff", [photo_png],
         ["-strip", "-compress", "JPEG", "-quality", "90", "-define", "tiff:tile-geometry=32x32"], "TIFF:",
         "photo.png", lossy=True)
    c.im("tiff-lzw-predictor.tif", "tiff", [base_png], ["-strip", "-compress", "LZW", "-define", "tiff:predictor=2"],
         "TIFF:", note="horizontal differencing predictor")
    c.im("tiff-planar.tif", "tiff", [base_png], ["-strip", "-interlace", "Plane", "-compress", "LZW"], "TIFF:",
         note="PlanarConfiguration=2 (one plane per channel)")
    c.im("tiff-bigendian.tif", "tiff", [base_png], ["-strip", "-endian", "MSB", "-compress", "Zip"], "TIFF:",
         note="MM byte order")
    c.im("tiff-rows-per-strip-7.tif", "tiff", [base_png],
         ["-strip", "-compress", "RLE", "-define", "tiff:rows-per-strip=7"], "TIFF:",
         note="8 strips, the last one a single row")
    c.im("tiff-bigtiff.tif", "tiff", [base_png], ["-strip", "-compress", "LZW"], "TIFF64:", note="BigTIFF (version 43)")

    # ---------------- PNM / PAM
    bilevel.save(c.path("pbm-binary.pbm"))
    c.add("pbm-binary.pbm", "pnm", f"PIL {Image.__version__}: mode '1' -> P4")
    grey.save(c.path("pgm-binary.pgm"))
    c.add("pgm-binary.pgm", "pnm", f"PIL {Image.__version__}: mode 'L' -> P5")
    base.save(c.path("ppm-binary.ppm"))
    c.add("ppm-binary.ppm", "pnm", f"PIL {Image.__version__}: RGB -> P6")
    small = base.resize((37, 25), Image.LANCZOS)
    small_png = c.src(small)
    c.im("pbm-ascii.pbm", "pnm", [small_png], ["-strip", "-monochrome", "-compress", "None"], "PBM:", "base37x25.png",
         note="P1 (plain)")
    c.im("pgm-ascii.pgm", "pnm", [small_png], ["-strip", "-colorspace", "Gray", "-compress", "None"], "PGM:",
         "base37x25.png", note="P2 (plain)")
    c.im("ppm-ascii.ppm", "pnm", [small_png], ["-strip", "-compress", "None"], "PPM:", "base37x25.png",
         note="P3 (plain)")
    Image.fromarray(g16.astype(np.int32), "I").save(c.path("pgm-16bit.pgm"))
    c.add("pgm-16bit.pgm", "pnm", f"PIL {Image.__version__}: mode 'I' (grey x257 plus noise) -> P5 maxval 65535")
    c.write("ppm-16bit.ppm", ppm16)
    c.add("ppm-16bit.ppm", "pnm", "format_corpus.py (bytes): P6 maxval 65535, base x257 plus noise")
    g10 = np.clip(np.asarray(grey, dtype=np.int32) * 4 + 1, 0, 1023).astype(">u2")
    c.write("pgm-maxval-1023.pgm", b"P5\n# 10-bit samples\n%d %d\n1023\n" % (W, H) + g10.tobytes())
    c.add("pgm-maxval-1023.pgm", "pnm", "format_corpus.py (bytes): P5 maxval 1023 (2 bytes a sample)",
          note="samples must be scaled by 255/1023, not shifted")
    q15 = (np.asarray(base, dtype=np.int32) * 15 + 127) // 255
    c.write("ppm-maxval-15.ppm", b"P6 %d %d 15\n" % (W, H) + q15.astype(np.uint8).tobytes())
    c.add("ppm-maxval-15.ppm", "pnm", "format_corpus.py (bytes): P6 maxval 15",
          note="samples must be scaled by 255/15")
    c.write("ppm-comments.ppm", b"P6\n# made by format_corpus.py\n%d # width\n%d\n# maxval next\n255\n" % (W, H)
            + np.asarray(base).tobytes())
    c.add("ppm-comments.ppm", "pnm", "format_corpus.py (bytes): P6 with comments between header fields")
    for name, img, tupl in [("pam-rgb.pam", base, "RGB"), ("pam-rgba.pam", rgba, "RGB_ALPHA"),
                            ("pam-grey.pam", grey, "GRAYSCALE")]:
        a = np.asarray(img)
        depth = 1 if a.ndim == 2 else a.shape[2]
        c.write(name, b"P7\nWIDTH %d\nHEIGHT %d\nDEPTH %d\nMAXVAL 255\nTUPLTYPE %s\nENDHDR\n"
                % (W, H, depth, tupl.encode()) + a.tobytes())
        ref = np.asarray(img.convert("RGB")) if tupl != "RGB_ALPHA" else \
            (np.asarray(img, dtype=np.uint32)[:, :, :3] * np.asarray(img, dtype=np.uint32)[:, :, 3:] + 127) // 255
        c.add(name, "pnm", f"format_corpus.py (bytes): P7 TUPLTYPE {tupl}", reference=ref.astype(np.uint8),
              reference_by="numpy: the stored samples (alpha composited over black); PIL 9.4 has no PAM reader")

    # ---------------- ICO / CUR
    ic = icon(256)
    ic.save(c.path("ico-png-entries.ico"), sizes=[(16, 16), (32, 32), (48, 48), (256, 256)])
    c.add("ico-png-entries.ico", "ico", f"PIL {Image.__version__}: sizes 16, 32, 48, 256 (PNG-compressed entries)",
          note="the 256x256 entry (width byte 0) is the one to decode")
    ic.resize((64, 64), Image.LANCZOS).save(c.path("ico-bmp-entries.ico"), sizes=[(16, 16), (32, 32), (64, 64)],
                                            bitmap_format="bmp")
    c.add("ico-bmp-entries.ico", "ico", f"PIL {Image.__version__}: sizes 16, 32, 64, bitmap_format='bmp' "
          "(32-bit BMP entries with alpha)")
    ic_png = c.src(ic)
    c.im("ico-imagemagick.ico", "ico", [ic_png], ["-strip", "-define", "icon:auto-resize=48,32,16"], "ICO:",
         "icon256.png", note="entries largest first")
    ic32 = ic.resize((32, 32), Image.LANCZOS)
    ic48 = ic.resize((48, 48), Image.LANCZOS)
    c.write("ico-mixed-depths.ico", ico_file([(16, 16, 4, ico_dib(ic.resize((16, 16), Image.LANCZOS), 4)),
                                              (48, 48, 8, ico_dib(ic48, 8)), (48, 48, 24, ico_dib(ic48, 24)),
                                              (32, 32, 32, ico_dib(ic32, 32))]))
    c.add("ico-mixed-depths.ico", "ico", "format_corpus.py (struct): ICO of BMP entries 16x16 4-bit, 48x48 8-bit, "
          "48x48 24-bit + AND mask, 32x32 32-bit", note="two 48x48 entries: PIL takes the deeper (24-bit) one")
    c.write("ico-same-size-depths.ico", ico_file([(32, 32, 4, ico_dib(ic32, 4)), (32, 32, 8, ico_dib(ic32, 8)),
                                                  (32, 32, 32, ico_dib(ic32, 32))]))
    c.add("ico-same-size-depths.ico", "ico", "format_corpus.py (struct): three 32x32 BMP entries, 4-, 8-, 32-bit, "
          "in that order", note="common in Windows icons; PIL takes the deepest entry of the largest size")
    opaque = ic32.convert("RGB").convert("RGBA")
    c.write("cur-opaque.cur", ico_file([(32, 32, 32, ico_dib(opaque, 32), (5, 7)),
                                        (48, 48, 24, ico_dib(ic48.convert("RGB").convert("RGBA"), 24), (8, 10))],
                                       kind=2))
    c.add("cur-opaque.cur", "cur", "format_corpus.py (struct): CUR, 32x32 32-bit and 48x48 24-bit opaque entries, "
          "hot spots (5,7), (8,10)")
    c.write("cur-alpha.cur", ico_file([(32, 32, 32, ico_dib(ic32, 32), (16, 16))], kind=2))
    c.add("cur-alpha.cur", "cur", "format_corpus.py (struct): CUR, one 32x32 32-bit entry with alpha",
          note="PIL 9.4 reads CUR entries as plain BMPs: the alpha byte is ignored")

    # ---------------- TGA
    base.save(c.path("tga-rgb-bottomleft.tga"))
    c.add("tga-rgb-bottomleft.tga", "tga", f"PIL {Image.__version__}: RGB, uncompressed, origin bottom-left (default)")
    base.save(c.path("tga-rgb-topleft.tga"), orientation=1)
    c.add("tga-rgb-topleft.tga", "tga", f"PIL {Image.__version__}: RGB, uncompressed, orientation=1 (top-left)")
    base.save(c.path("tga-rgb-rle.tga"), compression="tga_rle")
    c.add("tga-rgb-rle.tga", "tga", f"PIL {Image.__version__}: RGB, compression='tga_rle', bottom-left")
    base.save(c.path("tga-rgb-rle-topleft.tga"), compression="tga_rle", orientation=1)
    c.add("tga-rgb-rle-topleft.tga", "tga", f"PIL {Image.__version__}: RGB, compression='tga_rle', top-left")
    rgba.save(c.path("tga-rgba.tga"), compression="tga_rle")
    c.add("tga-rgba.tga", "tga", f"PIL {Image.__version__}: RGBA (32-bit), compression='tga_rle'")
    grey.save(c.path("tga-grey.tga"))
    c.add("tga-grey.tga", "tga", f"PIL {Image.__version__}: mode 'L' (type 3)")
    grey.save(c.path("tga-grey-rle.tga"), compression="tga_rle")
    c.add("tga-grey-rle.tga", "tga", f"PIL {Image.__version__}: mode 'L', RLE (type 11)")
    pal256.save(c.path("tga-palette.tga"))
    c.add("tga-palette.tga", "tga", f"PIL {Image.__version__}: mode 'P' (type 1, 24-bit colour map)")
    pal256.save(c.path("tga-palette-rle.tga"), compression="tga_rle")
    c.add("tga-palette-rle.tga", "tga", f"PIL {Image.__version__}: mode 'P', RLE (type 9)")
    a = np.asarray(base, dtype=np.uint16) >> 3
    v16 = (a[:, :, 0] << 10) | (a[:, :, 1] << 5) | a[:, :, 2]
    c.write("tga-16bit.tga", tga_header(W, H, 16, 2, top=True) + v16.astype("<u2").tobytes())
    c.add("tga-16bit.tga", "tga", "format_corpus.py (struct): type 2, 16 bits (X1R5G5B5), no alpha bits, top-left",
          note="5-bit samples scaled to 8 bits as v*255/31")
    flat = base.quantize(8)
    flat_rgb = np.asarray(flat.convert("RGB"))[:, :, ::-1]
    c.write("tga-rle-across-rows.tga", tga_header(W, H, 24, 10, top=True) + tga_rle_across_rows(flat_rgb, 3))
    c.add("tga-rle-across-rows.tga", "tga", "format_corpus.py (struct): type 10 RLE, 24-bit, 8-colour image, "
          "packets that run across scan lines")
    c.write("tga-image-id.tga", tga_header(W, H, 24, 2, top=False, idlen=26) + b"format_corpus.py image id."
            + np.asarray(base)[::-1, :, ::-1].tobytes())
    c.add("tga-image-id.tga", "tga", "format_corpus.py (struct): type 2, 24-bit, bottom-left, 26-byte image ID field")
    c.im("tga-imagemagick-rle.tga", "tga", [base_png], ["-strip", "-compress", "RLE"], "TGA:")
    subprocess.run(f"pngtopam {shlex.quote(base_png)} | pamtotga -rgb > {shlex.quote(c.path('tga-netpbm.tga'))}",
                   shell=True, check=True, stderr=subprocess.DEVNULL)
    c.add("tga-netpbm.tga", "tga", "netpbm: pngtopam base.png | pamtotga -rgb (uncompressed)")

    # ---------------- PSD
    c.im("psd-flat.psd", "psd", [base_png], ["-strip", "-compress", "None"], "PSD:", note="uncompressed")
    c.im("psd-rle.psd", "psd", [base_png], ["-strip", "-compress", "RLE"], "PSD:", note="PackBits")
    top_layer = base.transpose(Image.FLIP_LEFT_RIGHT)
    comp = Image.blend(base, top_layer, 0.5)
    l1, l2, cp = c.src(top_layer), c.src(with_alpha(base.transpose(Image.FLIP_TOP_BOTTOM))), c.src(comp)
    c.im("psd-layers.psd", "psd", [cp, l1, l2], ["-strip"], "PSD:",
         "composite.png layer1.png layer2-with-alpha.png",
         note="the merged composite (first image) differs from every layer: the composite must be decoded")
    c.im("psd-rgba.psd", "psd", [rgba_png], ["-strip"], "PSD:", "rgba.png",
         note="ImageMagick stores the composite's colours as they are (not matted against white as Photoshop "
              "does); PIL takes them as they are too",
         known_difference="PSD composites of transparent documents are matted with white (Photoshop's convention); "
                          "TwelveMonkeys un-mattes them, PIL does not. ImageMagick wrote this file without matting, so "
                          "PIL's pixels are right here and TwelveMonkeys' are right for files Photoshop writes")
    c.im("psd-grey.psd", "psd", [grey_png], ["-strip"], "PSD:", "grey.png")
    c.im("psd-palette.psd", "psd", [base_png], ["-strip", "-dither", "None", "-colors", "64", "-type", "Palette"],
         "PSD:", note="indexed colour mode")
    c.im("psd-cmyk.psd", "psd", [base_png], ["-strip", "-colorspace", "CMYK"], "PSD:",
         note="CMYK mode without a colour profile")

    # ---------------- JPEG 2000
    base.save(c.path("jp2-lossless.jp2"))
    c.add("jp2-lossless.jp2", "jpeg2000", f"PIL {Image.__version__} (OpenJPEG {features.version('jpg_2000')}): "
          "default (reversible 5/3, lossless), JP2 box format")
    base.save(c.path("j2k-lossless.j2k"))
    c.add("j2k-lossless.j2k", "jpeg2000", f"PIL (OpenJPEG): default lossless, raw codestream")
    ph.save(c.path("jp2-lossy.jp2"), irreversible=True, quality_mode="rates", quality_layers=[12])
    c.add("jp2-lossy.jp2", "jpeg2000", "PIL (OpenJPEG): photo, irreversible=True, quality_mode='rates', "
          "quality_layers=[12]", lossy=True)
    ph.save(c.path("j2k-lossy-layers.j2k"), irreversible=True, quality_mode="rates", quality_layers=[40, 10, 4])
    c.add("j2k-lossy-layers.j2k", "jpeg2000", "PIL (OpenJPEG): photo, irreversible, 3 quality layers [40, 10, 4]",
          lossy=True, note="all layers are decoded")
    grey.save(c.path("j2k-grey.j2k"))
    c.add("j2k-grey.j2k", "jpeg2000", "PIL (OpenJPEG): mode 'L', lossless codestream")
    rgba.save(c.path("jp2-rgba.jp2"))
    c.add("jp2-rgba.jp2", "jpeg2000", "PIL (OpenJPEG): RGBA, lossless")
    base.save(c.path("j2k-tiled.j2k"), tile_size=(32, 32))
    c.add("j2k-tiled.j2k", "jpeg2000", "PIL (OpenJPEG): tile_size=(32, 32), lossless")
    base.save(c.path("j2k-rpcl.j2k"), progression="RPCL", num_resolutions=3)
    c.add("j2k-rpcl.j2k", "jpeg2000", "PIL (OpenJPEG): progression='RPCL', num_resolutions=3, lossless")
    Image.fromarray(g16, "I;16").save(c.path("jp2-16bit-grey.jp2"))
    c.add("jp2-16bit-grey.jp2", "jpeg2000", "PIL (OpenJPEG): mode 'I;16', lossless")
    c.im("jp2-imagemagick.jp2", "jpeg2000", [photo_png], ["-strip", "-quality", "40"], "JP2:", "photo.png",
         lossy=True)

    # ---------------- BMP
    c.im("bmp-os2-v1-24bit.bmp", "bmp", [base_png], ["-strip"], "BMP2:", note="OS/2 1.x BITMAPCOREHEADER (12 bytes)")
    c.im("bmp-os2-v1-8bit.bmp", "bmp", [base_png], ["-strip", "-dither", "None", "-colors", "200", "-type", "Palette"],
         "BMP2:", note="12-byte header, 3-byte RGBTRIPLE palette")
    idx, pal = quantized(base, 256)
    c.write("bmp-os2-v2-8bit.bmp", bmp_file(info40(W, H, 8, colours=256, header_size=64), rgbquad(pal),
                                            dib_rows(idx, 8)))
    c.add("bmp-os2-v2-8bit.bmp", "bmp", "format_corpus.py (struct): OS/2 2.x header (64 bytes), 8-bit palette")
    bilevel.save(c.path("bmp-1bit.bmp"))
    c.add("bmp-1bit.bmp", "bmp", f"PIL {Image.__version__}: mode '1'")
    c.im("bmp-4bit.bmp", "bmp", [base_png], ["-strip", "-dither", "None", "-colors", "16", "-type", "Palette"],
         "BMP3:", note="16-colour palette, 4 bits a pixel")
    pal256.save(c.path("bmp-8bit.bmp"))
    c.add("bmp-8bit.bmp", "bmp", f"PIL {Image.__version__}: base.quantize(256)")
    grey.save(c.path("bmp-8bit-grey.bmp"))
    c.add("bmp-8bit-grey.bmp", "bmp", f"PIL {Image.__version__}: mode 'L' (grey palette)")
    idx5, pal5 = quantized(base, 5)
    c.write("bmp-8bit-5colours.bmp", bmp_file(info40(W, H, 8, colours=5), rgbquad(pal5), dib_rows(idx5, 8)))
    c.add("bmp-8bit-5colours.bmp", "bmp", "format_corpus.py (struct): 8 bits a pixel, 5-entry palette (biClrUsed=5)")
    c.im("bmp-rle8.bmp", "bmp", [base_png], ["-strip", "-dither", "None", "-colors", "64", "-type", "Palette",
                                             "-compress", "RLE"], "BMP3:")
    idx8, pal8 = quantized(base, 32)
    data = rle8(idx8)
    c.write("bmp-rle8-absolute.bmp", bmp_file(info40(W, H, 8, 1, len(data), 32), rgbquad(pal8), data))
    c.add("bmp-rle8-absolute.bmp", "bmp", "format_corpus.py (struct): RLE8 with encoded runs and absolute blocks, "
          "32 colours")
    idx4, pal4 = quantized(base, 16)
    data = rle4(idx4)
    c.write("bmp-rle4.bmp", bmp_file(info40(W, H, 4, 2, len(data), 16), rgbquad(pal4), data))
    c.add("bmp-rle4.bmp", "bmp", "format_corpus.py (struct): RLE4 (encoded runs, alternating pairs, even absolute "
          "blocks), 16 colours")
    c.im("bmp-32bit-alpha-v5.bmp", "bmp", [rgba_png], ["-strip"], "BMP:", "rgba.png",
         note="BITMAPV5HEADER, BI_BITFIELDS with an alpha mask")
    rgba.save(c.path("bmp-32bit-bgrx.bmp"))
    c.add("bmp-32bit-bgrx.bmp", "bmp", f"PIL {Image.__version__}: RGBA -> 32-bit BI_RGB, 40-byte header",
          note="BI_RGB has no alpha: the 4th byte is padding (PIL ignores it)")
    c.write("bmp-topdown.bmp", bmp_file(info40(W, -H, 24), b"", dib_rows(np.asarray(base)[:, :, ::-1], 24, False)))
    c.add("bmp-topdown.bmp", "bmp", "format_corpus.py (struct): 24-bit, negative height (top-down rows)")
    c.im("bmp-16bit-565.bmp", "bmp", [base_png], ["-strip", "-define", "bmp:subtype=RGB565"], "BMP:",
         note="BI_BITFIELDS 5-6-5")
    c.write("bmp-16bit-555.bmp", bmp_file(info40(W, H, 16), b"", dib_rows(v16, 16)))
    c.add("bmp-16bit-555.bmp", "bmp", "format_corpus.py (struct): 16-bit BI_RGB (X1R5G5B5 by default)")

    # ---------------- SGI / PCX
    base.save(c.path("sgi-rgb.sgi"))
    c.add("sgi-rgb.sgi", "sgi", f"PIL {Image.__version__}: RGB, verbatim (uncompressed)")
    grey.save(c.path("sgi-grey.sgi"))
    c.add("sgi-grey.sgi", "sgi", f"PIL {Image.__version__}: mode 'L', verbatim")
    rgba.save(c.path("sgi-rgba.sgi"))
    c.add("sgi-rgba.sgi", "sgi", f"PIL {Image.__version__}: RGBA, verbatim")
    c.im("sgi-rle.sgi", "sgi", [base_png], ["-strip", "-compress", "RLE"], "SGI:")
    c.im("sgi-16bit.sgi", "sgi", [src16], ["-strip", "-depth", "16"], "SGI:", "base16.ppm")
    base.save(c.path("pcx-rgb.pcx"))
    c.add("pcx-rgb.pcx", "pcx", f"PIL {Image.__version__}: RGB (3 planes of 8 bits)")
    pal256.save(c.path("pcx-8bit.pcx"))
    c.add("pcx-8bit.pcx", "pcx", f"PIL {Image.__version__}: mode 'P' (256-colour palette at the end)")
    grey.save(c.path("pcx-grey.pcx"))
    c.add("pcx-grey.pcx", "pcx", f"PIL {Image.__version__}: mode 'L'")
    bilevel.save(c.path("pcx-1bit.pcx"))
    c.add("pcx-1bit.pcx", "pcx", f"PIL {Image.__version__}: mode '1'")
    c.im("pcx-16colour.pcx", "pcx", [base_png], ["-strip", "-dither", "None", "-colors", "16", "-type", "Palette"],
         "PCX:", note="EGA-style 16-colour palette in the header")
    subprocess.run(f"pngtopam {shlex.quote(base_png)} | pnmquant 16 2>/dev/null | ppmtopcx -planes 4 > "
                   f"{shlex.quote(c.path('pcx-4planes.pcx'))}", shell=True, check=True, stderr=subprocess.DEVNULL)
    c.add("pcx-4planes.pcx", "pcx", "netpbm: pngtopam base.png | pnmquant 16 | ppmtopcx -planes 4 "
          "(4 bit planes of 1 bit)",
          known_difference="TwelveMonkeys 3.13.1's PCX reader shifts each bit plane of 4-plane (EGA) files down one "
                           "scan line; PIL and netpbm's pcxtoppm agree with each other")

    # ---------------- GIF
    gif_img = base.quantize(64)
    gif_img.save(c.path("gif-interlaced.gif"), interlace=True)
    c.add("gif-interlaced.gif", "gif", f"PIL {Image.__version__}: quantize(64), interlace=True")
    gif_img.save(c.path("gif-plain.gif"), interlace=False)
    c.add("gif-plain.gif", "gif", f"PIL {Image.__version__}: quantize(64), interlace=False")
    c.write("gif-local-palette.gif", gif_global_to_local(pil_bytes(gif_img, "GIF", interlace=False)))
    c.add("gif-local-palette.gif", "gif", "PIL, then format_corpus.py moves the global colour table into a local one",
          note="no global colour table")
    t = base.quantize(63)
    ti = np.asarray(t).copy()
    ti[np.asarray(rgba)[:, :, 3] < 100] = 63
    tp = Image.fromarray(ti, "P")
    tp.putpalette((t.getpalette() + [0] * 768)[:189] + [255, 0, 255])
    tp.save(c.path("gif-transparent.gif"), transparency=63)
    c.add("gif-transparent.gif", "gif", f"PIL {Image.__version__}: 64 colours, index 63 transparent where the alpha "
          "image's alpha < 100", note="transparent pixels composite over black")
    frames = [gif_img, base.transpose(Image.FLIP_LEFT_RIGHT).quantize(16)]
    frames[0].save(c.path("gif-animated-local.gif"), save_all=True, append_images=frames[1:], duration=80, loop=0,
                   interlace=False)
    c.add("gif-animated-local.gif", "gif", f"PIL {Image.__version__}: 2 frames with different palettes (the second "
          "local), first frame decoded")
    c.im("gif-imagemagick.gif", "gif", [base_png], ["-strip", "-dither", "None", "-colors", "32"], "GIF87:")
    c.write("gif-frame-offset.gif", gif_offset_frame(pil_bytes(base.resize((48, 30)).quantize(32), "GIF",
                                                               interlace=False), W, H, 14, 10))
    c.add("gif-frame-offset.gif", "gif", "PIL 48x30 GIF, then format_corpus.py enlarges the logical screen to 75x50 "
          "and places the frame at (14, 10)", note="the image is the logical screen, not the frame")
    c.im("gif-2colour.gif", "gif", [grey_png], ["-strip", "-monochrome"], "GIF:", "grey.png",
         note="1-bit colour table, LZW minimum code size 2")

    # ---------------- JPEG, clean and slightly broken
    clean = pil_bytes(ph, "JPEG", quality=90)
    c.write("jpeg-clean.jpg", clean)
    c.add("jpeg-clean.jpg", "jpeg", f"PIL {Image.__version__}: photo, quality=90 (4:2:0), the base of the broken ones",
          lossy=True)
    s, e = find_marker(clean, 0xC4)
    c.write("jpeg-extraneous-before-dht.jpg", clean[:s] + b"\x00\x17\x42\x99" + clean[s:])
    c.add("jpeg-extraneous-before-dht.jpg", "jpeg-broken", "jpeg-clean.jpg with 4 bytes (00 17 42 99) inserted "
          "before the first DHT marker", lossy=True)
    c.write("jpeg-extraneous-before-eoi.jpg", clean[:-2] + bytes(range(1, 25)) + clean[-2:])
    c.add("jpeg-extraneous-before-eoi.jpg", "jpeg-broken", "jpeg-clean.jpg with 24 bytes (01..18) between the end of "
          "the entropy-coded data and EOI", lossy=True)
    c.write("jpeg-fill-bytes.jpg", clean[:s] + b"\xFF" * 7 + clean[s:])
    c.add("jpeg-fill-bytes.jpg", "jpeg", "jpeg-clean.jpg with 7 FF fill bytes before DHT (legal padding)", lossy=True)
    rng = np.random.default_rng(3)
    junk = bytes(int(v) for v in rng.integers(0, 255, 700))
    c.write("jpeg-garbage-after-eoi.jpg", clean + junk)
    c.add("jpeg-garbage-after-eoi.jpg", "jpeg-broken", "jpeg-clean.jpg followed by 700 random bytes after EOI",
          lossy=True)
    thumb = pil_bytes(ph.resize((24, 16)), "JPEG", quality=70)
    c.write("jpeg-second-image-after-eoi.jpg", clean + thumb)
    c.add("jpeg-second-image-after-eoi.jpg", "jpeg-broken", "jpeg-clean.jpg followed by a whole 24x16 JPEG "
          "(as some cameras append a preview)", lossy=True, note="the first image is the one to decode")
    c.write("jpeg-missing-eoi.jpg", clean[:-2])
    c.add("jpeg-missing-eoi.jpg", "jpeg-broken", "jpeg-clean.jpg without its final FF D9", lossy=True)
    c.write("jpeg-truncated-half.jpg", clean[: len(clean) // 2])
    c.add("jpeg-truncated-half.jpg", "jpeg-broken", "the first half of jpeg-clean.jpg", lossy=True)
    bad, where = corrupt_entropy(clean)
    c.write("jpeg-bad-huffman.jpg", bad)
    c.add("jpeg-bad-huffman.jpg", "jpeg-broken", f"jpeg-clean.jpg with 6 entropy-coded bytes at offset {where} "
          "(55% into the scan) overwritten with FF 00 FF 00 FF 00 (an invalid Huffman code)", lossy=True,
          note="libjpeg's error recovery decides the damaged blocks: compared by mean difference")
    import cv2  # OpenCV (Debian python3-opencv): the only installed encoder that writes restart markers
    ok, enc = cv2.imencode(".jpg", np.asarray(ph)[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90,
                                                                cv2.IMWRITE_JPEG_RST_INTERVAL, 2])
    rst = enc.tobytes()
    c.write("jpeg-restart-clean.jpg", rst)
    c.add("jpeg-restart-clean.jpg", "jpeg", f"OpenCV {cv2.__version__}: cv2.imencode('.jpg', photo, "
          "IMWRITE_JPEG_QUALITY=90, IMWRITE_JPEG_RST_INTERVAL=2) (RST every 2 MCUs)", lossy=True)
    positions = [i for i in range(sos_e_of(rst), len(rst) - 1) if rst[i] == 0xFF and 0xD0 <= rst[i + 1] <= 0xD7]
    p4 = positions[4]
    c.write("jpeg-restart-missing.jpg", rst[:p4] + rst[p4 + 2:])
    c.add("jpeg-restart-missing.jpg", "jpeg-broken", "jpeg-restart-clean.jpg with its 5th RST marker removed",
          lossy=True)
    wrong = bytearray(rst)
    wrong[positions[4] + 1] = 0xD0 + ((wrong[positions[4] + 1] - 0xD0 + 3) % 8)
    c.write("jpeg-restart-wrong-number.jpg", bytes(wrong))
    c.add("jpeg-restart-wrong-number.jpg", "jpeg-broken", "jpeg-restart-clean.jpg with its 5th RST marker numbered 3 "
          "too high (out of sequence)", lossy=True)
    app0_s, app0_e = find_marker(clean, 0xE0)
    bad_exif = app1_exif(b"MM\x00\x2A\x00\x00\x00\x08\x00\x02\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00"
                         b"\x87\x69\x00\x04\x00\x00\x00\x01\x7F\xFF\xFF\x00\x00\x00\x00\x00")
    c.write("jpeg-exif-bad-offset.jpg", clean[:app0_e] + bad_exif + clean[app0_e:])
    c.add("jpeg-exif-bad-offset.jpg", "jpeg-broken", "jpeg-clean.jpg plus an APP1 Exif: Orientation=6 and an Exif "
          "sub-IFD pointer far past the end of the segment", lossy=True,
          note="the orientation is still readable and PIL applies it")
    c.write("jpeg-exif-truncated.jpg", clean[:app0_e] + app1_exif(b"II\x2A\x00\x08\x00") + clean[app0_e:])
    c.add("jpeg-exif-truncated.jpg", "jpeg-broken", "jpeg-clean.jpg plus an APP1 'Exif\\0\\0' holding only 6 bytes "
          "of TIFF header (IFD offset 8 past the end)", lossy=True,
          note="PIL 9.4 refuses it while opening: with no DPI in JFIF it reads the Exif for one and the "
               "struct.error escapes; the image data itself is intact, so the reference is jpeg-clean.jpg's pixels",
          reference=np.asarray(Image.open(io.BytesIO(clean)).convert("RGB")),
          reference_by=f"PIL {Image.__version__} on jpeg-clean.jpg (the same image data without the broken Exif)")
    icc = b"ICC_PROFILE\0\x01\x01" + bytes(int(v) for v in rng.integers(0, 256, 300))
    c.write("jpeg-icc-garbage.jpg", clean[:app0_e] + b"\xFF\xE2" + struct.pack(">H", len(icc) + 2) + icc
            + clean[app0_e:])
    c.add("jpeg-icc-garbage.jpg", "jpeg-broken", "jpeg-clean.jpg plus an APP2 ICC_PROFILE (chunk 1 of 1) of 300 random "
          "bytes", lossy=True)
    icc2 = b"ICC_PROFILE\0\x02\x03" + bytes(int(v) for v in rng.integers(0, 256, 64))
    c.write("jpeg-icc-bad-sequence.jpg", clean[:app0_e] + b"\xFF\xE2" + struct.pack(">H", len(icc2) + 2) + icc2
            + clean[app0_e:])
    c.add("jpeg-icc-bad-sequence.jpg", "jpeg-broken", "jpeg-clean.jpg plus one APP2 ICC_PROFILE chunk numbered 2 of 3 "
          "(chunks 1 and 3 missing)", lossy=True)
    app0 = bytearray(clean[app0_s:app0_e])
    app0[2:4] = struct.pack(">H", 10)  # JFIF APP0 claims 10 bytes: the rest of it becomes junk between markers
    c.write("jpeg-app0-short-length.jpg", clean[:app0_s] + bytes(app0) + clean[app0_e:])
    c.add("jpeg-app0-short-length.jpg", "jpeg-broken", "jpeg-clean.jpg whose JFIF APP0 length says 10 instead of 16",
          lossy=True, note="the last 6 bytes of APP0 are left as extraneous bytes before the next marker")
    comment = b"\xFF\xFE" + struct.pack(">H", 200) + b"short comment"
    c.write("jpeg-com-overrun.jpg", clean[:app0_e] + comment + clean[app0_e:])
    c.add("jpeg-com-overrun.jpg", "jpeg-broken", "jpeg-clean.jpg plus a COM segment whose length (200) runs over the "
          "following DQT/SOF markers", lossy=True)

    # ---------------- truncated files of the other formats (PIL's verdict decides what is expected)
    # (tiff-lzw-rgb.tif has its IFD at the end, so cutting it loses the header; tiff-raw-rgb.tif has
    # the IFD first, so cutting it loses pixel data only)
    for name in ["tiff-lzw-rgb.tif", "tiff-raw-rgb.tif", "bmp-8bit.bmp", "bmp-rle4.bmp", "tga-rgb-rle.tga",
                 "tga-rgb-topleft.tga", "pcx-rgb.pcx", "sgi-rle.sgi", "sgi-rgb.sgi", "psd-rle.psd", "psd-flat.psd",
                 "j2k-lossless.j2k", "jp2-lossless.jp2", "ppm-binary.ppm", "gif-plain.gif", "ico-png-entries.ico",
                 "cur-opaque.cur"]:
        with open(c.path(name), "rb") as f:
            whole = f.read()
        stem, ext = os.path.splitext(name)
        cut = stem + "-truncated" + ext
        c.write(cut, whole[: len(whole) * 6 // 10])
        fmt = next(x["format"] for x in c.cases if x["file"] == name)
        c.add(cut, fmt, f"the first 60% of {name}", lossy=next(x["lossy"] for x in c.cases if x["file"] == name))


def corrupt_entropy(clean, at_percent=55):
    """Overwrites 6 scan bytes in the middle with FF 00 FF 00 FF 00 (stuffed FF bytes: 16+ one bits
    in a row, which no Huffman table of libjpeg's defines), i.e. a bad Huffman code."""
    sos_e = sos_e_of(clean)
    at = sos_e + (len(clean) - 2 - sos_e) * at_percent // 100
    return clean[:at] + b"\xFF\x00" * 3 + clean[at + 6:], at


def sos_e_of(d):
    return find_marker(d, 0xDA)[1]


def gif_blocks(d):
    """Offsets in a GIF: end of header+LSD+GCT, and the first image descriptor."""
    flags = d[10]
    p = 13 + (3 * (2 << (flags & 7)) if flags & 0x80 else 0)
    gct_end = p
    while d[p] == 0x21:
        p += 2
        while d[p]:
            p += d[p] + 1
        p += 1
    assert d[p] == 0x2C
    return gct_end, p


def gif_global_to_local(d):
    flags = d[10]
    assert flags & 0x80
    size_bits = flags & 7
    gct = d[13:13 + 3 * (2 << size_bits)]
    gct_end, desc = gif_blocks(d)
    head = bytearray(d[:13])
    head[10] = flags & 0x70  # no global table (keep colour resolution)
    image_desc = bytearray(d[desc:desc + 10])
    assert not image_desc[9] & 0x80
    image_desc[9] |= 0x80 | size_bits
    return bytes(head) + d[gct_end:desc] + bytes(image_desc) + gct + d[desc + 10:]


def gif_offset_frame(d, screen_w, screen_h, left, top):
    out = bytearray(d)
    out[6:10] = struct.pack("<HH", screen_w, screen_h)
    _, desc = gif_blocks(d)
    out[desc + 1:desc + 5] = struct.pack("<HH", left, top)
    return bytes(out)


README_HEAD = """# Image format corpus

Small test files for `io.streamvision.imaging.ImageDecoder`, checked by `FormatCorpusTest`.
Everything here is generated: do not edit by hand, rerun

    /usr/bin/python3 training/format_corpus.py libs/media/src/test/resources/corpus

(Debian bookworm: PIL {pil}, ImageMagick {im}, netpbm, OpenCV for the restart-marker JPEG;
re-running with the same versions gives the same bytes).

## Sources

* **Procedural base image** (all non-JPEG files unless said otherwise): 75x50 gradients with
  noise texture, saturated blocks, 1-px lines and a checkerboard, made by `procedural()` in the
  script; grey, bilevel (dithered), palette and alpha variants are derived from it. Icons use a
  procedural 256x256 image with soft transparent corners (`icon()`). No third-party content.
* **Photo** (JPEG, JPEG-in-TIFF, lossy JPEG 2000; named `photo` below): {photo}.
  Licence: CC0 ("No copyright restrictions. CC0 by the photographer (Rachel Michetti)", the
  `skimage.data.coffee` docstring).
* **Tools**: PIL writes most files; ImageMagick (`convert`) and netpbm the variants PIL cannot
  write; a few are assembled byte by byte by the script (`struct`): OS/2 2.x BMP, RLE4/RLE8 BMP,
  16-bit BMP/TGA, ICO/CUR containers, PAM, odd PNM headers, TGA with packets across rows or an
  image ID, GIF with a local palette or an offset frame. The broken JPEGs are `jpeg-clean.jpg` (or
  `jpeg-restart-clean.jpg`) edited as described.

## Files

`corpus.json` has, for every file: the tool and options that made it (`made_with`), whether
PIL loads it with default settings (`pil_decodes`, `pil_error`), for JPEGs what libjpeg-turbo
itself warns (`libjpeg_warnings`, from netpbm's `jpegtopnm`), and what the decoder must do
(`expect`): `decode` to `width` x `height` with the pixels in `reference` (raw 8-bit RGB, PIL's
decoding: alpha over black, 16-bit samples' high byte, EXIF orientation for JPEG; exact within
1/255 unless `lossy`, then a mean difference under 2/255), or `reject` (ImageRejectedException).
PAM files are the one exception to "PIL is the reference": PIL 9.4 has no PAM reader, so their
reference is the stored samples (`reference_by`).

| file | expect | made with |
|---|---|---|
"""


def write_readme(out, cases, photo_note):
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(README_HEAD.format(pil=Image.__version__, im=IM_VERSION, photo=photo_note))
        for x in cases:
            what = x["made_with"].replace("|", "\\|")
            if x.get("note"):
                what += " — " + x["note"].replace("|", "\\|")
            f.write(f"| `{x['file']}` | {x['expect']} | {what} |\n")


def main(out):
    os.makedirs(out, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        c = Corpus(out, tmp)
        build(c)
    cases = []
    for case in c.cases:
        name, fmt = case["file"], case["format"]
        path = c.path(name)
        ok, err, pil_format, pil_mode = pil_loads(path)
        entry = {"file": name, "format": fmt, "bytes": os.path.getsize(path), "made_with": case["made_with"],
                 "pil_decodes": ok}
        if err:
            entry["pil_error"] = err
        if fmt.startswith("jpeg") and fmt != "jpeg2000":
            entry["libjpeg_warnings"] = libjpeg_warnings(path)
        ref = case["_reference"]
        if ok:
            ref = reference(path, fmt)
            entry["reference_by"] = f"PIL {Image.__version__} ({pil_format}, mode {pil_mode})"
        elif ref is not None:
            entry["reference_by"] = case["reference_by"]
        if ref is not None:
            ref_file = name + ".rgb"
            np.ascontiguousarray(ref, dtype=np.uint8).tofile(c.path(ref_file))
            entry.update(expect="decode", width=int(ref.shape[1]), height=int(ref.shape[0]), reference=ref_file,
                         lossy=case["lossy"])
        else:
            entry.update(expect="reject")
        if case["note"]:
            entry["note"] = case["note"]
        if case["known_difference"]:
            entry["known_difference"] = case["known_difference"]
        cases.append(entry)
    with open(os.path.join(out, "corpus.json"), "w") as f:
        json.dump({"made_with": f"training/format_corpus.py: PIL {Image.__version__}, ImageMagick {IM_VERSION}, "
                                f"netpbm; photo: {c.photo_note}",
                   "compare": "expect=decode: decoded pixels (grey replicated to RGB) against the reference, "
                              "max |diff| <= 1 unless lossy (then mean |diff| < 2/255); expect=reject: "
                              "ImageRejectedException", "cases": cases}, f, indent=1)
    write_readme(out, cases, c.photo_note)
    total = sum(os.path.getsize(os.path.join(out, n)) for n in os.listdir(out))
    refused = [x["file"] for x in cases if x["expect"] == "reject"]
    print(f"wrote {len(cases)} corpus files to {out} ({total / 1e6:.2f} MB); PIL refuses: {', '.join(refused)}")


if __name__ == "__main__":
    main(sys.argv[1])
