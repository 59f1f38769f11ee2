#!/usr/bin/env python3
"""Reads Duckling's Parquet and Arrow IPC results with pyarrow, as users do, and checks them.

    result-formats.py types  --url URL --key KEY
    result-formats.py large  --url URL --key KEY --pid PID [--rows N]
    result-formats.py limits --url URL --key KEY

Prints one JSON line (the report) last; exits non-zero when a check fails.
"""
import argparse
import base64
import datetime
import decimal
import io
import json
import math
import sys
import threading
import time

import duckdb
import httpx
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq

ALL_TYPES = "SELECT * FROM test_all_types()"

# Columns whose values Arrow or Parquet cannot hold as DuckDB has them, and why; every other
# column of test_all_types() must come back with the JSON result's values.
NOT_COMPARABLE = {
    "arrow": {
        "bit": "Arrow has no bit-string type: DuckDB sends its own bytes of the bits",
        "uhugeint": "Arrow has no unsigned 128-bit type: DuckDB sends DECIMAL(38,0), which cannot hold 2^128-1",
        "time_tz": "Arrow times have no offset: DuckDB sends the time without it",
    },
    "parquet": {
        "hugeint": "Parquet has no 128-bit integer: DuckDB's writer stores a DOUBLE",
        "uhugeint": "Parquet has no 128-bit integer: DuckDB's writer stores a DOUBLE",
        "time_tz": "Parquet times have no offset: DuckDB's writer normalises to UTC",
        "interval": "Parquet's INTERVAL holds milliseconds, and pyarrow reads it as bytes",
        "union": "Parquet has no union type: DuckDB's writer stores a struct of tag and members",
        "geometry": "stored as WKB bytes (GeoParquet), where JSON has WKT text",
    },
}


def post(client, url, key, sql, fmt, **body):
    payload = {"sql": sql, **body}
    return client.post(f"{url}/api/query", params={"format": fmt}, json=payload,
                       headers={"Authorization": f"Bearer {key}"})


def normal(value):
    """A pyarrow Python value in the JSON result's terms."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value == math.inf else "-inf" if value == -math.inf else value)
    if isinstance(value, decimal.Decimal):
        return value
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime.datetime):
        text = value.isoformat(sep=" ")
        return text.replace("+00:00", "+00")
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items()}
    if isinstance(value, list) and value and all(isinstance(item, tuple) and len(item) == 2 for item in value):
        return {k: normal(v) for k, v in value}  # a map
    if isinstance(value, list):
        return [normal(v) for v in value]
    return value


def json_normal(value, like):
    """A JSON value in the terms `like` (the pyarrow side) uses: big integers and decimals come as strings."""
    if value is None:
        return None
    if isinstance(like, bool):
        return value
    if isinstance(like, int) and isinstance(value, str):
        return int(value)
    if isinstance(like, decimal.Decimal):
        return decimal.Decimal(str(value))
    if isinstance(like, float) and isinstance(value, (int, float)):
        return float(value)
    if isinstance(like, dict) and isinstance(value, dict):
        return {k: json_normal(v, like.get(k)) for k, v in value.items()}
    if isinstance(like, list) and isinstance(value, list):
        return [json_normal(v, like[i] if i < len(like) else None) for i, v in enumerate(value)]
    return value


def duckdb_text(table, column):
    """DuckDB's text of an Arrow column, for values Python cannot hold (year 294247, 24:00:00)."""
    connection = duckdb.connect()
    connection.register("result", table)
    return [row[0] for row in connection.execute(f'SELECT CAST("{column}" AS VARCHAR) FROM result').fetchall()]


def compare(table, fmt, expected_rows, names, source_text, all_names):
    skipped = NOT_COMPARABLE[fmt]
    matched, mismatched, by_text = [], {}, []
    for name in names:
        index = all_names.index(name)
        if name in skipped:
            continue
        expected = [row[index] for row in expected_rows]
        try:
            got = [normal(v) for v in table.column(name).to_pylist()]
            want = [json_normal(e, g) for e, g in zip(expected, got)]
            if got == want:
                matched.append(name)
                continue
            problem = {"arrow": got, "json": want}
        except (OverflowError, ValueError) as error:
            problem = {"python": str(error)}
        # Python cannot hold the values: compare DuckDB's text of what came back with DuckDB's text
        # of the source (the JSON result's strings, for the scalar temporal types).
        texts = duckdb_text(table, name)
        # The JSON result's strings are DuckDB's text for scalar temporal values; for anything else
        # only DuckDB's text of the source column counts.
        want_text = expected if all(isinstance(e, str) or e is None for e in expected) else None
        if (want_text is not None and texts == want_text) or texts == source_text[name]:
            matched.append(name)
            by_text.append(name)
        else:
            mismatched[name] = {**problem, "text": texts, "json_text": want_text}
    return matched, mismatched, by_text


