"""Sessions, CSRF tokens, login throttling and the session secret of the portal."""

from __future__ import annotations

import hmac
import os
import secrets
import time
from collections import deque
from pathlib import Path

from starlette.requests import Request

from pm4ml.config import Settings

SECRET_FILE = "ops-session.key"  # noqa: S105 (a file name, not a secret)
LOGIN_FAILURES_MAX = 5
LOGIN_FAILURE_WINDOW_SECONDS = 900.0


def session_secret(settings: Settings) -> str:
    """The configured secret, or one generated once and kept (mode 0600) in the data dir."""
    if settings.ops_session_secret is not None:
        return settings.ops_session_secret.get_secret_value()
    path: Path = settings.data_dir / SECRET_FILE
    if path.is_file():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    secret = secrets.token_urlsafe(48)
    # O_EXCL: two processes starting at once must not overwrite each other's key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as file:
        file.write(secret)
    return secret


def csrf_token(request: Request) -> str:
    """This session's CSRF token, created on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_valid(request: Request, submitted: object) -> bool:
    expected = request.session.get("csrf")
    return (
        isinstance(expected, str)
        and isinstance(submitted, str)
        and hmac.compare_digest(expected.encode(), submitted.encode())
    )


class LoginThrottle:
    """Refuses sign-in for a key (a username, an address) after too many recent failures."""

    def __init__(
        self,
        failures_max: int = LOGIN_FAILURES_MAX,
        window_seconds: float = LOGIN_FAILURE_WINDOW_SECONDS,
    ) -> None:
        self.failures_max = failures_max
        self.window_seconds = window_seconds
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and times[0] <= now - self.window_seconds:
            times.popleft()
        return times

    def blocked(self, key: str) -> bool:
        return len(self._recent(key, time.monotonic())) >= self.failures_max

    def failed(self, key: str) -> None:
        now = time.monotonic()
        self._recent(key, now).append(now)

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)
