#!/usr/bin/env python3
"""A loopback HTTP upstream for `make bench`: serves one catalog file with an ETag, answers 304 when
If-None-Match matches. Usage: etag-server.py PORT FILE"""
import hashlib, http.server, os, sys

port, path = int(sys.argv[1]), sys.argv[2]

class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        stat = os.stat(path)
        etag = '"%x-%x"' % (stat.st_mtime_ns, stat.st_size)
        if self.headers.get("If-None-Match") == etag:
            self.send_response(304); self.send_header("ETag", etag); self.end_headers(); return
        self.send_response(200)
        self.send_header("ETag", etag)
        self.send_header("Content-Length", str(stat.st_size))
        self.end_headers()
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                self.wfile.write(chunk)

    def log_message(self, *args):
        pass

http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
