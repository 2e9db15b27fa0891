#!/usr/bin/env python3
"""A tiny HTTPS server standing in for kube-apiserver in the kube client tests.

Usage: fake_apiserver.py DIR
Makes a CA, a server certificate for 127.0.0.1 and a client certificate in DIR (openssl CLI),
listens on 127.0.0.1 on a free port, prints "PORT <n>" and serves until stdin closes or
60 seconds pass. Python standard library only.

Routes:
  /echo                 200, JSON with the request's method, path, headers, body and client CN
  /client-cert          200 when the client presented a certificate, else 401
  /watch-stream         200 chunked: one line split over two writes, a second line 300 ms
                        later, then nothing more while the client stays connected (max 10 s)
  /watch-end            200 chunked: two lines in one chunk, then the end of the stream
  /watch-silent         200 chunked headers, then no byte for 10 s
  /gone                 410 with a Status body
  /big                  200 with a 17 MiB body
"""
import json
import os
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def make_certs(folder):
    def run(*args):
        subprocess.run(["openssl", *args], check=True, cwd=folder, capture_output=True)

    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
        "-days", "2", "-subj", "/CN=fake-apiserver-ca")
    for name, subject, ext in [
        ("server", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
        ("client", "/CN=test-user/O=testers", "extendedKeyUsage=clientAuth"),
    ]:
        run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
            f"{name}.csr", "-subj", subject)
        with open(os.path.join(folder, f"{name}.ext"), "w") as f:
            f.write(ext + "\n")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", f"{name}.ext")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def client_cn(self):
        cert = self.connection.getpeercert()
        for rdn in (cert or {}).get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    return value
        return ""

    def send_json(self, status, payload):
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def start_stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def hold(self, seconds):
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                time.sleep(0.05)
                # A closed peer shows up as a readable socket with no data.
                self.connection.settimeout(0.0)
                try:
                    if self.connection.recv(1) == b"":
                        return
                except (BlockingIOError, ssl.SSLWantReadError):
                    pass
                finally:
                    self.connection.settimeout(None)
        except OSError:
            pass

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        path = self.path.split("?")[0]
        if path == "/echo":
            self.send_json(200, {"method": self.command, "path": self.path, "body": body,
                                 "headers": {k.lower(): v for k, v in self.headers.items()},
                                 "client_cn": self.client_cn()})
        elif path == "/client-cert":
            cn = self.client_cn()
            self.send_json(200 if cn else 401, {"user": cn})
        elif path == "/watch-stream":
            self.start_stream()
            self.chunk(b'{"type":"ADDED","n":')
            time.sleep(0.05)
            self.chunk(b'1}\n')
            time.sleep(0.3)
            self.chunk(b'{"type":"MODIFIED","n":2}\r\n')
            self.hold(10)
            self.close_connection = True
        elif path == "/watch-end":
            self.start_stream()
            self.chunk(b'{"n":1}\n{"n":2}\n')
            self.wfile.write(b"0\r\n\r\n")
        elif path == "/watch-silent":
            self.start_stream()
            self.hold(10)
            self.close_connection = True
        elif path == "/gone":
            self.send_json(410, {"kind": "Status", "code": 410, "reason": "Expired",
                                 "message": "too old resource version"})
        elif path == "/big":
            block = b"x" * (1024 * 1024)
            self.send_response(200)
            self.send_header("Content-Length", str(17 * len(block)))
            self.end_headers()
            try:
                for _ in range(17):
                    self.wfile.write(block)
            except OSError:
                pass
        else:
            self.send_json(404, {"kind": "Status", "code": 404})

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


def main():
    folder = sys.argv[1]
    make_certs(folder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(os.path.join(folder, "server.crt"), os.path.join(folder, "server.key"))
    context.load_verify_locations(os.path.join(folder, "ca.crt"))
    context.verify_mode = ssl.CERT_OPTIONAL
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"PORT {server.server_address[1]}", flush=True)
    # Ends with the test process (stdin closes) or after a bound, whichever comes first.
    watchdog = threading.Thread(target=sys.stdin.read, daemon=True)
    watchdog.start()
    watchdog.join(60)
    server.shutdown()


if __name__ == "__main__":
    main()