def types(args):
    client = httpx.Client(timeout=60)
    reply = post(client, args.url, args.key, ALL_TYPES, "json")
    reply.raise_for_status()
    document = reply.json()
    names = [column["name"] for column in document["columns"]]
    rows = document["rows"]
    source = duckdb.connect()
    source_text = {name: [r[0] for r in source.execute(f'SELECT CAST("{name}" AS VARCHAR) FROM test_all_types()').fetchall()] for name in names}
    report = {"columns": len(names)}
    failed = False
    for fmt, media in (("arrow", "application/vnd.apache.arrow.stream"), ("parquet", "application/vnd.apache.parquet")):
        # Accept for one, ?format= for the other: both ways of asking must work.
        if fmt == "arrow":
            reply = client.post(f"{args.url}/api/query", json={"sql": ALL_TYPES},
                                headers={"Authorization": f"Bearer {args.key}", "Accept": media})
        else:
            reply = post(client, args.url, args.key, ALL_TYPES, fmt)
        if reply.status_code != 200 or reply.headers.get("content-type") != media:
            print(f"{fmt}: HTTP {reply.status_code} {reply.headers.get('content-type')}: {reply.text[:300]}", file=sys.stderr)
            failed = True
            continue
        data = reply.content
        unreadable = {}
        if fmt == "arrow":
            table = ipc.open_stream(io.BytesIO(data)).read_all()
        else:
            # pyarrow refuses the columns of fixed-size ARRAYs holding a NULL array as DuckDB
            # 1.5.5's Parquet writer stores them (DuckDB's own COPY … TO writes the same file);
            # those columns are checked with DuckDB's Parquet reader instead.
            parquet = pq.ParquetFile(io.BytesIO(data))
            columns = {}
            for name in parquet.schema_arrow.names:
                try:
                    columns[name] = parquet.read(columns=[name]).column(0)
                except pa.ArrowInvalid as error:
                    unreadable[name] = str(error)
                    columns[name] = pa.nulls(parquet.metadata.num_rows)
            table = pa.table(columns)
            path = "/tmp/duckling-all-types-%d.parquet" % id(data)
            with open(path, "wb") as out:
                out.write(data)
            reader = duckdb.connect()
            for name in list(unreadable):
                texts = [r[0] for r in reader.execute(f'SELECT CAST("{name}" AS VARCHAR) FROM read_parquet(?)', [path]).fetchall()]
                if texts == source_text[name] and name.startswith(("fixed_", "struct_of_fixed", "list_of_fixed")):
                    report.setdefault("parquet_read_by_duckdb", []).append(name)
                    del unreadable[name]
            import os
            os.remove(path)
        if unreadable:
            print(f"{fmt}: pyarrow could not read {json.dumps(unreadable)}", file=sys.stderr)
            failed = True
        if table.column_names != names or table.num_rows != len(rows):
            print(f"{fmt}: columns {table.column_names} rows {table.num_rows}", file=sys.stderr)
            failed = True
            continue
        checked = [n for n in names if n not in report.get("parquet_read_by_duckdb", []) or fmt == "arrow"]
        matched, mismatched, by_text = compare(table, fmt, rows, checked, source_text, names)
        report[fmt] = {"matched": len(matched), "by_text": by_text, "mismatched": sorted(mismatched),
                       "skipped": sorted(NOT_COMPARABLE[fmt])}
        for name, problem in mismatched.items():
            print(f"{fmt} {name}: {json.dumps(problem, default=str)[:600]}", file=sys.stderr)
        failed = failed or bool(mismatched)
    # A result ordered by the query keeps its order in both formats.
    ordered = "SELECT range AS n FROM range(5000) ORDER BY n DESC"
    for fmt in ("arrow", "parquet"):
        reply = post(client, args.url, args.key, ordered, fmt)
        table = ipc.open_stream(io.BytesIO(reply.content)).read_all() if fmt == "arrow" else pq.read_table(io.BytesIO(reply.content))
        report[f"{fmt}_ordered"] = table.column("n").to_pylist() == list(range(4999, -1, -1))
        failed = failed or not report[f"{fmt}_ordered"]
    print(json.dumps(report))
    return 1 if failed else 0


