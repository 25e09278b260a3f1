"""A small module for the proxy tests (issue 11): it answers on $PORT with
what it saw, streams bodies both ways, sends server-sent events, echoes
WebSocket frames and challenges like a resource server. Stdlib only.

Paths are matched on their last segment, so the module works the same
with and without stripPrefix.
"""
import base64
import hashlib
import http.server
import json
import os
import struct
import sys
import time
import urllib.parse

MODULE = sys.argv[1] if len(sys.argv) > 1 else "?"
FULL_CHALLENGE = 'Bearer resource_metadata="https://module.example/prm", error="invalid_token", scope="m:read"'
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def leaf(self):
        path = urllib.parse.urlsplit(self.path).path
        return path.rstrip("/").rsplit("/", 1)[-1]

    def send_json(self, status, doc, extra=()):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        leaf = self.leaf()
        if leaf == "health":
            return self.send_json(200, {"status": "ok"})
        if leaf == "sse":
            return self.sse()
        if leaf == "ws":
            return self.websocket()
        if leaf == "download":
            return self.download()
        if leaf == "challenge":
            return self.send_json(401, {"error": "invalid_token"}, [("WWW-Authenticate", FULL_CHALLENGE)])
        if leaf == "bare-challenge":
            return self.send_json(401, {"error": "invalid_token"}, [("WWW-Authenticate", "Bearer")])
        return self.echo()

    def do_POST(self):
        if self.leaf() == "upload":
            return self.upload()
        return self.echo()

    def echo(self):
        headers = {}
        for k, v in self.headers.items():
            headers.setdefault(k.lower(), []).append(v)
        self.send_json(
            200,
            {"module": MODULE, "path": self.path, "headers": headers},
            [
                ("Connection", "keep-alive, X-Module-Internal"),
                ("X-Module-Internal", "secret"),
                ("Keep-Alive", "timeout=5"),
                ("Set-Cookie", "parachute_hub_session=planted; Path=/"),
                ("Set-Cookie", "module_pref=1; Path=/"),
            ],
        )

    def upload(self):
        left = int(self.headers.get("Content-Length", "0"))
        seen = 0
        while left > 0:
            chunk = self.rfile.read(min(left, 1 << 20))
            if not chunk:
                break
            seen += len(chunk)
            left -= len(chunk)
        self.send_json(200, {"bytes": seen})

    def download(self):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        n = int(q.get("bytes", ["0"])[0])
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(n))
        self.end_headers()
        block = b"x" * (1 << 20)
        while n > 0:
            part = block[: min(n, len(block))]
            self.wfile.write(part)
            n -= len(part)

    def sse(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"data: first\n\n")
        self.wfile.flush()
        time.sleep(float(os.environ.get("SSE_HOLD", "3")))
        self.wfile.write(b"data: last\n\n")
        self.wfile.flush()
        self.close_connection = True

    def websocket(self):
        key = self.headers.get("Sec-WebSocket-Key", "")
        offered = [p.strip() for p in self.headers.get("Sec-WebSocket-Protocol", "").split(",") if p.strip()]
        accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", accept)
        if "echo.v2" in offered:
            self.send_header("Sec-WebSocket-Protocol", "echo.v2")
        self.end_headers()
        self.wfile.flush()
        while True:
            head = self.rfile.read(2)
            if len(head) < 2:
                break
            opcode = head[0] & 0x0F
            length = head[1] & 0x7F
            if length == 126:
                length = struct.unpack(">H", self.rfile.read(2))[0]
            elif length == 127:
                length = struct.unpack(">Q", self.rfile.read(8))[0]
            mask = self.rfile.read(4) if head[1] & 0x80 else b"\0\0\0\0"
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(length)))
            if opcode == 8:
                break
            reply = b"echo:" + data
            self.wfile.write(bytes([0x80 | opcode, len(reply)]) + reply)
            self.wfile.flush()
        self.close_connection = True

    def log_message(self, fmt, *args):
        pass


port = int(os.environ["PORT"])
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
server.daemon_threads = True
print(f"proxied module on 127.0.0.1:{port}", flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    sys.exit(0)
