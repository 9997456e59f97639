"""Masking personal numbers: every spelling people type, and nothing that is not personal.

Property tests generate mobiles, landlines, resident IDs (valid check characters) and bank cards
(valid Luhn), spelled in ASCII or full-width digits, split by spaces, dots, dashes or zero-width
characters, inside random Chinese text; the digits that identify the person never survive and
the text around the number stays exactly as it was. Report numbers, dates, times, money, region
codes, counts, years and house numbers generated the same way are never touched.
"""

from __future__ import annotations

import datetime as dt
import time
import unicodedata

import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.masking import mask_payload, mask_personal_numbers, mask_with_entities
from bot.core.masking.numbers import id_check, luhn_ok

PROVINCES = ["11", "31", "44", "45", "51", "65", "81"]
ZERO_WIDTH = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff"]
SEPARATORS = [" ", ".", "-", "\u3000", "－", "．", " - ", "\u00a0", "—"]
CHINESE = st.text(
    alphabet=st.sampled_from(
        "的了在是我有和人这中大为上个国村口河涌发臭联系电话身份证号卡，。：、！？"
    ),
    max_size=12,
)
FULL_WIDTH = {str(d): chr(0xFF10 + d) for d in range(10)}


def digits_of(text: str) -> str:
    """Return the digits a reader sees in ``text`` (NFKC, zero-width characters ignored)."""
    return "".join(c for c in unicodedata.normalize("NFKC", text) if c.isdigit() or c in "X")


# --- generators ----------------------------------------------------------------------------


@st.composite
def birth_dates(draw: st.DrawFn) -> dt.date:
    return draw(st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(2025, 12, 31)))


@st.composite
def resident_ids(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(PROVINCES)) + draw(st.from_regex(r"[0-9]{4}", fullmatch=True))
    born = draw(birth_dates())
    first17 = region + born.strftime("%Y%m%d") + draw(st.from_regex(r"[0-9]{3}", fullmatch=True))
    return first17 + id_check(first17)


@st.composite
def old_ids(draw: st.DrawFn) -> str:
    region = draw(st.sampled_from(PROVINCES)) + draw(st.from_regex(r"[0-9]{4}", fullmatch=True))
    born = draw(st.dates(min_value=dt.date(1930, 1, 1), max_value=dt.date(1999, 12, 31)))
    return region + born.strftime("%y%m%d") + draw(st.from_regex(r"[0-9]{3}", fullmatch=True))


def with_luhn(body: str) -> str:
    """Return ``body`` with the Luhn check digit appended."""
    return next(body + d for d in "0123456789" if luhn_ok(body + d))


@st.composite
def bank_cards(draw: st.DrawFn) -> str:
    length = draw(st.integers(16, 19))
    head = draw(st.sampled_from(["62", "4", "5", "35"]))
    body = head + draw(st.from_regex(rf"[0-9]{{{length - 1 - len(head)}}}", fullmatch=True))
    return with_luhn(body)


mobiles = st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True)
landlines = st.one_of(
    st.from_regex(r"0(10|2[0-9])[2-8][0-9]{7}", fullmatch=True),
    st.from_regex(r"0(75[0-9]|76[0-9]|66[0-9]|371|571)[2-8][0-9]{6,7}", fullmatch=True),
)


@st.composite
def spelled(draw: st.DrawFn, digits: str) -> str:
    """Spell ``digits`` as a person might: widths, groups, separators, zero-width characters."""
    sizes: list[int] = []
    rest = len(digits)
    while rest:
        low = min(3, rest) if sizes else 1
        size = draw(st.integers(low, min(8, rest) if sizes else rest))
        sizes.append(size)
        rest -= size
    if len(sizes) > 1 and sizes[-1] < 3 and len(sizes) > 2 and sizes[-2] < 3:
        sizes[-2:] = [sizes[-2] + sizes[-1]]
    width = draw(st.sampled_from(["ascii", "full", "mixed"]))
    separator = draw(st.sampled_from(SEPARATORS + ZERO_WIDTH + [""]))
    out: list[str] = []
    position = 0
    for index, size in enumerate(sizes):
        if index:
            out.append(separator)
        for char in digits[position : position + size]:
            full = width == "full" or (width == "mixed" and draw(st.booleans()))
            out.append(FULL_WIDTH.get(char, char) if full else char)
            if draw(st.integers(0, 9)) == 0:
                out.append(draw(st.sampled_from(ZERO_WIDTH)))
        position += size
    return "".join(out)


