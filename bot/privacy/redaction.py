"""Finds CPR numbers, Danish phone numbers and e-mail addresses and replaces them with placeholders.

CPR: ddmmyy-xxxx with or without the hyphen (or a space), only when ddmmyy is a real date, so
"120385-1234" is caught and "123456" or "999999-1234" are not. Phone: 8 digits, optionally after +45 or
0045, in blocks of two or four, or written together. E-mail: the usual local@domain.tld.
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

CPR = re.compile(r"(?<![\d-])(\d{2})(\d{2})(\d{2})[- ]?(\d{4})(?![\d-])")
PHONE = re.compile(r"(?<![\d+])(?:(?:\+|00)45[ -]?)?(?:\d{2}[ -]?\d{2}[ -]?\d{2}[ -]?\d{2}|\d{4}[ -]\d{4})(?![\d-])")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PLACEHOLDERS = {"cpr": "[CPR-nummer fjernet]", "phone": "[telefonnummer fjernet]", "email": "[e-mail fjernet]"}


def _valid_date(day: str, month: str, year: str) -> bool:
    for century in (1900, 2000):
        try:
            dt.date(century + int(year), int(month), int(day))
            return True
        except ValueError:
            continue
    return False


def redact(text: str) -> tuple[str, set[str]]:
    """The text with personal numbers and addresses replaced, and the kinds found."""
    found: set[str] = set()

    def cpr(match: re.Match) -> str:
        if not _valid_date(match.group(1), match.group(2), match.group(3)):
            return match.group(0)
        found.add("cpr")
        return PLACEHOLDERS["cpr"]

    def replace(kind: str):
        def substitute(_match: re.Match) -> str:
            found.add(kind)
            return PLACEHOLDERS[kind]
        return substitute

    text = CPR.sub(cpr, text)
    text = EMAIL.sub(replace("email"), text)
    text = PHONE.sub(replace("phone"), text)
    return text, found


def redact_value(value: Any) -> Any:
    """Every string inside a JSON-like value redacted (event dicts: text, parse_data, entities, slots)."""
    if isinstance(value, str):
        return redact(value)[0]
    if isinstance(value, dict):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v) for v in value]
    return value
