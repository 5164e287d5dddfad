"""Show-and-Tell style caption model: CNN encoder + LSTM decoder (par-inject).

The encoder maps a 96x96 RGB scene to a feature vector (per quadrant: a cell vector and the
encoder's class and colour probabilities) and multi-label presence logits. The decoder is
an LSTM whose input at every step is the concatenation of the previous token's embedding
and a projection of the image features ("par-inject"). Both train jointly with teacher
forcing (``Recipe.encoder_epochs`` can let the encoder train alone first).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, asdict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from . import scenes
from .common import log, setup_torch
from .models import conv_bn_relu

# --------------------------------------------------------------------------- vocabulary

SPECIALS = ["<pad>", "<start>", "<end>", "<unk>"]
PAD, START, END, UNK = 0, 1, 2, 3
WORDS = (["a", "an", "two", "three", "four"] + scenes.COLOUR_NAMES + scenes.SINGULAR + scenes.PLURAL
         + ["and", "to", "the", "left", "right", "of", "above"])
TOKENS = SPECIALS + WORDS
INDEX = {t: i for i, t in enumerate(TOKENS)}
#: Longest caption of the grammar is 15 words; decoding stops at the end token or after this many steps.
MAX_LENGTH = 20


def vocab_json() -> dict:
    return {"tokens": TOKENS, "pad": PAD, "start": START, "end": END, "unk": UNK,
            "max_length": MAX_LENGTH,
            "detokenize": "join the tokens between <start> and <end> with single spaces"}


def encode(tokens: list[str]) -> list[int]:
    return [INDEX.get(t, UNK) for t in tokens]


def decode(ids) -> list[str]:
    """Token ids (without start) -> words, stopping at the end token."""
    out = []
    for i in ids:
        i = int(i)
        if i == END:
            break
        if i in (PAD, START):
            continue
        out.append(TOKENS[i] if 0 <= i < len(TOKENS) else "<unk>")
    return out


# --------------------------------------------------------------------------- networks

class CaptionEncoder(nn.Module):
    """96x96 RGB scene -> ``features`` [B,592] and ``presence`` logits [B,10].

    A VGG-style trunk with batch norm (96 -> 48 by a stride-2 convolution, then three
    stages at 48, 24 and 12 pixels) ends in a 6x6x128 map that is average-pooled per
    2x2 grid quadrant into four 128-d cell vectors. Two heads read each cell vector:
    ``cell_class`` (10 classes + "empty") and ``cell_colour`` (8 colours + "empty").
    ``features`` is, per cell in reading order, the cell vector followed by the softmax
    of both heads (128 + 11 + 9 = 148 values), so the decoder sees the encoder's own
    decision for every quadrant and does not have to learn recognition again.
    ``presence`` is a linear head on the four cell vectors. During training the cell
    vectors pass through dropout (``train_dropout``) before every head and the decoder,
    and the head probabilities reach the decoder without gradient (the heads learn from
    their own labels only).
    """

    def __init__(self, width: int = 32, train_dropout: float = 0.2) -> None:
        super().__init__()
        w = width
        self.train_dropout = train_dropout
        self.trunk = nn.Sequential(
            *conv_bn_relu(3, w, stride=2),                          # 48x48
            *conv_bn_relu(w, w), nn.MaxPool2d(2),                   # 24x24
            *conv_bn_relu(w, 2 * w), *conv_bn_relu(2 * w, 2 * w), nn.MaxPool2d(2),   # 12x12
            *conv_bn_relu(2 * w, 4 * w), *conv_bn_relu(4 * w, 4 * w), nn.MaxPool2d(2),  # 6x6
        )
        self.cell_dim = 4 * w
        self.cell_classes = 11
        self.cell_colours = len(scenes.COLOURS) + 1
        self.feature_dim = 4 * (self.cell_dim + self.cell_classes + self.cell_colours)
        self.presence = nn.Linear(4 * self.cell_dim, 10)
        self.cell_class = nn.Linear(self.cell_dim, self.cell_classes)
        self.cell_colour = nn.Linear(self.cell_dim, self.cell_colours)

    def cells(self, image: torch.Tensor) -> torch.Tensor:
        """Cell vectors [B,4,C] in reading order (top-left, top-right, bottom-left, bottom-right)."""
        grid = F.adaptive_avg_pool2d(self.trunk(image), 2)          # [B,C,2,2]
        return grid.flatten(2).transpose(1, 2)

    def _outputs(self, cells: torch.Tensor, cell_class: torch.Tensor, cell_colour: torch.Tensor):
        heads = torch.cat([F.softmax(cell_class, dim=-1), F.softmax(cell_colour, dim=-1)], dim=-1)
        features = torch.cat([cells, heads.detach()], dim=-1).flatten(1)
        return features, self.presence(cells.flatten(1))

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cells = self.cells(image)
        return self._outputs(cells, self.cell_class(cells), self.cell_colour(cells))

    def forward_train(self, image: torch.Tensor):
        cells = F.dropout(self.cells(image), self.train_dropout, training=True)
        cell_class, cell_colour = self.cell_class(cells), self.cell_colour(cells)
        features, presence = self._outputs(cells, cell_class, cell_colour)
        return features, presence, cell_class, cell_colour


class CaptionDecoder(nn.Module):
    """LSTM decoder, par-inject: input_t = [embed(token_{t-1}) ; relu(W f)]."""

    def __init__(self, vocab: int = len(TOKENS), feature_dim: int = 592, embed: int = 64,
                 projection: int = 256, hidden: int = 256) -> None:
        super().__init__()
        self.hidden = hidden
        self.embedding = nn.Embedding(vocab, embed)
        self.project = nn.Linear(feature_dim, projection)
        self.lstm = nn.LSTM(embed + projection, hidden, batch_first=True)
        self.out = nn.Linear(hidden, vocab)

    def forward(self, tokens: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: ``tokens`` [B,T] (start + caption) -> logits [B,T,V]."""
        emb = self.embedding(tokens)
        proj = F.relu(self.project(features)).unsqueeze(1).expand(-1, tokens.shape[1], -1)
        out, _ = self.lstm(torch.cat([emb, proj], dim=2))
        return self.out(out)

    def step(self, tokens: torch.Tensor, features: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        """One decoding step with explicit LSTM-cell arithmetic (same weights as ``self.lstm``)."""
        x = torch.cat([self.embedding(tokens), F.relu(self.project(features))], dim=1)
        gates = (x @ self.lstm.weight_ih_l0.t() + self.lstm.bias_ih_l0
                 + h @ self.lstm.weight_hh_l0.t() + self.lstm.bias_hh_l0)
        i, f, g, o = gates.chunk(4, dim=1)
        c_out = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h_out = torch.sigmoid(o) * torch.tanh(c_out)
        return self.out(h_out), h_out, c_out


class DecoderStep(nn.Module):
    """The exported one-step graph: (tokens, features, h, c) -> (logits, h_out, c_out)."""

    def __init__(self, decoder: CaptionDecoder) -> None:
        super().__init__()
        self.decoder = decoder

    def forward(self, tokens, features, h, c):
        return self.decoder.step(tokens, features, h, c)


# --------------------------------------------------------------------------- data

def scene_normalisation(seed: int = 0, count: int = 2000) -> tuple[list[float], list[float]]:
    """Per-channel mean/std of ``pixel/255`` over ``count`` training scenes (rounded to 3 decimals)."""
    images, _ = scenes.SceneGenerator("train", seed).batch(0, count)
    x = images.astype(np.float64) / 255.0
    mean = [round(float(v), 3) for v in x.mean(axis=(0, 1, 2))]
    std = [round(float(v), 3) for v in x.std(axis=(0, 1, 2))]
    return mean, std


def to_tensor(images: np.ndarray, mean, std) -> torch.Tensor:
    """uint8 [B,96,96,3] -> float [B,3,96,96] with ``(pixel/255 - mean)/std`` per channel."""
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0
    return (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)


def targets(items_list) -> dict[str, torch.Tensor]:
    """Teacher-forcing inputs/targets, presence and per-cell labels for a batch of scenes."""
    seqs = [encode(scenes.caption_tokens(items)) for items in items_list]
    length = max(len(s) for s in seqs) + 1
    inp = torch.full((len(seqs), length), PAD, dtype=torch.long)
    out = torch.full((len(seqs), length), PAD, dtype=torch.long)
    presence = torch.zeros((len(seqs), 10))
    cell_class = torch.full((len(seqs), 4), 10, dtype=torch.long)        # 10 = empty
    cell_colour = torch.full((len(seqs), 4), len(scenes.COLOURS), dtype=torch.long)
    for b, (s, items) in enumerate(zip(seqs, items_list)):
        inp[b, :len(s) + 1] = torch.tensor([START] + s)
        out[b, :len(s) + 1] = torch.tensor(s + [END])
        for it in items:
            presence[b, it.label] = 1.0
            cell_class[b, it.cell] = it.label
            cell_colour[b, it.cell] = it.colour
    return {"inp": inp, "out": out, "presence": presence, "cell_class": cell_class, "cell_colour": cell_colour}


# --------------------------------------------------------------------------- training

@dataclass
class Recipe:
    #: All epochs; the first ``encoder_epochs`` train the encoder alone (about 80% of the cost of a
    #: joint epoch), the rest train encoder and decoder together.
    epochs: int = 11
    encoder_epochs: int = 0
    scenes_per_epoch: int = 40000
    batch_size: int = 64
    max_lr: float = 3e-3
    weight_decay: float = 0.05
    presence_weight: float = 0.5
    cell_weight: float = 2.0
    #: Knowledge distillation from fashion-cnn (trained before this stage) into the cell class head.
    distill_weight: float = 2.0
    distill_temperature: float = 4.0
    seed: int = 3
    train_scene_seed: int = 1000
    width: int = 32

    def describe(self) -> dict:
        return asdict(self)


class CaptionModel(nn.Module):
    def __init__(self, width: int = 32) -> None:
        super().__init__()
        self.encoder = CaptionEncoder(width)
        self.decoder = CaptionDecoder(feature_dim=self.encoder.feature_dim)


@torch.no_grad()
def teacher_log_probs(temperature: float) -> torch.Tensor:
    """fashion-cnn's log-softmax(logits / T) for every training item [60000,10].

    The caption stage distils the classifier into the encoder's cell class head: each item in
    a training scene is the tinted, resized copy of a Fashion-MNIST training image whose
    softened class distribution fashion-cnn gives. Needs the fashion-cnn stage's checkpoint.
    """
    from . import classifier, data
    from .common import work_path
    import os
    path = work_path("checkpoints", "fashion-cnn.pt")
    if not os.path.exists(path):
        raise SystemExit("the caption stage distils fashion-cnn: run the fashion-cnn stage first "
                         "(training/make-models.sh fashion-cnn caption)")
    teacher = classifier.build("fashion-cnn")
    teacher.load_state_dict(torch.load(path))
    mean, std = data.normalisation()
    logits, _ = classifier.predict(teacher, data.load("train").images, mean, std)
    return F.log_softmax(torch.from_numpy(logits) / temperature, dim=1)


def distillation_loss(cell_class: torch.Tensor, items_list, teacher: torch.Tensor, temperature: float) -> torch.Tensor:
    """KL(teacher || student) at temperature T on the occupied cells, scaled by T^2 (Hinton et al.)."""
    source = torch.full((len(items_list), 4), -1, dtype=torch.long)
    for b, items in enumerate(items_list):
        for it in items:
            source[b, it.cell] = it.source_index
    occupied = source >= 0
    student = F.log_softmax(cell_class[occupied][:, :10] / temperature, dim=1)
    return temperature ** 2 * F.kl_div(student, teacher[source[occupied]], log_target=True, reduction="batchmean")


def train(recipe: Recipe, mean, std) -> tuple[CaptionModel, dict]:
    """Train on freshly generated training scenes each epoch: the encoder alone for ``encoder_epochs``, then jointly."""
    setup_torch(recipe.seed)
    teacher = teacher_log_probs(recipe.distill_temperature) if recipe.distill_weight > 0 else None
    model = CaptionModel(recipe.width)
    gen = scenes.SceneGenerator("train", recipe.train_scene_seed, augment=True)
    steps_per_epoch = math.ceil(recipe.scenes_per_epoch / recipe.batch_size)
    opt = torch.optim.AdamW(model.parameters(), lr=recipe.max_lr, weight_decay=recipe.weight_decay)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=recipe.max_lr, epochs=recipe.epochs,
                                                steps_per_epoch=steps_per_epoch, pct_start=0.2)
    history = []
    start = time.perf_counter()
    for epoch in range(recipe.epochs):
        model.train()
        t0 = time.perf_counter()
        images, items = gen.batch(epoch * recipe.scenes_per_epoch, recipe.scenes_per_epoch)
        gen_seconds = time.perf_counter() - t0
        joint = epoch >= recipe.encoder_epochs
        sums = {"caption": 0.0, "presence": 0.0, "cell": 0.0, "token_acc": 0.0}
        for step in range(steps_per_epoch):
            sl = slice(step * recipe.batch_size, (step + 1) * recipe.batch_size)
            x = to_tensor(images[sl], mean, std)
            t = targets(items[sl])
            features, presence, cell_class, cell_colour = model.encoder.forward_train(x)
            pres_loss = F.binary_cross_entropy_with_logits(presence, t["presence"])
            cell_loss = (F.cross_entropy(cell_class.flatten(0, 1), t["cell_class"].flatten())
                         + F.cross_entropy(cell_colour.flatten(0, 1), t["cell_colour"].flatten()))
            loss = recipe.presence_weight * pres_loss + recipe.cell_weight * cell_loss
            if teacher is not None:
                loss = loss + recipe.distill_weight * distillation_loss(cell_class, items[sl], teacher,
                                                                        recipe.distill_temperature)
            if joint:
                logits = model.decoder(t["inp"], features)
                cap_loss = F.cross_entropy(logits.flatten(0, 1), t["out"].flatten(), ignore_index=PAD)
                loss = loss + cap_loss
                mask = t["out"] != PAD
                sums["caption"] += cap_loss.item()
                sums["token_acc"] += ((logits.argmax(2) == t["out"]) & mask).sum().item() / mask.sum().item()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            sums["presence"] += pres_loss.item()
            sums["cell"] += cell_loss.item()
        if not joint:
            sums["caption"] = sums["token_acc"] = None
        row = {"epoch": epoch + 1, "decoder": joint,
               **{k: None if v is None else round(v / steps_per_epoch, 4) for k, v in sums.items()},
               "generate_s": round(gen_seconds, 1), "seconds": round(time.perf_counter() - t0, 1)}
        history.append(row)
        log("[caption] " + " ".join(f"{k}={v}" for k, v in row.items()))
    model.eval()
    return model, {"train_seconds": round(time.perf_counter() - start, 1), "history": history,
                   "recipe": recipe.describe(),
                   "parameters": {"encoder": sum(p.numel() for p in model.encoder.parameters()),
                                  "decoder": sum(p.numel() for p in model.decoder.parameters())}}


