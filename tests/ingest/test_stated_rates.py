"""A stated rate beside its counts is compared with them (issue 19): "Tỷ lệ (%)" / "Tỷ lệ" / "%"
after an indicator's numerator and denominator, in a one-row header or under a group heading."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from geo.text import fold

TITLE = "BÁO CÁO KẾT QUẢ CHUYỂN ĐỔI SỐ 6 THÁNG ĐẦU NĂM 2026"


def _xlsx(path: Path, header: list[list[object]], rows: list[list[object]], merged=()) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "Báo cáo"
    ws.append(["UBND THÀNH PHỐ HUẾ"])
    ws.append([TITLE])
    for line in (*header, *rows):
        ws.append(line)
    for rng in merged:
        ws.merge_cells(rng)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def test_a_rate_column_beside_its_counts_in_a_one_row_header(tmp_path, ingest, judge):
    header = [
        [
            "STT",
            "Mã xã",
            "Tên đơn vị",
            "Tổng số CBCC",
            "Số CBCC có máy tính",
            "Tỷ lệ (%)",
            "Tổng số hồ sơ TTHC tiếp nhận",
            "Số hồ sơ nộp trực tuyến",
            "%",
            "Ghi chú",
        ]
    ]
    rows = [
        [1, "19753", "Phường Phú Xuân", 30, 28, 93.3, 1000, 800, 80, None],
        [2, "19777", "Phường Vỹ Dạ", 30, 28, 95, 1000, 800, "80,2%", "gõ đè"],
        [3, "19815", "Phường An Cựu", 40, 10, "25", 500, 400, 0.8, None],
        [4, "19774", "Phường Kim Long", 20, 15, None, 600, 150, "30%", None],
    ]
    raw, _ = ingest(_xlsx(tmp_path / "in" / "mot_dong.xlsx", header, rows).parent)
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx(
        {
            ("19753", "officials_with_computer"): 28 / 30 * 100,
            ("19753", "online_service_usage"): 80.0,
            ("19777", "online_service_usage"): 80.0,  # 80,2 % is within the tolerance of 80
            ("19815", "officials_with_computer"): 25.0,
            ("19774", "officials_with_computer"): 75.0,  # no rate stated: the counts decide
        }
    )
    assert rules == {
        ("19777", "officials_with_computer"): "stated_value_mismatch",  # 95 typed over 28/30
        ("19815", "online_service_usage"): "percent_as_share",  # 0.8 for 80 %
        ("19774", "online_service_usage"): "stated_value_mismatch",  # 30 % of 150/600 = 25 %
    }
    stated = {
        (r["unit_code_raw"], r["indicator_id"]): (r["value_raw"], r["source_column"])
        for r in raw.iter_rows(named=True)
    }
    assert stated[("19777", "officials_with_computer")] == ("95", "E/D/F")
    assert stated[("19777", "online_service_usage")] == ("80,2%", "H/G/I")


@pytest.mark.parametrize(
    ("groups", "parts", "merged"),
    [
        (  # the indicator's full name over Tử số | Mẫu số | Tỷ lệ (%)
            [
                "Tỷ lệ cán bộ, công chức cấp xã có máy tính đáp ứng cấu hình tối thiểu",
                "Tỷ lệ hồ sơ thủ tục hành chính nộp trực tuyến",
            ],
            [["Tử số", "Mẫu số", "Tỷ lệ (%)"], ["Tử số", "Mẫu số", "Tỷ lệ (%)"]],
            True,
        ),
        (  # short headings, no diacritics, another order, the rate as "Tỷ lệ" and "%"
            ["TY LE CBCC CO MAY TINH", "Tỷ lệ hồ sơ TTHC nộp trực tuyến"],
            [["Mau so", "Tu so", "Ty le"], ["Mẫu số", "Tử số", "%"]],
            True,
        ),
        (  # the heading typed in every cell of its group instead of merged
            ["Tỷ lệ CBCC có máy tính đáp ứng cấu hình", "tỷ lệ hồ sơ nộp trực tuyến"],
            [["Tử số", "Mẫu số", "Tỷ lệ %"], ["Mẫu số", "Tử số", "Tỷ lệ (%)"]],
            False,
        ),
    ],
)
def test_a_rate_column_under_a_group_heading(tmp_path, ingest, judge, groups, parts, merged):
    upper = ["STT", "Mã xã", "Tên xã, phường"]
    lower = [None, None, None]
    for group, names in zip(groups, parts, strict=True):
        upper += [group] * 3 if not merged else [group, None, None]
        lower += names
    ranges = ["A3:A4", "B3:B4", "C3:C4", "D3:F3", "G3:I3"] if merged else []

    def figures(officials: tuple, dossiers: tuple) -> list[object]:
        out = []
        for names, (num, den, rate) in zip(parts, (officials, dossiers), strict=True):
            by_part = {"tu": num, "ma": den}
            out += [by_part.get(fold(n)[:2], rate) for n in names]
        return out

    rows = [
        [1, "19753", "Phường Phú Xuân", *figures((28, 30, 93.3), (800, 1000, 80))],
        [2, "19777", "Phường Vỹ Dạ", *figures((28, 30, 99), (800, 1000, "80,3"))],
        [3, "19815", "Phường An Cựu", *figures((10, 40, None), (400, 500, 0.8))],
    ]
    raw, _ = ingest(_xlsx(tmp_path / "in" / "hai_dong.xlsx", [upper, lower], rows, ranges).parent)
    accepted, rules, *_ = judge(raw)
    assert accepted == pytest.approx(
        {
            ("19753", "officials_with_computer"): 28 / 30 * 100,
            ("19753", "online_service_usage"): 80.0,
            ("19777", "online_service_usage"): 80.0,
            ("19815", "officials_with_computer"): 25.0,
        }
    )
    assert rules == {
        ("19777", "officials_with_computer"): "stated_value_mismatch",
        ("19815", "online_service_usage"): "percent_as_share",
    }
