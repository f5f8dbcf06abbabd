"""Consistency checks on what OCR read: ID checksum (ISO 7064 mod 11-2) and Luhn.

Extractors use these to *choose* between candidate readings, not only to flag them.
"""

from __future__ import annotations

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"


def id_check_char(first17: str) -> str:
    """The 18th character of a resident ID number, from its first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need exactly 17 digits")
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def id_checksum_ok(number: str) -> bool:
    """True when an 18-character ID number's last character matches its checksum."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    return id_check_char(number[:17]) == number[17].upper()


def luhn_ok(number: str) -> bool:
    """Luhn (mod 10) check of a card number given as digits only."""
    if not number.isdigit() or len(number) < 2:
        return False
    total = 0
    for position, char in enumerate(reversed(number)):
        digit = int(char)
        if position % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def luhn_check_digit(partial: str) -> str:
    """The digit that makes ``partial + digit`` pass Luhn (for generators and tests)."""
    for digit in "0123456789":
        if luhn_ok(partial + digit):
            return digit
    raise ValueError("need digits")  # unreachable for digit input
