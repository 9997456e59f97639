"""The router's learned components: linear models, their files, and training them.

Two models may sit next to the rules, both :class:`LinearModel` (per-label weights over the
features found in a report; score = bias + sum of the weights of the features present):

- the **family model** (``model.file``): words found by the router's dictionary scan, labels
  that are families of departments, trained offline on the shared labelled citizen messages
  (``benchmarks/train_routing_model.py``);
- the **observer model** (``model.observer_file``): the characters and character pairs of
  the normalised text (:func:`char_features`), labels that are department ids, trained on
  labelled observer reports by :func:`train` (``obsbot model train``). Characters carry
  everyday and dialect wording (偷, 骗, 厂, 租, 臭) that no keyword list foresees.

Training is plain Python (multinomial logistic regression, AdaGrad, a fixed shuffle seed):
deterministic, no extra dependency, a few seconds for a thousand reports.
"""

from __future__ import annotations

import json
import math
import operator
import random
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from bot.core.text import normalise

EPOCHS = 30
LEARNING_RATE = 0.5
L2 = 1e-4
MIN_DOCUMENTS = 2  # a character pair must occur in this many training reports to be a feature
KEEP_WEIGHT = 0.02  # features whose weights all stay below this are dropped from the file
SEED = 0


@dataclass(frozen=True)
class LinearModel:
    """Per-label feature weights of a linear classifier: score = bias + sum of fired weights."""

    labels: tuple[str, ...]
    bias: tuple[float, ...]
    weights: dict[str, tuple[float, ...]]
    meta: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LinearModel:
        """Build a model from its JSON form (``labels``, ``bias``, ``weights``, ``meta``)."""
        labels = tuple(str(x) for x in data["labels"])
        bias = tuple(float(x) for x in data["bias"])
        weights = {str(w): tuple(float(x) for x in v) for w, v in data["weights"].items()}
        if len(bias) != len(labels) or any(len(v) != len(labels) for v in weights.values()):
            raise ValueError("model file: every weight vector needs one number per label")
        return cls(labels=labels, bias=bias, weights=weights, meta=dict(data.get("meta", {})))

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form read by :meth:`from_json` (weights rounded to 3 places)."""
        return {
            "labels": list(self.labels),
            "bias": [round(b, 3) for b in self.bias],
            "weights": {w: [round(x, 3) for x in v] for w, v in sorted(self.weights.items())},
            "meta": self.meta,
        }

    def probabilities(self, words: Iterable[str]) -> list[float]:
        """Return the softmax probability of each label given the words that fired."""
        get = self.weights.get
        vectors = [v for v in map(get, words) if v is not None]
        if not vectors:
            return _softmax(list(self.bias))
        # one column per label, summed in C: much faster than adding vector by vector
        columns = zip(*vectors, strict=True)
        return _softmax([b + sum(col) for b, col in zip(self.bias, columns, strict=True)])

    def evidence(self, words: Iterable[str], label_index: int, top: int) -> list[str]:
        """Return the fired words that pushed hardest towards one label."""
        ranked = sorted(
            (w for w in words if w in self.weights and self.weights[w][label_index] > 0),
            key=lambda w: (-self.weights[w][label_index], w),
        )
        return ranked[:top]


def _softmax(scores: list[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


@lru_cache(maxsize=8)
def _load_model(path: str, mtime_ns: int) -> LinearModel:
    del mtime_ns  # part of the cache key only: a changed file is read again
    return LinearModel.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def load_model(path: Path) -> LinearModel:
    """Load a model file once per (path, modification time)."""
    return _load_model(str(path), path.stat().st_mtime_ns)


_HAN_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003ffff]+")


def char_features(norm: str) -> set[str]:
    """Return the Chinese characters and adjacent character pairs of a normalised text."""
    features: set[str] = set()
    for run in _HAN_RUN.findall(norm):
        features.update(run)
        features.update(map(operator.add, run, run[1:]))
    return features


def train(
    examples: Sequence[tuple[str, str]],
    *,
    epochs: int = EPOCHS,
    meta: dict[str, Any] | None = None,
) -> LinearModel:
    """Train an observer model from (report text, department id) pairs."""
    docs = [char_features(normalise(text)) for text, _ in examples]
    frequency = Counter(f for doc in docs for f in doc)
    vocabulary = {f for f, n in frequency.items() if n >= MIN_DOCUMENTS}
    labels = tuple(sorted({label for _, label in examples}))
    index = {label: i for i, label in enumerate(labels)}
    data = [
        (sorted(doc & vocabulary), index[label])
        for doc, (_, label) in zip(docs, examples, strict=True)
    ]
    n = len(labels)
    weights: dict[str, list[float]] = {f: [0.0] * n for f in vocabulary}
    squares: dict[str, list[float]] = {f: [1e-8] * n for f in vocabulary}
    bias, bias_squares = [0.0] * n, [1e-8] * n
    shuffle = random.Random(SEED).shuffle
    for _ in range(epochs):
        shuffle(data)
        for features, target in data:
            scores = bias[:]
            for f in features:
                scores = [s + w for s, w in zip(scores, weights[f], strict=True)]
            grad = _softmax(scores)
            grad[target] -= 1.0
            for k in range(n):
                bias_squares[k] += grad[k] * grad[k]
                bias[k] -= LEARNING_RATE * grad[k] / math.sqrt(bias_squares[k])
            for f in features:
                w, g2 = weights[f], squares[f]
                for k in range(n):
                    g = grad[k] + L2 * w[k]
                    g2[k] += g * g
                    w[k] -= LEARNING_RATE * g / math.sqrt(g2[k])
    kept = {f: tuple(v) for f, v in weights.items() if max(abs(x) for x in v) >= KEEP_WEIGHT}
    info = {"features": "characters and character pairs", "reports": len(examples)}
    return LinearModel(labels, tuple(bias), kept, {**info, **(meta or {})})
