"""Masking speed: ``mask_personal_numbers`` against the three regexes it replaced and phonenumbers.

Masking runs on every message the bot sends and on every log record, so it must stay fast. Three
workloads: citizen messages (the first 300 characters of the labelled messages in
``../shared/data``, read at run time and never copied, or synthetic reports with ``--synthetic``),
the same with a personal number spliced into every one in one of the spellings people use, and
log lines. Three maskers, run interleaved in the same process so that all see the same load:

- ``baseline``: the old three regexes (copied here as they were; they miss most spellings);
- ``masking``: ``bot.core.masking.mask_personal_numbers``;
- ``phonenumbers``: Google's libphonenumber port, ``PhoneNumberMatcher(text, "CN")`` masking what
  it finds (phones only: no ID or bank card numbers) — measured to decide whether it fits.

Prints masks/s per workload (median and spread of ``--rounds`` runs), what share of the spliced
numbers each masker hides, then a last line of JSON.

    .venv/bin/python benchmarks/masking.py [--rounds 5] [--synthetic]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import statistics
import sys
import time
import unicodedata
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "teddy2020_dev.csv"
LENGTH = 300

# --- the baseline: bot/core/masking.py as it was before the masking package ----------------
_ID_CARD = re.compile(r"(?<![0-9])([1-9]\d{5})(\d{8}|\d{6})(\d{3}[0-9Xx])(?![0-9A-Za-z])")
_MOBILE = re.compile(r"(?<![0-9])((?:\+?86[ -]?)?1[3-9]\d)[ -]?(\d{4})[ -]?(\d{4})(?![0-9])")
_LANDLINE = re.compile(r"(?<![0-9])(0\d{2,3})-?(\d{3,4})(\d{4})(?![0-9])")


def baseline(text: str) -> str:
    """The old masking function."""
    text = _ID_CARD.sub(lambda m: m.group(1) + "*" * (len(m.group(0)) - 6), text)
    text = _MOBILE.sub(lambda m: f"{m.group(1)}****{m.group(3)}", text)
    return _LANDLINE.sub(lambda m: f"{m.group(1)}-****{m.group(3)}", text)


def with_phonenumbers() -> Callable[[str], str] | None:
    """Return a masker built on PhoneNumberMatcher, or None when phonenumbers is missing."""
    try:
        import phonenumbers
    except ImportError:
        return None

    def mask(text: str) -> str:
        for match in reversed(list(phonenumbers.PhoneNumberMatcher(text, "CN"))):
            raw = match.raw_string
            text = text[: match.start] + raw[:3] + "****" + raw[-4:] + text[match.end :]
        return text

    return mask


# --- workloads ---------------------------------------------------------------------------------

SPELLINGS = [
    "13912345678",
    "１３９１２３４５６７８",
    "139 1234 5678",
    "139.1234.5678",
    "139\u200b1234\u200b5678",
    "+86 139 1234 5678",
    "(020)83331234",
    "020-83331234",
    "0755 8333 1234",
    "440104199001011232",
    "440104 19900101 1232",
    "１１０１０５１９４９１２３１００２Ｘ",
    "6222021234567890128",
    "6222 0212 3456 7890 128",
]
DIGITS = [re.sub(r"[^0-9X]", "", unicodedata.normalize("NFKC", s)) for s in SPELLINGS]
LOG_LINES = [
    "2026-12-02 06:08:50,123 INFO bot.infra.delivery sent outbox=%d chat=-100111 "
    "report=GD-20261202-%04d",
    "2026-12-02 06:08:51,007 DEBUG telegram.Bot Call to Bot API endpoint `getUpdates` finished "
    "with return value `[{'update_id': %d, 'message': {'text': '村口河涌发臭 %d'}}]`",
    "2026-12-02 06:08:52,440 INFO sqlalchemy.engine.Engine [cached since 10.16s ago] "
    "('pending', '2026-12-02 06:24:57.638956', %d, %d)",
]


def load_texts(synthetic: bool) -> list[str]:
    """Return citizen messages of up to ``LENGTH`` characters."""
    if not synthetic and DATA.exists():
        with DATA.open(encoding="utf-8", newline="") as fh:
            return [row["text"][:LENGTH] for row in csv.DictReader(fh)][:2000]
    rng = random.Random(2026)
    words = "村口的河涌发臭，水面漂满垃圾，小区物业不作为，电梯坏了一个月没人修，2026年12月2日。"
    return ["".join(rng.sample(words, len(words))) * 4 for _ in range(1000)]


def spliced(texts: list[str]) -> tuple[list[str], list[str]]:
    """Return the texts with a personal number spliced into each, and those numbers' digits."""
    rng = random.Random(7)
    out, numbers = [], []
    for text in texts:
        index = rng.randrange(len(SPELLINGS))
        cut = rng.randrange(len(text) + 1)
        out.append(text[:cut] + "联系" + SPELLINGS[index] + "。" + text[cut:])
        numbers.append(DIGITS[index])
    return out, numbers


def rate(func: Callable[[str], str], texts: list[str]) -> float:
    """Return masks per second of ``func`` over ``texts`` (one pass)."""
    start = time.perf_counter()
    for text in texts:
        func(text)
    return len(texts) / (time.perf_counter() - start)


def hidden_share(func: Callable[[str], str], texts: list[str], numbers: list[str]) -> float:
    """Return the share of spliced numbers whose digits no longer appear after masking."""

    def digits(text: str) -> str:
        return "".join(c for c in unicodedata.normalize("NFKC", text) if c.isdigit() or c == "X")

    pairs = zip(texts, numbers, strict=True)
    return sum(number not in digits(func(text)) for text, number in pairs) / len(texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--synthetic", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from bot.core.masking import mask_personal_numbers

    maskers: dict[str, Callable[[str], str]] = {
        "baseline": baseline,
        "masking": mask_personal_numbers,
    }
    matcher = with_phonenumbers()
    if matcher is not None:
        maskers["phonenumbers"] = matcher
    plain = load_texts(args.synthetic)
    numbered, numbers = spliced(plain)
    logs = [line % (i, i) for i in range(700) for line in LOG_LINES]
    workloads = {"messages": plain, "messages_with_numbers": numbered, "log_lines": logs}
    for func in maskers.values():  # warm up
        for text in numbered[:50]:
            func(text)
    rates: dict[str, dict[str, list[float]]] = {w: {m: [] for m in maskers} for w in workloads}
    for _ in range(args.rounds):
        for workload, texts in workloads.items():
            for name, func in maskers.items():
                rates[workload][name].append(rate(func, texts))
    result: dict[str, object] = {"rounds": args.rounds, "texts": len(plain)}
    for workload, by_masker in rates.items():
        print(f"{workload} ({len(workloads[workload])} texts): masks/s, median [min-max]")
        for name, values in by_masker.items():
            median = statistics.median(values)
            print(f"  {name:13} {median:10,.0f}  [{min(values):,.0f}-{max(values):,.0f}]")
            result[f"{workload}.{name}_per_s"] = round(median)
        ratio = statistics.median(by_masker["masking"]) / statistics.median(by_masker["baseline"])
        result[f"{workload}.masking_to_baseline"] = round(ratio, 2)
        print(f"  masking / baseline: {ratio:.2f}")
    print("spliced numbers hidden:")
    for name, func in maskers.items():
        share = hidden_share(func, numbered, numbers)
        result[f"hidden.{name}"] = round(share, 3)
        print(f"  {name:13} {share:6.1%}")
    print(json.dumps(result, ensure_ascii=False))


if __name__ == "__main__":
    main()
