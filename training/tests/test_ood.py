"""Fast checks of the out-of-domain scores, the calibration and the statistics file (stage ``ood``).

Tiny hand-made arrays only; needs numpy and PIL (no torch, no ONNX Runtime, no data sets).
Run: ``cd training && /usr/bin/python3 -m unittest tests.test_ood -v`` (well under a second).
"""
from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import unittest

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from visionkit import ood  # noqa: E402
from visionkit.common import MODELS_DIR, sha256  # noqa: E402


class Scores(unittest.TestCase):
    def test_max_softmax(self):
        logits = np.array([[0.0, 0.0], [math.log(3.0), 0.0], [100.0, -100.0]], dtype=np.float32)
        np.testing.assert_allclose(ood.max_softmax_score(logits), [0.5, 0.25, 0.0], atol=1e-12)

    def test_energy(self):
        logits = np.array([[0.0, 0.0, 0.0], [1000.0, 1000.0, -5.0]])
        np.testing.assert_allclose(ood.energy_score(logits), [-math.log(3.0), -(1000.0 + math.log(2.0))],
                                   rtol=1e-12)

    def test_joint_energy(self):
        logits = np.array([[0.0, 0.0], [-50.0, 50.0]])
        np.testing.assert_allclose(ood.joint_energy_score(logits),
                                   [-2 * math.log(2.0), -(50.0 + math.log1p(math.exp(-50.0)) + math.log1p(math.exp(-50.0)))],
                                   rtol=1e-12)

    def test_mahalanobis_by_hand(self):
        means = np.array([[0.0, 0.0], [10.0, 0.0]], dtype=np.float32)
        precision = np.array([[1.0, 0.0], [0.0, 4.0]], dtype=np.float32)
        f = np.array([[1.0, 1.0], [9.0, -0.5], [5.0, 0.0]], dtype=np.float32)
        # (1,1) to class 0: 1 + 4 = 5; (9,-0.5) to class 1: 1 + 1 = 2; (5,0): 25 to both
        np.testing.assert_allclose(ood.mahalanobis_score(f, means, precision), [5.0, 2.0, 25.0])

    def test_mahalanobis_fit(self):
        rng = np.random.default_rng(0)
        a = rng.normal([0, 0, 0], [1, 2, 3], (4000, 3))
        b = rng.normal([5, 5, 5], [1, 2, 3], (4000, 3))
        f = np.concatenate([a, b])
        labels = np.repeat([0, 1], 4000)
        means, precision = ood.mahalanobis_fit(f, labels, 2, ridge=0.0)
        self.assertEqual((means.dtype, precision.dtype), (np.float32, np.float32))
        np.testing.assert_allclose(means, [[0, 0, 0], [5, 5, 5]], atol=0.15)
        np.testing.assert_allclose(precision, np.diag([1, 1 / 4, 1 / 9]), atol=0.03)
        np.testing.assert_array_equal(precision, precision.T)
        # the ridge adds ridge * trace / d to the diagonal of the covariance
        _, p2 = ood.mahalanobis_fit(f, labels, 2, ridge=1.0)
        cov = np.linalg.inv(precision.astype(np.float64))
        np.testing.assert_allclose(np.linalg.inv(p2.astype(np.float64)), cov + np.eye(3) * np.trace(cov) / 3,
                                   rtol=1e-4)

    def test_ridge_makes_dead_dimensions_invertible(self):
        f = np.zeros((10, 3))
        f[:, 0] = np.arange(10)
        means, precision = ood.mahalanobis_fit(f, np.zeros(10, int), 1)
        self.assertTrue(np.all(np.isfinite(precision)))
        s = ood.mahalanobis_score(np.array([[4.5, 0.0, 0.0], [4.5, 1.0, 0.0]]), means, precision)
        self.assertAlmostEqual(s[0], 0.0, places=6)
        # a dimension that never fired: 1 / (ridge * mean variance) = 1 / (1e-3 * 8.25 / 3)
        self.assertAlmostEqual(s[1] / (1 / (ood.RIDGE * 8.25 / 3)), 1.0, places=5)


