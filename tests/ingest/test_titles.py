"""The period a report's title states, over the phrasings offices write (issue 19)."""

import pytest

from assets.ingest.titles import UNCLEAR, parse_period, period_note, read_period, title_period

PHRASINGS = [
    # results of one half and the plan for the next: the plan never decides
    ("Báo cáo kết quả 6 tháng đầu năm và phương hướng, nhiệm vụ 6 tháng cuối năm 2026", "2026-H1"),
    ("BAO CAO KET QUA 6 THANG DAU NAM VA PHUONG HUONG NHIEM VU 6 THANG CUOI NAM 2026", "2026-H1"),
    ("Kết quả thực hiện 6 tháng đầu năm 2026, phương hướng 6 tháng cuối năm 2026", "2026-H1"),
    ("Báo cáo tình hình thực hiện nhiệm vụ 6 tháng cuối năm 2025 và kế hoạch năm 2026", "2025-H2"),
    ("Báo cáo kết quả thực hiện Kế hoạch chuyển đổi số 6 tháng đầu năm 2026", "2026-H1"),
    ("Kết quả năm 2025 và phương hướng, nhiệm vụ 6 tháng đầu năm 2026", "2025"),
    # terms, with Roman or Arabic numerals
    ("Kỳ I/2026", "2026-H1"),
    ("kỳ II/2026", "2026-H2"),
    ("Kỳ báo cáo: kỳ 1 năm 2026", "2026-H1"),
    ("ky 2 nam 2025", "2025-H2"),
    ("Đợt I năm 2026", "2026-H1"),
    ("KỲ II NĂM 2026", "2026-H2"),
    # halves
    ("6 tháng đầu năm 2026", "2026-H1"),
    ("Kỳ báo cáo: 06 tháng cuối năm 2026", "2026-H2"),
    ("Báo cáo sáu tháng đầu năm 2027", "2027-H1"),
    ("nửa cuối năm 2026", "2026-H2"),
    ("Ky bao cao: 6 thang dau nam 2026", "2026-H1"),
    ("Báo cáo 6 tháng cuối năm 2025", "2025-H2"),
    # period codes
    ("Kỳ báo cáo: 2026-H1", "2026-H1"),
    ("2026_H2", "2026-H2"),
    ("H1/2026", "2026-H1"),
    # cut-off dates
    ("Số liệu tính đến ngày 30/6/2026", "2026-H1"),
    ("tính đến ngày 31/12/2026", "2026-H2"),
    ("Số liệu đến 30/06/2026", "2026-H1"),
    ("(Số liệu tính đến ngày 31 tháng 5 năm 2026)", "2026-H1"),
    ("tinh den ngay 15.11.2026", "2026-H2"),
    ("Số liệu đến hết tháng 6 năm 2026", "2026-H1"),
    ("Báo cáo 6 tháng đầu năm 2026 (số liệu tính đến 15/6/2026)", "2026-H1"),
    # a year report: its own code, never a half-year
    ("Kỳ báo cáo: năm 2026", "2026"),
    ("BÁO CÁO KẾT QUẢ CHUYỂN ĐỔI SỐ NĂM 2026", "2026"),
    ("Báo cáo tổng kết cả năm 2025", "2025"),
    ("năm 2026", "2026"),
    # other periods: quarters and nine months
    ("Báo cáo quý II năm 2026", "2026-Q2"),
    ("Báo cáo 9 tháng đầu năm 2026", "2026-9M"),
    # cannot be told
    ("Báo cáo 6 tháng đầu năm 2026 và 6 tháng cuối năm 2026", UNCLEAR),
    ("Báo cáo 6 tháng đầu năm 2025 và 6 tháng đầu năm 2026", UNCLEAR),
    ("Báo cáo 6 tháng đầu năm 2026 (số liệu tính đến 31/12/2026)", UNCLEAR),
    ("Kỳ III/2026", UNCLEAR),
    # no period named: the folder's period applies
    ("UBND THÀNH PHỐ HUẾ", None),
    ("Huế, ngày 30 tháng 6 năm 2026", None),
    ("Hà Nội, ngày 15/12/2026", None),
    ("Cộng hòa xã hội chủ nghĩa Việt Nam", None),
    ("Căn cứ Quyết định số 749/QĐ-TTg về Chương trình chuyển đổi số quốc gia năm 2025", None),
    ("Căn cứ Kế hoạch số 45/KH-UBND ngày 5/1/2026 về kết quả chuyển đổi số năm 2026", None),
    ("Thực hiện Công văn số 12/SKHCN về báo cáo 6 tháng đầu năm 2025", None),
    ("Kính gửi: Sở Khoa học và Công nghệ", None),
    (None, None),
]


