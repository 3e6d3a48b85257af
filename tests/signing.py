"""What the line, the Twilio stand-in and the tests share: test credentials, Twilio-shaped sids,
X-Twilio-Signature, and a free port."""

from __future__ import annotations

import secrets
import socket
from typing import Mapping

from twilio.request_validator import RequestValidator

TEST_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
TEST_AUTH_TOKEN = "fedcba9876543210" * 2
TEST_FROM_NUMBER = "+15005550006"
TEST_SECRET_KEY = "test-secret-key-not-for-production"
API_VERSION = "2010-04-01"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def new_sid(prefix: str = "SM") -> str:
    """A Twilio-shaped sid: two letters and 32 hex digits."""
    return prefix + secrets.token_hex(16)


def sign(auth_token: str, url: str, params: Mapping[str, str]) -> str:
    """X-Twilio-Signature for a form POST of ``params`` to ``url``."""
    return RequestValidator(auth_token).compute_signature(url, dict(params))