def kept(kind: str, digits: str) -> str:
    """Return the digits a mask keeps of a number of ``kind``."""
    if kind == "mobile":
        return digits[:3] + digits[-4:]
    if kind == "id":
        return digits[:6] + digits[-4:]
    if kind == "old_id":
        return digits[:6] + digits[-3:]
    if kind == "bank":
        return digits[:4] + digits[-4:]
    area = 3 if digits[1] in "12" else 4
    return digits[:area] + digits[-4:]


PERSONAL = {
    "mobile": mobiles,
    "id": resident_ids(),
    "old_id": old_ids(),
    "bank": bank_cards(),
    "landline": landlines,
}


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), kind=st.sampled_from(sorted(PERSONAL)), before=CHINESE, after=CHINESE)
def test_a_personal_number_never_survives_in_any_spelling(
    data: st.DataObject, kind: str, before: str, after: str
) -> None:
    digits = data.draw(PERSONAL[kind])
    text = before + data.draw(spelled(digits)) + after
    masked = mask_personal_numbers(text)
    assert masked.startswith(before) and masked.endswith(after)
    shown = digits_of(masked[len(before) : len(masked) - len(after)])
    # An 18-digit card whose digits also read as a resident ID (a province code and a real
    # birth date) is masked as an ID: hidden either way, keeping two more leading digits.
    also = {kept("id", digits)} if kind == "bank" and len(digits) == 18 else set()
    assert shown in {kept(kind, digits), *also}, (text, masked)
    assert digits not in digits_of(masked)
    assert mask_personal_numbers(masked) == masked  # masking twice changes nothing


@settings(max_examples=200)
@given(number=mobiles, prefix=st.sampled_from(["+86 ", "+86-", "0086 ", "86", "(+86)"]))
def test_mobiles_with_a_country_prefix(number: str, prefix: str) -> None:
    masked = mask_personal_numbers(f"电话{prefix}{number}。")
    assert masked == f"电话{prefix}{number[:3]}****{number[-4:]}。"


@settings(max_examples=200)
@given(number=landlines, style=st.sampled_from(["({a}){l}", "{a}-{l}", "（{a}）{l}", "{a} {l}"]))
def test_landlines_with_their_area_code(number: str, style: str) -> None:
    area = number[:3] if number[1] in "12" else number[:4]
    local = number[len(area) :]
    masked = mask_personal_numbers("值班电话" + style.format(a=area, l=local) + "转801")
    stars = "*" * (len(local) - 4)
    assert masked == "值班电话" + style.format(a=area, l=stars + local[-4:]) + "转801"


@settings(max_examples=300)
@given(data=st.data(), kind=st.sampled_from(sorted(PERSONAL)))
def test_no_phone_number_is_left_for_phonenumbers_to_find(data: st.DataObject, kind: str) -> None:
    """An independent reader (Google's libphonenumber) finds no Chinese number after masking."""
    digits = data.draw(PERSONAL[kind])
    masked = mask_personal_numbers("请联系" + data.draw(spelled(digits)) + "谢谢")
    found = [m.raw_string for m in phonenumbers.PhoneNumberMatcher(masked, "CN")]
    assert found == [], (masked, found)


# --- numbers that are not personal ---------------------------------------------------------