@pytest.mark.parametrize(("text", "period"), PHRASINGS)
def test_period_of_a_title(text, period):
    assert parse_period(text) == period


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Kỳ báo cáo: năm 2026", "a year report, not a half-year"),
        ("Báo cáo 6 tháng đầu năm 2026 và 6 tháng cuối năm 2026", "names several periods"),
        ("Báo cáo 6 tháng đầu năm 2025 và 6 tháng đầu năm 2026", "names several years"),
        ("Báo cáo 6 tháng đầu năm 2026, tính đến 31/12/2026", "cut-off date disagree"),
        ("Báo cáo quý II năm 2026", "not a half-year"),
        ("Báo cáo 6 tháng đầu năm", "the year is not written"),
    ],
)
def test_a_period_that_is_not_a_half_year_says_why(text, words):
    assert words in read_period(text).reason


def test_a_half_without_its_year_is_not_a_period_alone():
    reading = read_period("Báo cáo kết quả 6 tháng cuối năm")
    assert (reading.period, reading.half) == (None, "H2")


@pytest.mark.parametrize(
    ("lines", "period"),
    [
        (["UBND TỈNH QUẢNG TRỊ", "BÁO CÁO", "Kết quả 6 tháng đầu năm", "năm 2026"], "2026-H1"),
        (["BÁO CÁO CHUYỂN ĐỔI SỐ NĂM 2026", "(Kỳ II/2026)"], "2026-H2"),
        (["UBND XÃ A", "Báo cáo kết quả năm 2026", "Huế, ngày 10 tháng 12 năm 2026"], "2026"),
        (["Tỉnh: Huế", "Kỳ báo cáo: 2026-H1", "Người lập: A"], "2026-H1"),
        (["UBND XÃ A", "Huế, ngày 30 tháng 6 năm 2026"], None),
        (["Căn cứ Kế hoạch số 45/KH-UBND năm 2025", "BÁO CÁO", "Kết quả chuyển đổi số"], None),
        (["Căn cứ Kế hoạch số 45/KH-UBND năm 2025", "Báo cáo 6 tháng cuối năm"], None),
        (["BÁO CÁO", "Kết quả 6 tháng cuối năm", "(Số liệu đến 31/12/2026)"], "2026-H2"),
        (["Báo cáo quý II năm 2026", "Kỳ I/2026"], "2026-H1"),
        (["Căn cứ Kế hoạch 45/KH-UBND năm 2025", "Kết quả 6 tháng đầu năm", "năm 2026"], "2026-H1"),
        ([], None),
    ],
)
def test_period_of_a_title_block(lines, period):
    assert title_period(lines) == period


def test_the_quarantine_says_why_a_period_is_not_the_folders():
    assert "a year report" in period_note("2026")
    assert "cannot be told" in period_note(UNCLEAR)
    assert "other than a half-year" in period_note("2026-Q2")
    assert period_note("2026-H1") == ""


def _report(path, title: str) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["UBND THÀNH PHỐ HUẾ"])
    ws.append([title])
    ws.append(["Huế, ngày 30 tháng 6 năm 2026"])
    ws.append(["Mã xã", "Tên đơn vị", "Tổng số CBCC", "Số CBCC có máy tính"])
    ws.append(["19753", "Phường Phú Xuân", 30, 27])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


@pytest.mark.parametrize(
    ("title", "rule", "message"),
    [
        (
            "Báo cáo kết quả 6 tháng đầu năm và phương hướng, nhiệm vụ 6 tháng cuối năm 2026",
            None,
            None,
        ),
        ("Báo cáo kết quả chuyển đổi số năm 2026", "period_mismatch", "a year report"),
        ("Báo cáo kỳ II/2026", "period_mismatch", "2026-H2 ≠ 2026-H1"),
        (
            "Báo cáo 6 tháng đầu năm 2026 và 6 tháng cuối năm 2026",
            "period_mismatch",
            "cannot be told",
        ),
        ("Báo cáo quý II năm 2026", "period_mismatch", "other than a half-year"),
    ],
)
def test_the_title_decides_what_the_lake_accepts(tmp_path, ingest, judge, title, rule, message):
    _report(tmp_path / "in" / "bc.xlsx", title)
    raw, _ = ingest(tmp_path / "in")
    accepted, rules, _, quarantined, _ = judge(raw)
    if rule is None:
        assert accepted == pytest.approx({("19753", "officials_with_computer"): 90.0})
        assert rules == {}
        return
    assert accepted == {}
    assert rules == {("19753", "officials_with_computer"): rule}
    assert message in quarantined["message_en"][0]
