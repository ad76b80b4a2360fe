"""The ``http`` gateway: POST each message as JSON to the SMS/voice provider.

The message id travels as the ``Idempotency-Key`` header, so a message sent
again after a crash between the provider's answer and our record of it is
delivered once by the provider. What the answer means for us:

- 2xx: accepted;
- 5xx, 429, a timeout or a connection failure: ``TemporaryFailure``, the
  actor retries it with back-off;
- a redirect (3xx) is never followed (it would turn the POST into a GET to
  another host, carrying the token) and, with any other status, is a
  ``PermanentFailure``, which the actor dead-letters.

The provider is outside the trust boundary (SPEC section 11): of its answer
we keep only the HTTP status and its error code (a short token from the
JSON body), never its text, which may quote the message (and so a code).
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from workers.gateway.base import OutgoingMessage, PermanentFailure, TemporaryFailure

_ERROR_CODE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_CODE_FIELDS = ("code", "error_code", "errorCode", "error", "reason")
MAX_ERROR_BODY = 16_384


@dataclass(frozen=True)
class HttpGatewayConfig:
    url: str
    token: str | None = field(default=None, repr=False)
    timeout_s: float = 5.0
    # Development only: a plain http:// provider (a local fake, say).
    allow_plain_http: bool = False


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


class HttpGateway:
    def __init__(self, config: HttpGatewayConfig) -> None:
        schemes = ("https://", "http://") if config.allow_plain_http else ("https://",)
        if not config.url.startswith(schemes):
            raise ValueError(f"gateway_url: must be an {' or '.join(schemes)} URL")
        self._config = config
        self._opener = urllib.request.build_opener(_NoRedirects())

    def send(self, message: OutgoingMessage, sent_at: datetime) -> None:
        body = {
            "message_id": message.message_id,
            "to": message.to,
            "channel": message.channel,
            "kind": message.kind,
            "locale": message.locale,
            "text": message.text,
            "sent_at": sent_at.isoformat(),
        }
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": message.message_id,
        }
        if self._config.token:
            headers["Authorization"] = f"Bearer {self._config.token}"
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            self._config.url,
            data=json.dumps(body, ensure_ascii=False).encode(),
            headers=headers,
            method="POST",
        )
        try:
            with self._opener.open(request, timeout=self._config.timeout_s) as answer:
                answer.read(MAX_ERROR_BODY)
        except urllib.error.HTTPError as e:
            raise _failure(e.code, _error_code(e)) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
            reason = getattr(e, "reason", e)
            raise TemporaryFailure(f"provider unreachable: {type(reason).__name__}") from None


def _failure(status: int, code: str | None) -> TemporaryFailure | PermanentFailure:
    said = f"HTTP {status}" + (f" ({code})" if code else "")
    if status >= 500 or status == 429:
        return TemporaryFailure(f"provider answered {said}")
    if 300 <= status < 400:
        return PermanentFailure(f"{said}: redirect not followed")
    return PermanentFailure(said)


def _error_code(error: urllib.error.HTTPError) -> str | None:
    """The provider's error code, when its body names one as a short token."""
    try:
        raw = json.loads(error.read(MAX_ERROR_BODY))
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict):
        return None
    for name in _CODE_FIELDS:
        value = raw.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and _ERROR_CODE.fullmatch(value):
            return value
    return None
