"""A local https server of client ID metadata documents, for the hub's CIMD
tests (tests/it/cimd.rs, tests/it/oauth_clients.rs). It makes its own test CA
and a certificate for 127.0.0.1 (python cryptography), writes the CA to
DIR/ca.pem, prints one JSON line {"port": N, "ca": path} and serves until
killed. Every request's path is appended to DIR/requests.log.

  GET /<name>.json       DIR/<name>.json with `{origin}` replaced by this
                         server's origin; DIR/<name>.headers (if any) holds
                         extra `Name: value` lines
  GET /big.json          a valid document padded past 5 KiB
  GET /slow.json         a valid document, sent after 8 seconds
  GET /redirect?to=URL   302 to URL

Env: DIR (a writable directory).
"""

import datetime
import ipaddress
import json
import os
import ssl
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DIR = os.environ["DIR"]


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def make_certs():
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=1)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "parachute CIMD test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_path = os.path.join(DIR, "ca.pem")
    with open(ca_path, "wb") as f:
        f.write(pem(ca))
    chain = os.path.join(DIR, "server.pem")
    with open(chain, "wb") as f:
        f.write(pem(leaf))
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
    return ca_path, chain


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def send(self, status, body=b"", headers=()):
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def document(self, name):
        origin = f"https://127.0.0.1:{self.server.server_port}"
        return {
            "client_id": f"{origin}/{name}.json",
            "client_name": name,
            "redirect_uris": ["http://127.0.0.1/callback"],
        }

    def do_GET(self):
        with open(os.path.join(DIR, "requests.log"), "a") as f:
            f.write(self.path + "\n")
        url = urlparse(self.path)
        json_type = [("Content-Type", "application/json")]
        if url.path == "/redirect":
            return self.send(302, headers=[("Location", parse_qs(url.query)["to"][0])])
        if url.path == "/big.json":
            doc = self.document("big")
            doc["padding"] = "x" * 6000
            return self.send(200, json.dumps(doc).encode(), json_type)
        if url.path == "/slow.json":
            time.sleep(8)
            return self.send(200, json.dumps(self.document("slow")).encode(), json_type)
        name = url.path.strip("/")
        path = os.path.join(DIR, name)
        if not name.endswith(".json") or "/" in name or not os.path.isfile(path):
            return self.send(404)
        origin = f"https://127.0.0.1:{self.server.server_port}"
        body = open(path).read().replace("{origin}", origin).encode()
        headers = list(json_type)
        extra = path[: -len(".json")] + ".headers"
        if os.path.isfile(extra):
            headers += [tuple(map(str.strip, l.split(":", 1))) for l in open(extra) if ":" in l]
        self.send(200, body, headers)


def main():
    ca, chain = make_certs()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(chain)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print(json.dumps({"port": server.server_port, "ca": ca}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.exit(0)


main()
