"""Local HTTP systems for the tests (an API a job calls, an npm registry, stand-ins for Stripe and
GitHub): a request handler that answers JSON and logs nothing, and a server on 127.0.0.1 in a thread
of its own."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class JsonHandler(BaseHTTPRequestHandler):
    def log_message(self, *_args):
        pass

    def send_json(self, status: int, payload, headers: dict[str, str] | None = None) -> None:
        """`payload`: anything json.dumps takes, or the bytes of the body as they are."""
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


@contextmanager
def local_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[ThreadingHTTPServer]:
    """A server of `handler` on a free port of 127.0.0.1 while the block runs; its port is
    `server.server_address[1]`."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
