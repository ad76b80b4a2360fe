"""The load generator of bench/http_api.py, run as a process of its own: a small
HTTP/1.1 keep-alive client on asyncio streams (cheaper per request than any
full client, so it leaves the cores to the server it measures). Prints one
JSON object: latencies (ms), the rate and its own CPU seconds.

    python bench/http_load.py closed --url U --key K --concurrency 32 --requests 20000 --kind event
    python bench/http_load.py open   --url U --key K --rate 200 --seconds 20 --kind verify
    python bench/http_load.py batch  --url U --key K --file events.jsonl --size 1000 --concurrency 2
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit

Body = Callable[[int], bytes]


def event_body(prefix: str) -> Body:
    def body(i: int) -> bytes:
        event = {
            "type": "CancellationRequested",
            "event_id": f"{prefix}-{i}",
            "occurred_at": "2026-06-15T20:30:00+09:00",
            "subscription_id": f"{prefix}-S{i}",
            "kind": "monthly_service",
        }
        return json.dumps(event).encode()

    return body


def verify_body(phones: int) -> Body:
    def body(i: int) -> bytes:
        phone = f"+81901{i % phones:07d}"
        return json.dumps({"phone": phone, "code": "123456"}).encode()

    return body


class Connection:
    def __init__(self, host: str, port: int, key: str) -> None:
        self.host, self.port, self.key = host, port, key
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, path: str, body: bytes, kind: str = "application/json") -> int:
        assert self.reader is not None
        assert self.writer is not None
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Authorization: Bearer {self.key}\r\nContent-Type: {kind}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return int(status_line.split()[1])


def report(
    latencies: list[float], seconds: float, statuses: dict[int, int], extra: dict[str, object]
) -> None:
    latencies.sort()
    usage = resource.getrusage(resource.RUSAGE_SELF)

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 2)

    print(
        json.dumps(
            {
                "requests": len(latencies),
                "seconds": round(seconds, 3),
                "rate": round(len(latencies) / seconds, 1),
                "p50_ms": pct(0.50),
                "p99_ms": pct(0.99),
                "mean_ms": round(statistics.fmean(latencies) * 1000, 2),
                "statuses": statuses,
                "generator_cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
                **extra,
            }
        )
    )


async def closed(args: argparse.Namespace, path: str, body: Body) -> None:
    """``concurrency`` clients, each sending its next request when the last is answered."""
    url = urlsplit(args.url)
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = iter(range(args.requests))

    async def client() -> None:
        conn = Connection(url.hostname or "127.0.0.1", url.port or 80, args.key)
        await conn.open()
        for i in counter:
            started = time.perf_counter()
            status = await conn.post(path, body(i))
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(args.concurrency)))
    report(latencies, time.perf_counter() - started, statuses, {"concurrency": args.concurrency})


async def open_loop(args: argparse.Namespace, path: str, body: Body) -> None:
    """Requests at a fixed rate, whatever the answers' times (an open loop)."""
    url = urlsplit(args.url)
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(32):
        conn = Connection(url.hostname or "127.0.0.1", url.port or 80, args.key)
        await conn.open()
        pool.put_nowait(conn)
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def one(i: int, due: float) -> None:
        conn = await pool.get()
        status = await conn.post(path, body(i))
        latencies.append(time.perf_counter() - due)  # from when it was due: queueing counts
        statuses[status] = statuses.get(status, 0) + 1
        pool.put_nowait(conn)

    total = int(args.rate * args.seconds)
    started = time.perf_counter()
    tasks = []
    for i in range(total):
        due = started + i / args.rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i, due)))
    await asyncio.gather(*tasks)
    report(latencies, time.perf_counter() - started, statuses, {"target_rate": args.rate})


async def batches(args: argparse.Namespace) -> None:
    """A JSON-lines file in requests of ``size`` events, ``concurrency`` at a time."""
    url = urlsplit(args.url)
    with open(args.file, "rb") as f:
        lines = [line for line in f.read().split(b"\n") if line.strip()]
    chunks = [b"\n".join(lines[i : i + args.size]) for i in range(0, len(lines), args.size)]
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    todo = iter(chunks)

    async def client() -> None:
        conn = Connection(url.hostname or "127.0.0.1", url.port or 80, args.key)
        await conn.open()
        for chunk in todo:
            started = time.perf_counter()
            status = await conn.post("/v1/events/batch", chunk, "application/x-ndjson")
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(args.concurrency)))
    seconds = time.perf_counter() - started
    report(
        latencies,
        seconds,
        statuses,
        {"events": len(lines), "events_per_s": round(len(lines) / seconds)},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["closed", "open", "batch"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--kind", choices=["event", "verify"], default="event")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--phones", type=int, default=1_000)
    parser.add_argument("--file")
    parser.add_argument("--size", type=int, default=1_000)
    args = parser.parse_args()
    if args.mode == "batch":
        asyncio.run(batches(args))
        return
    path, body = (
        ("/v1/events", event_body(uuid.uuid4().hex[:8]))
        if args.kind == "event"
        else ("/v1/otp/verify", verify_body(args.phones))
    )
    asyncio.run((closed if args.mode == "closed" else open_loop)(args, path, body))


if __name__ == "__main__":
    main()
