"""Redis clients: every URL form of SPEC section 14, or the embedded server.

- ``redis://[user:password@]host:port/DB`` and ``rediss://…`` (TLS, with
  redis-py's ``ssl_*`` query parameters: ``ssl_ca_certs``, ``ssl_certfile``,
  ``ssl_keyfile``, ``ssl_cert_reqs``, …);
- ``redis+sentinel://[user:password@]host:port[,host:port…]/SERVICE[/DB]``
  (``rediss+sentinel://`` for TLS to the sentinels and the primary): the
  client asks the sentinels for the primary on every new connection, so a
  failover is followed by itself. The user and password are the primary's;
  ``sentinel_username`` / ``sentinel_password`` query parameters are the
  sentinels' own, when they require one;
- ``memory://``: the embedded fakeredis, in this process only; every client
  made for it in one process shares it, so the broker and the store see the
  same data.

Every real client retries a command that met a lost connection or a
timeout, with back-off (``RETRY``): a command in flight at a failover fails
and runs again on the new primary. Everything sent through these clients is
safe to run twice (batches, scripts and claims are idempotent). A wrong
password is not retried.

A URL may hold a password: print it only through ``redact``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import redis
from redis.backoff import EqualJitterBackoff
from redis.connection import URL_QUERY_ARGUMENT_PARSERS, SSLConnection
from redis.exceptions import AuthenticationError, AuthorizationError
from redis.retry import Retry
from redis.sentinel import Sentinel

MEMORY_URL = "memory://"
SENTINEL_SCHEMES = {"redis+sentinel": False, "rediss+sentinel": True}  # scheme -> TLS
PLAIN_SCHEMES = ("redis", "rediss", "unix")
_embedded: Any = None  # the process's fakeredis.FakeServer, made on first use

# Query parameters a URL may carry: redis-py's connection options (TLS ones
# included) and ours for the sentinels. Anything else is a typo, refused
# before it becomes a TypeError on the first command.
_SENTINEL_AUTH = ("sentinel_username", "sentinel_password")
_QUERY = (
    set(URL_QUERY_ARGUMENT_PARSERS)
    | {n for n in inspect.signature(SSLConnection.__init__).parameters if n.startswith("ssl_")}
    | {"client_name", *_SENTINEL_AUTH}
)
_SECRET_QUERY = ("password", "sentinel_password", "ssl_password")


class EmbeddedUnavailable(RuntimeError):
    def __init__(self) -> None:
        super().__init__(
            "the embedded Redis needs fakeredis: pip install 'subcycle[embedded]' "
            "(make demo and make test install it)"
        )


class BadRedisUrl(ValueError):
    """A Redis URL this module cannot use; the message never holds a password."""


class _Retry(Retry):
    """redis-py's Retry, except that a refused password or user is final:
    retrying it only delays the one-line error an operator needs."""

    def call_with_retry(
        self, do: Any, fail: Any, is_retryable: Any = None, with_failure_count: bool = False
    ) -> Any:
        def retryable(error: Exception) -> bool:
            if isinstance(error, AuthenticationError | AuthorizationError):
                return False
            return is_retryable is None or bool(is_retryable(error))

        return super().call_with_retry(do, fail, retryable, with_failure_count)


def retry_policy() -> Retry:
    """About 3–6 s of retries (back-off 50 ms doubling to 1 s, jittered):
    enough for a dropped connection or a sentinel's quick promotion; a
    longer outage surfaces as an error (exit 1, HTTP 503) and the workers'
    own recovery takes over (workers/transport/recovery.py)."""
    return _Retry(EqualJitterBackoff(cap=1.0, base=0.05), retries=10)


def is_embedded(url: str) -> bool:
    return url.startswith(MEMORY_URL)


def is_sentinel(url: str) -> bool:
    return url.partition("://")[0].lower() in SENTINEL_SCHEMES


def redact(url: str) -> str:
    """``url`` fit to print: the password (user-info or query) replaced by ``***``."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url if "@" not in url else "***"
    authority, slash, tail = rest.partition("/")
    if "@" in authority:
        userinfo, _, hosts = authority.rpartition("@")
        user, colon, _ = userinfo.partition(":")
        authority = f"{user}:***@{hosts}" if colon else f"***@{hosts}"
    if "?" in tail:
        path, _, query = tail.partition("?")
        pairs = []
        for pair in query.split("&"):
            name, eq, _ = pair.partition("=")
            pairs.append(f"{name}=***" if eq and name in _SECRET_QUERY else pair)
        tail = path + "?" + "&".join(pairs)
    return f"{scheme}://{authority}{slash}{tail}"


@dataclass(frozen=True)
class SentinelUrl:
    """What a ``redis+sentinel://`` URL says."""

    sentinels: list[tuple[str, int]]
    service: str
    db: int = 0
    tls: bool = False
    # For the primary's connections: username, password, ssl_*, socket_*, …
    primary: dict[str, Any] = field(default_factory=dict)
    # For the sentinels' connections (their own auth; TLS and timeouts shared).
    sentinel: dict[str, Any] = field(default_factory=dict)


