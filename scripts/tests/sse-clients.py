#!/usr/bin/env python3
"""Real Server-Sent Events clients (httpx-sse) against a running Duckling, for the event tests.

Each scenario prints one JSON object with what it saw and exits 0; any failed expectation raises,
so the exit status is not 0 and the traceback says what went wrong. Usage:

  sse-clients.py SCENARIO --url http://127.0.0.1:PORT --key ADMIN_KEY [--read-key KEY] [--pid PID] ...

Scenarios:
  fanout     --clients N --events M: N subscribers and one client that reads nothing; M broadcast
             events reach every reading subscriber in order (server RSS sampled throughout).
  resume     a client reads some events, leaves, misses some, and resumes with Last-Event-ID.
  heartbeat  an idle stream carries heartbeat comments.
  filter     events= and the per-kind streams deliver only their kinds.
  periodic   /events/metrics carries system_metric (the figures of /api/statistics) and queue_status.
  stalled    a client that never reads is disconnected within its queue bound (RSS stays flat).
  zombies    a client that never answers pings is a zombie and is cleaned up; one that answers is not;
             an admin disconnects a client by id.
"""
import argparse
import asyncio
import json
import socket
import sys
import time

import httpx
from httpx_sse import aconnect_sse

parser = argparse.ArgumentParser()
parser.add_argument("scenario")
parser.add_argument("--url", required=True)
parser.add_argument("--key", required=True)
parser.add_argument("--read-key")
parser.add_argument("--pid", type=int)
parser.add_argument("--clients", type=int, default=100)
parser.add_argument("--events", type=int, default=10_000)
parser.add_argument("--queue", type=int, default=1_000)
args = parser.parse_args()
ADMIN = {"Authorization": f"Bearer {args.key}"}
READ = {"Authorization": f"Bearer {args.read_key or args.key}"}
TIMEOUT = httpx.Timeout(60.0, read=120.0)


def rss(pid):
    if not pid:
        return 0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


async def stats(client):
    reply = await client.get("/events/stats", headers=ADMIN)
    reply.raise_for_status()
    return reply.json()


async def wait_for_clients(client, count, deadline=60):
    start = time.monotonic()
    while time.monotonic() - start < deadline:
        if (await stats(client))["clients"] >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"only {(await stats(client))['clients']} of {count} clients connected")


async def broadcast(client, count, kind="error", start=0, tag="b"):
    """Publishes `count` events numbered start..; returns their ids."""
    ids = []
    for number in range(start, start + count):
        reply = await client.post("/events/broadcast", headers=ADMIN,
                                  json={"event_type": kind, "data": {"n": number, "tag": tag}})
        assert reply.status_code == 200, reply.text
        ids.append(reply.json()["event_id"])
    return ids


async def subscribe(client, path, want, received, ready, headers=READ, stop_after=None):
    """Reads `path` until `want` events arrived (or `stop_after`); appends (id, event, data)."""
    async with aconnect_sse(client, "GET", path, headers=headers) as source:
        assert source.response.status_code == 200, await source.response.aread()
        assert source.response.headers["content-type"].startswith("text/event-stream")
        ready.set()
        counted = 0
        async for event in source.aiter_sse():
            if not event.data:
                continue  # the opening `retry:` alone
            data = json.loads(event.data)
            if event.event == "job_status" and isinstance(data.get("data"), dict) and data["data"].get("job") == "health":
                continue  # the server's own health changes (a full disk on the test machine) are not the test's
            received.append((event.id, event.event, data))
            counted += event.event != "history_gap"
            if counted >= (stop_after or want):
                return


