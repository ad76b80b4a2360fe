"""The ``http`` gateway: POST each message as JSON to the SMS/voice provider.

The message id travels as the ``Idempotency-Key`` header, so a message sent
again after a crash between the provider's answer and our record of it is
delivered once by the provider. What the answer means for us:

- 2xx: accepted;
- 5xx, 429, a timeout or a connection failure: ``TemporaryFailure``, the
  actor retries it with back-off;
- any other status: ``PermanentFailure`` with the provider's reason, which
  the actor dead-letters.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime

from workers.gateway.base import OutgoingMessage, PermanentFailure, TemporaryFailure

MAX_REASON = 300


@dataclass(frozen=True)
class HttpGatewayConfig:
    url: str
    token: str | None = None
    timeout_s: float = 5.0


class HttpGateway:
    def __init__(self, config: HttpGatewayConfig) -> None:
        if not config.url.startswith(("https://", "http://")):
            raise ValueError("gateway_url: must be an http(s) URL")
        self._config = config

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
        request = urllib.request.Request(  # noqa: S310 - the URL is checked to be http(s)
            self._config.url,
            data=json.dumps(body, ensure_ascii=False).encode(),
            headers=headers,
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self._config.timeout_s) as answer:  # noqa: S310
                answer.read()
        except urllib.error.HTTPError as e:
            reason = _reason(e)
            if e.code >= 500 or e.code == 429:
                raise TemporaryFailure(f"provider answered {e.code}: {reason}") from e
            raise PermanentFailure(f"HTTP {e.code}: {reason}") from e
        except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
            raise TemporaryFailure(f"provider unreachable: {e}") from e


def _reason(error: urllib.error.HTTPError) -> str:
    """The provider's own words: a JSON ``reason``/``error``/``message``, or the body."""
    try:
        text = error.read().decode("utf-8", "replace").strip()
    except OSError:
        text = ""
    try:
        raw = json.loads(text)
    except ValueError:
        raw = None
    if isinstance(raw, dict):
        for field in ("reason", "error", "message", "detail"):
            value = raw.get(field)
            if isinstance(value, str):
                return value[:MAX_REASON]
    return (text or str(error.reason))[:MAX_REASON]
