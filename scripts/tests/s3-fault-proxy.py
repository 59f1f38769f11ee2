#!/usr/bin/env python3
"""A small HTTP proxy in front of an S3 server, for Duckling's fault tests.

    s3-fault-proxy.py --target 127.0.0.1:PORT [--fail-first N --status CODE] [--drop-part K]
                      [--fail-parts CODE] [--log FILE]

Listens on a free loopback port and prints it on the first line of stdout. Each request is
forwarded unchanged (same path, headers and body), except:
  --fail-first N --status CODE  the first N requests are answered CODE with an S3 error body
  --drop-part K                 the K-th UploadPart request: half its body is read, then the
                                connection is closed without an answer
  --fail-parts CODE             every UploadPart request is answered CODE (a permanent failure)
  --drop-get K                  the K-th GET of an object: its head and half its body are sent, then
                                the connection is closed
Every request is logged to --log as "METHOD PATH -> STATUS" (or "-> dropped").
"""
import argparse
import http.client
import http.server
import signal
import sys
import threading

# A parent may hand down blocked signals; make SIGTERM and SIGINT work.
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})

parser = argparse.ArgumentParser()
parser.add_argument("--target", required=True)
parser.add_argument("--fail-first", type=int, default=0)
parser.add_argument("--status", type=int, default=503)
parser.add_argument("--drop-part", type=int, default=0)
parser.add_argument("--fail-parts", type=int, default=0)
parser.add_argument("--drop-get", type=int, default=0)
parser.add_argument("--log")
args = parser.parse_args()

lock = threading.Lock()
counts = {"requests": 0, "parts": 0, "gets": 0}
log = open(args.log, "a", buffering=1) if args.log else None


def record(line):
    if log:
        with lock:
            log.write(line + "\n")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_):
        pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        is_part = self.command == "PUT" and "partNumber=" in self.path
        is_get = self.command == "GET" and "?" not in self.path
        with lock:
            counts["requests"] += 1
            number = counts["requests"]
            if is_part:
                counts["parts"] += 1
            if is_get:
                counts["gets"] += 1
            part = counts["parts"]
            get = counts["gets"]
        if is_part and args.drop_part and part == args.drop_part:
            self.rfile.read(length // 2)
            record(f"{self.command} {self.path} -> dropped")
            self.close_connection = True
            self.connection.shutdown(2)
            return
        body = self.rfile.read(length) if length else b""
        failing = number <= args.fail_first or (is_part and args.fail_parts)
        if failing:
            code = args.fail_parts if (is_part and args.fail_parts) else args.status
            payload = f"<?xml version=\"1.0\"?><Error><Code>InjectedFault</Code><Message>fault proxy answered {code}</Message></Error>".encode()
            record(f"{self.command} {self.path} -> {code}")
            self.send_response(code)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(payload)
            return
        upstream = http.client.HTTPConnection(args.target, timeout=120)
        headers = {k: v for k, v in self.headers.items()}
        upstream.request(self.command, self.path, body=body, headers=headers)
        response = upstream.getresponse()
        data = response.read()
        ranged = f" range={self.headers['Range']}" if self.headers.get("Range") else ""
        if is_get and args.drop_get and get == args.drop_get:
            record(f"{self.command} {self.path}{ranged} -> dropped")
            self.send_response(response.status)
            self.send_header("Content-Length", str(len(data)))
            for name, value in response.getheaders():
                if name.lower() in ("etag", "content-type", "last-modified"):
                    self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        record(f"{self.command} {self.path}{ranged} -> {response.status}")
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in ("transfer-encoding", "connection", "content-length", "server", "date"):
                self.send_header(name, value)
        # A HEAD answer carries the object's length without its body.
        length = response.getheader("Content-Length", "0") if self.command == "HEAD" else str(len(data))
        self.send_header("Content-Length", length)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        upstream.close()

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A client that goes away mid-answer (a killed backup) is part of the tests, not an error.
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


server = Server(("127.0.0.1", 0), Handler)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
