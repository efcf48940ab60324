import pytest

from assets.ingest.headers import vocabulary
from assets.ingest.titles import parse_period


@pytest.mark.parametrize(
    ("header", "column"),
    [
        ("Mã đơn vị", "unit_code"),
        ("MA XA", "unit_code"),
        ("Tên đơn vị (xã, phường)", "unit_name"),
        ("Tổng số cán bộ,\ncông chức cấp xã", "officials"),
        ("TONG SO CBCC", "officials"),
        ("Số CBCC có máy tính", "officials_with_computer_count"),
        ("Số cán bộ, công chức có chữ ký số cá nhân", "officials_with_signature_count"),
        ("Tổng số hồ sơ TTHC tiếp nhận", "dossiers"),
        ("so ho so nop truc tuyen", "dossiers_online"),
        ("Chi cho KHCN, ĐMST và CĐS (triệu đồng)", "budget_sti_dx"),
        ("Dân số", "population"),
        ("Dân số được phủ sóng 5G", "population_5g"),
        ("Tỷ lệ dân số được phủ sóng 5G (%)", "pop_5g_coverage_pct"),
        ("Số lãnh đạo có chuyên môn KHKT", "leaders_stem"),
        ("Số thôn, bản còn vùng lõm sóng", "villages_without_signal"),
        ("Số hồ sơ DVCTT", "dossiers_online"),  # abbreviations: DVCTT, TTHC, KHKT, CĐS
        ("so ho so TTHC nop truc tuyen", "dossiers_online"),
        ("SỐ LÃNH ĐẠO CÓ CHUYÊN MÔN KHKT", "leaders_stem"),
        ("Chi KHCN, ĐMST, CĐS (trđ)", "budget_sti_dx"),
        ("Tổng chi ngân sách\n(triệu đồng)", "budget_total"),  # line break, unit suffix
        ("TONG SO  CAN BO,  CONG CHUC CAP XA", "officials"),  # no diacritics, spacing
        ("Dân số (người)", "population"),
        ("Tổng số máy tính\r\ncủa cơ quan", "computers"),
        ("STT", None),
        ("Ghi chú", None),
    ],
)
def test_headers_as_offices_write_them(catalogue, header, column):
    assert vocabulary(catalogue).match(header) == column


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("Kỳ báo cáo: 2026-H1", "2026-H1"),
        ("Ky bao cao: 6 thang dau nam 2026", "2026-H1"),
        ("Báo cáo 6 tháng cuối năm 2025", "2025-H2"),
        ("Kỳ báo cáo: năm 2026", "2026"),
        ("UBND THÀNH PHỐ HUẾ", None),
    ],
)
def test_periods(text, period):
    assert parse_period(text) == period
