"""Fast checks of the TF.js → ONNX converter and the detector's pre- and post-processing.

Tiny hand-made TF.js graphs (JSON + weight file, written to a temporary folder) cover each op
family; the converted graphs run with ONNX Runtime (skipped where ``training/.work/ort-node`` is
missing) and are compared with numpy. Needs numpy, onnx and PIL only (no torch).
Run: ``cd training && /usr/bin/python3 -m unittest tests.test_tfjs -v`` (a few seconds).
"""
from __future__ import annotations

import base64
import json
import os
import sys
import tempfile
import unittest

import numpy as np
import onnx
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from visionkit import centernet, ortcheck, tfjs  # noqa: E402
from visionkit.common import MODELS_DIR, REPO_DIR, sha256  # noqa: E402

ORT = ortcheck.available()


# -- building TF.js graphs ------------------------------------------------------------------------

def s(text: str) -> dict:
    return {"s": base64.b64encode(text.encode()).decode()}


def ints(*values) -> dict:
    return {"list": {"i": [str(v) for v in values]}}


class Graph:
    """A TF.js graph model under construction: nodes, and weights in one shard."""

    def __init__(self):
        self.nodes, self.weights = [], []

    def const(self, name: str, value, quantize: bool = False) -> str:
        value = np.asarray(value)
        dtype = "int32" if value.dtype.kind in "iu" else "float32"
        self.nodes.append({"name": name, "op": "Const", "attr": {"dtype": {"type": "DT_INT32" if dtype == "int32"
                                                                           else "DT_FLOAT"}}})
        self.weights.append((name, value.astype(np.int32 if dtype == "int32" else np.float32), quantize))
        return name

    def input(self, name: str, shape) -> str:
        self.nodes.append({"name": name, "op": "Placeholder", "attr": {
            "dtype": {"type": "DT_FLOAT"}, "shape": {"shape": {"dim": [{"size": str(d)} for d in shape]}}}})
        return name

    def op(self, name: str, op: str, inputs: list, **attrs) -> str:
        self.nodes.append({"name": name, "op": op, "input": list(inputs), "attr": attrs})
        return name

    def write(self, folder: str) -> str:
        specs, blob = [], b""
        for name, value, quantize in self.weights:
            spec = {"name": name, "shape": list(value.shape), "dtype": "int32" if value.dtype == np.int32 else "float32"}
            if quantize:
                spec["quantization"] = {"dtype": "float16", "original_dtype": "float32"}
                blob += value.astype("<f2").tobytes()
            else:
                blob += value.astype(value.dtype.newbyteorder("<")).tobytes()
            specs.append(spec)
        with open(os.path.join(folder, "w.bin"), "wb") as f:
            f.write(blob)
        path = os.path.join(folder, "model.json")
        with open(path, "w") as f:
            json.dump({"format": "graph-model", "modelTopology": {"node": self.nodes},
                       "weightsManifest": [{"paths": ["w.bin"], "weights": specs}]}, f)
        return path


def conv_attrs(strides=(1, 1), padding="SAME", fused=()) -> dict:
    a = {"strides": ints(1, strides[0], strides[1], 1), "padding": s(padding), "data_format": s("NHWC"),
         "dilations": ints(1, 1, 1, 1)}
    if fused:
        a["fused_ops"] = {"list": {"s": [base64.b64encode(f.encode()).decode() for f in fused]}}
    return a


# -- numpy references (TF semantics) --------------------------------------------------------------

