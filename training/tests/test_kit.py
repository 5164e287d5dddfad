"""Fast checks of the kit's pure-Python parts and of the committed model repository.

Run: ``cd training && /usr/bin/python3 -m unittest discover -s tests -v`` (about 10 s).
"""
from __future__ import annotations

import glob
import json
import os
import sys
import unittest

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from visionkit import caption, classifier, data, metrics, scenes  # noqa: E402
from visionkit.common import MODELS_DIR, SAMPLES_DIR, sha256  # noqa: E402


class DataTest(unittest.TestCase):
    def test_splits_have_expected_sizes_and_balanced_labels(self):
        train, test = data.load("train"), data.load("test")
        self.assertEqual(train.images.shape, (60000, 28, 28))
        self.assertEqual(test.images.shape, (10000, 28, 28))
        self.assertEqual(np.bincount(train.labels).tolist(), [6000] * 10)

    def test_augmentation_keeps_shape_and_pixels(self):
        x = torch.from_numpy(data.load("test").images[:16])
        y = classifier.augment(x, torch.Generator().manual_seed(0))
        self.assertEqual(y.shape, x.shape)
        self.assertEqual(y.dtype, torch.uint8)


class GrammarTest(unittest.TestCase):
    def test_captions_parse_back_to_the_scene_items(self):
        gen = scenes.SceneGenerator("test", 99)
        for i in range(300):
            sc = gen.scene(i)
            tokens = scenes.caption_tokens(sc.items)
            self.assertEqual(scenes.mentions(tokens), scenes.reference_mentions(sc.items), sc.caption)
            self.assertTrue(all(t in caption.INDEX for t in tokens))
            self.assertLess(len(tokens), caption.MAX_LENGTH)

    def test_scenes_are_deterministic(self):
        a = scenes.SceneGenerator("train", 5).scene(17)
        b = scenes.SceneGenerator("train", 5).scene(17)
        self.assertTrue(np.array_equal(a.image, b.image))
        self.assertEqual(a.caption, b.caption)

    def test_relations_and_counts(self):
        def item(cell, label, colour):
            return scenes.Item(cell, label, colour, 0, (0, 0, 30))
        self.assertEqual(scenes.caption_for([item(0, 7, 0), item(1, 8, 2)]),
                         "a red sneaker to the left of a blue bag")
        self.assertEqual(scenes.caption_for([item(1, 3, 3), item(3, 5, 4)]), "a yellow dress above a white sandal")
        self.assertEqual(scenes.caption_for([item(0, 6, 1), item(3, 6, 1)]), "two green shirts")
        self.assertEqual(scenes.caption_for([item(1, 8, 5), item(2, 0, 4)]),
                         "an orange bag above and to the right of a white t-shirt")

    def test_malformed_captions_do_not_parse(self):
        for bad in ["", "a red", "a red bags", "two red bag", "a red bag and", "a red bag above"]:
            self.assertIsNone(scenes.mentions(bad.split()), bad)


class MetricsTest(unittest.TestCase):
    def test_bleu_is_one_for_identical_and_matches_hand_computation(self):
        ref = "a red bag to the left of a blue coat".split()
        self.assertAlmostEqual(metrics.corpus_bleu([ref], [ref])["bleu"], 1.0)
        hyp = "a red bag to the left of a green coat".split()
        # p1 = 9/10, p2 = 7/9, p3 = 6/8, p4 = 5/7, no brevity penalty
        expected = (9 / 10 * 7 / 9 * 6 / 8 * 5 / 7) ** 0.25
        self.assertAlmostEqual(metrics.corpus_bleu([hyp], [ref])["bleu"], expected)

    def test_item_accuracies(self):
        items = (scenes.Item(0, 8, 0, 0, (0, 0, 30)), scenes.Item(1, 4, 2, 0, (48, 0, 30)))
        m = metrics.caption_metrics(["a red bag to the left of a green coat".split()], [items])
        self.assertEqual(m["class_accuracy"], 1.0)
        self.assertEqual(m["colour_accuracy"], 0.5)
        self.assertEqual(m["item_set_accuracy"], 0.0)
        self.assertEqual(m["exact_match"], 0.0)


class DecoderTest(unittest.TestCase):
    def test_step_arithmetic_matches_the_fused_lstm(self):
        torch.manual_seed(0)
        dec = caption.CaptionDecoder(feature_dim=caption.CaptionEncoder().feature_dim)
        feats = torch.randn(3, dec.project.in_features)
        toks = torch.tensor([[caption.START, 5, 9], [caption.START, 6, 7], [caption.START, 4, 4]])
        full = dec(toks, feats)
        h = c = torch.zeros(3, dec.hidden)
        for t in range(3):
            logits, h, c = dec.step(toks[:, t], feats, h, c)
            self.assertTrue(torch.allclose(logits, full[:, t], atol=1e-5))


class EncoderTest(unittest.TestCase):
    def test_features_end_each_cell_block_with_the_head_probabilities(self):
        torch.manual_seed(0)
        enc = caption.CaptionEncoder().eval()
        image = torch.randn(2, 3, 96, 96)
        with torch.no_grad():
            features, presence = enc(image)
            cells = enc.cells(image)
            block = enc.cell_dim + enc.cell_classes + enc.cell_colours
            self.assertEqual(features.shape, (2, 4 * block))
            self.assertEqual(presence.shape, (2, 10))
            per_cell = features.view(2, 4, block)
            self.assertTrue(torch.allclose(per_cell[:, :, :enc.cell_dim], cells))
            classes = per_cell[:, :, enc.cell_dim:enc.cell_dim + enc.cell_classes]
            self.assertTrue(torch.allclose(classes, torch.softmax(enc.cell_class(cells), -1)))
            colours = per_cell[:, :, enc.cell_dim + enc.cell_classes:]
            self.assertTrue(torch.allclose(colours.sum(-1), torch.ones(2, 4)))


@unittest.skipUnless(os.path.isdir(MODELS_DIR) and glob.glob(os.path.join(MODELS_DIR, "*", "1", "config.json")),
                     "no model repository built")
class RepositoryTest(unittest.TestCase):
    def test_sha256_in_config_and_card_match_the_graph(self):
        for cfg_path in glob.glob(os.path.join(MODELS_DIR, "*", "*", "config.json")):
            folder = os.path.dirname(cfg_path)
            cfg = json.load(open(cfg_path))
            digest = sha256(os.path.join(folder, cfg["file"]))
            self.assertEqual(cfg["sha256"], digest, cfg_path)
            self.assertIn(digest, open(os.path.join(folder, "MODEL_CARD.md")).read(), folder)

    def test_fixture_scenes_exist(self):
        fixture = json.load(open(os.path.join(MODELS_DIR, "caption-decoder", "1", "fixtures", "greedy.json")))
        for entry in fixture["fixtures"]:
            self.assertTrue(os.path.exists(os.path.join(os.path.dirname(SAMPLES_DIR), entry["file"])))
            self.assertEqual(entry["greedy"]["tokens"][-1], caption.END)


if __name__ == "__main__":
    unittest.main()
