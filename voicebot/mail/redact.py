"""Redaction of what is mailed (``mail.redact``): email addresses, phone
numbers and IBAN-like account numbers in the summary, decisions, action
items, attachments and transcript are replaced by a marker.

It errs on the side of hiding: a long run of digits that looks like a phone
number is hidden even when it was an amount. Dates (2026-11-24, 24/11/2026)
and clock times are kept. What a person said in words ("zero six twelve...")
cannot be recognized and is not hidden.
"""

from __future__ import annotations

import re

EMAIL_MARK = "[email]"
PHONE_MARK = "[phone]"
IBAN_MARK = "[IBAN]"

_EMAIL_RE = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
# Two letters, two check digits, then 11 to 30 letters/digits: written in one run, or in
# groups of four separated by spaces or dashes (the last group shorter).
_IBAN_RE = re.compile(r"\b[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?:[ \-][A-Z0-9]{4}){2,7}(?:[ \-][A-Z0-9]{1,3})?)\b",
                      re.IGNORECASE)
# A phone number: optional +country, digits in groups separated by spaces, dots, dashes or
# parentheses; at least 9 digits in all so dates (8 digits) and times stay.
_PHONE_RE = re.compile(r"(?<![\w+])(?:\+|00)?\(?\d[\d\s().\-/]{6,}\d(?![\w])")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$|^\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}$")


def _phone(match: re.Match) -> str:
    text = match.group(0)
    digits = sum(c.isdigit() for c in text)
    if digits < 9 or digits > 15 or _DATE_RE.match(text.strip()):
        return text
    if "\n" in text:  # numbers on separate lines are not one phone number
        return text
    return PHONE_MARK


def _iban(match: re.Match) -> str:
    text = match.group(0)
    compact = re.sub(r"[ \-]", "", text)
    # An IBAN has digits after the check digits; a word like "AB12CDEFGHIJKLM" is not one.
    if 15 <= len(compact) <= 34 and sum(c.isdigit() for c in compact[4:]) >= 6:
        return IBAN_MARK
    return text


def redact(text: str) -> str:
    """``text`` with emails, IBAN-like numbers and phone numbers replaced by markers."""
    if not text:
        return text
    text = _EMAIL_RE.sub(EMAIL_MARK, text)
    text = _IBAN_RE.sub(_iban, text)
    return _PHONE_RE.sub(_phone, text)