def np_conv(x, w, stride, padding, depthwise=False):
    n, h, wd, c = x.shape
    kh, kw = w.shape[:2]
    if padding == "SAME":
        ph, pw = tfjs.same_pads(h, kh, stride), tfjs.same_pads(wd, kw, stride)
    else:
        ph, pw = (0, 0), (0, 0)
    xp = np.pad(x, ((0, 0), ph, pw, (0, 0)))
    oh, ow = (xp.shape[1] - kh) // stride + 1, (xp.shape[2] - kw) // stride + 1
    out = np.zeros((n, oh, ow, c * w.shape[3] if depthwise else w.shape[3]), np.float64)
    for i in range(oh):
        for j in range(ow):
            patch = xp[:, i * stride:i * stride + kh, j * stride:j * stride + kw, :]
            if depthwise:
                out[:, i, j] = np.einsum("nhwc,hwcm->ncm", patch, w).reshape(n, -1)
            else:
                out[:, i, j] = np.einsum("nhwc,hwco->no", patch, w)
    return out


def np_resize_bilinear(x, oh, ow):
    """TF ResizeBilinear with align_corners=False, half_pixel_centers=False."""
    n, h, w, c = x.shape
    out = np.zeros((n, oh, ow, c))
    for i in range(oh):
        fy = i * h / oh
        y0 = int(np.floor(fy)); y1 = min(y0 + 1, h - 1); dy = fy - y0
        for j in range(ow):
            fx = j * w / ow
            x0 = int(np.floor(fx)); x1 = min(x0 + 1, w - 1); dx = fx - x0
            top = x[:, y0, x0] * (1 - dx) + x[:, y0, x1] * dx
            bot = x[:, y1, x0] * (1 - dx) + x[:, y1, x1] * dx
            out[:, i, j] = top * (1 - dy) + bot * dy
    return out


def np_maxpool_same3(x):
    n, h, w, c = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
    return np.max([xp[:, i:i + h, j:j + w] for i in range(3) for j in range(3)], axis=0)


def convert_and_run(graph: Graph, inputs: dict, outputs: list, feeds: dict):
    with tempfile.TemporaryDirectory() as tmp:
        model = tfjs.load(graph.write(tmp))
        proto, rewrites = tfjs.convert(model, {k: k for k in inputs}, {o: f"y_{o}" for o in outputs}, name="t")
        onnx.checker.check_model(proto, full_check=True)
        path = os.path.join(tmp, "m.onnx")
        onnx.save(proto, path)
        result = {k[2:]: v for k, v in ortcheck.run(path, feeds).items()} if ORT else None
        return proto, rewrites, result


class HelpersTest(unittest.TestCase):
    def test_same_padding_puts_the_odd_pixel_at_the_end(self):
        self.assertEqual(tfjs.same_pads(512, 3, 2), (0, 1))
        self.assertEqual(tfjs.same_pads(5, 3, 2), (1, 1))
        self.assertEqual(tfjs.same_pads(4, 3, 2), (0, 1))
        self.assertEqual(tfjs.same_pads(7, 5, 1), (2, 2))
        self.assertEqual(tfjs.same_pads(8, 1, 2), (0, 0))

    def test_weights_are_dequantized_exactly(self):
        g = Graph()
        half = np.array([0.1, -2.5, 65504.0, 1e-4], np.float32)
        g.const("a", half, quantize=True)
        g.const("b", np.array([[1, -2], [3, 2 ** 31 - 1]], np.int32))
        g.const("c", np.array([1.5, -3.25], np.float32))
        with tempfile.TemporaryDirectory() as tmp:
            w = tfjs.load(g.write(tmp)).weights
        np.testing.assert_array_equal(w["a"], half.astype(np.float16).astype(np.float32))
        self.assertEqual(w["a"].dtype, np.float32)
        np.testing.assert_array_equal(w["b"], [[1, -2], [3, 2 ** 31 - 1]])
        np.testing.assert_array_equal(w["c"], [1.5, -3.25])

    def test_reshape_that_folds_the_batch_is_refused(self):
        g = Graph()
        g.input("x", [1, 4, 4, 2])
        g.op("r", "Reshape", ["x", g.const("shape", np.array([16, 2], np.int32))])
        with tempfile.TemporaryDirectory() as tmp:
            model = tfjs.load(g.write(tmp))
        with self.assertRaises(tfjs.ConversionError):
            tfjs.convert(model, {"x": "x"}, {"r": "r"})


