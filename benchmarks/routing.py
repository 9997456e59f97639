"""Routing speed: tag + route 150-character reports on one core, against bare ``jieba.lcut``.

Texts are the first 150 characters of the labelled messages in ``../shared/data`` (read at run
time, never copied), or synthetic observer-style reports with ``--synthetic`` (or when the
shared data is absent). Both the router and the baseline (``jieba.lcut`` with its defaults, on
the same texts, in the same process) run after warming up.

Prints the figures, then a last line of JSON: reports_per_s, lcut_per_s, ratio_to_lcut
(routing time over lcut time), cold_start_s (a fresh interpreter: import, rules and model
loaded, first report routed — the router scans with its own dictionary and does not need jieba),
cold_start_with_jieba_s (the same, then the jieba segmenter of bot.core.tagging ready, its cache
file warm as after a restart) and rss_mib.

    .venv/bin/python benchmarks/routing.py [--rounds 3] [--synthetic]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data" / "teddy2020_dev.csv"
LENGTH = 150

COLD_START = """
import time
t0 = time.perf_counter()
from bot.core.rules import load_rules
from bot.core.routing import Router
router = Router(load_rules({rules!r}))
router.route("河涌发臭好多天冇人理", region="440104")
t1 = time.perf_counter()
from bot.core.tagging import get_tokenizer
get_tokenizer()
print(t1 - t0, time.perf_counter() - t0)
"""

PLACES = ["白云区", "番禺区", "南海区", "顺德区", "龙岗区", "惠城区", "清城区", "端州区", "蓬江区"]
SUBJECTS = [
    "村口的河涌发臭，水面漂满垃圾",
    "小区物业不作为，电梯坏了一个月没人修",
    "工地夜间施工噪音扰民，居民休息不了",
    "工厂拖欠工资三个月，几十个农民工讨薪无门",
    "村道路面坑洼，下雨积水，摩托车经常摔倒",
    "留守老人独居，低保申请一直没有批下来",
    "街边流动摊贩占道经营，油烟很大",
    "出租屋楼道里电动车飞线充电，存在火灾隐患",
    "学校门口交通拥堵，放学时段没有交警疏导",
    "卫生院看病排队太久，村医人手不足",
    "菜市场有人卖过期食品，缺斤少两",
    "台风过后山体滑坡，危险边坡没人处理",
]
TAILS = [
    "希望有关部门尽快处理。",
    "群众议论很多，大家都很担心。",
    "建议增设巡查，定期清理。",
    "已经向村委会反映多次，至今没有结果。",
]


def load_texts(synthetic: bool) -> list[str]:
    """Return benchmark texts of about 150 characters."""
    if not synthetic and DATA.exists():
        with DATA.open(encoding="utf-8", newline="") as fh:
            texts = [row["text"][:LENGTH] for row in csv.DictReader(fh)]
        return [t for t in texts if len(t) == LENGTH]
    rng = random.Random(2026)
    texts = []
    for _ in range(1000):
        parts = [rng.choice(PLACES)]
        while sum(map(len, parts)) < LENGTH:
            parts.append(rng.choice(SUBJECTS) + "，" + rng.choice(TAILS))
        texts.append("".join(parts)[:LENGTH])
    return texts


def best_rate(func, texts: list[str], rounds: int) -> float:  # type: ignore[no-untyped-def]
    """Return the best of ``rounds`` throughputs (texts per second) of ``func`` over texts."""
    best = 0.0
    for _ in range(rounds):
        start = time.perf_counter()
        for text in texts:
            func(text)
        best = max(best, len(texts) / (time.perf_counter() - start))
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--synthetic", action="store_true")
    parser.add_argument("--rules", default=str(ROOT / "routing_rules.yaml"))
    args = parser.parse_args()

    cold = subprocess.run(
        [sys.executable, "-c", COLD_START.format(rules=args.rules)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )  # first run may build jieba's cache file
    cold = subprocess.run(
        [sys.executable, "-c", COLD_START.format(rules=args.rules)],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    cold_start, cold_start_jieba = map(float, cold.stdout.split())

    sys.path.insert(0, str(ROOT))
    import jieba

    from bot.core.routing import Router
    from bot.core.rules import load_rules

    jieba.setLogLevel(60)
    jieba.initialize()
    router = Router(load_rules(args.rules))
    texts = load_texts(args.synthetic)
    for text in texts[:50]:
        router.route(text, region="440104")
        jieba.lcut(text)

    # Interleave the two measurements so both see the same machine load.
    route_rate = lcut_rate = 0.0
    for _ in range(args.rounds):
        lcut_rate = max(lcut_rate, best_rate(jieba.lcut, texts, 1))
        route_rate = max(
            route_rate, best_rate(lambda t: router.route(t, region="440104"), texts, 1)
        )
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = {
        "texts": len(texts),
        "chars_per_text": round(sum(map(len, texts)) / len(texts), 1),
        "source": "synthetic" if args.synthetic or not DATA.exists() else "shared",
        "reports_per_s": round(route_rate),
        "lcut_per_s": round(lcut_rate),
        "ratio_to_lcut": round(lcut_rate / route_rate, 3),
        "cold_start_s": round(cold_start, 3),
        "cold_start_with_jieba_s": round(cold_start_jieba, 3),
        "rss_mib": round(rss, 1),
    }
    print(f"routing: {route_rate:,.0f} reports/s (tag + route, one core)")
    print(f"baseline jieba.lcut: {lcut_rate:,.0f} texts/s on the same texts")
    print(f"ratio (routing time / lcut time): {result['ratio_to_lcut']}")
    print(f"cold start: {cold_start:.3f} s (router ready; it does not need jieba)")
    print(f"cold start with the jieba segmenter also ready: {cold_start_jieba:.3f} s")
    print(f"max RSS: {rss:.1f} MiB")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
