"""A local feed server for benchmarks: serves prepared RSS files with ETag/Last-Modified.

Run as a separate process so its memory is not counted against the scanner:
    python benchmarks/feedserver.py DIR PORTFILE
"""

from __future__ import annotations

import hashlib
import sys
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

LAST_MODIFIED = formatdate(1680307200, usegmt=True)  # 2023-04-01


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body leave at once: no 40 ms delayed-ACK stalls
    files: ClassVar[dict[str, tuple[bytes, str]]] = {}

    def do_GET(self) -> None:
        found = self.files.get(self.path)
        if found is None:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body, etag = found
        if self.headers.get("If-None-Match") == etag or (
            self.headers.get("If-Modified-Since") == LAST_MODIFIED
            and not self.headers.get("If-None-Match")
        ):
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", LAST_MODIFIED)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


def main() -> None:
    folder, portfile = Path(sys.argv[1]), Path(sys.argv[2])
    for path in sorted(folder.glob("*.xml")):
        body = path.read_bytes()
        Handler.files[f"/{path.name}"] = (body, '"' + hashlib.sha1(body).hexdigest() + '"')
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    portfile.write_text(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
