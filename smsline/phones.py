"""Phone numbers: parse to E.164, mask for display and logs, hash for keys."""
from __future__ import annotations

import hashlib
import hmac

import phonenumbers


def normalize(raw: str | None, region: str = "US") -> str | None:
    """E.164 form of a number a person typed, or None when it is not a valid number."""
    if not raw:
        return None
    try:
        parsed = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def mask(number: str | None) -> str:
    """A number shown to others or written to logs: only its last four digits."""
    digits = "".join(c for c in (number or "") if c.isdigit())
    return "..." + digits[-4:] if digits else "..."


def keyed_hash(secret: str, value: str) -> str:
    """HMAC-SHA256 of a normalized identifier, for Redis key names and lookups."""
    return hmac.new(secret.encode(), value.encode(), hashlib.sha256).hexdigest()[:32]
