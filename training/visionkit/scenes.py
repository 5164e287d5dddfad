"""Synthetic caption scenes built from Fashion-MNIST items, and their caption grammar.

A scene is a 96x96 RGB black canvas split into a 2x2 grid of 48x48 cells. One to four
cells hold one item each: a Fashion-MNIST image resized (bilinear) to a square of 30-44
pixels, multiplied by a named colour and by an intensity in [0.75, 1], and placed at a
random offset inside its cell, so items never overlap. Training scenes also mirror
each item with probability 0.5 (augmentation); test scenes never do. With probability 0.3 an item
repeats the class and colour of an earlier item of the scene (a different image), so
captions with counts ("two green shirts") occur.

Captions come from a small deterministic grammar over the items in reading order
(top-left, top-right, bottom-left, bottom-right):

* items with the same class and colour are grouped, in order of first appearance;
* one group: "a red bag", "two green shirts", "three white sneakers";
* two different items: a spatial relation given by their cells:
  "a red sneaker to the left of a blue bag" (same row), "a yellow dress above a white
  sandal" (same column), "... above and to the left of ..." / "... above and to the
  right of ..." (diagonal);
* otherwise the groups joined with "and": "two red bags and a blue coat",
  "a red bag and a blue coat and a white sneaker".

Training scenes use only train-split items, test scenes only test-split items, and a
scene is a pure function of (split, seed, index).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from . import data

SIZE = 96
CELL = 48
MIN_ITEM, MAX_ITEM = 30, 44
REPEAT_P = 0.3

#: Colour names and the RGB they multiply an item's grey level with.
COLOURS = {
    "red": (255, 40, 40),
    "green": (40, 220, 40),
    "blue": (50, 90, 255),
    "yellow": (255, 235, 40),
    "white": (255, 255, 255),
    "orange": (255, 140, 0),
    "purple": (170, 60, 255),
    "cyan": (40, 230, 230),
}
COLOUR_NAMES = list(COLOURS)

#: One token per class: singular and plural.
SINGULAR = ["t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "boot"]
PLURAL = ["t-shirts", "trousers", "pullovers", "dresses", "coats", "sandals", "shirts", "sneakers", "bags", "boots"]
NUMBERS = {2: "two", 3: "three", 4: "four"}

#: Cell index -> (row, column).
CELLS = [(0, 0), (0, 1), (1, 0), (1, 1)]


@dataclass(frozen=True)
class Item:
    """One placed item. ``cell`` in 0..3 (reading order); ``box`` = (x, y, size) in pixels."""
    cell: int
    label: int
    colour: int
    source_index: int
    box: tuple[int, int, int]


@dataclass(frozen=True)
class Scene:
    image: np.ndarray          # uint8 [96,96,3]
    items: tuple[Item, ...]    # in reading order

    @property
    def caption(self) -> str:
        return caption_for(self.items)


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _groups(items) -> list[tuple[int, int, int]]:
    """(label, colour, count) per distinct (label, colour), in order of first appearance."""
    order: list[tuple[int, int]] = []
    counts: dict[tuple[int, int], int] = {}
    for it in items:
        key = (it.label, it.colour)
        if key not in counts:
            order.append(key)
            counts[key] = 0
        counts[key] += 1
    return [(lab, col, counts[(lab, col)]) for lab, col in order]


def _phrase(label: int, colour: int, count: int) -> list[str]:
    name = COLOUR_NAMES[colour]
    if count == 1:
        return [_article(name), name, SINGULAR[label]]
    return [NUMBERS[count], name, PLURAL[label]]


def caption_tokens(items) -> list[str]:
    """The caption of a scene's items (reading order) as a list of tokens."""
    items = sorted(items, key=lambda it: it.cell)
    groups = _groups(items)
    if len(groups) == 1:
        return _phrase(*groups[0])
    if len(items) == 2:
        (r0, c0), (r1, c1) = CELLS[items[0].cell], CELLS[items[1].cell]
        if r0 == r1:
            relation = ["to", "the", "left", "of"]
        elif c0 == c1:
            relation = ["above"]
        elif c0 < c1:
            relation = ["above", "and", "to", "the", "left", "of"]
        else:
            relation = ["above", "and", "to", "the", "right", "of"]
        return _phrase(*groups[0]) + relation + _phrase(*groups[1])
    out: list[str] = []
    for i, g in enumerate(groups):
        if i:
            out.append("and")
        out += _phrase(*g)
    return out


def caption_for(items) -> str:
    return " ".join(caption_tokens(items))


