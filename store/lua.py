"""The store's Lua scripts, one ``.lua`` file each in ``store/scripts/``."""

from __future__ import annotations

import hashlib
from importlib import resources
from typing import Any

import redis
from redis.exceptions import NoScriptError, ResponseError


def script(name: str) -> str:
    return (resources.files("store") / "scripts" / f"{name}.lua").read_text()


class ReadOnlyScript:
    """A script that only reads, run by ``EVALSHA_RO`` (Redis ≥ 7.0): ACL
    lets a user with read-only key patterns (the API, the operator view,
    deploy/redis/users.acl) name keys to it, which ``EVALSHA`` does not.
    Where the server has no ``EVALSHA_RO`` (fakeredis, an older Redis) it
    runs by ``EVALSHA``."""

    def __init__(self, client: redis.Redis, text: str) -> None:
        self._r = client
        self._text = text
        self.sha = hashlib.sha1(text.encode()).hexdigest()  # noqa: S324 (Redis names scripts by SHA-1)
        self._command = "EVALSHA_RO"

    def run_many(self, calls: list[tuple[list[str], list[Any]]]) -> list[Any]:
        """One round trip for every ``(keys, args)`` call, replies in order."""
        for _ in range(3):
            with self._r.pipeline(transaction=False) as pipe:
                for keys, args in calls:
                    pipe.execute_command(self._command, self.sha, len(keys), *keys, *args)  # type: ignore[no-untyped-call]
                replies: list[Any] = pipe.execute(raise_on_error=False)
            errors = [r for r in replies if isinstance(r, Exception)]
            if any(isinstance(e, NoScriptError) for e in errors):
                self._r.script_load(self._text)
            elif self._command == "EVALSHA_RO" and any(_unknown(e) for e in errors):
                self._command = "EVALSHA"
            elif errors:
                raise errors[0]
            else:
                return replies
        raise NoScriptError(f"script {self.sha} could not be run")


def _unknown(error: Exception) -> bool:
    return isinstance(error, ResponseError) and "unknown command" in str(error).lower()
