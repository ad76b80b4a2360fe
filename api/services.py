"""What the API's routes call: the same publisher, store, codes and dead
letters as the CLI, built once per process (subcycle/bootstrap.py)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from subcycle.bootstrap import Core, codes, publisher
from workers.dead_letters import DeadLetters
from workers.otp import Otp
from workers.publisher import Publisher


@dataclass(frozen=True)
class Services:
    core: Core
    publisher: Publisher
    codes: Otp
    dead_letters: DeadLetters

    @classmethod
    def of(cls, core: Core) -> Services:
        sender = publisher(core)
        return cls(
            core,
            sender,
            codes(core),
            DeadLetters(core.store, sender, core.settings.queue_namespace),
        )


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found
