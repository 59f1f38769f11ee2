#!/usr/bin/env python3
"""SSE clients for bench/events: N raw HTTP/1.1 connections on one asyncio loop.

  clients.py --port P --stream PATH --broadcast PATH [--key K] --clients N --burst E --latency L --rate R

Prints one JSON object:
  burst:   E events published in one request; deliveries per second until every client has all E
           (N * E / seconds) and events per second (E / seconds).
  latency: L events published one request at a time at R per second; for every delivery, the time
           from the event's publish timestamp (its frame's "timestamp", set by the server) to its
           receipt here, p50 and p99 in milliseconds.
Clients decode chunked transfer encoding and split frames on blank lines; every event counted is
checked to arrive in id order.
"""
import argparse
import asyncio
import json
import time

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int, required=True)
parser.add_argument("--stream", required=True)
parser.add_argument("--broadcast", required=True, help="path of the publish request; {count} is replaced")
parser.add_argument("--body", default="", help="JSON body of the publish request; {count} is replaced")
parser.add_argument("--key", default="")
parser.add_argument("--clients", type=int, required=True)
parser.add_argument("--burst", type=int, required=True)
parser.add_argument("--latency", type=int, required=True)
parser.add_argument("--rate", type=float, required=True)
args = parser.parse_args()
AUTH = f"Authorization: Bearer {args.key}\r\n" if args.key else ""


class Stream:
    def __init__(self):
        self.count = 0
        self.last_id = 0
        self.out_of_order = 0
        self.latencies = None  # a list while the latency phase measures
        self.target = None
        self.done = asyncio.Event()

    def frames(self, payload, now):
        for frame in payload:
            if not frame.startswith(b"id: "):
                continue  # the preamble, heartbeats
            end = frame.index(b"\n")
            number = int(frame[4:end])
            if number <= self.last_id:
                self.out_of_order += 1
            self.last_id = number
            self.count += 1
            if self.latencies is not None:
                at = frame.index(b'"timestamp": ') + 13
                self.latencies.append(now - float(frame[at:frame.index(b",", at)]))
        if self.target is not None and self.count >= self.target:
            self.done.set()

    async def run(self, ready):
        reader, writer = await asyncio.open_connection("127.0.0.1", args.port, limit=1 << 22)
        writer.write(f"GET {args.stream} HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}Accept: text/event-stream\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        chunked = b"chunked" in head.lower()
        ready.set()
        # Chunked transfer decoding with one buffer and an offset, so a large chunk costs what its
        # bytes cost (both servers' chunk sizes differ: Duckling's hold up to 256 frames).
        raw, offset, text = bytearray(), 0, b""
        while True:
            data = await reader.read(1 << 20)
            now = time.time()  # the receipt time of everything in this read
            if not data:
                return
            if not chunked:
                text += data
            else:
                raw += data
                pieces = [text]
                while True:
                    line_end = raw.find(b"\r\n", offset)
                    if line_end < 0:
                        break
                    size = int(bytes(raw[offset:line_end]).split(b";")[0], 16)
                    if len(raw) < line_end + 2 + size + 2:
                        break
                    pieces.append(bytes(raw[line_end + 2:line_end + 2 + size]))
                    offset = line_end + 2 + size + 2
                    if size == 0:
                        return
                del raw[:offset]
                offset = 0
                text = b"".join(pieces)
            *whole, text = text.split(b"\n\n")
            if whole:
                self.frames(whole, now)


async def publish(count):
    """One publish request on a connection of its own (Connection: close)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", args.port)
    body = args.body.replace("{count}", str(count)).encode()
    path = args.broadcast.replace("{count}", str(count))
    writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{AUTH}Content-Type: application/json\r\n"
                 f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body)
    reply = await reader.read()
    writer.close()
    assert reply.startswith(b"HTTP/1.1 200"), reply[:300]


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(p / 100 * len(values)))] if values else None


async def main():
    streams = [Stream() for _ in range(args.clients)]
    readies = [asyncio.Event() for _ in streams]
    tasks = []
    for stream, ready in zip(streams, readies):
        tasks.append(asyncio.create_task(stream.run(ready)))
        if len(tasks) % 100 == 0:
            await asyncio.sleep(0.05)
    await asyncio.wait_for(asyncio.gather(*(r.wait() for r in readies)), 120)
    await asyncio.sleep(0.5)

    for stream in streams:
        stream.target = stream.count + args.burst
    started = time.perf_counter()
    remaining = args.burst
    while remaining > 0:
        step = min(remaining, 100_000)
        await publish(step)
        remaining -= step
    await asyncio.wait_for(asyncio.gather(*(s.done.wait() for s in streams)), 600)
    seconds = time.perf_counter() - started

    for stream in streams:
        stream.latencies = []
        stream.done = asyncio.Event()
        stream.target = stream.count + args.latency
    for _ in range(args.latency):
        await publish(1)
        await asyncio.sleep(1 / args.rate)
    await asyncio.wait_for(asyncio.gather(*(s.done.wait() for s in streams)), 120)
    latencies = [value for stream in streams for value in stream.latencies]
    for task in tasks:
        task.cancel()
    print(json.dumps({
        "clients": args.clients, "burst_events": args.burst, "burst_seconds": round(seconds, 3),
        "deliveries_per_second": round(args.clients * args.burst / seconds), "events_per_second": round(args.burst / seconds),
        "latency_samples": len(latencies), "latency_p50_ms": round(percentile(latencies, 50) * 1000, 3),
        "latency_p99_ms": round(percentile(latencies, 99) * 1000, 3),
        "out_of_order": sum(s.out_of_order for s in streams),
    }))


asyncio.run(main())
