"""Reading and validating rosters: encodings, headers, XLSX quirks, phones and every problem."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot.core.roster import Roster, normalize_name, normalize_phone, parse_roster
from bot.core.roster_sheet import detect_encoding, field_for_header
from bot.errors import RosterError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEADER = ["站点编码", "站点名称", "地市", "区县", "镇街", "行政区划代码", "观察员姓名", "手机号"]
ROWS = [
    [
        "GZ-YX-01",
        "越秀区北京街社会工作观察站",
        "广州市",
        "越秀区",
        "北京街道",
        "440104",
        "陈志强",
        "13800138001",
    ],
    [
        "GZ-YX-01",
        "越秀区北京街社会工作观察站",
        "广州市",
        "越秀区",
        "北京街道",
        "440104",
        "李丽娟",
        "13800138002",
    ],
    [
        "SZ-FT-01",
        "福田区华富街社会工作观察站",
        "深圳市",
        "福田区",
        "华富街道",
        "440304",
        "黄海燕",
        "13900001234",
    ],
]


def write_csv(path: Path, rows: list[list[str]], *, encoding: str = "utf-8") -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def summary(roster: Roster) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    stations = [(s.code, s.name, s.region_code) for s in roster.stations]
    observers = [(o.name, o.phone, o.station_code) for o in roster.observers]
    return stations, observers


# --- phones ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 138 0013 8000",
        "+86-13800138000",
        "8613800138000",
        "008613800138000",
        "0086 138-0013-8000",
        "１３８００１３８０００",  # full-width digits
        "＋８６１３８００１３８０００",
        " 13800138000 ",
        "13800138000.0",  # a number cell read as a float
        "(138)0013-8000",
    ],
)
def test_mobile_numbers_normalise_to_e164(raw: str) -> None:
    assert normalize_phone(raw) == "+8613800138000"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("1380013800", "有 10 位"),
        ("138001380001", "有 12 位"),
        ("12800138000", "不是大陆手机号"),
        ("1.38001E+10", "科学计数法"),
        ("13800138000/13900001234", "只填一个手机号"),
        ("138001380OO", "数字以外的字符"),
        ("+85291234567", "不是中国大陆"),
        ("020-83001234", "固定电话"),
        ("", "空的"),
    ],
)
def test_malformed_phones_say_why(raw: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        normalize_phone(raw)


def test_landlines_when_allowed() -> None:
    assert normalize_phone("020-8300 1234", allow_landline=True) == "+862083001234"
    assert normalize_phone("0751-8881234", allow_landline=True) == "+867518881234"


def test_error_messages_mask_the_number() -> None:
    with pytest.raises(ValueError) as caught:
        normalize_phone("1380013899")
    assert "1380013899" not in str(caught.value)


# --- headers and names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("站点编码", "station_code"),
        ("站點編碼", "station_code"),
        ("station_code", "station_code"),
        ("Station Code", "station_code"),
        ("站点名称", "station_name"),
        ("地市", "city"),
        ("區縣", "county"),
        ("县（市、区）", "county"),
        ("镇（街道）", "town"),
        ("鎮街", "town"),
        ("行政區劃代碼", "region_code"),
        ("Region-Code", "region_code"),
        ("觀察員姓名", "observer_name"),
        ("姓名", "observer_name"),
        ("手機號", "phone"),
        ("手机号码*", "phone"),
        ("联系电话（必填）", "phone"),
        ("Phone", "phone"),
        ("备注", None),
        ("", None),
    ],
)
def test_headers_map_to_fields(header: str, name: str | None) -> None:
    assert field_for_header(header) == name


def test_names_are_simplified_and_folded() -> None:
    assert normalize_name("陳志強") == "陈志强"
    assert normalize_name(" 黄  海燕 ") == "黄海燕"
    assert normalize_name("越秀區北京街社會工作觀察站（籌）") == "越秀区北京街社会工作观察站(筹)"
    assert normalize_name("买买提·艾力") == "买买提·艾力"


# --- CSV ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_in_each_encoding_reads_the_same(tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "roster.csv", [HEADER, *ROWS], encoding=encoding)
    roster = parse_roster(path)
    assert roster.is_clean
    assert summary(roster) == (
        [
            ("GZ-YX-01", "越秀区北京街社会工作观察站", "440104"),
            ("SZ-FT-01", "福田区华富街社会工作观察站", "440304"),
        ],
        [
            ("陈志强", "+8613800138001", "GZ-YX-01"),
            ("李丽娟", "+8613800138002", "GZ-YX-01"),
            ("黄海燕", "+8613900001234", "SZ-FT-01"),
        ],
    )


def test_gbk_is_detected_and_not_mistaken_for_utf8() -> None:
    text = ",".join(HEADER) + "\r\n"
    assert detect_encoding(text.encode("gbk")) == "gb18030"
    assert detect_encoding(text.encode("utf-8")) == "utf-8"
    assert detect_encoding(b"\xef\xbb\xbf" + text.encode("utf-8")) == "utf-8-sig"


def test_undecodable_bytes_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "roster.csv"
    path.write_bytes(",".join(HEADER).encode("utf-8") + b"\r\n\xff\xfe\xff\x81\x30")
    with pytest.raises(RosterError, match="UTF-8"):
        parse_roster(path)


def test_english_headers_extra_columns_and_blank_rows(tmp_path: Path) -> None:
    header = ["No.", "station_code", "station_name", "city", "county", "town", "region_code"]
    header += ["observer_name", "phone", "note"]
    rows = [header, ["1", *ROWS[0], "x"], [""] * 10, [], ["2", *ROWS[2], ""]]
    roster = parse_roster(write_csv(tmp_path / "roster.csv", rows))
    assert roster.is_clean
    assert roster.rows == 2
    assert roster.ignored_columns == ["No.", "note"]
    assert [o.row for o in roster.observers] == [2, 5]  # blank rows still count for numbering


def test_traditional_headers_and_values(tmp_path: Path) -> None:
    header = [
        "站點編碼",
        "站點名稱",
        "地市",
        "區縣",
        "鎮街",
        "行政區劃代碼",
        "觀察員姓名",
        "手機號",
    ]
    row = ["GZ-YX-01", "越秀區北京街社會工作觀察站", "廣州市", "越秀區", "北京街道", "440104"]
    row += ["陳志強", "１３８ ００１３ ８００１"]
    roster = parse_roster(write_csv(tmp_path / "roster.csv", [header, row]))
    assert roster.is_clean, roster.problems
    station = roster.stations[0]
    assert (station.name, station.city, station.county) == (
        "越秀区北京街社会工作观察站",
        "广州市",
        "越秀区",
    )
    assert (roster.observers[0].name, roster.observers[0].phone) == ("陈志强", "+8613800138001")


def test_semicolon_and_tab_separated_files(tmp_path: Path) -> None:
    for delimiter in (";", "\t"):
        path = tmp_path / "roster.csv"
        path.write_text("\n".join(delimiter.join(r) for r in [HEADER, *ROWS]), encoding="utf-8")
        assert len(parse_roster(path).observers) == 3


def test_title_rows_above_the_header(tmp_path: Path) -> None:
    rows = [["广东省社会工作观察站名册"], ["2026年11月"], HEADER, ROWS[0]]
    roster = parse_roster(write_csv(tmp_path / "roster.csv", rows))
    assert roster.is_clean
    assert roster.observers[0].row == 4


def test_missing_required_column_is_a_file_error(tmp_path: Path) -> None:
    rows = [HEADER[:-1], ROWS[0][:-1]]
    with pytest.raises(RosterError, match="手机号"):
        parse_roster(write_csv(tmp_path / "roster.csv", rows))


def test_no_header_at_all(tmp_path: Path) -> None:
    with pytest.raises(RosterError, match="找不到表头"):
        parse_roster(write_csv(tmp_path / "roster.csv", [["a", "b"], ["1", "2"]]))


@pytest.mark.parametrize("name", ["roster.xls", "roster.pdf", "missing.csv"])
def test_unsupported_or_missing_files(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    if name != "missing.csv":
        path.write_bytes(b"x")
    with pytest.raises(RosterError):
        parse_roster(path)


def test_station_without_observers_and_station_fields_given_once(tmp_path: Path) -> None:
    rows = [
        HEADER,
        ["GZ-TH-01", "天河区石牌街社会工作观察站", "", "", "石牌街道", "440106", "", ""],
        ["SZ-FT-01", "福田区华富街社会工作观察站", "", "", "", "440304", "黄海燕", "13900001234"],
        ["SZ-FT-01", "", "", "", "", "", "张伟", "13900001235"],
    ]
    roster = parse_roster(write_csv(tmp_path / "roster.csv", rows))
    assert roster.is_clean, roster.problems
    assert [(s.code, s.city, s.county) for s in roster.stations] == [
        ("GZ-TH-01", "广州市", "天河区"),  # names filled in from the region code
        ("SZ-FT-01", "深圳市", "福田区"),
    ]
    assert [o.station_code for o in roster.observers] == ["SZ-FT-01", "SZ-FT-01"]


def test_an_exact_repeat_is_harmless_but_a_second_name_for_a_phone_is_not(tmp_path: Path) -> None:
    repeat = list(ROWS[0])
    other = [*ROWS[0][:6], "王芳", ROWS[0][7]]
    roster = parse_roster(write_csv(tmp_path / "roster.csv", [HEADER, ROWS[0], repeat, other]))
    assert len(roster.observers) == 1
    assert [(p.row, p.column) for p in roster.problems] == [(4, "phone")]
    assert "已在第 2 行登记给 陈志强" in roster.problems[0].reason


# --- the shipped examples ----------------------------------------------------------------------


def test_sample_csv_and_xlsx_hold_the_same_roster() -> None:
    from_csv = parse_roster(EXAMPLES / "roster_sample.csv")
    from_xlsx = parse_roster(EXAMPLES / "roster_sample.xlsx")
    assert from_csv.is_clean and from_xlsx.is_clean
    assert len(from_csv.stations) >= 40
    assert 90 <= len(from_csv.observers) <= 130
    assert len({s.region_code[:4] for s in from_csv.stations}) >= 5  # several cities
    assert summary(from_csv) == summary(from_xlsx)
    assert from_csv.stations == from_xlsx.stations


def test_broken_example_names_every_bad_row() -> None:
    roster = parse_roster(EXAMPLES / "roster_broken.csv")
    found = {(p.row, p.column) for p in roster.problems}
    assert found == {
        (3, "region_code"),  # unknown region code
        (4, "region_code"),  # malformed region code
        (5, "phone"),  # malformed phone
        (6, "phone"),  # the same phone at two stations
        (7, "station_code"),  # missing station code
        (8, "station_name"),  # missing station name
        (10, "region_code"),  # missing region code (row 9 is blank)
        (11, "station_name"),  # conflicting station data
        (12, "city"),  # city contradicts the region code
        (13, "phone"),  # missing phone
        (14, "observer_name"),  # missing observer name
        (15, "phone"),  # a landline
    }
    reasons = " | ".join(p.reason for p in roster.problems)
    for words in (
        "行政区划代码 440199 不是广东省",
        "行政区划代码“",
        "有 10 位",
        "同一手机号",
        "缺少站点编码",
        "缺少站点名称",
        "缺少行政区划代码",
        "不一致",
        "与行政区划代码 440604",
    ):
        assert words in reasons
    # Only the good rows remain: row 2 (GZ-YX-01) and row 16 (FS-SD-01).
    assert [o.row for o in roster.observers] == [2, 16]
    assert [s.code for s in roster.stations] == ["FS-SD-01", "GZ-YX-01"]


# --- XLSX --------------------------------------------------------------------------------------


def test_xlsx_merged_headers_merged_station_cells_and_number_cells(tmp_path: Path) -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["观察员名册"])
    sheet.merge_cells("A1:I1")
    # A two-level header: 站点 over 编码/名称, 观察员 over 姓名/手机号.
    sheet.append(["站点", None, "地市", "区县", "镇街", "行政区划代码", "观察员", None, "备注"])
    sheet.append(["编码", "名称", None, None, None, None, "姓名", "手机号", None])
    for column in "CDEF":
        sheet.merge_cells(f"{column}2:{column}3")
    sheet.merge_cells("A2:B2")
    sheet.merge_cells("G2:H2")
    sheet.append(["GZ-YX-01", "越秀区北京街社会工作观察站", "广州市", "越秀区", "北京街道", 440104])
    sheet["G4"], sheet["H4"] = "陈志强", 13800138001
    sheet.append([None, None, None, None, None, None, "李丽娟", 13800138002.0])
    sheet.append([])
    sheet.append(["SZ-FT-01", "福田区华富街社会工作观察站", "深圳市", "福田区", "华富街道"])
    sheet["F7"], sheet["G7"], sheet["H7"], sheet["I7"] = "440304", "黄海燕", "13900001234", "新"
    for column in "ABCDEF":
        sheet.merge_cells(f"{column}4:{column}5")  # station cells merged over its observers
    path = tmp_path / "roster.xlsx"
    workbook.save(path)

    roster = parse_roster(path)
    assert roster.is_clean, roster.problems
    assert roster.ignored_columns == ["备注"]
    assert summary(roster) == (
        [
            ("GZ-YX-01", "越秀区北京街社会工作观察站", "440104"),
            ("SZ-FT-01", "福田区华富街社会工作观察站", "440304"),
        ],
        [
            ("陈志强", "+8613800138001", "GZ-YX-01"),
            ("李丽娟", "+8613800138002", "GZ-YX-01"),
            ("黄海燕", "+8613900001234", "SZ-FT-01"),
        ],
    )
    assert [o.row for o in roster.observers] == [4, 5, 7]


def test_xlsx_picks_the_sheet_with_the_roster(tmp_path: Path) -> None:
    workbook = Workbook()
    workbook.active.append(["说明：请在第二个工作表填写"])
    roster_sheet = workbook.create_sheet("名册")
    roster_sheet.append(HEADER)
    roster_sheet.append(ROWS[2])
    path = tmp_path / "roster.xlsx"
    workbook.save(path)
    assert [o.name for o in parse_roster(path).observers] == ["黄海燕"]


def test_not_really_an_xlsx(tmp_path: Path) -> None:
    path = tmp_path / "roster.xlsx"
    path.write_text("站点编码,站点名称", encoding="utf-8")
    with pytest.raises(RosterError, match="xlsx"):
        parse_roster(path)


def test_overlong_cells_are_problems_not_database_errors(tmp_path: Path) -> None:
    long_name = "越秀区" + "很" * 200 + "社会工作观察站"
    rows = [HEADER, ["GZ-YX-01", long_name, "", "", "", "440104", "陈志强", "13800138001"]]
    roster = parse_roster(write_csv(tmp_path / "roster.csv", rows))
    assert [(p.row, p.column) for p in roster.problems] == [(2, "station_name")]
    assert "最多 200 个" in roster.problems[0].reason
    assert roster.stations == [] and roster.observers == []


def test_conflicting_station_data_but_not_a_shorter_place_name(tmp_path: Path) -> None:
    station = ["GZ-YX-01", "越秀区北京街社会工作观察站", "广州市", "越秀区", "北京街道", "440104"]
    rows = [
        HEADER,
        [*station, "陈志强", "13800138001"],
        ["GZ-YX-01", station[1], "广州", "越秀", "北京街道", "440104", "李丽娟", "13800138002"],
        ["GZ-YX-01", station[1], "广州市", "越秀区", "人民街道", "440104", "王芳", "13800138003"],
        ["GZ-YX-01", station[1], "广州市", "越秀区", "北京街道", "440106", "张伟", "13800138004"],
    ]
    roster = parse_roster(write_csv(tmp_path / "roster.csv", rows))
    found = [(p.row, p.column) for p in roster.problems]
    assert found == [(4, "town"), (5, "county"), (5, "region_code")]
    assert "与第 2 行的“北京街道”不一致" in roster.problems[0].reason
    assert [o.name for o in roster.observers] == ["陈志强", "李丽娟"]
