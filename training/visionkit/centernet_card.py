"""``MODEL_CARD.md`` of the ``centernet`` detector, written from the stage's measurements."""
from __future__ import annotations

import datetime
import os

from . import centernet as cn


def _parity_rows(m: dict) -> str:
    rows = []
    for p in m["parity"]["per_photo"]:
        rows.append(f"| `{os.path.basename(p['file'])}` | {p['above']} | {'yes' if p['ok'] else '**no**'} | "
                    f"{p['max_box_diff']:.1e} | {p['max_score_diff']:.1e} | {p['max_abs_keypoints']:.1e} | "
                    f"{p['max_abs_wh']:.1e} | {p['max_abs_detections']:.1e} |")
    return "\n".join(rows)


def _resize_rows(m: dict) -> str:
    lb, st = m["resize"]["letterbox"], m["resize"]["stretch"]
    rows = []
    for i, (name, *_rest, expected) in enumerate(cn.PHOTOS):
        rows.append(f"| `{name}` | {', '.join(expected) or '(no COCO class)'} | "
                    f"{', '.join(lb['per_image'][i]) or '(none)'} | {', '.join(st['per_image'][i]) or '(none)'} |")
    return "\n".join(rows)


def card(m: dict, cfg: dict) -> str:
    par, t, rs = m["parity"], m["timing"], m["resize"]
    lb, st = rs["letterbox"], rs["stretch"]
    labels = ", ".join(f"{i} {name}" for i, name in enumerate(cn.LABELS))
    size = m["onnx_bytes"]
    return f"""# {cn.NAME} v{cn.VERSION} — CenterNet with a MobileNetV3 backbone (COCO, 80 classes)

A pretrained object detector: one RGB image letterboxed to 512x512 in, up to 100 scored boxes
out, in 80 COCO classes. It is not trained here: the stage converts the published TF.js
graph to ONNX with the kit's own converter (`training/visionkit/tfjs.py`) and checks the result
against the original TF.js graph on real photographs.

## Source and licence

- Weights and graph: npm package `{cn.PACKAGE}@{cn.PACKAGE_VERSION}` (files `models/centernet.json` and
  `models/centernet.bin`), integrity `{cn.INTEGRITY}`, checked before use.
- Model: MobileNetV3 + CenterNet trained on COCO by 610265158, {cn.UPSTREAM};
  TF.js graph conversion by Vladimir Mandic (`generatedBy`/`convertedBy` in the graph file).
- Licence: MIT, the package's `LICENSE`, copied next to this card as `LICENSE`.
- TF.js to ONNX: `training/visionkit/tfjs.py` (opset 13); the weights are stored as float16 in the package
  and dequantized exactly to float32.

## Interface

| direction | name | datatype | shape | meaning |
|---|---|---|---|---|
| input | `image` | FP32 | [-1, 512, 512, 3] | NHWC, RGB, pixel values 0-255 (no normalisation) |
| output | `detections` | FP32 | [-1, 100, 6] | per row `x1, y1, x2, y2, score, class` in 512x512 input pixels, by score descending |

Classes (index: name; COCO order, as in the human library's label list): {labels}.

## Input recipe (the services reproduce it exactly)

1. Decode with PIL, apply the EXIF orientation (`ImageOps.exif_transpose`), convert to RGB.
2. Letterbox: `scale = min(512/W, 512/H)` (float64), `rw = floor(W*scale + 0.5)`, `rh = floor(H*scale + 0.5)`
   (at least 1); resize to `rw x rh` with PIL's bilinear filter (`Image.BILINEAR`, default reducing gap);
   paste at `left = (512-rw)//2`, `top = (512-rh)//2` on a 512x512 canvas filled with 0.
3. The uint8 pixels as float32, NHWC, no scaling (`scale` 1, `mean` 0, `std` 1 in `config.json`).

## Output and post-processing

The graph keeps the original decoding: sigmoid class heat map on a 128x128 grid (stride 4), a
3x3 max-pool peak test, the top 100 (cell, class) peaks over the whole map, and per peak the box
`(4x - l, 4y - t, 4x + r, 4y + b)` from the predicted distances to the four sides (the `wh` head,
x16). Rows are always 100; weak peaks have low scores. The services then, per image:

1. keep rows with `score >= {cn.MIN_SCORE}` (`detection.min_score`);
2. map boxes to the original image: `x = (x512 - left) * W / rw`, `y = (y512 - top) * H / rh`, clamp x to
   `[0, W]` and y to `[0, H]`;
3. per-class greedy non-maximum suppression in original pixels, by score descending (ties keep row order),
   dropping a box whose IoU with a kept box of the same class is `> {cn.NMS_IOU}` (`detection.nms_iou`);
4. keep at most {cn.MAX_DETECTIONS} (`detection.max_detections`).

`fixtures/reference.json` holds the result of exactly this for the photographs in `samples/photos/`
(scores and boxes as the ONNX graph gives them, rounded to 4 decimals).

## Architecture

MobileNetV3 backbone (hard-swish, squeeze-and-excitation; 15 inverted-residual blocks), a
CenterNet head that upsamples stride 32 → 16 → 8 → 4 (bilinear x2, separable convolutions,
concatenation with the lateral features), a squeeze-and-excitation gate, and two separable
3x3 heads: 80 class heat maps and 4 box distances, at 128x128. {m.get('parameters', 2014985):,} float32
weights; ONNX graph {size:,} bytes, {m['nodes']} nodes (Conv, ReduceMean, Resize, MaxPool, TopK, GatherND, ...).

### Batch dimension

The TF.js graph was exported for batch 1 (reshape constants `[1, -1]`, `[16384, 4]`, `[1, 100, 4]`).
The converter keeps the batch: a reshape whose target starts with 1 copies the batch dimension
(ONNX `0`), and the `BatchGather` pattern is rewritten:
{chr(10).join('- ' + r for r in m['rewrites'])}

(`Reshape(wh, [0, -1, 4])`, `Unsqueeze(index, -1)`, `GatherND(batch_dims=1)`). Any other reshape that
would fold the batch into another axis makes the conversion fail. Running all {len(m['photos'])} photographs as one
batch gives the same detections as running them one by one (max abs difference
{par['batch_vs_single_max_abs']:.1e}).

## Parity with the original TF.js graph

`@tensorflow/tfjs-core`, `-converter` and `-backend-cpu` {par['tfjs']['tfjs-core']} (pure-JavaScript CPU backend)
run the original graph (`training/tfjs/run.js`) on the same letterboxed tensors as ONNX Runtime
({par['runtime']}; the graph with `keypoints` and `wh` as extra outputs for the closer check,
the served graph on the whole batch for `detections`). Required, per photo: the same rows above
{cn.MIN_SCORE} (class equal, box within {par['box_tol']:g} px in 512 space, score within {par['score_tol']:g}; rows within the
score tolerance of the threshold may fall either way). Result: **{'passed' if par['ok'] else 'FAILED'}** on all
{len(par['per_photo'])} photographs.

| photo | rows >= {cn.MIN_SCORE} | same | max box diff (px) | max score diff | max abs keypoints | max abs wh | max abs detections |
|---|---|---|---|---|---|---|---|
{_parity_rows(m)}

Max abs differences over all photographs: keypoints {par['max_abs']['keypoints']:.1e}, wh
{par['max_abs']['wh']:.1e} (wh is in 512-pixel units, up to a few hundred), detections {par['max_abs']['detections']:.1e}.

## Letterbox or stretch

The upstream JavaScript library stretches every image to 512x512. Both were run on the
photographs and scored against the COCO classes visibly present in each photo (listed below;
after the post-processing above):

| policy | expected classes found | mean best score of those | detections | missed | classes not in the photo |
|---|---|---|---|---|---|
| letterbox | {lb['found']}/{lb['expected']} | {lb['mean_best_score']:.3f} | {lb['detections']} | {', '.join(lb['missed']) or '-'} | {', '.join(lb['extra_classes']) or '-'} |
| stretch | {st['found']}/{st['expected']} | {st['mean_best_score']:.3f} | {st['detections']} | {', '.join(st['missed']) or '-'} | {', '.join(st['extra_classes']) or '-'} |

The served policy is letterbox ({m['resize_choice']}).

| photo | visible (COCO) | letterbox | stretch |
|---|---|---|---|
{_resize_rows(m)}

## Speed

Same run, same machine ({m['environment']}), median time per image for a 512x512 input:

| runtime | batch | ms per image |
|---|---|---|
| ONNX Runtime ({par['runtime']}) | 1 | {t['ort_batch1_ms_per_image']:.1f} |
| ONNX Runtime | 8 | {t['ort_batch8_ms_per_image']:.1f} |
| TF.js {par['tfjs']['tfjs-core']}, `cpu` backend (pure JavaScript) | 1 | {t['tfjs_cpu_ms_per_image']:.0f} |

## How to reproduce

```sh
training/install.sh                  # Debian packages, ONNX Runtime and TF.js for Node.js (once)
training/make-models.sh {cn.NAME}         # fetch (npm pack, integrity checked), convert, check, write
```

The stage converts twice and refuses differing bytes; `model.onnx` has no timestamps and a fixed
node and initializer order, so re-running it reproduces the same file (sha256 below).

## Limitations

- COCO's 80 classes only; a painting (`scream.jpg`) and objects outside COCO (`rocket.jpg`) give nothing.
- Scores are modest (the best box of a clearly visible object scores 0.35-0.8 here), and the
  threshold {cn.MIN_SCORE} lets through some near-duplicates of other classes (e.g. sheep/cow next to a
  horse, car for a pickup truck). Small and crowded objects are found less reliably at 512x512.
- The parity check compares with TF.js's CPU backend on {len(par['per_photo'])} photographs; other backends
  (WebGL, WASM) may differ slightly in the last digits.
- The services must reproduce the input recipe exactly (PIL's bilinear resize, which filters
  over the whole footprint when shrinking): with PIL's bicubic filter instead, the scores of the
  rows above 0.3 on these photographs moved by 0.006 (median) and up to 0.05, enough to move a
  borderline detection across the threshold (`dog.jpg` has a bicycle at 0.301).

## Files

- `model.onnx`: {size:,} bytes, sha256 `{cfg['sha256']}`
- `config.json`: serving configuration (see `models/README.md`), with the `detection` block
- `fixtures/reference.json`: the post-processed detections for `samples/photos/`
- `LICENSE`: the MIT licence of the source package

_Generated by `training/make-models.sh {cn.NAME}` on {datetime.date.today().isoformat()} ({m['environment']})._
"""
