import pytest

from assets.ingest.numbers import parse_number


@pytest.mark.parametrize(
    ("cell", "value", "is_percent"),
    [
        ("85,5", 85.5, False),
        ("85,5%", 85.5, True),
        ("85.5", 85.5, False),
        ("1.234", 1234.0, False),
        ("1.234,5", 1234.5, False),
        ("1,234,567", 1234567.0, False),
        (" 1 234 ", 1234.0, False),
        ("12", 12.0, False),
        (12, 12.0, False),
        (0.855, 0.855, False),
        ("-3", -3.0, False),
    ],
)
def test_vietnamese_numbers(cell, value, is_percent):
    parsed = parse_number(cell)
    assert parsed.error is None
    assert parsed.value == value
    assert parsed.is_percent is is_percent


@pytest.mark.parametrize("cell", [None, "", "-", "—", "  ", "x"])
def test_no_figure(cell):
    parsed = parse_number(cell)
    assert parsed.value is None and parsed.error is None


@pytest.mark.parametrize("cell", ["chưa có", "abc", "1e5", "12a", float("nan"), True])
def test_text_is_an_error_not_an_exception(cell):
    parsed = parse_number(cell)
    assert parsed.value is None
    assert parsed.error
