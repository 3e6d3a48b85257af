"""Every command the parser can name has exactly one entry in the registry, and each entry holds together."""
from __future__ import annotations

import pytest

from smsline import messages
from smsline.commands import PARSERS, parse
from smsline.handlers.registry import ANY, COMMANDS, MEMBER, ORGANIZER

# Texts that name what no keyword does: the parser's own readings of loose words.
LOOSE = ["", "hello", "ok", "ok?", "ok thanks", "I'm fine", "todo bien", "30 min", "STOP", "UNSTOP", "START",
         "safe", "SOS!", "sso", "voy", "ya", "on my way"]


def _names() -> set[str]:
    texts = LOOSE + [w for w in PARSERS] + [f"{w} 30" for w in PARSERS] + [f"{w} +14155550100 Ann" for w in PARSERS]
    return {parse(t).name for t in texts}


def test_every_parsed_command_has_an_entry():
    """No text a person can type reaches a command the registry does not know."""
    assert _names() - set(COMMANDS) == set()


def test_every_entry_is_a_command_the_parser_names():
    """No entry is left over for a command nobody can type."""
    assert set(COMMANDS) - _names() == set()


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_an_entry_holds_together(name):
    """Its name is its key, who may use it is one of three, and its usage text exists in every language."""
    s = COMMANDS[name]
    assert s.name == name
    assert s.who in (ANY, MEMBER, ORGANIZER)
    assert callable(s.handler)
    if s.usage:
        for lang in messages.LANGS:
            assert messages.render(s.usage, lang)
    if s.guard_when is not None:
        assert s.guarded


def test_extend_is_declared_once():
    """EXTEND: guarded, usable by anyone whose timer runs, with its usage text, in one entry."""
    s = COMMANDS["EXTEND"]
    assert (s.guarded, s.timer_owner, s.usage, s.who) == (True, True, "extend_usage", MEMBER)
