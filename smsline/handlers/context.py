"""What a handler is given: the text, its sender as read once, and where replies go."""
from __future__ import annotations

from dataclasses import dataclass, field

from .. import covert, messages, session
from ..commands import Command
from ..line import Line
from ..rendering import fmt_time
from ..session import Reply
from ..store import Sender


@dataclass
class Ctx:
    line: Line
    number: str
    pid: str | None
    person: dict
    cmd: Command
    now: float
    replies: list[str] = field(default_factory=list)
    screen: covert.Screen | None = None
    body: str = ""  # the text as it came in
    sid: str = ""  # its MessageSid, when it came with one
    relayed: int | None = None  # texts its words were passed on in (None: not tried yet)
    words_lang: str | None = None  # the language of this text's words, for its replies only (never stored)

    @property
    def lang(self) -> str:
        return self.words_lang or self.person.get("lang", "en")

    def reply(self, key: str, **fields) -> None:
        f = {"network": self.line.settings.network_name}
        f.update({k: (fmt_time(self.line, v, self.now, self.lang) if k.endswith("_at") else v)
                  for k, v in fields.items()})
        text = messages.render(key, self.lang, **f)
        if text:
            self.replies.append(text)

    def part(self, key: str, **fields) -> str:
        return messages.render(key, self.lang, **fields)

    def replies_from(self, effects: list[Reply]) -> None:
        for e in effects:
            self.reply(e.key, **e.fields)

    @property
    def store(self):
        return self.line.store

    _roles: tuple[bool, bool] | None = None

    def _role_flags(self) -> tuple[bool, bool]:
        """Member and organizer, read together once per text (a JOIN or WIPE calls forget_roles)."""
        if self._roles is None:
            if not self.pid:
                self._roles = (False, False)
            else:
                self._roles = self.store.roles(self.pid)
        return self._roles

    def forget_roles(self) -> None:
        self._roles = None

    _sender: Sender | None = None

    def timer(self) -> session.Timer | None:
        """The sender's timer as it was when the text came in, for the commands that only show it."""
        if self._sender is not None and self._sender.pid == self.pid:
            return self._sender.timer
        return self.store.timer(self.pid)

    @property
    def is_member(self) -> bool:
        return self._role_flags()[0]

    @property
    def is_organizer(self) -> bool:
        return self._role_flags()[1]
