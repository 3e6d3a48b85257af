"""GSM 03.38 default alphabet: which characters a text may use and how long it is."""
from __future__ import annotations

import unicodedata

BASIC = (
    "@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5"
    "\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e\u00c6\u00e6\u00df\u00c9"
    " !\"#\u00a4%&'()*+,-./0123456789:;<=>?"
    "\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7"
    "\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0"
)
EXTENSION = "^{}\\[~]|\u20ac\f"
_BASIC = frozenset(BASIC)
_EXT = frozenset(EXTENSION)

SINGLE = 160
MULTI_PART = 153


def is_gsm7(text: str) -> bool:
    """True when every character of text is in the GSM-7 alphabet or its extension."""
    return all(c in _BASIC or c in _EXT for c in text)


def septets(text: str) -> int:
    """Length in septets: extension characters count two."""
    return len(text) + sum(text.count(c) for c in _EXT if c in text)


def segments(text: str) -> int:
    """How many SMS segments a GSM-7 text takes (UCS-2 texts count 70/67)."""
    if not is_gsm7(text):
        n = len(text.encode("utf-16-le")) // 2
        return 1 if n <= 70 else -(-n // 67)
    n = septets(text)
    return 1 if n <= SINGLE else -(-n // MULTI_PART)


_FOLD = {
    "\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": "-", "\u2014": "-",
    "\u2026": "...", "\u00e1": "a", "\u00ed": "i", "\u00f3": "o", "\u00fa": "u", "\u00c1": "A",
    "\u00cd": "I", "\u00d3": "O", "\u00da": "U", "\u00ea": "e", "\u00e2": "a", "\u00f4": "o",
    "\u00e7": "c", "\u00a0": " ",
}


def fold(text: str) -> str:
    """Text that people wrote (notes, aliases), made GSM-7 so a forwarded text stays one encoding."""
    out = []
    for c in unicodedata.normalize("NFC", text):
        if c in _BASIC or c in _EXT:
            out.append(c)
        elif c in _FOLD:
            out.append(_FOLD[c])
        else:
            out.append("?" if not c.isspace() else " ")
    return "".join(out)
