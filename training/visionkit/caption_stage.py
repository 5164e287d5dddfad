"""Caption stage: train the encoder/decoder, export both graphs, measure, write fixtures and cards."""
from __future__ import annotations

import os
from collections import Counter

import numpy as np
import torch
from PIL import Image

from . import caption, cards, export, metrics, ortcheck, scenes
from .common import SAMPLES_DIR, log, read_json, work_path, write_json

TEST_SEED = 2024          # scenes measured for the metrics (test-split items only)
TEST_SCENES = 3000
FIXTURE_SEED = 7          # scenes written to samples/scenes/ for the Java decoder fixture
FIXTURES = 16
ORT_CROSSCHECK = 500      # test scenes also captioned through the ONNX graphs with ONNX Runtime
BEAM_WIDTH = 3


@torch.no_grad()
def encode_scenes(encoder: caption.CaptionEncoder, images: np.ndarray, mean, std, batch: int = 250):
    feats, pres = [], []
    for i in range(0, len(images), batch):
        f, p = encoder(caption.to_tensor(images[i:i + batch], mean, std))
        feats.append(f)
        pres.append(p)
    return torch.cat(feats), torch.cat(pres)


def presence_metrics(presence: torch.Tensor, items_list) -> dict:
    truth = torch.zeros_like(presence)
    for b, items in enumerate(items_list):
        for it in items:
            truth[b, it.label] = 1
    pred = (presence > 0).float()
    tp = (pred * truth).sum().item()
    return {"label_accuracy": (pred == truth).float().mean().item(),
            "set_accuracy": (pred == truth).all(1).float().mean().item(),
            "precision": tp / max(pred.sum().item(), 1), "recall": tp / max(truth.sum().item(), 1)}


@torch.no_grad()
def write_fixtures(model: caption.CaptionModel, mean, std, paths: dict) -> dict:
    """Scenes as PNG, then encoder features / greedy / beam results computed from the PNG pixels."""
    gen = scenes.SceneGenerator("test", FIXTURE_SEED)
    scene_dir = os.path.join(SAMPLES_DIR, "scenes")
    os.makedirs(scene_dir, exist_ok=True)
    listing, images = [], []
    for k in range(FIXTURES):
        sc = gen.scene(k)
        name = f"scene-{k:02d}.png"
        Image.fromarray(sc.image).save(os.path.join(scene_dir, name), optimize=True)
        pixels = np.asarray(Image.open(os.path.join(scene_dir, name)).convert("RGB"))
        assert np.array_equal(pixels, sc.image)
        images.append(pixels)
        listing.append({"file": name, "scene_seed": FIXTURE_SEED, "scene_index": k, "caption": sc.caption,
                        "items": [{"cell": it.cell, "label": it.label, "class": scenes.SINGULAR[it.label],
                                   "colour": scenes.COLOUR_NAMES[it.colour], "box_xywh": [it.box[0], it.box[1],
                                                                                         it.box[2], it.box[2]]}
                                  for it in sc.items]})
    write_json(os.path.join(scene_dir, "scenes.json"), {
        "note": "96x96 RGB test scenes (Fashion-MNIST test items); caption = reference caption of the grammar",
        "scenes": listing})
    x = caption.to_tensor(np.stack(images), mean, std)
    torch_feats, torch_pres = model.encoder(x)
    torch_greedy = caption.greedy(model.decoder, torch_feats)
    if ortcheck.available():
        ort = ortcheck.greedy(paths["encoder"], paths["decoder"], x.numpy(), caption.START, caption.END,
                              caption.MAX_LENGTH, model.decoder.hidden, True)
        feats = np.asarray(ort["features"], dtype=np.float32)
        pres = np.asarray(ort["presence"], dtype=np.float32)
        greedy_tokens = ort["tokens"]
        how = (f"ONNX Runtime ({ortcheck.version()}): caption-encoder on the PNG pixels, then caption-decoder "
               f"one step at a time, arg-max token each step")
        agree = sum(a == b for a, b in zip(greedy_tokens, torch_greedy))
        feat_diff = float(np.abs(feats - torch_feats.numpy()).max())
        log(f"    fixtures: ONNX Runtime greedy == PyTorch greedy for {agree}/{FIXTURES}; "
            f"features max abs diff {feat_diff:.2e}")
    else:
        feats, pres = torch_feats.numpy(), torch_pres.numpy()
        greedy_tokens = torch_greedy
        how = "PyTorch (visionkit.caption.greedy, the same arithmetic as the exported step graph)"
        agree, feat_diff = None, None
    entries = []
    for k in range(FIXTURES):
        f = torch.from_numpy(feats[k:k + 1])
        beams = caption.beam_search(model.decoder, f, width=BEAM_WIDTH)
        entries.append({
            "file": f"samples/scenes/{listing[k]['file']}",
            "reference_caption": listing[k]["caption"],
            "features": [float(v) for v in feats[k]],
            "presence": [float(v) for v in pres[k]],
            "greedy": {"tokens": [int(t) for t in greedy_tokens[k]],
                       "caption": " ".join(caption.decode(greedy_tokens[k]))},
            "beam": {"tokens": beams[0]["tokens"], "caption": " ".join(caption.decode(beams[0]["tokens"])),
                     "log_prob": beams[0]["log_prob"],
                     "finished": [{"tokens": b["tokens"], "caption": " ".join(caption.decode(b["tokens"])),
                                   "log_prob": b["log_prob"]} for b in beams]},
        })
    fixture = {
        "encoder": "caption-encoder", "decoder": "caption-decoder", "version": 1,
        "image_preprocessing": {"scale": 255.0, "mean": mean, "std": std, "layout": "NCHW", "colour": "RGB",
                                "resize": "none (the PNGs are 96x96)"},
        "decoding": {"start": caption.START, "end": caption.END, "max_length": caption.MAX_LENGTH,
                     "initial_state": "zeros", "tokens_include_end": True},
        "greedy_computed_with": how,
        "greedy_agrees_with_pytorch": None if agree is None else f"{agree}/{FIXTURES}",
        "beam_search": {"width": BEAM_WIDTH, "computed_with": "PyTorch reference visionkit.caption.beam_search, "
                        "fed the features stored here",
                        "algorithm": caption.beam_search.__doc__.split("\n\n")[1].replace("\n    ", " ").strip()},
        "fixtures": entries,
    }
    path = os.path.join(os.path.dirname(paths["decoder"]), "fixtures", "greedy.json")
    write_json(path, fixture, indent=1)
    return {"how": how, "agree": agree, "feature_diff": feat_diff,
            "greedy_exact": sum(e["greedy"]["caption"] == e["reference_caption"] for e in entries),
            "beam_exact": sum(e["beam"]["caption"] == e["reference_caption"] for e in entries)}


