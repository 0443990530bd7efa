"""Validation and normalisation of the public identifiers the registry stores.

Pure standard-library code: no Django, no database, no network.

* Unified Social Credit Code (GB 32100-2015): 18 characters over the 31-symbol
  alphabet ``0-9ABCDEFGHJKLMNPQRTUWXY``; weights 3^(i-1) mod 31 on positions
  1-17, check = (31 - sum mod 31) mod 31 mapped back to the alphabet.
* CNIPA patent application numbers: since 1 October 2003 year(4) + kind(1) +
  serial(7), before that year(2) + kind(1) + serial(5), then ``.`` and a check
  character: weights 2..9 cycling from the left, sum mod 11, 10 -> ``X``.
* Trademark registration numbers carry no check digit (1-9 decimal digits);
  Nice classes run from 1 to 45.
* Software copyright: registration number ``YYYYSR`` + 6 or 7 digit serial,
  certificate number ``软著登字第NNNNNNN号`` (7 or 8 digits); no check digit.

Every failure raises :class:`InvalidIdentifier`, a ``ValueError`` whose message
is an English sentence for a person and whose ``code`` is a stable snake_case
token for machines. The sentence is also kept as a template with named
placeholders (``exc.template``, ``exc.params``), marked for extraction with the
local ``gettext_noop``, so the Django side (registry/validators.py
``identifier_message``) can give it in the request's language.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final
from zoneinfo import ZoneInfo

_CHINA = ZoneInfo("Asia/Shanghai")

__all__ = [
    "PATENT_KINDS",
    "USCC_ALPHABET",
    "USCC_AUTHORITY_CODES",
    "USCC_WEIGHTS",
    "InvalidIdentifier",
    "PatentNumber",
    "nice_class_validate",
    "patent_check_char",
    "patent_number_build",
    "patent_number_is_valid",
    "patent_number_parse",
    "software_certificate_number_normalize",
    "software_registration_number_normalize",
    "trademark_number_normalize",
    "uscc_build",
    "uscc_check_char",
    "uscc_is_valid",
    "uscc_normalize",
    "uscc_region",
]


def gettext_noop(message: str) -> str:
    """Mark ``message`` for makemessages (which knows this name) without importing Django."""
    return message


class InvalidIdentifier(ValueError):
    """An identifier that fails its format or check-character rule.

    ``str(exc)`` is a sentence meant for a person; ``exc.code`` is a stable
    snake_case token (e.g. ``uscc_bad_check``) meant for API clients.
    ``exc.template`` and ``exc.params`` give the sentence before its
    ``%(name)s`` placeholders are filled, for translation.
    """

    def __init__(self, message: str, *, code: str, params: Mapping[str, object] | None = None) -> None:
        self.template: str = message
        self.params: dict[str, object] = dict(params or {})
        text = message % self.params if self.params else message
        super().__init__(text)
        self.message: str = text
        self.code: str = code

    def __reduce__(self) -> tuple[object, ...]:
        # Keep the exception picklable despite the keyword-only ``code``.
        return (_rebuild_invalid_identifier, (self.template, self.code, self.params))


def _rebuild_invalid_identifier(
    message: str, code: str, params: Mapping[str, object] | None = None
) -> InvalidIdentifier:
    return InvalidIdentifier(message, code=code, params=params)


def _ascii_text(raw: object, *, code: str, what: str) -> str:
    """Return ``raw`` stripped of surrounding whitespace, refusing non-ASCII text.

    Refusing non-ASCII before upper-casing matters: some Unicode characters
    upper-case to several ASCII letters (``"ﬀ".upper() == "FF"``).
    """
    if not isinstance(raw, str):
        raise InvalidIdentifier(gettext_noop("The %(what)s must be given as text."), code=code, params={"what": what})
    text = raw.strip()
    for char in text:
        if not char.isascii():
            raise InvalidIdentifier(
                gettext_noop(
                    "The %(what)s contains the character %(char)s, which is not allowed; "
                    "use plain (half-width) letters and digits."
                ),
                code=code,
                params={"what": what, "char": repr(char)},
            )
    return text


# --------------------------------------------------------------------------
# Unified Social Credit Code (GB 32100-2015)
# --------------------------------------------------------------------------

USCC_ALPHABET: Final[str] = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_AUTHORITY_CODES: Final[str] = "123456789ABCDEFGY"
USCC_WEIGHTS: Final[tuple[int, ...]] = tuple(pow(3, i, 31) for i in range(17))
_USCC_VALUE: Final[dict[str, int]] = {c: v for v, c in enumerate(USCC_ALPHABET)}
_USCC_WHAT: Final[str] = gettext_noop("unified social credit code")


def _uscc_text(raw: object) -> str:
    text = _ascii_text(raw, code="uscc_bad_character", what=_USCC_WHAT)
    if any(char.isspace() for char in text):
        raise InvalidIdentifier(
            gettext_noop("The unified social credit code must not contain spaces."),
            code="uscc_bad_character",
        )
    return text.upper()


def _uscc_bad_symbol(char: str, position: int) -> InvalidIdentifier:
    if char in "IOSVZ":
        message = gettext_noop(
            "The character %(char)s at position %(position)s is not allowed; "
            "the letters I, O, S, V and Z never appear in the code."
        )
    else:
        message = gettext_noop(
            "The character %(char)s at position %(position)s is not allowed; "
            "only digits and the letters ABCDEFGHJKLMNPQRTUWXY are used."
        )
    return InvalidIdentifier(message, code="uscc_bad_character", params={"char": repr(char), "position": position})


def _uscc_check_alphabet(text: str) -> None:
    for position, char in enumerate(text, start=1):
        if char not in _USCC_VALUE:
            raise _uscc_bad_symbol(char, position)


def _uscc_check_char(body17: str) -> str:
    total = sum(_USCC_VALUE[c] * w for c, w in zip(body17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def _uscc_check_positions(body17: str) -> None:
    if body17[0] not in USCC_AUTHORITY_CODES:
        raise InvalidIdentifier(
            gettext_noop(
                "The first character %(char)s is not a registration authority code; it must be one of %(codes)s."
            ),
            code="uscc_bad_character",
            params={"char": repr(body17[0]), "codes": ", ".join(USCC_AUTHORITY_CODES)},
        )
    for position in range(3, 9):
        if not body17[position - 1].isdigit():
            raise InvalidIdentifier(
                gettext_noop(
                    "Positions 3 to 8 hold the administrative division code and must be "
                    "digits, but position %(position)s is %(char)s."
                ),
                code="uscc_bad_character",
                params={"position": position, "char": repr(body17[position - 1])},
            )


def uscc_check_char(body17: str) -> str:
    """Return the GB 32100-2015 check character for the first 17 characters.

    Only the length and the alphabet are checked here (lower case is accepted);
    the positional rules are applied by :func:`uscc_normalize`.
    """
    body = _uscc_text(body17)
    if len(body) != 17:
        raise InvalidIdentifier(
            gettext_noop("The body of a unified social credit code has 17 characters, not %(n)s."),
            code="uscc_bad_length",
            params={"n": len(body)},
        )
    _uscc_check_alphabet(body)
    return _uscc_check_char(body)


def uscc_normalize(raw: str) -> str:
    """Return the code upper-cased without surrounding whitespace, or raise.

    Rules: 18 characters from ``USCC_ALPHABET``; position 1 in
    ``USCC_AUTHORITY_CODES`` (letters such as ``Y`` or ``A`` are legal);
    position 2 any alphabet symbol; positions 3-8 digits; positions 9-17 any
    alphabet symbol; position 18 the check character. Inner spaces are refused.
    """
    code = _uscc_text(raw)
    if len(code) != 18:
        raise InvalidIdentifier(
            gettext_noop("A unified social credit code has 18 characters; this one has %(n)s."),
            code="uscc_bad_length",
            params={"n": len(code)},
        )
    _uscc_check_alphabet(code)
    _uscc_check_positions(code[:17])
    expected = _uscc_check_char(code[:17])
    if code[17] != expected:
        raise InvalidIdentifier(
            gettext_noop("The check character should be %(expected)s, not %(given)s."),
            code="uscc_bad_check",
            params={"expected": expected, "given": code[17]},
        )
    return code


def uscc_is_valid(raw: str) -> bool:
    """Whether ``raw`` is a valid unified social credit code (after normalising)."""
    try:
        uscc_normalize(raw)
    except InvalidIdentifier:
        return False
    return True


def uscc_build(body17: str) -> str:
    """Append the check character to a 17-character body (for demo data).

    The body must satisfy every positional rule; the result is normalised.
    """
    return uscc_normalize(_uscc_text(body17) + uscc_check_char(body17))


def uscc_region(code: str) -> str:
    """Return the administrative division code (positions 3-8) of a valid code."""
    return uscc_normalize(code)[2:8]


# --------------------------------------------------------------------------
# CNIPA patent application numbers
# --------------------------------------------------------------------------

PATENT_KINDS: Final[dict[str, str]] = {
    "1": "invention",
    "2": "utility_model",
    "3": "design",
    "8": "pct_invention",
    "9": "pct_utility_model",
}
_PATENT_TYPE_BY_KIND: Final[dict[str, str]] = {
    "invention": "invention",
    "utility_model": "utility_model",
    "design": "design",
    "pct_invention": "invention",
    "pct_utility_model": "utility_model",
}
_PATENT_WEIGHTS: Final[tuple[int, ...]] = (2, 3, 4, 5, 6, 7, 8, 9)
_PATENT_FIRST_YEAR: Final[int] = 2003  # 12-digit numbers from 1 October 2003
_PATENT_OLD_FIRST_YEAR: Final[int] = 1985  # Patent Law in force 1 April 1985
_PATENT_EXAMPLE: Final[str] = "202110123456.7"

# After removing an optional CN/ZL prefix: groups separated by at most one
# space, an optional dot, then the check character. 12+1 and 8+1 characters
# cannot be confused, so a missing dot is unambiguous.
_PATENT_PREFIX_RE: Final[re.Pattern[str]] = re.compile(r"(?:CN|ZL) ?")
_PATENT_NEW_RE: Final[re.Pattern[str]] = re.compile(r"([0-9]{4}) ?([0-9]) ?([0-9]{7}) ?\.? ?([0-9X])")
_PATENT_OLD_RE: Final[re.Pattern[str]] = re.compile(r"([0-9]{2}) ?([0-9]) ?([0-9]{5}) ?\.? ?([0-9X])")
_PATENT_NO_CHECK_RE: Final[re.Pattern[str]] = re.compile(
    r"[0-9]{4} ?[0-9] ?[0-9]{7} ?\.?|[0-9]{2} ?[0-9] ?[0-9]{5} ?\.?"
)


@dataclass(frozen=True)
class PatentNumber:
    """A parsed CNIPA application number.

    ``digits`` has 12 digits (8 before October 2003), ``check`` is ``0``-``9``
    or ``X``, ``year`` is the four-digit filing year and ``kind`` one of
    ``invention``, ``utility_model``, ``design``, ``pct_invention``,
    ``pct_utility_model``.
    """

    digits: str
    check: str
    year: int | None
    kind: str

    @property
    def normalized(self) -> str:
        """The canonical form, e.g. ``"202110123456.7"`` (no prefix, no spaces)."""
        return f"{self.digits}.{self.check}"

    @property
    def patent_type_default(self) -> str:
        """``invention``, ``utility_model`` or ``design`` (PCT kinds folded in)."""
        return _PATENT_TYPE_BY_KIND[self.kind]


def patent_check_char(digits: str) -> str:
    """Return the check character for 12 (or 8, pre-2003) application digits."""
    if not isinstance(digits, str) or len(digits) not in (8, 12) or not all(c in "0123456789" for c in digits):
        raise InvalidIdentifier(
            gettext_noop(
                "A patent application number has 12 digits (8 before October 2003) before its check character."
            ),
            code="patent_bad_format",
        )
    total = sum(int(d) * _PATENT_WEIGHTS[i % 8] for i, d in enumerate(digits))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def patent_number_parse(raw: str, *, max_year: int | None = None) -> PatentNumber:
    """Parse and verify a CNIPA patent application number.

    Accepted: an optional ``CN`` or ``ZL`` prefix (optionally followed by a
    space), lower case, single spaces between the groups (``2021 1 0123456.7``)
    and surrounding whitespace. The dot before the check character may be
    omitted: with the dot gone the input has 13 or 9 characters, which cannot be
    confused, so the reading stays unambiguous. The check character itself is
    always required.

    The filing year of a 12-digit number must lie in 2003..``max_year``
    (default: next calendar year); an 8-digit number must be from 1985..2003.
    The kind digit must be 1, 2, 3, 8 or 9.

    Error codes: ``patent_bad_format``, ``patent_bad_year``,
    ``patent_bad_kind``, ``patent_bad_check``.
    """
    what = gettext_noop("patent application number")
    text = _ascii_text(raw, code="patent_bad_format", what=what).upper()
    prefix = _PATENT_PREFIX_RE.match(text)
    if prefix is not None:
        text = text[prefix.end() :]

    match = _PATENT_NEW_RE.fullmatch(text) or _PATENT_OLD_RE.fullmatch(text)
    if match is None:
        if _PATENT_NO_CHECK_RE.fullmatch(text):
            message = gettext_noop("The check character is missing; it follows the dot, as in %(example)s.")
        else:
            message = gettext_noop(
                "A patent application number has 12 digits (8 before October 2003), "
                "a dot and a check character, as in %(example)s."
            )
        raise InvalidIdentifier(message, code="patent_bad_format", params={"example": _PATENT_EXAMPLE})

    year_part, kind_digit, serial, check = match.groups()
    digits = year_part + kind_digit + serial

    if len(year_part) == 4:
        year = int(year_part)
        upper = datetime.datetime.now(tz=_CHINA).year + 1 if max_year is None else max_year
        if not _PATENT_FIRST_YEAR <= year <= upper:
            raise InvalidIdentifier(
                gettext_noop(
                    "The filing year %(year)s is not possible; "
                    "12-digit application numbers run from %(first)s to %(last)s."
                ),
                code="patent_bad_year",
                params={"year": year, "first": _PATENT_FIRST_YEAR, "last": upper},
            )
    else:
        two = int(year_part)
        year = 1900 + two if two >= _PATENT_OLD_FIRST_YEAR % 100 else 2000 + two
        if not _PATENT_OLD_FIRST_YEAR <= year <= _PATENT_FIRST_YEAR:
            raise InvalidIdentifier(
                gettext_noop(
                    "An 8-digit application number starts with its filing year (1985 to 2003), "
                    "but %(year)s is not such a year."
                ),
                code="patent_bad_year",
                params={"year": repr(year_part)},
            )

    kind = PATENT_KINDS.get(kind_digit)
    if kind is None:
        raise InvalidIdentifier(
            gettext_noop(
                "The kind digit %(digit)s is unknown; it must be 1 (invention), "
                "2 (utility model), 3 (design), 8 or 9 (PCT national phase)."
            ),
            code="patent_bad_kind",
            params={"digit": kind_digit},
        )

    expected = patent_check_char(digits)
    if check != expected:
        raise InvalidIdentifier(
            gettext_noop("The check character should be %(expected)s, not %(given)s."),
            code="patent_bad_check",
            params={"expected": expected, "given": check},
        )
    return PatentNumber(digits=digits, check=check, year=year, kind=kind)


def patent_number_is_valid(raw: str, *, max_year: int | None = None) -> bool:
    """Whether ``raw`` parses with :func:`patent_number_parse`."""
    try:
        patent_number_parse(raw, max_year=max_year)
    except InvalidIdentifier:
        return False
    return True


def patent_number_build(digits: str) -> str:
    """Return ``digits + '.' + check`` (for demo data).

    The kind digit and the early year bound are verified; the upper year bound
    is not, so the result does not depend on today's date.
    """
    number = f"{digits}.{patent_check_char(digits)}"
    patent_number_parse(number, max_year=9999)
    return number


# --------------------------------------------------------------------------
# Trademarks
# --------------------------------------------------------------------------

_TRADEMARK_RE: Final[re.Pattern[str]] = re.compile(r"[0-9]{1,9}")


def trademark_number_normalize(raw: str) -> str:
    """Return the registration number without surrounding whitespace.

    1 to 9 decimal digits; leading zeros are kept. There is no check digit.
    """
    text = _ascii_text(raw, code="trademark_bad_format", what=gettext_noop("trademark number"))
    if not _TRADEMARK_RE.fullmatch(text):
        raise InvalidIdentifier(
            gettext_noop("A trademark registration number is 1 to 9 digits, with nothing else."),
            code="trademark_bad_format",
        )
    return text


def nice_class_validate(value: int) -> int:
    """Return ``value`` if it is a Nice class (an integer from 1 to 45).

    ``bool`` and non-integers (floats, strings) are refused.
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidIdentifier(
            gettext_noop("A Nice class must be a whole number from 1 to 45."),
            code="nice_class_bad_type",
        )
    if not 1 <= value <= 45:
        raise InvalidIdentifier(
            gettext_noop("There is no Nice class %(value)s; classes run from 1 to 45."),
            code="nice_class_out_of_range",
            params={"value": value},
        )
    return int(value)