class Calibration(unittest.TestCase):
    def test_threshold_at_tpr(self):
        scores = np.arange(1, 101, dtype=np.float64)[::-1]  # 1..100, any order
        thr = ood.threshold_at_tpr(scores, 0.95)
        self.assertEqual(thr, 95.5)
        self.assertEqual(np.mean(scores <= thr), 0.95)
        self.assertEqual(ood.threshold_at_tpr(scores, 1.0), 100.0)
        # 7 scores at 95 %: ceil(6.65) = 7, everything kept
        self.assertEqual(ood.threshold_at_tpr(np.arange(7.0), 0.95), 6.0)
        # at least the share asked for is kept, ties included
        s = np.array([1.0, 2.0, 2.0, 2.0, 3.0])
        thr = ood.threshold_at_tpr(s, 0.5)
        self.assertGreaterEqual(np.mean(s <= thr), 0.5)

    def test_auroc(self):
        self.assertEqual(ood.auroc([1, 2, 3], [4, 5]), 1.0)
        self.assertEqual(ood.auroc([4, 5], [1, 2, 3]), 0.0)
        self.assertEqual(ood.auroc([1, 1], [1, 1]), 0.5)
        # pairs: (out 2 vs in 1, 3): one win, one loss; (out 3 vs 1, 3): one win, one tie
        self.assertAlmostEqual(ood.auroc([1, 3], [2, 3]), (1 + 0 + 1 + 0.5) / 4)
        rng = np.random.default_rng(1)
        a, b = rng.normal(0, 1, 300), rng.normal(1, 1, 200)
        pairs = (b[:, None] > a[None, :]).mean() + 0.5 * (b[:, None] == a[None, :]).mean()
        self.assertAlmostEqual(ood.auroc(a, b), pairs, places=12)

    def test_split_halves(self):
        cal, ev = ood.split_halves(10, seed=3)
        self.assertEqual(sorted(np.concatenate([cal, ev]).tolist()), list(range(10)))
        np.testing.assert_array_equal(cal, ood.split_halves(10, seed=3)[0])


class Statistics(unittest.TestCase):
    def test_f32_layout_round_trip(self):
        means = np.arange(6, dtype=np.float32).reshape(2, 3)
        precision = (np.arange(9, dtype=np.float32).reshape(3, 3) + 100)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "ood.f32")
            ood.write_statistics(path, means, precision)
            with open(path, "rb") as f:
                raw = f.read()
            self.assertEqual(len(raw), 4 * (6 + 9))
            # little-endian float32, means row-major first, then the precision row-major
            self.assertEqual(np.frombuffer(raw, "<f4").tolist(), list(range(6)) + list(range(100, 109)))
            m2, p2 = ood.read_statistics(path, 2, 3)
            np.testing.assert_array_equal(m2, means)
            np.testing.assert_array_equal(p2, precision)
            with self.assertRaises(ValueError):
                ood.read_statistics(path, 3, 3)


class Preprocessing(unittest.TestCase):
    GRAY = {"layout": "NCHW", "colour": "GRAY", "resize": {"policy": "stretch", "width": 2, "height": 1},
            "scale": 255.0, "mean": [0.5], "std": [0.25]}

    def test_gray_bt601_stretch_normalise(self):
        img = Image.fromarray(np.array([[[255, 0, 0], [0, 0, 255]]], dtype=np.uint8))
        x = ood.preprocess(img, self.GRAY)
        self.assertEqual((x.shape, x.dtype), ((1, 1, 2), np.float32))
        luma = np.array([76, 29], dtype=np.float32)  # PIL's BT.601 luma of pure red and pure blue
        expected = (luma / np.float32(255.0) - np.float32(0.5)) / np.float32(0.25)
        np.testing.assert_array_equal(x[0, 0], expected)

    def test_rgb_nchw(self):
        spec = dict(self.GRAY, colour="RGB", mean=[0.0, 0.0, 0.0], std=[1.0, 1.0, 1.0],
                    resize={"policy": "stretch", "width": 4, "height": 2})
        px = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
        x = ood.preprocess(Image.fromarray(px), spec)
        np.testing.assert_array_equal(x, px.transpose(2, 0, 1).astype(np.float32) / np.float32(255.0))