@torch.no_grad()
def measure(model: caption.CaptionModel, mean, std):
    """Greedy captions and metrics on the held-out test scenes."""
    images, items_list = scenes.SceneGenerator("test", TEST_SEED).batch(0, TEST_SCENES)
    feats, pres = encode_scenes(model.encoder, images, mean, std)
    greedy_ids = []
    for i in range(0, TEST_SCENES, 500):
        greedy_ids += caption.greedy(model.decoder, feats[i:i + 500])
    generated = [caption.decode(ids) for ids in greedy_ids]
    cap = metrics.caption_metrics(generated, items_list)
    cap["presence"] = presence_metrics(pres, items_list)
    # Recognition alone: the cell class head read on the quadrant of each item.
    cells, hits = [], 0
    for i in range(0, TEST_SCENES, 500):
        cells.append(model.encoder.cell_class(model.encoder.cells(caption.to_tensor(images[i:i + 500], mean, std))))
    cell_pred = torch.cat(cells).argmax(-1)
    for b, items in enumerate(items_list):
        hits += sum(int(cell_pred[b, it.cell]) == it.label for it in items)
    cap["cell_head_class_accuracy"] = hits / cap["items"]
    by_n = {}
    for n in range(1, 5):
        idx = [i for i, its in enumerate(items_list) if len(its) == n]
        sub = metrics.caption_metrics([generated[i] for i in idx], [items_list[i] for i in idx])
        by_n[n] = {k: sub[k] for k in ("scenes", "exact_match", "class_accuracy", "colour_accuracy",
                                        "item_set_accuracy")}
    cap["by_item_count"] = by_n
    # Beam search (the reference, one scene at a time) on the same scenes.
    beam_ids = [caption.beam_search(model.decoder, feats[i:i + 1], width=BEAM_WIDTH)[0]["tokens"]
                for i in range(TEST_SCENES)]
    beam = metrics.caption_metrics([caption.decode(ids) for ids in beam_ids], items_list)
    cap["beam"] = {"width": BEAM_WIDTH, **{k: beam[k] for k in (
        "scenes", "bleu4", "exact_match", "class_accuracy", "colour_accuracy", "item_set_accuracy",
        "well_formed")}}
    log(f"[caption] beam {BEAM_WIDTH}: " + ", ".join(f"{k}={cap['beam'][k]:.4f}" for k in (
        "bleu4", "exact_match", "class_accuracy", "item_set_accuracy")))
    log("[caption] " + ", ".join(f"{k}={cap[k]:.4f}" for k in ("bleu4", "exact_match", "colour_accuracy",
                                                              "class_accuracy", "item_set_accuracy",
                                                              "class_accuracy_order_free",
                                                              "cell_head_class_accuracy")))
    examples = [{"reference": scenes.caption_for(items_list[i]), "generated": " ".join(generated[i])}
                for i in range(12)]
    return images, items_list, feats, pres, greedy_ids, cap, examples