report_numbers = st.builds(
    lambda region, day, serial: f"{region}-{day:%Y%m%d}-{serial:04d}",
    st.sampled_from(["GD", "GZ", "SZ"]),
    st.dates(min_value=dt.date(2020, 1, 1), max_value=dt.date(2030, 12, 31)),
    st.integers(1, 9999),
)
dates = st.dates(min_value=dt.date(1950, 1, 1), max_value=dt.date(2035, 12, 31)).flatmap(
    lambda d: st.sampled_from(
        [f"{d:%Y-%m-%d}", f"{d:%Y%m%d}", f"{d.year}年{d.month}月{d.day}日", f"{d:%Y.%m.%d}"]
    )
)
times = (
    st.times().map(lambda t: st.sampled_from([f"{t:%H:%M}", f"{t:%H:%M:%S}"])).flatmap(lambda s: s)
)
money = st.one_of(
    st.integers(1, 10**7).map(lambda n: f"{n}元"),
    st.decimals(min_value=0, max_value=10**7, places=2).map(lambda d: f"¥{d:,.2f}"),
    st.integers(1, 9999).map(lambda n: f"{n / 10:.1f}万元"),
)
region_codes = st.sampled_from(["440104", "440100", "440000", "440304"]).flatmap(
    lambda code: st.sampled_from([code, code + "001", code + "001001"])
)
small = st.one_of(
    st.integers(1, 5000).map(lambda n: f"{n}户"),
    st.integers(1900, 2100).map(lambda n: f"{n}年"),
    st.integers(1, 300).map(lambda n: f"{n}号"),
    st.tuples(st.integers(1, 40), st.integers(101, 3208)).map(lambda p: f"{p[0]}栋{p[1]}房"),
)
NOT_PERSONAL = st.one_of(report_numbers, dates, times, money, region_codes, small)


@settings(max_examples=400)
@given(parts=st.lists(st.tuples(NOT_PERSONAL, CHINESE.filter(bool)), min_size=1, max_size=5))
def test_numbers_that_are_not_personal_are_untouched(parts: list[tuple[str, str]]) -> None:
    text = "".join(number + words for number, words in parts)
    assert mask_personal_numbers(text) == text


@settings(max_examples=200)
@given(number=NOT_PERSONAL, width=st.booleans())
def test_non_personal_numbers_in_full_width_are_untouched(number: str, width: bool) -> None:
    text = "截至" + ("".join(FULL_WIDTH.get(c, c) for c in number) if width else number) + "为止"
    assert mask_personal_numbers(text) == text


# --- examples: every spelling the issue lists ----------------------------------------------

ID = "440104199001011232"  # valid check character
CARD = with_luhn("622202123456789012")  # 19 digits


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("联系13912345678谢谢", "联系139****5678谢谢"),
        ("联系１３９１２３４５６７８谢谢", "联系139****5678谢谢"),
        ("电话1391 234 5673", "电话139****5673"),
        ("电话139.1234.5674", "电话139****5674"),
        ("电话139-1234-5674", "电话139****5674"),
        ("电话1\u200b3\u200b9\u200b1234\u200b5678", "电话139****5678"),
        ("电话139\u20601234\ufeff5678", "电话139****5678"),
        ("+86 139 1234 5678", "+86 139****5678"),
        ("0086 13912345678", "0086 139****5678"),
        ("8613912345678", "86139****5678"),
        ("(020)83331234", "(020)****1234"),
        ("（０２０）８３３３１２３４", "（020）****1234"),
        ("020-83331234", "020-****1234"),
        ("020-83331234-801", "020-****1234-801"),
        ("0755 8333 1234", "0755 ****1234"),
        ("0751-8881234", "0751-***1234"),
        ("02083331234", "020****1234"),
        (f"身份证{ID}", "身份证440104********1232"),
        ("身份证440104 19900101 1232", "身份证440104********1232"),
        ("身份证440104 19900101 1234", "身份证440104********1234"),  # a typo in the check digit
        ("身份证11010519491231002X。", "身份证110105********002X。"),
        ("身份证11010519491231002x", "身份证110105********002X"),
        ("身份证１１０１０５１９４９１２３１００２Ｘ", "身份证110105********002X"),
        ("老身份证440104900101123", "老身份证440104******123"),
        (f"卡号{CARD}", f"卡号{CARD[:4]}{'*' * 11}{CARD[-4:]}"),
        (
            "卡号 " + " ".join(CARD[i : i + 4] for i in range(0, 19, 4)),
            f"卡号 {CARD[:4]}{'*' * 11}{CARD[-4:]}",
        ),
        # as a log line prints them: repr() escapes zero-width characters, JSON everything
        ("'139\\u200b1234\\u200b5678'", "'139****5678'"),
        ("".join(f"\\u{0xFF10 + int(d):04x}" for d in "13912345678"), "139****5678"),
        # an escape's hex digits are not digits: "\u5361" is 卡, the card starts after it
        ("\\u5361" + CARD + "\\u3002", f"\\u5361{CARD[:4]}{'*' * 11}{CARD[-4:]}\\u3002"),
        ("\\\\u53f7" + CARD, f"\\\\u53f7{CARD[:4]}{'*' * 11}{CARD[-4:]}"),
        ("\\u12345678901234567", "\\u12345678901234567"),
        ("两个号码13912345678、13812345678", "两个号码139****5678、138****5678"),
        ("13912345678 020-83331234", "139****5678 020-****1234"),
    ],
)
def test_every_spelling(text: str, expected: str) -> None:
    assert mask_personal_numbers(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "GD-20261202-0001",
        "报告GD-20261202-0001已签收，2026-12-02 13:45:00办结",
        "2026-12-02",
        "20261202",
        "2026年12月2日",
        "13:45",
        "3000元",
        "¥12,000.50",
        "440104",
        "440104001",
        "440104001001",
        "共3户12人，2026年，12号楼302房",
        "GD-20261202-0001 2026-12-02 3000",
        "12345",  # the government hotline
        "1234567890",  # ten digits are no personal number
        "4401041990010112",  # sixteen digits without a valid Luhn check
        "chat=-1001234567890 outbox=12345",
        "",
    ],
)
def test_not_personal(text: str) -> None:
    assert mask_personal_numbers(text) == text