def parse_sentinel_url(url: str) -> SentinelUrl:
    """``redis+sentinel://[user:password@]host:port[,host:port…]/SERVICE[/DB][?query]``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in SENTINEL_SCHEMES:
        raise BadRedisUrl(f"not a sentinel URL: {redact(url)}")
    tls = SENTINEL_SCHEMES[scheme]
    userinfo, _, hostlist = parts.netloc.rpartition("@")
    sentinels = [_host_port(item, url) for item in hostlist.split(",")]
    path = [unquote(p) for p in parts.path.split("/") if p]
    if not path or len(path) > 2:
        raise BadRedisUrl(
            f"{redact(url)}: the path must be /SERVICE or /SERVICE/DB "
            "(the name the sentinels monitor the primary by)"
        )
    service = path[0]
    db = _db(path[1], url) if len(path) == 2 else 0
    primary = _query(parts.query, url)
    sentinel_auth = {
        k.removeprefix("sentinel_"): primary.pop(k) for k in _SENTINEL_AUTH if k in primary
    }
    if "db" in primary:
        db = _db(str(primary.pop("db")), url)
    if userinfo:
        user, colon, password = userinfo.partition(":")
        if user:
            primary["username"] = unquote(user)
        if colon:
            primary["password"] = unquote(password)
    # The sentinels share TLS and timeouts with the primary, not its auth.
    shared = {k: v for k, v in primary.items() if k.startswith(("ssl_", "socket_"))}
    shared.setdefault("socket_connect_timeout", 2.0)
    shared.setdefault("socket_timeout", 2.0)
    if tls:
        shared["ssl"] = True
    return SentinelUrl(sentinels, service, db, tls, primary, shared | sentinel_auth)


def _host_port(item: str, url: str) -> tuple[str, int]:
    host, colon, port = item.strip().rpartition(":")
    if not colon:
        host, port = port, "26379"
    host = host.strip("[]")  # an IPv6 address in brackets
    if not host or not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
        raise BadRedisUrl(f"{redact(url)}: {item!r} is not host:port")
    return host, int(port)


def _db(text: str, url: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise BadRedisUrl(f"{redact(url)}: the database must be a number, not {text!r}")
    return int(text)


def _query(query: str, url: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name not in _QUERY:
            raise BadRedisUrl(f"{redact(url)}: unknown query parameter {name!r}")
        parser: Any = URL_QUERY_ARGUMENT_PARSERS.get(name)
        try:
            options[name] = parser(value) if parser else value
        except (TypeError, ValueError):
            raise BadRedisUrl(f"{redact(url)}: bad value for {name!r}") from None
    return options


def _common(decode: bool) -> dict[str, Any]:
    return {
        "decode_responses": decode,
        "health_check_interval": 10,
        "socket_keepalive": True,
        "socket_connect_timeout": 5.0,
        "retry": retry_policy(),
    }


def connect(url: str, *, decode: bool = False) -> redis.Redis:
    """A client for ``url``. Building it does not connect; the first command
    does. A URL this module cannot use raises ``BadRedisUrl``."""
    global _embedded
    if is_embedded(url):
        try:
            import fakeredis  # the demo's extra, not production's
        except ImportError:
            raise EmbeddedUnavailable() from None
        if _embedded is None:
            _embedded = fakeredis.FakeServer()
        client: redis.Redis = fakeredis.FakeRedis(server=_embedded, decode_responses=decode)
        return client
    if is_sentinel(url):
        return _sentinel_client(parse_sentinel_url(url), decode)
    scheme = url.partition("://")[0].lower()
    if scheme not in PLAIN_SCHEMES:
        raise BadRedisUrl(
            f"{redact(url)}: a Redis URL starts with redis://, rediss://, unix://, "
            "redis+sentinel://, rediss+sentinel:// (or memory:// for the demo)"
        )
    _query(urlsplit(url).query, url)  # refuse a typo now, not at the first command
    try:
        return redis.Redis.from_url(url, **_common(decode))
    except ValueError as e:  # redis-py's own words never hold the URL
        raise BadRedisUrl(f"{redact(url)}: {e}") from None


def _sentinel_client(parsed: SentinelUrl, decode: bool) -> redis.Redis:
    sentinel = Sentinel(parsed.sentinels, sentinel_kwargs=parsed.sentinel)  # type: ignore[no-untyped-call]
    options = _common(decode) | parsed.primary
    if parsed.tls:
        options["ssl"] = True
    client: redis.Redis = sentinel.master_for(  # type: ignore[no-untyped-call]
        parsed.service, redis_class=redis.Redis, db=parsed.db, **options
    )
    return client