class Section(unittest.TestCase):
    def test_replace_section_before_files(self):
        card = "# m\n\n## Limitations\n\n- x\n\n## Files\n\n- a\n"
        once = ood.replace_section(card, ood.SECTION + "\n\nfirst\n")
        self.assertIn("- x\n\n" + ood.SECTION + "\n\nfirst\n\n## Files\n", once)
        twice = ood.replace_section(once, ood.SECTION + "\n\nsecond\n")
        self.assertNotIn("first", twice)
        self.assertEqual(twice.count(ood.SECTION), 1)
        self.assertTrue(twice.endswith("## Files\n\n- a\n"))


class Committed(unittest.TestCase):
    """The committed blocks agree with their statistics files and fixtures."""

    def test_config_blocks(self):
        for name in ood.MODELS:
            vdir = os.path.join(MODELS_DIR, name, "1")
            cfg_path = os.path.join(vdir, "config.json")
            if not os.path.exists(cfg_path):
                continue
            with open(cfg_path) as f:
                block = json.load(f).get("out_of_domain")
            if block is None:
                continue
            with self.subTest(name):
                self.assertIn(block["method"], ("mahalanobis", "mahalanobis_ensemble", "energy", "max_softmax"))
                self.assertEqual(block["output"], ood.OUTPUT_OF[block["method"]])
                self.assertEqual(block["true_positive_rate"], ood.TPR_OF.get(name, ood.TPR))
                layers = []
                if block["method"] in ("mahalanobis", "mahalanobis_ensemble"):
                    layers.append(block)
                if block["method"] == "mahalanobis_ensemble":
                    layers.append(block["input_layer"])
                    self.assertGreater(block["scale"], 0)
                    self.assertGreater(block["input_layer"]["scale"], 0)
                for layer in layers:
                    path = os.path.join(vdir, layer["statistics"])
                    self.assertEqual(sha256(path), layer["statistics_sha256"])
                    means, precision = ood.read_statistics(path, layer["classes"], layer["dimensions"])
                    np.testing.assert_array_equal(precision, precision.T)
                with open(os.path.join(vdir, "fixtures", "ood.json")) as f:
                    fixture = json.load(f)
                self.assertEqual(fixture["method"], block["method"])
                for im in fixture["images"]:
                    self.assertEqual(im["out_of_domain"], im["score"] > block["threshold"], im["file"])


class Ensemble(unittest.TestCase):
    def test_scales_keep_the_true_positive_rate_together(self):
        rng = np.random.default_rng(1)
        features, inputs = rng.gamma(2.0, 10.0, 4000), rng.gamma(3.0, 100.0, 4000)
        scales = ood.ensemble_scales(features, inputs, 0.95)
        kept = np.mean(ood.ensemble_score(features, inputs, scales) <= 1.0)
        self.assertAlmostEqual(kept, 0.95, delta=0.002)
        # Each layer alone keeps more than the two together.
        self.assertGreater(np.mean(features <= scales[0]), 0.95)
        self.assertGreater(np.mean(inputs <= scales[1]), 0.95)

    def test_the_score_is_the_larger_scaled_distance(self):
        np.testing.assert_allclose(
            ood.ensemble_score(np.array([10.0, 40.0]), np.array([300.0, 100.0]), (20.0, 200.0)), [1.5, 2.0])


if __name__ == "__main__":
    unittest.main()