def test_mask_payload_masks_text_and_caption_only() -> None:
    payload = {"chat_id": -100, "text": "电话13912345678", "caption": "卡" + CARD, "x": ID}
    masked = mask_payload(payload)
    assert masked == {
        "chat_id": -100,
        "text": "电话139****5678",
        "caption": f"卡{CARD[:4]}{'*' * 11}{CARD[-4:]}",
        "x": ID,
    }
    assert payload["text"] == "电话13912345678"  # the original is not changed
    untouched = {"chat_id": 1, "text": "你好"}
    assert mask_payload(untouched) is untouched


def test_entities_move_with_the_masked_text() -> None:
    """A text_mention before, around or after a number still covers the same words."""
    # Zero-width spaces make the typed numbers longer than their masked forms.
    text = "用户139\u200b1234\u200b5678请回复：卡号" + "\u200b".join(CARD) + "，谢谢"
    name = {"type": "text_mention", "offset": 0, "length": 15, "user": {"id": 7}}
    thanks = {"type": "bold", "offset": len(text) - 2, "length": 2}
    masked, entities = mask_with_entities(text, [name, thanks])
    assert masked == f"用户139****5678请回复：卡号{CARD[:4]}{'*' * 11}{CARD[-4:]}，谢谢"
    assert entities is not None
    moved_name, moved_thanks = entities
    assert masked[: moved_name["length"]] == "用户139****5678" and moved_name["user"] == {"id": 7}
    assert masked[moved_thanks["offset"] :][: moved_thanks["length"]] == "谢谢"
    # Offsets count UTF-16 units: an emoji before the number counts twice.
    payload = mask_payload(
        {"text": "😀" + ID + " 好", "entities": [{"type": "bold", "offset": 21, "length": 1}]}
    )
    assert payload["text"] == "😀440104********1232 好"
    assert payload["entities"] == [{"type": "bold", "offset": 21, "length": 1}]
    assert mask_with_entities("没有号码", None) == ("没有号码", None)


@pytest.mark.parametrize(
    "text",
    [
        "\\" * 160_000 + "1",  # once took 83 s: a backslash run tried as an escape at each place
        "1" + "\\u200b" * 30_000,
        "\\u12" * 40_000,
        "1 " * 20_000,
        "13912345678" * 15_000,
    ],
    ids=["backslashes", "escaped-gaps", "broken-escapes", "spaced-digits", "glued-mobiles"],
)
def test_long_hostile_texts_take_linear_time(text: str) -> None:
    started = time.perf_counter()
    mask_personal_numbers(text)
    assert time.perf_counter() - started < 5  # a loaded 2-core machine: about 1 s at most


def test_doubly_escaped_digits_as_a_log_prints_a_repr() -> None:
    text = "".join(f"\\\\u{0xFF10 + int(d):04x}" for d in "13912345678")
    assert mask_personal_numbers(text) == "139****5678"