def caption_stage(recipe: caption.Recipe | None = None) -> dict:
    recipe = recipe or caption.Recipe()
    mean, std = caption.scene_normalisation()
    log(f"[caption] scene normalisation mean={mean} std={std}")
    model, info = caption.train(recipe, mean, std)
    torch.save(model.state_dict(), work_path("checkpoints", "caption.pt"))

    # ---- export
    paths = {"encoder": cards.model_path("caption-encoder"), "decoder": cards.model_path("caption-decoder")}
    # The decoder's PyTorch weights ship beside its ONNX graph, for PyTorch reference benchmarks.
    torch.save(model.decoder.state_dict(), os.path.join(os.path.dirname(paths["decoder"]), "decoder.pt"))
    enc_check = export.export(model.encoder, (torch.zeros(2, 3, 96, 96),), paths["encoder"], ["image"],
                              ["features", "presence"])
    hid = model.decoder.hidden
    step = caption.DecoderStep(model.decoder)
    fdim = model.encoder.feature_dim
    dec_check = export.export(step, (torch.ones(2, dtype=torch.long), torch.zeros(2, fdim), torch.zeros(2, hid),
                                     torch.zeros(2, hid)), paths["decoder"], ["tokens", "features", "h", "c"],
                              ["logits", "h_out", "c_out"])
    write_json(os.path.join(os.path.dirname(paths["decoder"]), "vocab.json"), caption.vocab_json())

    # ---- measure on held-out test scenes
    images, items_list, feats, pres, greedy_ids, cap, examples = measure(model, mean, std)

    # ---- ONNX Runtime vs PyTorch
    x = caption.to_tensor(images[:32], mean, std)
    enc_cmp = export.compare(paths["encoder"], {"image": x.numpy()},
                             {"features": feats[:32].numpy(), "presence": pres[:32].numpy()})
    gen = torch.Generator().manual_seed(5)
    tok = torch.randint(4, len(caption.TOKENS), (32,), generator=gen)
    h0 = torch.randn(32, hid, generator=gen) * 0.5
    c0 = torch.randn(32, hid, generator=gen)
    with torch.no_grad():
        lo, h1, c1 = step(tok, feats[:32], h0, c0)
    dec_cmp = export.compare(paths["decoder"], {"tokens": tok.numpy(), "features": feats[:32].numpy(),
                                                "h": h0.numpy(), "c": c0.numpy()},
                             {"logits": lo.numpy(), "h_out": h1.numpy(), "c_out": c1.numpy()})
    crosscheck = None
    if ortcheck.available():
        ort = ortcheck.greedy(paths["encoder"], paths["decoder"], caption.to_tensor(images[:ORT_CROSSCHECK], mean,
                              std).numpy(), caption.START, caption.END, caption.MAX_LENGTH, hid, True)
        same = sum(a == b for a, b in zip(ort["tokens"], greedy_ids[:ORT_CROSSCHECK]))
        crosscheck = {"scenes": ORT_CROSSCHECK, "identical_token_sequences": same}
        log(f"    ONNX Runtime greedy captions identical to PyTorch for {same}/{ORT_CROSSCHECK} test scenes")

    fixture = write_fixtures(model, mean, std, paths)

    # ---- configs and cards
    enc_cfg = cards.encoder_config("caption-encoder", model.encoder.feature_dim, mean, std)
    dec_cfg = cards.decoder_config("caption-decoder", len(caption.TOKENS), model.encoder.feature_dim, hid,
                                   "caption-encoder")
    fcnn_path = work_path("metrics", "fashion-cnn.json")
    fcnn_acc = read_json(fcnn_path)["test_accuracy"] if os.path.exists(fcnn_path) else None
    result = {**info, "mean": mean, "std": std, "test_seed": TEST_SEED, "caption": cap, "examples": examples,
              "export": {"encoder": enc_check, "decoder": dec_check},
              "compare": {"encoder": enc_cmp, "decoder": dec_cmp}, "ort_greedy": crosscheck,
              "fixture": fixture, "fashion_cnn_accuracy": fcnn_acc,
              "sha256": {"encoder": enc_cfg["sha256"], "decoder": dec_cfg["sha256"]}}
    write_json(work_path("metrics", "caption.json"), result)
    # Machine-readable figures beside the decoder, for service-level evaluations to compare with.
    keys = ("scenes", "bleu4", "exact_match", "class_accuracy", "colour_accuracy", "item_set_accuracy", "well_formed")
    write_json(os.path.join(os.path.dirname(paths["decoder"]), "metrics.json"), {
        "measured_on": f"{TEST_SCENES} held-out test scenes (SceneGenerator('test', {TEST_SEED})), PyTorch",
        "greedy": {k: cap[k] for k in keys}, f"beam{BEAM_WIDTH}": cap["beam"]})
    from .caption_cards import encoder_card, decoder_card
    cards.write_card("caption-encoder", encoder_card(result, enc_cfg))
    cards.write_card("caption-decoder", decoder_card(result, dec_cfg))
    return result