def stalled_socket(url, path, key):
    """A client that subscribes and never reads a byte."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # Before connecting, so the receive window stays small.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\nAccept: text/event-stream\r\n\r\n".encode())
    return sock


async def publish():
    """Broadcasts --events events from four concurrent senders; prints their ids in publish order."""
    async with httpx.AsyncClient(base_url=args.url, timeout=TIMEOUT) as client:
        senders = 4
        results = await asyncio.gather(*[broadcast(client, args.events // senders + (i < args.events % senders),
                                                   start=i * 1_000_000) for i in range(senders)])
    published = sorted((int(event_id), event_id) for ids in results for event_id in ids)
    print(json.dumps([event_id for _, event_id in published]))


async def fanout():
    async with httpx.AsyncClient(base_url=args.url, timeout=TIMEOUT,
                                 limits=httpx.Limits(max_connections=args.clients + 10)) as client:
        readers = [[] for _ in range(args.clients)]
        ready = [asyncio.Event() for _ in range(args.clients)]
        tasks = [asyncio.create_task(subscribe(client, "/events/stream?events=error", args.events, readers[i], ready[i]))
                 for i in range(args.clients)]
        stalled = stalled_socket(args.url, "/events/stream?events=error", args.read_key or args.key)
        await wait_for_clients(client, args.clients + 1)
        before = rss(args.pid)
        peak = before
        started = time.monotonic()
        # The publisher is a process of its own, so the readers have this one's whole core.
        publisher = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "publish", "--url", args.url, "--key", args.key, "--events", str(args.events),
            stdout=asyncio.subprocess.PIPE)
        readers_done = asyncio.ensure_future(asyncio.wait_for(asyncio.gather(*tasks), timeout=600))
        while not readers_done.done():
            peak = max(peak, rss(args.pid))
            await asyncio.sleep(0.05)
        await readers_done
        output, _ = await publisher.communicate()
        assert publisher.returncode == 0, "the publisher failed"
        ids = json.loads(output)
        elapsed = time.monotonic() - started
        peak = max(peak, rss(args.pid))
        assert len(ids) == args.events
        first = [r[2]["data"]["n"] for r in readers[0]]
        assert len(set(first)) == args.events, "the first subscriber got repeated events"
        for received in readers:
            assert [r[0] for r in received] == ids, "a subscriber missed, reordered or repeated events"
            assert [r[2]["data"]["n"] for r in received] == first
        figures = await stats(client)
        stalled.close()
        print(json.dumps({"subscribers": args.clients, "events": args.events, "seconds": round(elapsed, 2),
                          "rss_before": before, "rss_peak": peak, "evictions": figures["evictions"],
                          "dropped": figures["events_dropped"], "clients_after": figures["clients"]}))


async def resume():
    async with httpx.AsyncClient(base_url=args.url, timeout=TIMEOUT) as client:
        first, ready = [], asyncio.Event()
        task = asyncio.create_task(subscribe(client, "/events/stream?events=error", 5, first, ready))
        await ready.wait()
        await wait_for_clients(client, 1)
        await broadcast(client, 5, tag="seen")
        await asyncio.wait_for(task, 30)
        last_seen = first[-1][0]
        # Gone: these are published while nobody listens.
        missed = await broadcast(client, 7, start=5, tag="missed")
        again, ready = [], asyncio.Event()
        headers = dict(READ, **{"Last-Event-ID": last_seen})
        task = asyncio.create_task(subscribe(client, "/events/stream?events=error", 9, again, ready, headers=headers))
        await ready.wait()
        await wait_for_clients(client, 1)
        live = await broadcast(client, 2, start=12, tag="live")
        await asyncio.wait_for(task, 30)
        assert [r[0] for r in again] == missed + live, f"{[r[0] for r in again]} != {missed + live}"
        # An id older than the history (or of another run) gets the marker, then live events.
        gap, ready = [], asyncio.Event()
        task = asyncio.create_task(subscribe(client, "/events/stream?events=error&last_event_id=1", 1, gap, ready))
        await ready.wait()
        await wait_for_clients(client, 1)
        await broadcast(client, 1, start=14, tag="after-gap")
        await asyncio.wait_for(task, 30)
        assert gap[0][1] == "history_gap" and gap[0][2]["data"]["requested"] == "1", gap
        assert gap[1][2]["data"]["tag"] == "after-gap", gap
        print(json.dumps({"first": len(first), "resumed": len(again), "gap_marker": gap[0][2]["data"]}))


async def heartbeat():
    async with httpx.AsyncClient(base_url=args.url, timeout=TIMEOUT) as client:
        comments, started = [], time.monotonic()
        async with client.stream("GET", "/events/stream?events=error", headers=READ) as response:
            assert response.status_code == 200
            async for line in response.aiter_lines():
                if line.startswith("retry:"):
                    retry = int(line.split(":")[1])
                if line.startswith(": heartbeat"):
                    comments.append(time.monotonic() - started)
                    if len(comments) == 2:
                        break
        print(json.dumps({"retry_ms": retry, "heartbeats_at": [round(c, 2) for c in comments]}))


async def periodic():
    """/events/metrics carries system_metric (the figures of /api/statistics) and queue_status."""
    async with httpx.AsyncClient(base_url=args.url, timeout=TIMEOUT) as client:
        seen, started = {}, time.monotonic()
        await client.post("/api/query", json={"sql": "SELECT 42"}, headers={"Authorization": f"Bearer {args.key}"})
        async with aconnect_sse(client, "GET", "/events/metrics", headers=READ) as source:
            async for sse in source.aiter_sse():
                if sse.event in ("system_metric", "queue_status") and sse.event not in seen:
                    seen[sse.event] = (round(time.monotonic() - started, 2), json.loads(sse.data)["data"])
                if len(seen) == 2:
                    break
        metric = seen["system_metric"][1]["databases"][0]
        assert metric["database"] == "default" and metric["queries"]["total"] >= 1, metric
        assert metric["process"]["resident_bytes"] > 0 and metric["health"], metric
        queue = seen["queue_status"][1]
        assert queue["clients"] >= 1 and queue["events_published"] >= 1 and queue["queue_capacity"] > 0, queue
        print(json.dumps({"system_metric_after": seen["system_metric"][0], "queue_status_after": seen["queue_status"][0],
                          "queries_total": metric["queries"]["total"], "queue_clients": queue["clients"]}))


async def filtered():
    async with httpx.AsyncClient(base_url=args.url, timeout=TIMEOUT) as client:
        jobs, only, everything = [], [], []
        ready = [asyncio.Event() for _ in range(3)]
        tasks = [
            asyncio.create_task(subscribe(client, "/events/jobs", 2, jobs, ready[0])),
            asyncio.create_task(subscribe(client, "/events/stream?events=system_metric", 1, only, ready[1])),
            asyncio.create_task(subscribe(client, "/events/stream", 4, everything, ready[2])),
        ]
        await wait_for_clients(client, 3)
        await broadcast(client, 1, kind="lineage_event", tag="lineage")
        await broadcast(client, 1, kind="job_status", tag="job")
        await broadcast(client, 1, kind="system_metric", tag="metric")
        await broadcast(client, 1, kind="error", tag="error")
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
        assert [r[1] for r in jobs] == ["job_status", "error"], jobs
        assert [r[1] for r in only] == ["system_metric"], only
        assert [r[1] for r in everything] == ["lineage_event", "job_status", "system_metric", "error"], everything
        # A burst: count events of the same data in one request, numbered one after another.
        burst = await client.post("/events/broadcast", headers=ADMIN, json={"event_type": "error", "data": {"tag": "burst"}, "count": 3})
        assert burst.status_code == 200 and burst.json()["count"] == 3, burst.text
        assert int(burst.json()["last_event_id"]) - int(burst.json()["event_id"]) == 2, burst.text
        for bad in (0, 100001, True, "3", 1.5):
            refused = await client.post("/events/broadcast", headers=ADMIN, json={"event_type": "error", "data": {}, "count": bad})
            assert refused.status_code == 400 and "count" in refused.text, (bad, refused.text)
        unknown = await client.get("/events/stream?events=nope", headers=READ)
        assert unknown.status_code == 400 and "nope" in unknown.text, unknown.text
        print(json.dumps({"jobs": [r[1] for r in jobs], "system_metric": len(only), "all": len(everything)}))


async def stalled():
    async with httpx.AsyncClient(base_url=args.url, timeout=TIMEOUT) as client:
        received, ready = [], asyncio.Event()
        reader = asyncio.create_task(subscribe(client, "/events/stream?events=error", 4 * args.queue, received, ready))
        sock = stalled_socket(args.url, "/events/stream?events=error", args.read_key or args.key)
        await wait_for_clients(client, 2)
        before = rss(args.pid)
        # Large events fill the socket buffers quickly; the queue then fills and the client goes.
        payload = "x" * 32_000
        evicted_after = None
        for number in range(4 * args.queue):
            reply = await client.post("/events/broadcast", headers=ADMIN,
                                      json={"event_type": "error", "data": {"n": number, "pad": payload}})
            assert reply.status_code == 200
            if evicted_after is None and number % 50 == 0 and (await stats(client))["clients"] == 1:
                evicted_after = number
        await asyncio.wait_for(reader, 60)
        figures = await stats(client)
        peak = rss(args.pid)
        sock.close()
        assert [r[2]["data"]["n"] for r in received] == list(range(4 * args.queue)), "the reading client lost events"
        assert figures["evictions"]["queue_full"] == 1, figures
        print(json.dumps({"evicted_after": evicted_after, "rss_before": before, "rss_after": peak,
                          "evictions": figures["evictions"], "dropped": figures["events_dropped"]}))


async def zombies():
    async with httpx.AsyncClient(base_url=args.url, timeout=TIMEOUT) as client:
        silent_pings, answered = [], []

        async def reader(pongs, sink, ready):
            async with aconnect_sse(client, "GET", "/events/stream?pong=true", headers=READ) as source:
                client_id = source.response.headers["x-duckling-client-id"]
                ready.set()
                async for event in source.aiter_sse():
                    if event.data and event.event == "heartbeat":
                        ping = json.loads(event.data)["data"]
                        assert ping["client_id"] == client_id, ping
                        sink.append(ping["ping"])
                        if pongs:
                            reply = await client.post("/events/pong", headers=READ, json={"client_id": client_id, "ping": ping["ping"]})
                            assert reply.status_code == 200, reply.text
            return client_id

        ready = [asyncio.Event(), asyncio.Event()]
        silent = asyncio.create_task(reader(False, silent_pings, ready[0]))
        answering = asyncio.create_task(reader(True, answered, ready[1]))
        await wait_for_clients(client, 2)
        found, start = None, time.monotonic()
        while found is None and time.monotonic() - start < 30:
            report = (await client.get("/events/zombies", headers=READ)).json()
            found = next(iter(report["zombie_details"]), None)
            await asyncio.sleep(0.1)
        assert found is not None, "no zombie was found"
        assert report["current_zombies"] == 1 and found["reason"] in ("no_pong_response", "missed_pings"), report
        cleaned = (await client.post("/events/zombies/cleanup", headers=ADMIN)).json()
        assert cleaned["disconnected"] == [found["client_id"]], cleaned
        silent_id = await asyncio.wait_for(silent, 10)
        assert silent_id == found["client_id"]
        others = (await stats(client))["client_details"]
        assert len(others) == 1 and others[0]["pongs_received"] >= 1 and others[0].get("zombie") is None, others
        unknown = await client.post("/events/pong", headers=READ, json={"client_id": "nobody", "ping": 1})
        assert unknown.status_code == 404, unknown.text
        gone = await client.delete(f"/events/clients/{others[0]['client_id']}", headers=ADMIN)
        assert gone.status_code == 200, gone.text
        await asyncio.wait_for(answering, 10)
        figures = await stats(client)
        assert figures["clients"] == 0 and figures["evictions"]["zombie"] == 1 and figures["evictions"]["disconnected"] == 1, figures
        report = (await client.get("/events/zombies", headers=READ)).json()
        print(json.dumps({"zombie": found, "pings_unanswered": len(silent_pings), "pings_answered": len(answered),
                          "total_detected": report["total_detected"], "evictions": figures["evictions"]}))


asyncio.run({"publish": publish, "fanout": fanout, "resume": resume, "heartbeat": heartbeat, "filter": filtered, "periodic": periodic, "stalled": stalled, "zombies": zombies}[args.scenario]())