def mentions(tokens: list[str]) -> list[tuple[int, int]] | None:
    """Parse a caption back into the (label, colour) of each item it names, in caption order.

    Counts expand ("two red bags" -> two entries). Returns ``None`` when the tokens are
    not a sentence of the grammar (a malformed generated caption).
    """
    numbers = {"a": 1, "an": 1, "two": 2, "three": 3, "four": 4}
    out: list[tuple[int, int]] = []
    i = 0
    relations = {("to", "the", "left", "of"), ("above",), ("above", "and", "to", "the", "left", "of"),
                 ("above", "and", "to", "the", "right", "of")}
    expect_phrase = True
    while i < len(tokens):
        if expect_phrase:
            if i + 2 >= len(tokens) + 0 and i + 3 > len(tokens):
                return None
            count = numbers.get(tokens[i])
            colour = tokens[i + 1] if i + 1 < len(tokens) else None
            noun = tokens[i + 2] if i + 2 < len(tokens) else None
            if count is None or colour not in COLOURS:
                return None
            nouns = SINGULAR if count == 1 else PLURAL
            if noun not in nouns:
                return None
            out += [(nouns.index(noun), COLOUR_NAMES.index(colour))] * count
            i += 3
            expect_phrase = False
        else:
            for rel in sorted(relations, key=len, reverse=True):
                if tuple(tokens[i:i + len(rel)]) == rel:
                    i += len(rel)
                    break
            else:
                if tokens[i] == "and":
                    i += 1
                else:
                    return None
            expect_phrase = True
    if expect_phrase:  # empty caption or a dangling connective
        return None
    return out


def reference_mentions(items) -> list[tuple[int, int]]:
    """(label, colour) of each item in the order the reference caption names them."""
    items = sorted(items, key=lambda it: it.cell)
    out: list[tuple[int, int]] = []
    for lab, col, count in _groups(items):
        out += [(lab, col)] * count
    return out


def _tint(grey: np.ndarray, colour: int, intensity: float) -> np.ndarray:
    rgb = np.asarray(COLOURS[COLOUR_NAMES[colour]], dtype=np.float32) / 255.0
    return grey[:, :, None].astype(np.float32) * (rgb[None, None, :] * intensity)


def render(items, split: data.Split, intensities, flips) -> np.ndarray:
    """Draw ``items`` on a black canvas (mirrored where ``flips`` says so); returns uint8 [96,96,3]."""
    canvas = np.zeros((SIZE, SIZE, 3), dtype=np.float32)
    for it, intensity, flip in zip(items, intensities, flips):
        x, y, s = it.box
        pixels = split.images[it.source_index]
        src = Image.fromarray(np.ascontiguousarray(pixels[:, ::-1]) if flip else pixels)
        grey = np.asarray(src.resize((s, s), Image.BILINEAR), dtype=np.float32)
        canvas[y:y + s, x:x + s] = _tint(grey, it.colour, intensity)
    return np.clip(np.rint(canvas), 0, 255).astype(np.uint8)


class SceneGenerator:
    """Deterministic scenes for one split: scene ``i`` of seed ``s`` is always the same."""

    def __init__(self, split_name: str, seed: int, augment: bool = False) -> None:
        self.split = data.load(split_name)
        self.seed = seed
        self.augment = augment
        self.by_label = [np.flatnonzero(self.split.labels == c) for c in range(10)]

    def scene(self, index: int) -> Scene:
        rng = np.random.default_rng([self.seed, index])
        n = int(rng.integers(1, 5))
        cells = sorted(rng.choice(4, size=n, replace=False).tolist())
        items, intensities, flips = [], [], []
        for cell in cells:
            if items and rng.random() < REPEAT_P:
                prev = items[int(rng.integers(len(items)))]
                label, colour = prev.label, prev.colour
                source = int(rng.choice(self.by_label[label]))
            else:
                source = int(rng.integers(len(self.split)))
                label = int(self.split.labels[source])
                colour = int(rng.integers(len(COLOURS)))
            size = int(rng.integers(MIN_ITEM, MAX_ITEM + 1))
            row, col = CELLS[cell]
            x = col * CELL + int(rng.integers(0, CELL - size + 1))
            y = row * CELL + int(rng.integers(0, CELL - size + 1))
            items.append(Item(cell, label, colour, source, (x, y, size)))
            intensities.append(float(rng.uniform(0.75, 1.0)))
            flips.append(bool(rng.random() < 0.5) and self.augment)
        return Scene(render(items, self.split, intensities, flips), tuple(items))

    def batch(self, start: int, count: int) -> tuple[np.ndarray, list[tuple[Item, ...]]]:
        """Images uint8 [count,96,96,3] and item tuples of scenes ``start .. start+count-1``."""
        images = np.empty((count, SIZE, SIZE, 3), dtype=np.uint8)
        items = []
        for k in range(count):
            sc = self.scene(start + k)
            images[k] = sc.image
            items.append(sc.items)
        return images, items
