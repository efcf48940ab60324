"""The validation rules: one id, a Vietnamese and an English message, a priority.

A row failing several rules is quarantined under the first in this order (the most basic
problem is what the office must fix first); the message lists all of them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    id: str
    vi: str
    en: str
    blocking_note: str = ""


RULES: tuple[Rule, ...] = (
    Rule(
        "unit_unresolved",
        "Không xác định được đơn vị hành chính (mã/tên không có hoặc không rõ)",
        "the administrative unit could not be resolved (unknown or ambiguous code/name)",
    ),
    Rule("unknown_indicator", "Chỉ tiêu không có trong danh mục", "indicator not in the catalogue"),
    Rule(
        "period_mismatch",
        "Kỳ báo cáo ghi trong tệp khác với thư mục kỳ nộp",
        "the period stated in the file differs from the landing folder's period",
    ),
    Rule(
        "not_a_number",
        "Ô số liệu chứa chữ, không phải số",
        "a figure cell holds text, not a number",
    ),
    Rule(
        "missing_figure",
        "Thiếu tử số hoặc mẫu số để tính tỷ lệ",
        "a numerator or denominator is missing, so the share cannot be computed",
    ),
    Rule("negative_value", "Số liệu âm", "a negative figure"),
    Rule("denominator_not_positive", "Mẫu số phải lớn hơn 0", "the denominator must be positive"),
    Rule(
        "numerator_exceeds_denominator",
        "Tử số lớn hơn mẫu số",
        "the numerator is larger than the denominator",
    ),
    Rule("count_not_whole", "Số đếm phải là số nguyên", "a count must be a whole number"),
    Rule(
        "percent_as_share",
        "Tỷ lệ có vẻ được ghi dạng 0–1 thay vì 0–100 (ví dụ 0,85 thay vì 85%)",
        "the percentage looks written as a share in 0–1 instead of 0–100 (0.85 for 85%)",
    ),
    Rule(
        "value_out_of_range",
        "Giá trị ngoài khoảng hợp lệ của chỉ tiêu",
        "the value is outside the indicator's valid range",
    ),
    Rule(
        "stated_value_mismatch",
        "Tỷ lệ ghi trong báo cáo không khớp với tử số/mẫu số",
        "the stated percentage does not match the numerator and denominator",
    ),
    Rule(
        "conflicting_duplicate",
        "Cùng đơn vị và chỉ tiêu có hai số liệu khác nhau trong một tệp",
        "two different figures for the same unit and indicator in one file",
    ),
)
RULES_BY_ID = {r.id: r for r in RULES}
PRIORITY = {r.id: i for i, r in enumerate(RULES)}

# Tolerances, in the indicator's unit.
STATED_TOLERANCE_PP = 0.5  # stated % vs numerator/denominator, percentage points
SHARE_CHECK_MIN_TARGET = 5.0  # a stated 0–1 value is suspect only where targets are well above 1%
