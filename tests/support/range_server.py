"""A static file server that honours single ``Range`` requests.

gtars' ``open_remote`` refuses servers that ignore ``Range``, and Python's
``http.server`` does; this is the smallest server gtars accepts.
Run as ``python -m tests.support.range_server ROOT PORT``.
"""

import http.server
import os
import re
import sys

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


class RangeHandler(http.server.SimpleHTTPRequestHandler):
    def send_head(self):
        path = self.translate_path(self.path)
        if not os.path.isfile(path):
            self.send_error(404)
            return None
        size = os.path.getsize(path)
        match = _RANGE.match(self.headers.get("Range", ""))
        handle = open(path, "rb")  # noqa: SIM115 (the base class closes it)
        if not match:
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            return handle
        start = int(match.group(1))
        end = min(int(match.group(2) or size - 1), size - 1)
        handle.seek(start)
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        return _Limited(handle, end - start + 1)

    def log_message(self, *arguments):
        pass


class _Limited:
    """A file object that ends after ``remaining`` bytes."""

    def __init__(self, handle, remaining):
        self.handle = handle
        self.remaining = remaining

    def read(self, size=-1):
        if self.remaining <= 0:
            return b""
        size = self.remaining if size < 0 else min(size, self.remaining)
        data = self.handle.read(size)
        self.remaining -= len(data)
        return data

    def close(self):
        self.handle.close()


if __name__ == "__main__":
    os.chdir(sys.argv[1])
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", int(sys.argv[2])), RangeHandler
    )
    server.serve_forever()