# --------------------------------------------------------------------------
# Software copyright
# --------------------------------------------------------------------------

_SOFTWARE_REG_RE: Final[re.Pattern[str]] = re.compile(r"(?:19|20)[0-9]{2}SR[0-9]{6,7}")
_SOFTWARE_CERT_RE: Final[re.Pattern[str]] = re.compile(r"软著登字第[0-9]{7,8}号")


def software_registration_number_normalize(raw: str) -> str:
    """Return the registration number upper-cased and stripped (``2016SR172900``)."""
    what = gettext_noop("software registration number")
    text = _ascii_text(raw, code="software_bad_format", what=what).upper()
    if not _SOFTWARE_REG_RE.fullmatch(text):
        raise InvalidIdentifier(
            gettext_noop(
                "A software registration number is a year, the letters SR and a 6 or 7 digit serial, "
                "as in 2016SR172900."
            ),
            code="software_bad_format",
        )
    return text


def software_certificate_number_normalize(raw: str) -> str:
    """Return the certificate number stripped, e.g. ``软著登字第0671096号``."""
    if not isinstance(raw, str):
        raise InvalidIdentifier(
            gettext_noop("The software certificate number must be given as text."),
            code="software_cert_bad_format",
        )
    text = raw.strip()
    if not _SOFTWARE_CERT_RE.fullmatch(text):
        raise InvalidIdentifier(
            gettext_noop(
                "A software copyright certificate number reads 软著登字第, then 7 or 8 digits, then 号, "
                "as in 软著登字第0671096号."
            ),
            code="software_cert_bad_format",
        )
    return text
