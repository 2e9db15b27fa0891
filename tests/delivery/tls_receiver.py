#!/usr/bin/env python3
"""HTTPS receivers on 127.0.0.1 for the sender's TLS tests (Python standard library).

Usage: tls_receiver.py DIR
Makes, with the openssl CLI, in DIR: a test CA (ca.crt), an unrelated CA (other-ca.crt), a
server certificate for 127.0.0.1 signed by the test CA, and a client certificate
(client.crt, client.key, CN anchor-events-test) signed by the test CA. Starts two servers on
free ports: one plain TLS, one that requires a client certificate from the test CA. Prints
"PORTS <tls> <mtls>" and serves until stdin closes or 60 seconds pass.

Every POST is answered 200, except on the mTLS server when the client certificate's CN is not
anchor-events-test (403). GET /count answers the number of POSTs each server received, as "<tls> <mtls>".
"""
import os
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

POSTS = {"tls": 0, "mtls": 0}
LOCK = threading.Lock()


def make_certs(folder):
    def run(*args):
        subprocess.run(["openssl", *args], check=True, cwd=folder, capture_output=True)

    for ca in ("ca", "other-ca"):
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{ca}.key", "-out",
            f"{ca}.crt", "-days", "2", "-subj", f"/CN=anchor-events {ca}")
    for name, subject, ext in [
        ("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
        ("client", "/CN=anchor-events-test", "extendedKeyUsage=clientAuth"),
    ]:
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
            f"{name}.csr", "-subj", subject)
        with open(os.path.join(folder, f"{name}.ext"), "w") as f:
            f.write(ext + "\n")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext")


def handler_for(kind):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def answer(self, body):
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with LOCK:
                POSTS[kind] += 1
            cn = ""
            for rdn in (self.connection.getpeercert() or {}).get("subject", ()):
                for key, value in rdn:
                    if key == "commonName":
                        cn = value
            if kind == "mtls" and cn != "anchor-events-test":
                self.send_response(403)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.answer(cn)

        def do_GET(self):
            with LOCK:
                self.answer(f"{POSTS['tls']} {POSTS['mtls']}")

    return Handler


def serve(folder, kind, require_client_cert):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(os.path.join(folder, "server.crt"), os.path.join(folder, "server.key"))
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(os.path.join(folder, "ca.crt"))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(kind))
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


def main():
    folder = sys.argv[1]
    make_certs(folder)
    ports = [serve(folder, "tls", False), serve(folder, "mtls", True)]
    print(f"PORTS {ports[0]} {ports[1]}", flush=True)
    threading.Thread(target=lambda: (sys.stdin.read(), os._exit(0)), daemon=True).start()
    time.sleep(60)
    os._exit(0)


if __name__ == "__main__":
    main()
