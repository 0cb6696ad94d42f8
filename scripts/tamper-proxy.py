#!/usr/bin/env python3
"""A test-only interposing proxy between a child site and its parent (tests of verified catalogs).

    tamper-proxy.py LISTEN_PORT UPSTREAM_PORT MODE_FILE

Forwards every request to 127.0.0.1:UPSTREAM_PORT unchanged (signed requests do not sign the host).
Answers to GET /v1/changes are rewritten as MODE_FILE says (read on every request):
  pass    unchanged
  alter   the first record's title changed
  drop    the first record left out (the header's and end line's counts adjusted to match)
  add     a made-up record added (counts adjusted)
The counts stay consistent, so only the signed root can tell. Each rewrite is counted in MODE_FILE.count;
each request's method, path and User-Agent are appended to MODE_FILE.agents.
"""
import http.client
import http.server
import json
import sys
import uuid

LISTEN, UPSTREAM, MODE_FILE = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]


def mode():
    try:
        return open(MODE_FILE).read().strip() or "pass"
    except OSError:
        return "pass"


def tamper(body: bytes, how: str) -> bytes:
    lines = body.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    header = json.loads(lines[0])
    records = lines[1:1 + header["upserts"]]
    rest = lines[1 + header["upserts"]:]
    trailer = json.loads(rest[-1])
    if how == "alter" and records:
        record = json.loads(records[0])
        record["title"] = record["title"] + " (altered)"
        records[0] = json.dumps(record, separators=(",", ":")).encode()
    elif how == "drop" and records:
        records = records[1:]
    elif how == "add" and records:
        record = json.loads(records[0])
        record["id"] = str(uuid.uuid4())
        record["title"] = "An update nobody published"
        record.pop("superseded_by", None)
        record.pop("superseded_released", None)
        records.append(json.dumps(record, separators=(",", ":")).encode())
    else:
        return body
    header["upserts"] = trailer["upserts"] = len(records)
    with open(MODE_FILE + ".count", "a") as counter:
        counter.write(how + "\n")
    return b"\n".join([json.dumps(header, separators=(",", ":")).encode()] + records + rest[:-1]
                      + [json.dumps(trailer, separators=(",", ":")).encode()]) + b"\n"


class Proxy(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def forward(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        with open(MODE_FILE + ".agents", "a") as agents:
            agents.write("%s %s %s\n" % (self.command, self.path.split("?", 1)[0], self.headers.get("User-Agent", "")))
        upstream = http.client.HTTPConnection("127.0.0.1", UPSTREAM, timeout=120)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        try:
            upstream.request(self.command, self.path, body=body, headers=headers)
            answer = upstream.getresponse()
            data = answer.read()
        except OSError as error:
            self.send_error(502, str(error))
            return
        if self.command == "GET" and self.path.startswith("/v1/changes") and answer.status == 200:
            how = mode()
            if how != "pass":
                data = tamper(data, how)
        self.send_response(answer.status)
        for key, value in answer.getheaders():
            if key.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = forward

    def log_message(self, *args):
        pass


http.server.ThreadingHTTPServer.daemon_threads = True
http.server.ThreadingHTTPServer(("127.0.0.1", LISTEN), Proxy).serve_forever()