# --------------------------------------------------------------------------- decoding

@torch.no_grad()
def greedy(decoder: CaptionDecoder, features: torch.Tensor, max_length: int = MAX_LENGTH) -> list[list[int]]:
    """Greedy decoding with the one-step function; returns token ids per image (end token included)."""
    b = features.shape[0]
    h = torch.zeros(b, decoder.hidden)
    c = torch.zeros(b, decoder.hidden)
    tok = torch.full((b,), START, dtype=torch.long)
    out: list[list[int]] = [[] for _ in range(b)]
    done = [False] * b
    for _ in range(max_length):
        logits, h, c = decoder.step(tok, features, h, c)
        tok = logits.argmax(1)
        for i in range(b):
            if not done[i]:
                out[i].append(int(tok[i]))
                done[i] = int(tok[i]) == END
        if all(done):
            break
    return out


@torch.no_grad()
def beam_search(decoder: CaptionDecoder, features: torch.Tensor, width: int = 3,
                max_length: int = MAX_LENGTH) -> list[dict]:
    """Reference beam search for ONE image (``features`` [1,D]).

    Scores are sums of log-softmax probabilities (no length normalisation). At each step
    every live hypothesis is expanded by every token; the ``width`` best candidates
    (ties: earlier hypothesis, then lower token id) are kept; those ending in the end
    token move to the finished list, the others stay live. Search stops when no
    hypothesis is live, when the best finished score is at least the best live score
    (scores never increase, so nothing live can overtake it), or after ``max_length``
    steps (live hypotheses are then finished as they are). Returns the finished
    hypotheses, best first: ``{"tokens": [...], "log_prob": float}``.
    """
    live = [([], 0.0, torch.zeros(1, decoder.hidden), torch.zeros(1, decoder.hidden))]
    finished: list[tuple[list[int], float]] = []
    for _ in range(max_length):
        toks = torch.tensor([hyp[0][-1] if hyp[0] else START for hyp in live], dtype=torch.long)
        h = torch.cat([hyp[2] for hyp in live])
        c = torch.cat([hyp[3] for hyp in live])
        logits, h2, c2 = decoder.step(toks, features.expand(len(live), -1), h, c)
        logp = F.log_softmax(logits.double(), dim=1)
        cands = []
        for bi, hyp in enumerate(live):
            for tok in range(logp.shape[1]):
                cands.append((hyp[1] + float(logp[bi, tok]), bi, tok))
        cands.sort(key=lambda z: (-z[0], z[1], z[2]))
        new_live = []
        for score, bi, tok in cands[:width]:
            seq = live[bi][0] + [tok]
            if tok == END:
                finished.append((seq, score))
            else:
                new_live.append((seq, score, h2[bi:bi + 1], c2[bi:bi + 1]))
        live = new_live
        if not live:
            break
        if finished and max(f[1] for f in finished) >= max(l[1] for l in live):
            break
    else:
        finished += [(hyp[0], hyp[1]) for hyp in live]
    finished.sort(key=lambda z: -z[1])
    return [{"tokens": seq, "log_prob": score} for seq, score in finished]