def resident(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def large(args):
    sql = f"SELECT range AS id, range * 2 AS doubled, 'row ' || range::VARCHAR AS label, range / 7.0 AS ratio FROM range({args.rows})"
    report = {"rows": args.rows}
    failed = False
    for fmt in ("arrow", "parquet"):
        baseline = resident(args.pid)
        peak = baseline
        done = threading.Event()

        def sample():
            nonlocal peak
            while not done.is_set():
                peak = max(peak, resident(args.pid))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        started = time.monotonic()
        received = 0
        rows = 0
        with httpx.Client(timeout=600) as client:
            with client.stream("POST", f"{args.url}/api/query", params={"format": fmt}, json={"sql": sql, "timeout_ms": 600000},
                               headers={"Authorization": f"Bearer {args.key}"}) as reply:
                if reply.status_code != 200:
                    reply.read()
                    print(f"{fmt}: HTTP {reply.status_code}: {reply.text[:300]}", file=sys.stderr)
                    failed = True
                    done.set()
                    sampler.join()
                    continue
                if fmt == "arrow":
                    # Batch by batch, as the bytes arrive: the client holds one batch at a time.
                    class Reader(io.RawIOBase):
                        def __init__(self, chunks):
                            self.chunks, self.buffer = chunks, b""

                        def readable(self):
                            return True

                        def readinto(self, target):
                            nonlocal received
                            while not self.buffer:
                                try:
                                    self.buffer = next(self.chunks)
                                    received += len(self.buffer)
                                except StopIteration:
                                    return 0
                            count = min(len(target), len(self.buffer))
                            target[:count] = self.buffer[:count]
                            self.buffer = self.buffer[count:]
                            return count

                    stream = ipc.open_stream(io.BufferedReader(Reader(reply.iter_bytes()), 1 << 20))
                    last = None
                    for batch in stream:
                        rows += batch.num_rows
                        last = batch
                    report["arrow_last_id"] = last.column(0)[-1].as_py() if last is not None else None
                else:
                    path = f"/tmp/duckling-result-{args.pid}.parquet"
                    with open(path, "wb") as out:
                        for piece in reply.iter_bytes():
                            received += len(piece)
                            out.write(piece)
                    metadata = pq.ParquetFile(path).metadata
                    rows = metadata.num_rows
                    report["parquet_row_groups"] = metadata.num_row_groups
                    last_group = pq.ParquetFile(path).read_row_group(metadata.num_row_groups - 1, columns=["id"])
                    report["parquet_last_id"] = last_group.column(0)[-1].as_py()
                    import os
                    os.remove(path)
        done.set()
        sampler.join()
        seconds = time.monotonic() - started
        report[fmt] = {"rows": rows, "bytes": received, "seconds": round(seconds, 2),
                       "rss_growth_mb": round((peak - baseline) / 2**20, 1), "baseline_mb": round(baseline / 2**20, 1)}
        failed = failed or rows != args.rows
    print(json.dumps(report))
    return 1 if failed else 0


def limits(args):
    report = {}
    slow = "SELECT range AS id, md5(range::VARCHAR) AS digest FROM range(100000000)"
    headers = {"Authorization": f"Bearer {args.key}"}
    with httpx.Client(timeout=120) as client:
        # A time limit stops an export mid-way: either before the first byte (504) or cut short.
        started = time.monotonic()
        received = 0
        status = None
        complete = True
        try:
            with client.stream("POST", f"{args.url}/api/query", params={"format": "parquet"},
                               json={"sql": slow, "timeout_ms": 1500}, headers=headers) as reply:
                status = reply.status_code
                for piece in reply.iter_bytes():
                    received += len(piece)
        except (httpx.RemoteProtocolError, httpx.ReadError) as error:
            complete = False
            report["timeout_error"] = type(error).__name__
        report["timeout"] = {"status": status, "complete": complete, "bytes": received,
                             "seconds": round(time.monotonic() - started, 2)}
        # A client that leaves mid-way stops the export: read a little, then close.
        with client.stream("POST", f"{args.url}/api/query", params={"format": "parquet"},
                           json={"sql": slow, "timeout_ms": 600000}, headers=headers) as reply:
            report["disconnect_status"] = reply.status_code
            got = 0
            for piece in reply.iter_bytes():
                got += len(piece)
                if got > 1 << 20:
                    break
        report["disconnect_read_bytes"] = got
    print(json.dumps(report))
    return 0


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", choices=["types", "large", "limits"])
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--pid", type=int)
    parser.add_argument("--rows", type=int, default=10_000_000)
    args = parser.parse_args()
    return {"types": types, "large": large, "limits": limits}[args.scenario](args)


if __name__ == "__main__":
    sys.exit(main())
