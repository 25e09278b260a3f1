"""A minimal Parachute module: answers its health path on $PORT."""
import http.server
import os
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = b'{"status":"ok"}' if self.path.endswith("/health") else b"hello\n"
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        print("request:", fmt % args, flush=True)


port = int(os.environ.get("PORT", "1950"))
server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
print(f"hello module listening on 127.0.0.1:{port}", flush=True)
try:
    server.serve_forever()
except KeyboardInterrupt:
    sys.exit(0)
