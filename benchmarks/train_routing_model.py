"""Train the learned routing component offline and write the files the router ships with.

Reads the labelled citizen messages of ``../shared/data`` (never copied into the repository) and
writes two derived files:

- ``bot/core/data/routing_model.json``: per-label weights of a multinomial logistic regression
  over dictionary words (only the ``--vocab`` most useful words, rounded), plus biases;
- ``bot/core/data/idf.txt``: an IDF table of the words of these messages (document frequency
  >= 3), for keyword weights.

The held-out fold (1 in 5 ids of ``teddy2020_dev.csv``, by SHA-1; see ``bot.cli.rules.held_out``)
is never trained on, and messages of the segmented set that nearly duplicate a held-out message
(word-set Jaccard >= 0.5) are dropped too. Features are exactly what the router sees at run time:
the dictionary words found by :class:`bot.core.tagging.Matcher` in the normalised text.

Needs scikit-learn (offline only, not a dependency of the bot)::

    .venv/bin/pip install scikit-learn
    .venv/bin/python benchmarks/train_routing_model.py            # train and write the files
    .venv/bin/python benchmarks/train_routing_model.py --tune     # also grid-search weight/margin

The last line printed is JSON with the held-out figures.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import itertools
import json
import math
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.cli.rules import evaluate, held_out, read_label_map  # noqa: E402
from bot.core.routing import LinearModel, Router  # noqa: E402
from bot.core.rules import load_rules  # noqa: E402
from bot.core.tagging import Matcher, get_tokenizer  # noqa: E402
from bot.core.text import normalise  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
OUT = ROOT / "bot" / "core" / "data"


def good_word(word: str) -> bool:
    """Keep dictionary words: 2-8 Chinese characters (or ASCII letters) known to jieba's general
    dictionary or the project user dictionary. Words found only in the messages (names of
    people, places, companies) are never shipped."""
    if len(word) < 2 or len(word) > 8:
        return False
    ok = word.isalpha() if word.isascii() else all("\u4e00" <= c <= "\u9fff" for c in word)
    return ok and bool(get_tokenizer().FREQ.get(word))


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


Doc = tuple[str, str, set[str]]


def build_corpus(data: Path) -> tuple[list[Doc], list[tuple[str, str]], int, int]:
    """Return training docs (text, label, words; raw dev rows first), held-out (text, label),
    the number of near-duplicates dropped and the number of raw dev rows in training."""
    tokenizer = get_tokenizer()
    dev = read_csv(data / "teddy2020_dev.csv")
    seg = read_csv(data / "teddy2020_segmented_dev.csv")
    train: list[tuple[str, str, set[str]]] = []
    held: list[tuple[str, str]] = []
    held_sets: list[set[str]] = []
    for row in dev:
        text = normalise(row["text"])
        words = {w for w in tokenizer.lcut(text) if good_word(w)}
        if held_out(row["id"]):
            held.append((row["text"], row["label"]))
            held_sets.append(words)
        else:
            train.append((text, row["label"], words))
    dropped = 0
    n_dev = len(train)
    for row in seg:
        tokens = normalise(row["text_segmented"]).split()
        words = {w for w in tokens if good_word(w)}
        if not words:
            continue
        if any(len(words & h) / len(words | h) >= 0.5 for h in held_sets if h):
            dropped += 1
            continue
        train.append((" ".join(tokens), row["label"], words))
    return train, held, dropped, n_dev


def fit(docs: list[Doc], vocab: list[str], c: float, keep: int, featurize=None):  # type: ignore[no-untyped-def]
    """Fit a logistic regression on dictionary-scan features; keep the ``keep`` best words.

    ``featurize(text, matcher)`` may replace the features (all dictionary words found)."""
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    def matrix(words: list[str]) -> tuple[csr_matrix, list[str]]:
        matcher = Matcher(words)
        index = {w: i for i, w in enumerate(words)}
        rows, cols = [], []
        for r, (text, _, _) in enumerate(docs):
            found = featurize(text, matcher) if featurize else matcher.find(text)
            for w in found:
                if w in index:
                    rows.append(r)
                    cols.append(index[w])
        x = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(docs), len(words)))
        return x, [d[1] for d in docs]

    x, y = matrix(vocab)
    clf = LogisticRegression(C=c, max_iter=3000)
    clf.fit(x, y)
    strength = np.abs(clf.coef_).max(axis=0)
    chosen = [vocab[i] for i in np.argsort(-strength)[:keep]]
    chosen.sort()
    x, y = matrix(chosen)
    clf = LogisticRegression(C=c, max_iter=3000)
    clf.fit(x, y)
    return LinearModel(
        labels=tuple(str(lab) for lab in clf.classes_),
        bias=tuple(round(float(b), 4) for b in clf.intercept_),
        weights={
            w: tuple(round(float(v), 4) for v in clf.coef_[:, i]) for i, w in enumerate(chosen)
        },
        meta={"C": c, "vocabulary": len(chosen), "documents": len(docs)},
    )


def vocabulary(
    docs: list[tuple[str, str, set[str]]], min_df: int
) -> tuple[list[str], Counter[str]]:
    df: Counter[str] = Counter()
    for _, _, words in docs:
        df.update(words)
    return sorted(w for w, n in df.items() if n >= min_df), df


def model_f1(model: LinearModel, held: list[tuple[str, str]]) -> float:
    """Macro-F1 of the model alone (label level) on held-out messages."""
    matcher = Matcher(model.weights)
    pairs = []
    for text, label in held:
        probs = model.probabilities(matcher.find(normalise(text)))
        best = model.labels[max(range(len(probs)), key=probs.__getitem__)]
        pairs.append((label, best, False))
    return evaluate(pairs, {lab: [lab] for lab in model.labels}).macro_f1


def route_scores(router: Router, held: list[tuple[str, str]], label_map: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    triples = []
    for text, label in held:
        d = router.route(text)
        triples.append((label, d.department, d.dispatched))
    return evaluate(triples, label_map)


def near_duplicates(train: list[Doc], n_dev: int) -> dict[int, set[int]]:
    """Map each raw dev training doc to the training docs that nearly duplicate it."""
    out: dict[int, set[int]] = {}
    for j in range(n_dev):
        a = train[j][2]
        out[j] = set()
        for i, (_, _, b) in enumerate(train):
            similar_size = 2 * min(len(a), len(b)) >= max(len(a), len(b))
            if i != j and a and b and similar_size and len(a & b) >= 0.5 * len(a | b):
                out[j].add(i)
    return out


def fixture_accuracy(router: Router) -> float:
    """Share of the observer-report fixture routed to its expected department and priority."""
    import yaml

    items = yaml.safe_load((ROOT / "tests/fixtures/observer_reports.yaml").read_text("utf-8"))
    ok = 0
    for item in items:
        d = router.route(item["text"], region="440104001")
        ok += d.department == item["department"] and d.priority == item.get("priority", "normal")
    return ok / len(items)


def tune(train, n_dev, vocab, args, ruleset, label_map) -> None:  # type: ignore[no-untyped-def]
    """Pick model weight, evidence scaling and margin by 4-fold CV over the raw dev rows.

    Each fold's model is trained without the fold's rows and without any training message that
    nearly duplicates one of them, so the scores are not inflated by duplicates."""
    folds = 4
    dups = near_duplicates(train, n_dev)
    print(f"dev rows with near-duplicates in training: {sum(1 for v in dups.values() if v)}")
    grid: dict[tuple[float, int, float], list[tuple[str, str, bool]]] = {}
    settings = list(itertools.product((3.0, 6.0, 10.0, 15.0), (1, 20, 40), (0.0, 0.1, 0.3)))
    fixture: dict[tuple[float, int, float], float] = {}
    for k in range(folds):
        test_idx = set(range(k, n_dev, folds))
        excluded = test_idx.union(*(dups[j] for j in test_idx))
        fold_docs = [d for i, d in enumerate(train) if i not in excluded]
        fold_model = fit(fold_docs, vocab, args.C, args.vocab)
        tests = [(train[i][0], train[i][1]) for i in sorted(test_idx)]
        for weight, full, margin in settings:
            rs = dataclasses.replace(
                ruleset,
                model=ruleset.model.model_copy(
                    update={"weight": weight, "full_weight_words": full}
                ),
                routing=ruleset.routing.model_copy(update={"margin": margin}),
            )
            router = Router(rs, model=fold_model)
            for text, label in tests:
                d = router.route(text)
                grid.setdefault((weight, full, margin), []).append(
                    (label, d.department, d.dispatched)
                )
            if k == 0:
                fixture[(weight, full, margin)] = fixture_accuracy(router)
    for key, triples in sorted(grid.items()):
        ev = evaluate(triples, label_map)
        weight, full, margin = key
        print(
            f"cv weight={weight:<4g} full_weight_words={full:<3d} margin={margin:<4g} "
            f"macro-F1={ev.macro_f1:.3f} acc={ev.accuracy:.3f} "
            f"dispatch={ev.dispatch_share:.1%} fixture={fixture[key]:.3f}"
        )


def compare_keywords(train: list[Doc], held: list[tuple[str, str]], vocab: list[str], c: float,
                     keep: int) -> None:  # fmt: skip
    """Held-out macro-F1 of the model when it sees all dictionary words found, or only the
    top-20 keywords by TF-IDF, or the top-20 by jieba's TextRank (same tokenizer)."""
    import jieba.analyse
    import jieba.posseg

    from bot.core.tagging import read_idf, tfidf_keywords

    idf, median = read_idf(OUT / "idf.txt")
    textrank = jieba.analyse.TextRank()
    textrank.tokenizer = textrank.postokenizer = jieba.posseg.POSTokenizer(get_tokenizer())

    def top_tfidf(text: str, matcher: Matcher) -> list[str]:
        return [k.word for k in tfidf_keywords(matcher.find(text), idf, default_idf=median, top=20)]

    def top_textrank(text: str, matcher: Matcher) -> list[str]:
        return list(textrank.textrank(text, topK=20))

    for name, featurize in (("all words", None), ("tf-idf top 20", top_tfidf),
                            ("textrank top 20", top_textrank)):  # fmt: skip
        model = fit(train, vocab, c, keep, featurize)
        matcher = Matcher(model.weights)
        pairs = []
        for text, label in held:
            norm = normalise(text)
            found = featurize(norm, matcher) if featurize else matcher.find(norm)
            probs = model.probabilities(found)
            pairs.append(
                (label, model.labels[max(range(len(probs)), key=probs.__getitem__)], False)
            )
        ev = evaluate(pairs, {lab: [lab] for lab in model.labels})
        print(f"features: {name:16} held-out macro-F1 of the model alone: {ev.macro_f1:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--rules", type=Path, default=ROOT / "routing_rules.yaml")
    parser.add_argument("--vocab", type=int, default=3000, help="words kept in the model")
    parser.add_argument("--min-df", type=int, default=3)
    parser.add_argument("-C", type=float, default=1.0, help="inverse regularisation strength")
    parser.add_argument("--tune", action="store_true", help="grid-search weight and margin by CV")
    parser.add_argument(
        "--compare-keywords",
        action="store_true",
        help="compare model features: all words found vs TF-IDF vs TextRank keywords",
    )
    args = parser.parse_args()

    train, held, dropped, n_dev = build_corpus(args.data)
    print(
        f"training documents: {len(train)}  held-out: {len(held)}  "
        f"near-duplicates dropped: {dropped}"
    )
    vocab, df = vocabulary(train, args.min_df)
    print(f"candidate vocabulary (df >= {args.min_df}): {len(vocab)}")

    model = fit(train, vocab, args.C, args.vocab)
    OUT.mkdir(parents=True, exist_ok=True)
    payload = {
        "labels": list(model.labels),
        "bias": list(model.bias),
        "weights": {w: list(v) for w, v in sorted(model.weights.items())},
        "meta": {
            **model.meta,
            "trained_on": "teddy2020_dev.csv (not the held-out fold) + teddy2020_segmented_dev.csv",
            "features": "dictionary words found in the normalised text (bot.core.tagging.Matcher)",
        },
    }
    (OUT / "routing_model.json").write_text(
        json.dumps(payload, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    n = len(train)
    idf_lines = [
        f"{w} {math.log(n / df[w]):.4f}" for w in sorted(vocab) if df[w] >= max(args.min_df, 3)
    ]
    (OUT / "idf.txt").write_text("\n".join(idf_lines) + "\n", encoding="utf-8")
    print(
        f"wrote {OUT / 'routing_model.json'} ({len(model.weights)} words), "
        f"idf.txt ({len(idf_lines)} words)"
    )

    label_map = read_label_map(args.data / "teddy2020_label_map.yaml")
    ruleset = load_rules(args.rules)
    if args.tune:
        tune(train, n_dev, vocab, args, ruleset, label_map)
    if args.compare_keywords:
        compare_keywords(train, held, vocab, args.C, args.vocab)

    router = Router(ruleset, model=model)
    ev = route_scores(router, held, label_map)
    rules_only = route_scores(
        Router(dataclasses.replace(ruleset, model=None), model=None), held, label_map
    )
    result = {
        "held_out_messages": len(held),
        "model_only_macro_f1": round(model_f1(model, held), 3),
        "rules_only_macro_f1": round(rules_only.macro_f1, 3),
        "rules_only_dispatch_share": round(rules_only.dispatch_share, 3),
        "router_macro_f1": round(ev.macro_f1, 3),
        "router_accuracy": round(ev.accuracy, 3),
        "router_dispatch_share": round(ev.dispatch_share, 3),
    }
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
