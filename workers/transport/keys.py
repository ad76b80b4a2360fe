"""Where Dramatiq's Redis broker keeps everything (its ``dispatch.lua``).

For a queue ``q`` in namespace ``ns``: the list ``ns:q`` of ready message
ids and the hash ``ns:q.msgs`` of their bodies; its delay queue ``q.DQ``
(the same two keys under that name); its dead letters, the sorted set
``ns:q.XQ`` (scored by when) and the hash ``ns:q.XQ.msgs``; every worker's
set ``ns:__acks__.<worker>.<q>`` of fetched, unacked ids; and the sorted
set ``ns:__heartbeats__`` of workers by their last beat. Ours beside them:
``ns:__consumers__.<q>``, the workers that consume ``q`` by their last beat
(recovery.py), so a queue's live workers can be counted.
"""

from __future__ import annotations

from dataclasses import dataclass

from dramatiq.common import dq_name, q_name, xq_name

__all__ = ["QueueKeys", "dq_name", "q_name", "xq_name"]


@dataclass(frozen=True)
class QueueKeys:
    namespace: str

    def ready(self, queue: str) -> str:
        """The list of message ids ready on ``queue`` (a delay queue's too)."""
        return f"{self.namespace}:{queue}"

    def messages(self, queue: str) -> str:
        """The hash of message bodies of ``queue``, by Redis message id."""
        return f"{self.namespace}:{queue}.msgs"

    def dead(self, queue: str) -> str:
        return f"{self.namespace}:{xq_name(q_name(queue))}"

    def dead_messages(self, queue: str) -> str:
        return f"{self.dead(queue)}.msgs"

    def acks(self, worker_id: str, queue: str) -> str:
        """The ids ``worker_id`` fetched from ``queue`` and has not acked."""
        return f"{self.namespace}:__acks__.{worker_id}.{queue}"

    def acks_pattern(self) -> str:
        return f"{self.namespace}:__acks__.*"

    @property
    def heartbeats(self) -> str:
        return f"{self.namespace}:__heartbeats__"

    def consumers(self, queue: str) -> str:
        """The workers consuming ``queue``, scored by their last beat."""
        return f"{self.namespace}:__consumers__.{queue}"
