"""Guangdong's shipped region table and the code helpers built on it."""

from __future__ import annotations

import pytest

from bot.core import regions


def test_table_has_guangdongs_current_divisions() -> None:
    known = regions.known_regions()
    levels = [regions.level_of(region.code) for region in known]
    assert levels.count("province") == 1
    assert levels.count("city") == 21
    # 65 districts, 20 county-level cities, 34 counties and 3 autonomous counties.
    assert levels.count("county") == 122
    kinds = [region.kind for region in known if regions.level_of(region.code) == "county"]
    assert (kinds.count("市辖区"), kinds.count("县级市")) == (65, 20)
    assert (kinds.count("县"), kinds.count("自治县")) == (34, 3)
    assert all(region.code.startswith("44") for region in known)


@pytest.mark.parametrize(
    ("code", "name"),
    [
        ("440000", "广东省"),
        ("440100", "广州市"),
        ("440104", "越秀区"),
        ("440106", "天河区"),
        ("440300", "深圳市"),
        ("440304", "福田区"),
        ("440309", "龙华区"),
        ("440311", "光明区"),
        ("441900", "东莞市"),
        ("442000", "中山市"),
        ("441826", "连南瑶族自治县"),
        ("445381", "罗定市"),
    ],
)
def test_name_of_known_codes(code: str, name: str) -> None:
    assert regions.is_known(code)
    assert regions.name_of(code) == name


@pytest.mark.parametrize(
    "code",
    [
        "440101",  # 市辖区 placeholder, not a real division
        "440102",  # 东山区, merged into 越秀区 in 2005
        "440183",  # 增城市, became 增城区 440118 in 2014
        "440116",  # 萝岗区, merged into 黄埔区 in 2014
    ],
)
def test_abolished_and_placeholder_codes_are_unknown(code: str) -> None:
    assert not regions.is_known(code)
    assert regions.name_of(code) is None
    assert regions.full_name(code) is None


def test_other_provinces_and_malformed_codes_are_unknown() -> None:
    assert not regions.is_known("110101")  # Beijing: only Guangdong is shipped
    for bad in ("", "4401", "44010A", "４４０１０４", "000000", "4401040011"):
        assert not regions.is_known(bad)


def test_town_and_village_codes_are_accepted_under_a_known_prefix() -> None:
    assert regions.is_known("440104001")
    assert regions.is_known("440104001001")
    assert regions.is_known("441900003")  # 东莞 towns sit directly under the city
    assert not regions.is_known("440199001")
    assert regions.name_of("440104001") is None  # town names are not shipped


def test_full_name_runs_from_province_down() -> None:
    assert regions.full_name("440104") == "广东省广州市越秀区"
    assert regions.full_name("440304") == "广东省深圳市福田区"
    assert regions.full_name("440100") == "广东省广州市"
    assert regions.full_name("440000") == "广东省"
    assert regions.full_name("441900") == "广东省东莞市"
    assert regions.full_name("440104001") == "广东省广州市越秀区"


def test_every_county_has_a_known_city_and_the_ancestors_agree() -> None:
    for region in regions.known_regions():
        chain = regions.ancestors(region.code)
        assert chain[-1] == "440000"
        assert all(regions.is_known(code) for code in chain)
