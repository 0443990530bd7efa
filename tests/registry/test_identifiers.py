"""Tests for registry.identifiers (pure Python: no Django, no database)."""

from __future__ import annotations

import datetime
import pickle
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.identifiers import (
    USCC_ALPHABET,
    USCC_AUTHORITY_CODES,
    USCC_WEIGHTS,
    InvalidIdentifier,
    PatentNumber,
    nice_class_validate,
    patent_check_char,
    patent_number_build,
    patent_number_is_valid,
    patent_number_parse,
    software_certificate_number_normalize,
    software_registration_number_normalize,
    trademark_number_normalize,
    uscc_build,
    uscc_check_char,
    uscc_is_valid,
    uscc_normalize,
    uscc_region,
)

MAX_YEAR = 2026  # fixed upper year bound so the tests do not depend on today's date
PATENT_ALPHABET = "0123456789X"


def _fullwidth(text: str) -> str:
    """The same ASCII text in full-width forms (U+FF01..U+FF5E), as typed by an IME."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _code(exc_info: pytest.ExceptionInfo[InvalidIdentifier]) -> str:
    return exc_info.value.code


# ---------------------------------------------------------------------------
# USCC: domain.md section 6 check vectors
# ---------------------------------------------------------------------------


def test_uscc_weights_are_powers_of_three_mod_31() -> None:
    expected = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    assert expected == USCC_WEIGHTS
    assert len(USCC_ALPHABET) == 31
    assert not set("IOSVZ") & set(USCC_ALPHABET)


def test_uscc_worked_example_sum_538_gives_l() -> None:
    body = "91110000600037341"
    values = [USCC_ALPHABET.index(c) for c in body]
    assert values == [9, 1, 1, 1, 0, 0, 0, 0, 6, 0, 0, 0, 3, 7, 3, 4, 1]
    products = [v * w for v, w in zip(values, USCC_WEIGHTS, strict=True)]
    assert products == [9, 3, 9, 27, 0, 0, 0, 0, 120, 0, 0, 0, 24, 168, 30, 120, 28]
    assert sum(products) == 538
    assert 538 % 31 == 11
    assert 31 - 11 == 20
    assert USCC_ALPHABET[20] == "L"
    assert uscc_check_char(body) == "L"
    assert uscc_build(body) == "91110000600037341L"
    assert uscc_normalize("91110000600037341L") == "91110000600037341L"
    assert uscc_is_valid("91110000600037341L")


def test_uscc_worked_example_embedded_organisation_code() -> None:
    # GB 11714 organisation code 60003734 with check 1 sits at positions 9-17.
    digits = [6, 0, 0, 0, 3, 7, 3, 4]
    weights = [3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(d * w for d, w in zip(digits, weights, strict=True))
    assert total == 18 + 0 + 0 + 0 + 15 + 56 + 12 + 8 == 109
    assert 11 - total % 11 == 1
    assert "91110000600037341L"[8:17] == "600037341"


def test_uscc_wrong_check_character() -> None:
    with pytest.raises(InvalidIdentifier) as exc_info:
        uscc_normalize("91110000600037341N")
    assert _code(exc_info) == "uscc_bad_check"
    assert str(exc_info.value) == "The check character should be L, not N."
    assert not uscc_is_valid("91110000600037341N")


def test_uscc_letters_outside_alphabet() -> None:
    with pytest.raises(InvalidIdentifier) as exc_info:
        uscc_normalize("9111000060003IOZSV")
    assert _code(exc_info) == "uscc_bad_character"
    assert "position 14" in str(exc_info.value)
    assert not uscc_is_valid("9111000060003IOZSV")


@pytest.mark.parametrize("letter", list("IOSVZ"))
def test_uscc_each_forbidden_letter_is_refused(letter: str) -> None:
    code = "91110000600037341L"
    for position in (1, 2, 9, 17, 18):
        candidate = code[: position - 1] + letter + code[position:]
        with pytest.raises(InvalidIdentifier) as exc_info:
            uscc_normalize(candidate)
        assert _code(exc_info) == "uscc_bad_character"
    with pytest.raises(InvalidIdentifier) as exc_info:
        uscc_check_char("9111000060003734" + letter)
    assert _code(exc_info) == "uscc_bad_character"


@pytest.mark.parametrize("raw", ["12345", "", "91110000600037341", "91110000600037341LL", "   "])
def test_uscc_wrong_length(raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as exc_info:
        uscc_normalize(raw)
    assert _code(exc_info) == "uscc_bad_length"
    assert not uscc_is_valid(raw)


def test_uscc_normalises_case_and_surrounding_whitespace() -> None:
    assert uscc_normalize("  91110000600037341l\n") == "91110000600037341L"
    assert uscc_normalize("\u300091110000600037341L\t") == "91110000600037341L"


@pytest.mark.parametrize("raw", ["911100 00600037341L", "9111000060003734 1L", "91110000600037341\u3000L"])
def test_uscc_inner_spaces_refused(raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as exc_info:
        uscc_normalize(raw)
    assert _code(exc_info) == "uscc_bad_character"


def test_uscc_non_ascii_refused_even_if_it_upper_cases_to_ascii() -> None:
    # "\ufb00".upper() == "FF": must not sneak through as two legal letters.
    body = uscc_build("91110000600037FF1")[:-1]
    assert body.endswith("FF1")
    sneaky = body.replace("FF", "\ufb00") + uscc_check_char(body)
    assert len(sneaky) == 17
    with pytest.raises(InvalidIdentifier) as exc_info:
        uscc_normalize(sneaky)
    assert _code(exc_info) == "uscc_bad_character"
    assert not uscc_is_valid(_fullwidth("91110000600037341L"))


def test_uscc_non_text_refused() -> None:
    assert not uscc_is_valid(None)  # type: ignore[arg-type]
    assert not uscc_is_valid(911100006000373410)  # type: ignore[arg-type]


@pytest.mark.parametrize("first", ["Y", "A"])
def test_uscc_letter_authority_codes_accepted(first: str) -> None:
    code = uscc_build(first + "1420100MA4K1234X")
    assert code[0] == first
    assert len(code) == 18
    assert uscc_is_valid(code)
    assert uscc_normalize(code.lower()) == code
    assert uscc_region(code) == "420100"


@pytest.mark.parametrize("first", list("0HJKLMNPQRTUWX"))
def test_uscc_unknown_authority_code_refused(first: str) -> None:
    body = first + "1420100MA4K1234X"
    code = body + uscc_check_char(body)  # correct check, bad position 1
    with pytest.raises(InvalidIdentifier) as exc_info:
        uscc_normalize(code)
    assert _code(exc_info) == "uscc_bad_character"
    with pytest.raises(InvalidIdentifier):
        uscc_build(body)


@pytest.mark.parametrize("position", range(3, 9))
def test_uscc_division_code_must_be_digits(position: int) -> None:
    body = "91420100MA4K12345"
    body = body[: position - 1] + "A" + body[position:]
    code = body + uscc_check_char(body)
    with pytest.raises(InvalidIdentifier) as exc_info:
        uscc_normalize(code)
    assert _code(exc_info) == "uscc_bad_character"
    assert f"position {position}" in str(exc_info.value)


def test_uscc_build_rejects_bad_body_length() -> None:
    with pytest.raises(InvalidIdentifier) as exc_info:
        uscc_build("9142010")
    assert _code(exc_info) == "uscc_bad_length"


def test_uscc_region() -> None:
    assert uscc_region("91110000600037341L") == "110000"
    with pytest.raises(InvalidIdentifier):
        uscc_region("91110000600037341N")


def test_invalid_identifier_is_value_error_and_picklable() -> None:
    message = "The check character should be L, not N."
    exc = InvalidIdentifier(message, code="uscc_bad_check")
    assert isinstance(exc, ValueError)
    copy = pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own bytes
    assert copy.code == "uscc_bad_check"
    assert str(copy) == str(exc)


# ---------------------------------------------------------------------------
# USCC: properties
# ---------------------------------------------------------------------------

_alphabet = st.sampled_from(USCC_ALPHABET)
uscc_bodies = st.builds(
    lambda a, b, region, org: a + b + region + org,
    st.sampled_from(USCC_AUTHORITY_CODES),
    _alphabet,
    st.text(alphabet="0123456789", min_size=6, max_size=6),
    st.text(alphabet=USCC_ALPHABET, min_size=9, max_size=9),
)
valid_usccs = uscc_bodies.map(uscc_build)


@given(uscc_bodies)
def test_uscc_built_codes_are_valid(body: str) -> None:
    code = uscc_build(body)
    assert code[:17] == body
    assert uscc_is_valid(code)
    assert uscc_normalize(code.lower()) == code
    # The defining congruence: weighted sum plus check value is 0 mod 31.
    pairs = zip(body, USCC_WEIGHTS, strict=True)
    total = sum(USCC_ALPHABET.index(c) * w for c, w in pairs)
    assert (total + USCC_ALPHABET.index(code[17])) % 31 == 0


@given(valid_usccs, st.integers(min_value=0, max_value=17), _alphabet)
def test_uscc_any_single_substitution_is_rejected(code: str, index: int, symbol: str) -> None:
    # 31 is prime and every weight (and the check's implicit weight 1) is non-zero
    # mod 31, so any change of one symbol changes the sum mod 31.
    if symbol == code[index]:
        symbol = USCC_ALPHABET[(USCC_ALPHABET.index(symbol) + 1) % 31]
    mutated = code[:index] + symbol + code[index + 1 :]
    assert mutated != code
    assert not uscc_is_valid(mutated)


@given(valid_usccs, st.data())
def test_uscc_transpositions_are_rejected_except_first_and_last(code: str, data: st.DataObject) -> None:
    # Swapping values a != b at positions i, j changes the congruence by
    # (a - b)(w_i - w_j) mod 31. Weights 3^0..3^16 mod 31 are distinct (3 has
    # order 30) and the check has implicit weight 1 = w_1, so only the pair
    # (1, 18) can escape detection.
    i = data.draw(st.integers(min_value=0, max_value=17))
    j = data.draw(st.integers(min_value=0, max_value=17).filter(lambda k: k != i))
    i, j = sorted((i, j))
    if (i, j) == (0, 17) or code[i] == code[j]:
        return
    chars = list(code)
    chars[i], chars[j] = chars[j], chars[i]
    assert not uscc_is_valid("".join(chars))


def test_uscc_swapping_first_and_last_can_go_undetected() -> None:
    # Documents the one blind spot above: both positions carry weight 1.
    code = uscc_build("91420100690011234")
    assert code == "91420100690011234C"
    swapped = "C" + code[1:17] + "9"
    assert uscc_is_valid(swapped)


# ---------------------------------------------------------------------------
# Patent application numbers: domain.md section 6 check vectors
# ---------------------------------------------------------------------------


def test_patent_worked_example_sum_117() -> None:
    digits = [2, 0, 2, 1, 1, 0, 1, 2, 3, 4, 5, 6]
    weights = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]
    products = [d * w for d, w in zip(digits, weights, strict=True)]
    assert products == [4, 0, 8, 5, 6, 0, 8, 18, 6, 12, 20, 30]
    assert sum(products) == 117
    assert 117 % 11 == 7
    assert patent_check_char("202110123456") == "7"
    parsed = patent_number_parse("2021 1 0123456.7", max_year=MAX_YEAR)
    assert parsed == PatentNumber(digits="202110123456", check="7", year=2021, kind="invention")
    assert parsed.normalized == "202110123456.7"
    assert parsed.patent_type_default == "invention"


def test_patent_granted_number_with_zl_prefix() -> None:
    digits = [2, 0, 1, 3, 1, 0, 6, 9, 9, 7, 4, 4]
    weights = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]
    assert sum(d * w for d, w in zip(digits, weights, strict=True)) == 233
    assert 233 % 11 == 2
    parsed = patent_number_parse("ZL201310699744.2", max_year=MAX_YEAR)
    assert parsed.normalized == "201310699744.2"
    assert parsed.year == 2013
    assert parsed.kind == "invention"
    assert patent_number_is_valid("ZL201310699744.2")


def test_patent_pre_2003_number_with_x() -> None:
    digits = [9, 0, 1, 0, 1, 6, 7, 3]
    weights = [2, 3, 4, 5, 6, 7, 8, 9]
    assert sum(d * w for d, w in zip(digits, weights, strict=True)) == 153
    assert 153 % 11 == 10  # 10 is written X
    assert patent_check_char("90101673") == "X"
    parsed = patent_number_parse("90101673.X")
    assert parsed == PatentNumber(digits="90101673", check="X", year=1990, kind="invention")
    assert parsed.normalized == "90101673.X"
    assert patent_number_parse("90101673.x").check == "X"


def test_patent_wrong_check() -> None:
    with pytest.raises(InvalidIdentifier) as exc_info:
        patent_number_parse("202110123456.8", max_year=MAX_YEAR)
    assert _code(exc_info) == "patent_bad_check"
    assert str(exc_info.value) == "The check character should be 7, not 8."
    assert not patent_number_is_valid("202110123456.8", max_year=MAX_YEAR)


@pytest.mark.parametrize(
    "raw",
    [
        "202110123456.7",
        "CN202110123456.7",
        "CN 202110123456.7",
        "cn 202110123456.7",
        "ZL 2021 1 0123456.7",
        "zl2021101234567",
        "2021101234567",
        "2021 1 0123456 7",
        "  2021 10123456.7\t",
    ],
)
def test_patent_accepted_spellings(raw: str) -> None:
    assert patent_number_parse(raw, max_year=MAX_YEAR).normalized == "202110123456.7"


@pytest.mark.parametrize(
    "raw",
    [
        "202110123456",  # check character missing
        "202110123456.",
        "2021101234567.",
        "20211012345.6",
        "2021101234566.7",
        "2021  1 0123456.7",  # two spaces
        "20 21 1 0123456.7",  # space inside a group
        "US202110123456.7",
        "CNZL202110123456.7",
        "202110123456.A",
        _fullwidth("202110123456.7"),
        "9010167.3X",
        "",
    ],
)
def test_patent_bad_format(raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as exc_info:
        patent_number_parse(raw, max_year=MAX_YEAR)
    assert _code(exc_info) == "patent_bad_format"


def test_patent_missing_check_has_specific_message() -> None:
    with pytest.raises(InvalidIdentifier) as exc_info:
        patent_number_parse("202110123456", max_year=MAX_YEAR)
    assert "check character is missing" in str(exc_info.value)


def test_patent_non_text_refused() -> None:
    with pytest.raises(InvalidIdentifier) as exc_info:
        patent_number_parse(202110123456, max_year=MAX_YEAR)  # type: ignore[arg-type]
    assert _code(exc_info) == "patent_bad_format"


@pytest.mark.parametrize("kind", ["0", "4", "5", "6", "7"])
def test_patent_bad_kind(kind: str) -> None:
    digits = f"2021{kind}0123456"
    raw = f"{digits}.{patent_check_char(digits)}"
    with pytest.raises(InvalidIdentifier) as exc_info:
        patent_number_parse(raw, max_year=MAX_YEAR)
    assert _code(exc_info) == "patent_bad_kind"
    old = f"90{kind}01673"
    with pytest.raises(InvalidIdentifier) as exc_info:
        patent_number_parse(f"{old}.{patent_check_char(old)}")
    assert _code(exc_info) == "patent_bad_kind"
    with pytest.raises(InvalidIdentifier):
        patent_number_build(digits)


@pytest.mark.parametrize(
    ("kind", "name", "default_type"),
    [
        ("1", "invention", "invention"),
        ("2", "utility_model", "utility_model"),
        ("3", "design", "design"),
        ("8", "pct_invention", "invention"),
        ("9", "pct_utility_model", "utility_model"),
    ],
)
def test_patent_kinds(kind: str, name: str, default_type: str) -> None:
    parsed = patent_number_parse(patent_number_build(f"2019{kind}0000001"), max_year=MAX_YEAR)
    assert parsed.kind == name
    assert parsed.patent_type_default == default_type
    old = patent_number_parse(patent_number_build(f"99{kind}00001"))
    assert old.kind == name
    assert old.year == 1999


@pytest.mark.parametrize(
    ("digits", "max_year"),
    [("200210000001", MAX_YEAR), ("202710000001", MAX_YEAR), ("202610000001", 2025)],
)
def test_patent_bad_year(digits: str, max_year: int) -> None:
    raw = f"{digits}.{patent_check_char(digits)}"
    with pytest.raises(InvalidIdentifier) as exc_info:
        patent_number_parse(raw, max_year=max_year)
    assert _code(exc_info) == "patent_bad_year"


@pytest.mark.parametrize("two", ["04", "50", "84"])
def test_patent_old_number_bad_year(two: str) -> None:
    digits = f"{two}100001"
    with pytest.raises(InvalidIdentifier) as exc_info:
        patent_number_parse(f"{digits}.{patent_check_char(digits)}")
    assert _code(exc_info) == "patent_bad_year"


@pytest.mark.parametrize(("two", "year"), [("85", 1985), ("00", 2000), ("03", 2003)])
def test_patent_old_number_years(two: str, year: int) -> None:
    assert patent_number_parse(patent_number_build(f"{two}100001")).year == year


def test_patent_year_bound_defaults_to_next_year() -> None:
    next_year = datetime.datetime.now(tz=ZoneInfo("Asia/Shanghai")).year + 1
    ok = patent_number_build(f"{next_year}10000001")
    too_late = patent_number_build(f"{next_year + 1}10000001")
    assert patent_number_is_valid(ok)
    assert not patent_number_is_valid(too_late)
    assert patent_number_is_valid(too_late, max_year=next_year + 1)


def test_patent_first_twelve_digit_year_is_2003() -> None:
    assert patent_number_parse(patent_number_build("200310000001"), max_year=MAX_YEAR).year == 2003


@pytest.mark.parametrize("digits", ["2021101234", "2021101234567", "abcdefghijkl", "9010167"])
def test_patent_check_char_needs_8_or_12_digits(digits: str) -> None:
    with pytest.raises(InvalidIdentifier) as exc_info:
        patent_check_char(digits)
    assert _code(exc_info) == "patent_bad_format"


def test_patent_build() -> None:
    assert patent_number_build("202110123456") == "202110123456.7"
    assert patent_number_build("90101673") == "90101673.X"


# ---------------------------------------------------------------------------
# Patent application numbers: properties
# ---------------------------------------------------------------------------

patent_digits = st.builds(
    lambda year, kind, serial: f"{year}{kind}{serial:07d}",
    st.integers(min_value=2003, max_value=2025),
    st.sampled_from("12389"),
    st.integers(min_value=0, max_value=9_999_999),
)


def _check_value(char: str) -> int:
    return 10 if char == "X" else int(char)


@given(patent_digits)
def test_patent_generated_numbers_are_valid(digits: str) -> None:
    raw = patent_number_build(digits)
    parsed = patent_number_parse(raw, max_year=MAX_YEAR)
    assert parsed.digits == digits
    assert parsed.year == int(digits[:4])
    assert parsed.normalized == raw
    weights = [2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5]
    total = sum(int(d) * w for d, w in zip(digits, weights, strict=True))
    assert total % 11 == _check_value(parsed.check)
    spaced = f"CN {digits[:4]} {digits[4]} {digits[5:]}.{parsed.check}"
    assert patent_number_parse(spaced, max_year=MAX_YEAR) == parsed


@given(
    patent_digits,
    st.integers(min_value=0, max_value=11),
    st.integers(min_value=1, max_value=9),
)
def test_patent_any_single_digit_change_is_rejected(digits: str, index: int, shift: int) -> None:
    # Weights 2..9 and shifts 1..9 are non-zero mod the prime 11.
    raw = patent_number_build(digits)
    new_digit = str((int(digits[index]) + shift) % 10)
    mutated = raw[:index] + new_digit + raw[index + 1 :]
    assert mutated != raw
    assert not patent_number_is_valid(mutated, max_year=MAX_YEAR)


@given(patent_digits, st.sampled_from(PATENT_ALPHABET))
def test_patent_any_check_char_change_is_rejected(digits: str, check: str) -> None:
    raw = patent_number_build(digits)
    if check == raw[-1]:
        check = PATENT_ALPHABET[(PATENT_ALPHABET.index(check) + 1) % 11]
    assert not patent_number_is_valid(raw[:-1] + check, max_year=MAX_YEAR)


@given(patent_digits, st.integers(min_value=0, max_value=11))
def test_patent_adjacent_transpositions_are_rejected(digits: str, index: int) -> None:
    # Over digits + check the congruence is sum(w_i d_i) - c = 0 mod 11, weights
    # 2,3,4,5,6,7,8,9,2,3,4,5,-1. Adjacent weights differ by 1, -7 (9 -> 2) or
    # -6 (5 -> check), all non-zero mod 11, so swapping two different adjacent
    # characters always breaks it. (Index 11 swaps the last digit and the check.)
    sequence = digits + patent_check_char(digits)
    if sequence[index] == sequence[index + 1]:
        return
    chars = list(sequence)
    chars[index], chars[index + 1] = chars[index + 1], chars[index]
    swapped = "".join(chars)
    assert not patent_number_is_valid(f"{swapped[:12]}.{swapped[12]}", max_year=MAX_YEAR)


def test_patent_transposition_eight_apart_can_go_undetected() -> None:
    # Positions 4 and 12 both carry weight 5: the limit of the property above.
    assert patent_number_build("202010123452") == "202010123452.4"
    assert patent_number_is_valid("202210123450.4", max_year=MAX_YEAR)


# ---------------------------------------------------------------------------
# Trademarks and Nice classes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1234567", "1234567"),
        (" 60123456 ", "60123456"),
        ("0001234", "0001234"),
        ("7", "7"),
        ("123456789", "123456789"),
    ],
)
def test_trademark_number_valid(raw: str, expected: str) -> None:
    assert trademark_number_normalize(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "  ",
        "1234567890",
        "12 34567",
        "G1234567",
        "1234567A",
        "-123",
        _fullwidth("1234567"),
        "12.5",
    ],
)
def test_trademark_number_invalid(raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as exc_info:
        trademark_number_normalize(raw)
    assert _code(exc_info) == "trademark_bad_format"


def test_trademark_number_non_text_refused() -> None:
    with pytest.raises(InvalidIdentifier) as exc_info:
        trademark_number_normalize(1234567)  # type: ignore[arg-type]
    assert _code(exc_info) == "trademark_bad_format"


@pytest.mark.parametrize("value", [1, 9, 35, 45])
def test_nice_class_valid(value: int) -> None:
    assert nice_class_validate(value) == value


@pytest.mark.parametrize("value", [0, 46, -1, 100])
def test_nice_class_out_of_range(value: int) -> None:
    with pytest.raises(InvalidIdentifier) as exc_info:
        nice_class_validate(value)
    assert _code(exc_info) == "nice_class_out_of_range"


@pytest.mark.parametrize("value", [True, False, 9.0, "9", None, 9.5])
def test_nice_class_wrong_type(value: object) -> None:
    with pytest.raises(InvalidIdentifier) as exc_info:
        nice_class_validate(value)  # type: ignore[arg-type]
    assert _code(exc_info) == "nice_class_bad_type"


# ---------------------------------------------------------------------------
# Software copyright
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2014SR001852", "2014SR001852"),
        ("2016SR172900", "2016SR172900"),
        (" 2016sr172900\n", "2016SR172900"),
        ("2024SR1234567", "2024SR1234567"),
        ("1999SR000001", "1999SR000001"),
    ],
)
def test_software_registration_number_valid(raw: str, expected: str) -> None:
    assert software_registration_number_normalize(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "14SR001852",
        "2014SR12345",
        "2014SR12345678",
        "2014 SR001852",
        "1814SR001852",
        "2014SS001852",
        "2014SR00185A",
        "",
        _fullwidth("2014") + "SR001852",
    ],
)
def test_software_registration_number_invalid(raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as exc_info:
        software_registration_number_normalize(raw)
    assert _code(exc_info) == "software_bad_format"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("软著登字第0671096号", "软著登字第0671096号"),
        ("软著登字第15980140号", "软著登字第15980140号"),
        (" 软著登字第0671096号\u3000", "软著登字第0671096号"),
    ],
)
def test_software_certificate_number_valid(raw: str, expected: str) -> None:
    assert software_certificate_number_normalize(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "软著登字第067109号",
        "软著登字第159801401号",
        "软著登字第 0671096 号",
        "软著登字0671096号",
        "0671096",
        "软著登字第0671096",
        "软著登字第06710A6号",
        "",
    ],
)
def test_software_certificate_number_invalid(raw: str) -> None:
    with pytest.raises(InvalidIdentifier) as exc_info:
        software_certificate_number_normalize(raw)
    assert _code(exc_info) == "software_cert_bad_format"