@unittest.skipUnless(ORT, "ONNX Runtime (training/.work/ort-node) not installed")
class ConvFamilyTest(unittest.TestCase):
    def test_convolutions_squeeze_excite_and_hard_swish_match_numpy(self):
        rng = np.random.default_rng(0)
        g = Graph()
        g.input("x", [1, 9, 7, 3])
        w1 = rng.normal(size=(3, 3, 3, 4)).astype(np.float32)
        b1 = rng.normal(size=4).astype(np.float32)
        g.op("c1", "_FusedConv2D", ["x", g.const("w1", w1, quantize=True), g.const("b1", b1)],
             num_args={"i": "1"}, **conv_attrs((2, 2), "SAME", ("BiasAdd", "Relu")))
        wd = rng.normal(size=(3, 3, 4, 1)).astype(np.float32)
        bd = rng.normal(size=4).astype(np.float32)
        g.op("d1", "FusedDepthwiseConv2dNative", ["c1", g.const("wd", wd), g.const("bd", bd)],
             **conv_attrs((1, 1), "SAME", ("BiasAdd",)))
        wd2 = rng.normal(size=(3, 3, 4, 1)).astype(np.float32)
        g.op("d2", "DepthwiseConv2dNative", ["d1", g.const("wd2", wd2)], **conv_attrs((2, 2), "SAME"))
        w3 = rng.normal(size=(1, 1, 4, 2)).astype(np.float32)
        g.op("c3", "Conv2D", ["d1", g.const("w3", w3)], **conv_attrs((1, 1), "VALID"))
        g.op("m", "Mean", ["d1", g.const("axes", np.array([1, 2], np.int32))], keep_dims={"b": True})
        g.op("gate", "Sigmoid", ["m"])
        scale = rng.normal(size=4).astype(np.float32)
        g.op("se", "Mul", ["d1", "gate"])
        g.op("se2", "Mul", ["se", g.const("scale", scale)])
        g.op("hs", "Add", ["se2", g.const("three", np.float32(3))])
        g.op("r6", "Relu6", ["hs"])
        x = rng.normal(size=(3, 9, 7, 3)).astype(np.float32) * 2
        _, _, got = convert_and_run(g, ["x"], ["c1", "d2", "c3", "r6"], {"x": x})

        w1q = w1.astype(np.float16).astype(np.float32)   # stored as float16 in the graph
        c1 = np.maximum(np_conv(x, w1q, 2, "SAME") + b1, 0)
        d1 = np_conv(c1, wd, 1, "SAME", depthwise=True) + bd
        d2 = np_conv(d1, wd2, 2, "SAME", depthwise=True)
        c3 = np_conv(d1, w3, 1, "VALID")
        gate = 1 / (1 + np.exp(-d1.mean(axis=(1, 2), keepdims=True)))
        r6 = np.clip(d1 * gate * scale + 3, 0, 6)
        self.assertEqual(got["c1"].shape, (3, 5, 4, 4))
        self.assertEqual(got["d2"].shape, (3, 3, 2, 4))
        for name, ref in (("c1", c1), ("d2", d2), ("c3", c3), ("r6", r6)):
            np.testing.assert_allclose(got[name], ref, rtol=1e-4, atol=1e-4, err_msg=name)

    def test_resize_concat_pool(self):
        rng = np.random.default_rng(1)
        g = Graph()
        g.input("x", [1, 6, 4, 3])
        w = rng.normal(size=(3, 3, 3, 5)).astype(np.float32)
        g.op("c", "Conv2D", ["x", g.const("w", w)], **conv_attrs((2, 2), "SAME"))           # 3x2x5
        g.op("up", "ResizeBilinear", ["c", g.const("size", np.array([6, 4], np.int32))],
             align_corners={"b": False}, half_pixel_centers={"b": False})
        g.op("cat", "ConcatV2", ["x", "up", g.const("axis", np.int32(-1))], N={"i": "2"})
        g.op("m", "Mean", ["cat", g.const("axes", np.array([1, 2], np.int32))], keep_dims={"b": True})
        g.op("se", "Mul", ["cat", "m"])
        g.op("scaled", "Mul", ["se", g.const("per_channel", rng.normal(size=8).astype(np.float32))])
        g.op("r6", "Relu6", ["scaled"])
        g.op("pool", "MaxPool", ["r6"], ksize=ints(1, 3, 3, 1), strides=ints(1, 1, 1, 1), padding=s("SAME"),
             data_format=s("NHWC"))
        g.op("peak", "Equal", ["r6", "pool"])
        g.op("peakf", "Cast", ["peak"], SrcT={"type": "DT_BOOL"}, DstT={"type": "DT_FLOAT"})
        g.op("out", "Sub", ["pool", "peakf"])
        x = rng.normal(size=(2, 6, 4, 3)).astype(np.float32) * 3
        _, _, got = convert_and_run(g, ["x"], ["out", "up"], {"x": x})

        c = np_conv(x, w, 2, "SAME")
        up = np_resize_bilinear(c, 6, 4)
        cat = np.concatenate([x, up], -1)
        se = cat * cat.mean(axis=(1, 2), keepdims=True)
        per_channel = g.weights[-1][1]
        r6 = np.clip(se * per_channel, 0, 6)
        pool = np_maxpool_same3(r6)
        np.testing.assert_allclose(got["up"], up, rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(got["out"], pool - (r6 == pool), rtol=1e-4, atol=1e-4)


def decode_graph(h: int, w: int, classes: int, k: int) -> Graph:
    """The CenterNet decode tail as the TF.js graph writes it for batch 1."""
    g = Graph()
    g.input("kp", [1, h, w, classes])
    g.input("wh", [1, h, w, 4])
    g.op("pool", "MaxPool", ["kp"], ksize=ints(1, 3, 3, 1), strides=ints(1, 1, 1, 1), padding=s("SAME"),
         data_format=s("NHWC"))
    g.op("eq", "Equal", ["kp", "pool"])
    g.op("eqf", "Cast", ["eq"], SrcT={"type": "DT_BOOL"}, DstT={"type": "DT_FLOAT"})
    g.op("peaks", "Mul", ["kp", "eqf"])
    g.op("flat", "Reshape", ["peaks", g.const("flat_shape", np.array([1, -1], np.int32))])
    g.op("topk", "TopKV2", ["flat", g.const("k", np.int32(k))], sorted={"b": True})
    g.const("nc", np.int32(classes))
    g.const("width", np.int32(w))
    g.op("cell", "FloorDiv", ["topk:1", "nc"])
    g.op("cls", "FloorMod", ["topk:1", "nc"])
    g.op("y", "FloorDiv", ["cell", "width"])
    g.op("x", "FloorMod", ["cell", "width"])
    g.op("y_w", "Mul", ["y", "width"])
    g.op("row", "Add", ["y_w", "x"])
    g.op("params", "Reshape", ["wh", g.const("params_shape", np.array([h * w, 4], np.int32))])
    g.op("index", "Reshape", ["row", g.const("index_shape", np.array([-1], np.int32))])
    g.op("gather", "GatherV2", ["params", "index", g.const("gaxis", np.int32(0))], batch_dims={"i": "0"})
    g.op("sizes", "Reshape", ["gather", g.const("sizes_shape", np.array([1, k, 4], np.int32))])
    cols = []
    for j in range(4):
        g.op(f"s{j}", "StridedSlice", ["sizes", g.const(f"b{j}", np.array([0, 0, j], np.int32)),
                                       g.const(f"e{j}", np.array([0, 0, j + 1], np.int32)),
                                       g.const(f"st{j}", np.array([1, 1, 1], np.int32))],
             begin_mask={"i": "3"}, end_mask={"i": "3"}, shrink_axis_mask={"i": "0"},
             ellipsis_mask={"i": "0"}, new_axis_mask={"i": "0"})
    for name, src in (("xf", "x"), ("yf", "y"), ("cf", "cls")):
        g.op(f"{name}e", "ExpandDims", [src, g.const(f"{name}_dim", np.int32(-1))])
        g.op(name, "Cast", [f"{name}e"], SrcT={"type": "DT_INT32"}, DstT={"type": "DT_FLOAT"})
    g.const("four", np.float32(4))
    g.op("x4", "Mul", ["xf", "four"])
    g.op("y4", "Mul", ["yf", "four"])
    g.op("x1", "Sub", ["x4", "s0"])
    g.op("y1", "Sub", ["y4", "s1"])
    g.op("x2", "Add", ["x4", "s2"])
    g.op("y2", "Add", ["y4", "s3"])
    g.op("score", "ExpandDims", ["topk", g.const("score_dim", np.int32(-1))])
    g.op("det", "ConcatV2", ["x1", "y1", "x2", "y2", "score", "cf", g.const("cat_axis", np.int32(-1))], N={"i": "6"})
    return g


def np_decode(kp: np.ndarray, wh: np.ndarray, k: int) -> np.ndarray:
    h, w, c = kp.shape
    peaks = kp * (kp == np_maxpool_same3(kp[None])[0])
    flat = peaks.reshape(-1)
    order = np.argsort(-flat, kind="stable")[:k]
    rows = []
    for i in order:
        cell, cls = divmod(int(i), c)
        y, x = divmod(cell, w)
        l, t, r, b = wh[y, x]
        rows.append([4 * x - l, 4 * y - t, 4 * x + r, 4 * y + b, flat[i], cls])
    return np.array(rows, np.float32)


@unittest.skipUnless(ORT, "ONNX Runtime (training/.work/ort-node) not installed")
class DecodeTest(unittest.TestCase):
    def test_batch_one_decode_runs_per_image_on_a_batch(self):
        h, w, c, k = 5, 6, 3, 7
        rng = np.random.default_rng(2)
        kp = rng.random((4, h, w, c)).astype(np.float32)     # distinct values: no ties in top-k
        wh = (rng.random((4, h, w, 4)) * 20).astype(np.float32)
        proto, rewrites, got = convert_and_run(decode_graph(h, w, c, k), ["kp", "wh"], ["det"], {"kp": kp, "wh": wh})
        self.assertEqual(len(rewrites), 1)
        self.assertIn("GatherND", [n.op_type for n in proto.graph.node])
        self.assertEqual(proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param, "batch")
        self.assertEqual(got["det"].shape, (4, k, 6))
        for b in range(4):
            np.testing.assert_allclose(got["det"][b], np_decode(kp[b], wh[b], k), rtol=1e-6, atol=1e-5)


class DeterminismTest(unittest.TestCase):
    def test_two_conversions_give_the_same_bytes(self):
        g = decode_graph(4, 4, 2, 3)
        with tempfile.TemporaryDirectory() as tmp:
            model = tfjs.load(g.write(tmp))
            a = tfjs.convert(model, {"kp": "kp", "wh": "wh"}, {"det": "det"})[0].SerializeToString()
            b = tfjs.convert(tfjs.load(g.write(tmp)), {"kp": "kp", "wh": "wh"}, {"det": "det"})[0].SerializeToString()
        self.assertEqual(a, b)


class DetectionRecipeTest(unittest.TestCase):
    def test_letterbox_geometry_and_padding(self):
        img = Image.new("RGB", (768, 576), (200, 100, 50))
        x, geom = centernet.letterbox(img)
        self.assertEqual(x.shape, (512, 512, 3))
        self.assertEqual(x.dtype, np.float32)
        self.assertEqual(geom, {"width": 768, "height": 576, "left": 0, "top": 64, "rw": 512, "rh": 384})
        self.assertTrue((x[:64] == 0).all() and (x[64 + 384:] == 0).all())
        np.testing.assert_array_equal(x[64:448, :, :], np.broadcast_to([200, 100, 50], (384, 512, 3)))
        _, tall = centernet.letterbox(Image.new("RGB", (100, 3000)))
        self.assertEqual((tall["rw"], tall["rh"], tall["left"], tall["top"]), (17, 512, 247, 0))

    def test_postprocess_threshold_mapping_clamp_and_per_class_nms(self):
        geom = {"width": 1000, "height": 500, "left": 0, "top": 128, "rw": 512, "rh": 256}
        rows = np.array([
            [10, 138, 110, 238, 0.9, 1],      # kept
            [12, 140, 112, 240, 0.8, 1],      # same class, IoU > 0.5 with the first: suppressed
            [12, 140, 112, 240, 0.7, 2],      # other class: kept
            [-20, 100, 600, 400, 0.6, 3],     # clamped to the image
            [300, 200, 400, 300, 0.29, 0],    # below min_score
        ], np.float32)
        rows = np.concatenate([rows, np.zeros((95, 6), np.float32)])
        dets = centernet.postprocess(rows, geom, "letterbox")
        self.assertEqual([d["class_index"] for d in dets], [1, 2, 3])
        np.testing.assert_allclose(dets[0]["box"], [10 * 1000 / 512, 10 * 500 / 256, 110 * 1000 / 512, 110 * 500 / 256],
                                   rtol=1e-6)
        self.assertEqual(dets[2]["box"], [0.0, 0.0, 1000.0, 500.0])
        self.assertEqual(dets[0]["label"], "bicycle")
        few = centernet.postprocess(rows, geom, "letterbox", max_detections=2)
        self.assertEqual(len(few), 2)

    def test_labels_are_coco_order(self):
        self.assertEqual(len(centernet.LABELS), 80)
        self.assertEqual(centernet.LABELS[:3], ["person", "bicycle", "car"])
        self.assertEqual(centernet.LABELS[16], "dog")
        self.assertEqual(centernet.LABELS[79], "toothbrush")


CN_DIR = os.path.join(MODELS_DIR, "centernet", "1")


@unittest.skipUnless(os.path.exists(os.path.join(CN_DIR, "config.json")), "centernet not built")
class CenternetRepositoryTest(unittest.TestCase):
    def test_config_graph_and_fixture_agree(self):
        cfg = json.load(open(os.path.join(CN_DIR, "config.json")))
        self.assertEqual(cfg["sha256"], sha256(os.path.join(CN_DIR, cfg["file"])))
        self.assertEqual(cfg["labels"], centernet.LABELS)
        self.assertEqual(cfg["inputs"][0]["shape"], [-1, 512, 512, 3])
        self.assertEqual(cfg["outputs"][0]["shape"], [-1, 100, 6])
        graph = onnx.load(os.path.join(CN_DIR, cfg["file"]), load_external_data=False)
        self.assertEqual([i.name for i in graph.graph.input], ["image"])
        self.assertEqual([o.name for o in graph.graph.output], ["detections"])
        self.assertEqual(graph.opset_import[0].version, 13)
        fixture = json.load(open(os.path.join(CN_DIR, "fixtures", "reference.json")))
        self.assertEqual(fixture["min_score"], cfg["detection"]["min_score"])
        for im in fixture["images"]:
            path = os.path.join(REPO_DIR, im["file"])
            self.assertEqual(Image.open(path).size, (im["width"], im["height"]))
            for d in im["detections"]:
                self.assertEqual(d["label"], cfg["labels"][d["class_index"]])
                self.assertGreaterEqual(d["score"], fixture["min_score"])


if __name__ == "__main__":
    unittest.main()
