"""The dialect lexicon: Cantonese, Hakka and Teochew wording read as standard Mandarin."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.text import LEXICON_FILE, map_cantonese, normalise, read_lexicon


def test_the_lexicon_has_hundreds_of_entries_from_three_dialects() -> None:
    lines = [
        line.split("\t")
        for line in LEXICON_FILE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert len(read_lexicon()) >= 500
    dialects = {parts[2] for parts in lines if len(parts) > 2}
    assert {"yue", "hak", "teo"} <= dialects


@pytest.mark.parametrize(
    ("written", "reads"),
    [
        ("细路揾唔到", "小孩找不到"),
        ("工厂人工冇出三个月", "工厂拖欠工资三个月"),
        ("大家都话有问题", "大家都说有问题"),
        ("菜地有虫", "菜地有虫害"),
        ("朝早塞车", "早上堵车"),
        ("水浸", "水淹"),
        ("条街好污糟", "条街好脏"),
        ("阿婆跌亲", "老人摔倒"),
        ("冇电", "停电"),
        ("爆水管", "水管爆裂"),
        ("个细路唔见咗", "个小孩不见了"),
        ("有人执垃圾", "有人捡垃圾"),
        ("𠊎屋家门口", "我屋家门口"),  # Hakka 𠊎 = 我
        ("涯兜村冇人理", "我们村没人管"),
        ("伊讲老厝裂开", "他说老房子裂开"),  # Teochew
        ("无人管", "没人管"),
        ("火烧厝", "房子着火"),
        ("孥仔无看着", "小孩没看到"),
    ],
)
def test_dialect_wording_reads_as_mandarin(written: str, reads: str) -> None:
    assert normalise(written) == reads


@pytest.mark.parametrize(
    "mandarin",
    [
        "发放工资",  # 放工 is Cantonese for 下班, but not here
        "步行街开了一家店",  # 行街
        "两个女儿借居别处",  # 个女
        "上游水文站",  # 游水
        "这么个好政策",  # 么个
        "与学生打交道",  # 打交
        "伊利牛奶",  # 伊 alone stays
        "无证经营",  # 无 alone stays
        "病死猪乱丢",  # not 病病死猪
        "血本无归",
        "深圳",
        "电话打不通",  # 话 alone stays
    ],
)
def test_ordinary_mandarin_is_left_alone(mandarin: str) -> None:
    assert map_cantonese(mandarin) == mandarin


def test_longest_entry_wins_in_one_pass() -> None:
    assert map_cantonese("冇人理") == "没人管"  # not 没有人理
    assert map_cantonese("冇冇") == "没有没有"


def test_a_broken_lexicon_line_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.tsv"
    path.write_text("# comment\n冇\t没有\tyue\n只有一列\n", encoding="utf-8")
    with pytest.raises(ValueError, match="line 3"):
        read_lexicon(path)
