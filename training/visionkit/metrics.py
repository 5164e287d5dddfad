"""Caption metrics: corpus BLEU-4 and grammar-aware item accuracies."""
from __future__ import annotations

import math
from collections import Counter

from . import scenes


def corpus_bleu(hypotheses: list[list[str]], references: list[list[str]], max_n: int = 4) -> dict:
    """Corpus-level BLEU (Papineni et al., 2002) with one reference per hypothesis.

    Modified (clipped) n-gram precisions p_1..p_4 are accumulated over the whole corpus
    (clipped matches summed, divided by hypothesis n-grams summed), combined as a
    geometric mean with uniform weights 1/4, and multiplied by the brevity penalty
    BP = exp(1 - R/C) when the total hypothesis length C is below the total reference
    length R (else 1). No smoothing; tokens are the caption's words (start/end excluded).
    """
    matches = [0] * max_n
    totals = [0] * max_n
    hyp_len = ref_len = 0
    for hyp, ref in zip(hypotheses, references):
        hyp_len += len(hyp)
        ref_len += len(ref)
        for n in range(1, max_n + 1):
            h = Counter(tuple(hyp[i:i + n]) for i in range(len(hyp) - n + 1))
            r = Counter(tuple(ref[i:i + n]) for i in range(len(ref) - n + 1))
            matches[n - 1] += sum(min(c, r[g]) for g, c in h.items())
            totals[n - 1] += max(len(hyp) - n + 1, 0)
    precisions = [m / t if t else 0.0 for m, t in zip(matches, totals)]
    if min(precisions) == 0.0:
        geo = 0.0
    else:
        geo = math.exp(sum(math.log(p) for p in precisions) / max_n)
    bp = 1.0 if hyp_len >= ref_len else math.exp(1.0 - ref_len / max(hyp_len, 1))
    return {"bleu": bp * geo, "precisions": precisions, "brevity_penalty": bp,
            "hypothesis_length": hyp_len, "reference_length": ref_len}


def caption_metrics(generated: list[list[str]], items_list) -> dict:
    """Exact match, colour / class accuracy per item, item-set accuracy and BLEU-4.

    * exact match: generated words == reference words;
    * per-item class / colour accuracy: the reference caption names the scene's items in
      a fixed order (groups in reading order, counts expanded). The generated caption is
      parsed with the same grammar; its k-th named item is compared with the k-th
      reference item. An item counts as correct only if the generated caption names a
      k-th item with the same class (resp. colour). Missing items and unparsable
      captions count as wrong. Denominator: all items of all scenes;
    * item-set accuracy: fraction of scenes whose generated caption parses and names
      exactly the scene's multiset of (class, colour) pairs;
    * count accuracy: fraction of scenes whose generated caption names as many items as
      the scene holds;
    * order-free class / colour accuracy: per scene, the size of the multiset intersection of
      the classes (resp. colours) named by the caption and those of the scene, summed over
      scenes and divided by the number of items (a misplaced item is not counted twice).
    """
    refs = [scenes.caption_tokens(items) for items in items_list]
    exact = sum(g == r for g, r in zip(generated, refs))
    n_items = class_ok = colour_ok = set_ok = count_ok = parsed = class_free = colour_free = 0
    for gen, items in zip(generated, items_list):
        truth = scenes.reference_mentions(items)
        named = scenes.mentions(gen)
        n_items += len(truth)
        if named is None:
            continue
        parsed += 1
        for k, (label, colour) in enumerate(truth):
            if k < len(named):
                class_ok += named[k][0] == label
                colour_ok += named[k][1] == colour
        set_ok += Counter(named) == Counter(truth)
        class_free += sum((Counter(x[0] for x in named) & Counter(x[0] for x in truth)).values())
        colour_free += sum((Counter(x[1] for x in named) & Counter(x[1] for x in truth)).values())
        count_ok += len(named) == len(truth)
    n = len(items_list)
    bleu = corpus_bleu(generated, refs)
    return {
        "scenes": n, "items": n_items,
        "bleu4": bleu["bleu"], "bleu_precisions": bleu["precisions"], "brevity_penalty": bleu["brevity_penalty"],
        "exact_match": exact / n,
        "class_accuracy": class_ok / n_items,
        "colour_accuracy": colour_ok / n_items,
        "item_set_accuracy": set_ok / n,
        "count_accuracy": count_ok / n,
        "class_accuracy_order_free": class_free / n_items,
        "colour_accuracy_order_free": colour_free / n_items,
        "well_formed": parsed / n,
    }
