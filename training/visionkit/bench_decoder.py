"""PyTorch eager side of ``bench/captioning.sh``: the caption decoder's speed on the same features.

    python -m visionkit.bench_decoder [--seconds 5] [--batch 32] [--threads 1]

Loads the decoder's PyTorch weights shipped beside its ONNX graph
(``models/caption-decoder/<v>/decoder.pt``) and the caption fixture's encoder features, and
decodes them greedy and with beam 3, one image per call and ``--batch`` per call, printing
Markdown table rows like the Java benchmark's. Greedy is ``caption.greedy`` (batched); beam
search at batch size 1 is the reference ``caption.beam_search`` and, batched, the vectorised
``beam_batched`` below (checked here to return the reference's best captions).
"""
from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
import torch.nn.functional as F

from . import caption
from .common import MODELS_DIR


@torch.no_grad()
def beam_batched(decoder: caption.CaptionDecoder, features: torch.Tensor, width: int,
                 max_length: int = caption.MAX_LENGTH) -> list[list[int]]:
    """Beam search over a batch with one decoder call per step; best hypothesis per image.

    Same rule as ``caption.beam_search``: per image, the ``width`` best expansions are kept,
    those ending in the end token are finished, the rest stay live; an image stops when nothing
    is live or its best finished score is at least its best live score.
    """
    b, k, hid = features.shape[0], width, decoder.hidden
    feats = features.repeat_interleave(k, 0)
    h = torch.zeros(b * k, hid)
    c = torch.zeros(b * k, hid)
    tokens = torch.full((b * k,), caption.START, dtype=torch.long)
    scores = torch.full((b, k), float("-inf"), dtype=torch.float64)
    scores[:, 0] = 0.0
    history = torch.zeros((b, k, 0), dtype=torch.long)
    best: list[tuple[float, list[int]] | None] = [None] * b
    done = torch.zeros(b, dtype=torch.bool)
    rows = torch.arange(b)[:, None]
    for _ in range(max_length):
        logits, h, c = decoder.step(tokens, feats, h, c)
        logp = F.log_softmax(logits.double(), dim=1).view(b, k, -1)
        vocab = logp.shape[2]
        top, idx = (scores.unsqueeze(2) + logp).view(b, -1).topk(k, dim=1)
        beam, tok = idx // vocab, idx % vocab
        history = torch.cat([history[rows, beam], tok.unsqueeze(2)], dim=2)
        h = h.view(b, k, hid)[rows, beam].reshape(b * k, hid)
        c = c.view(b, k, hid)[rows, beam].reshape(b * k, hid)
        ended = (tok == caption.END) & torch.isfinite(top) & ~done[:, None]
        for i, j in ended.nonzero().tolist():
            if best[i] is None or top[i, j].item() > best[i][0]:
                best[i] = (top[i, j].item(), history[i, j].tolist())
        scores = top.masked_fill(ended | done[:, None], float("-inf"))
        live_best = scores.max(dim=1).values
        for i in range(b):
            if not done[i] and (not torch.isfinite(live_best[i]) or (best[i] is not None and best[i][0] >= live_best[i])):
                done[i] = True
        if bool(done.all()):
            break
        tokens = tok.reshape(-1)
    out = []
    for i in range(b):
        if best[i] is None:   # max_length reached with nothing finished: best live hypothesis
            j = int(scores[i].argmax())
            out.append(history[i, j].tolist())
        else:
            out.append(best[i][1])
    return out


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m visionkit.bench_decoder", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    root = os.path.join(MODELS_DIR, "caption-decoder")
    version = max(int(v) for v in os.listdir(root) if v.isdigit())
    vdir = os.path.join(root, str(version))
    vocab = json.load(open(os.path.join(vdir, "vocab.json")))
    fixture = json.load(open(os.path.join(vdir, "fixtures", "greedy.json")))
    feats = torch.tensor(np.array([e["features"] for e in fixture["fixtures"]], dtype=np.float32))
    decoder = caption.CaptionDecoder(vocab=len(vocab["tokens"]), feature_dim=feats.shape[1])
    decoder.load_state_dict(torch.load(os.path.join(vdir, "decoder.pt")))
    decoder.eval()

    reference = [caption.beam_search(decoder, feats[i:i + 1], width=3)[0]["tokens"] for i in range(len(feats))]
    batched = beam_batched(decoder, feats, 3)
    agree = sum(r == b for r, b in zip(reference, batched))
    fixture_beam = sum(e["beam"]["tokens"] == r for e, r in zip(fixture["fixtures"], reference))

    def run(fn, inputs):
        for _ in range(5):
            fn(inputs)
        lat, tokens = [], 0
        start = time.perf_counter()
        while time.perf_counter() - start < a.seconds:
            t0 = time.perf_counter()
            out = fn(inputs)
            lat.append(time.perf_counter() - t0)
            tokens += sum(len(t) - (1 if t and t[-1] == caption.END else 0) for t in out)   # words, as Java counts
        elapsed = time.perf_counter() - start
        lat.sort()
        pct = lambda q: lat[min(len(lat) - 1, int(np.ceil(q * len(lat))) - 1)] * 1000
        return len(lat) * len(inputs) / elapsed, pct(0.5), pct(0.99), tokens / (len(lat) * len(inputs))

    name = f"PyTorch {torch.__version__} eager"
    for beam in (1, 3):
        for size in (1, a.batch):
            x = feats[torch.arange(size) % len(feats)]
            if beam == 1:
                fn = lambda inp: caption.greedy(decoder, inp)
                how = "caption.greedy"
            elif size == 1:
                fn = lambda inp: [caption.beam_search(decoder, inp, width=3)[0]["tokens"]]
                how = "caption.beam_search"
            else:
                fn = lambda inp: beam_batched(decoder, inp, 3)
                how = "beam_batched"
            rate, p50, p99, toks = run(fn, x)
            print(f"| {name} ({how}) | {'greedy' if beam == 1 else 'beam 3'} | {size} | {rate:.0f} | {p50:.2f} | "
                  f"{p99:.2f} | {toks:.1f} | {a.threads} |", flush=True)
    print(f"\nPyTorch batched beam search == reference beam search for {agree}/{len(feats)} fixture scenes; "
          f"reference == fixture beam captions for {fixture_beam}/{len(feats)}.")


if __name__ == "__main__":
    main()
