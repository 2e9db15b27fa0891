#!/usr/bin/env python3
"""A standalone HTTP callback receiver for the end-to-end tests.

It plays a wallet (checks the SPEC §5 `Signature` header with Python `cryptography`) or the
anchor's business server (checks the JWT with PyJWT, or the API key), and records every request
as one JSON line in --record. Verification never changes the answer: a bad signature is still
answered 200 and recorded as invalid, so a test can assert that none was.

Only loopback addresses may be bound. Fault options for later tests: --fail-ratio, --hang-ratio,
--hang-seconds, --status-for EVENT_ID=CODE[:TIMES], --latency-ms, --retry-after.
--brief keeps records small for load tests (no headers and body; a summary of the body instead).

Each record (one JSON object per line):
  seq, receiver, time (unix seconds, float), time_iso, method, path, query, http_version,
  headers ([[name, value], ...] as received), body (UTF-8 text, U+FFFD for invalid bytes),
  body_b64 (exact bytes), body_utf8 (bool), body_json (parsed body or null), event_id,
  event_id_header, client_gone (the client had closed the connection when the request was
  read), verification {...}, status (answered status or null when hung), hung, latency_ms.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import datetime as dt
import hmac
import ipaddress
import json
import os
import random
import re
import signal
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

try:  # independent checkers; missing ones are reported per record instead of crashing
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
except ImportError:  # pragma: no cover
    Ed25519PublicKey = None  # type: ignore
    InvalidSignature = Exception  # type: ignore

try:
    import jwt as pyjwt
except ImportError:  # pragma: no cover
    pyjwt = None  # type: ignore

MAX_BODY = 8 * 1024 * 1024
SIGNATURE_RE = re.compile(r"^t=(\d+), s=([A-Za-z0-9+/]+={0,2})$")
EVENT_ID_HEADER_RE = re.compile(r"(^|[-_])event[-_]?id$", re.IGNORECASE)


# ---- Stellar strkeys -------------------------------------------------------------------------

def crc16_xmodem(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def decode_strkey(value: str, version_byte: int) -> bytes:
    """Returns the 32-byte payload of a strkey (G... account: 0x30, S... seed: 0x90)."""
    if len(value) != 56 or value != value.upper():
        raise ValueError("a strkey has 56 upper-case characters")
    try:
        raw = base64.b32decode(value)
    except binascii.Error as e:
        raise ValueError(f"not base32: {e}") from None
    if len(raw) != 35:
        raise ValueError("decoded strkey is not 35 bytes")
    if raw[0] != version_byte:
        raise ValueError(f"version byte 0x{raw[0]:02x}, expected 0x{version_byte:02x}")
    if crc16_xmodem(raw[:33]) != int.from_bytes(raw[33:], "little"):
        raise ValueError("checksum mismatch")
    return raw[1:33]


def account_public_key(account: str):
    if Ed25519PublicKey is None:
        raise RuntimeError("python 'cryptography' is not installed")
    return Ed25519PublicKey.from_public_bytes(decode_strkey(account, 0x30))


# ---- verification ------------------------------------------------------------------------------

def verify_signature_header(header: str | None, host: str, body: bytes, public_key,
                            max_skew: float, now: float) -> dict:
    """Checks `Signature: t=<unix>, s=<base64>` over t + '.' + host + '.' + body (SPEC §5)."""
    out = {"present": header is not None, "format_ok": False, "valid": False, "fresh": False,
           "t": None, "skew_s": None, "error": None}
    if header is None:
        out["error"] = "no Signature header"
        return out
    m = SIGNATURE_RE.match(header)
    if not m:
        out["error"] = "malformed Signature header"
        return out
    t_text, s_text = m.group(1), m.group(2)
    out["t"] = int(t_text)
    out["format_ok"] = len(t_text) == 10 and len(s_text) == 88
    try:
        sig = base64.b64decode(s_text, validate=True)
    except binascii.Error:
        out["error"] = "s is not base64"
        return out
    if len(sig) != 64:
        out["error"] = "signature is not 64 bytes"
        return out
    message = t_text.encode("ascii") + b"." + host.encode("utf-8") + b"." + body
    try:
        public_key.verify(sig, message)
        out["valid"] = True
    except InvalidSignature:
        out["error"] = "signature does not verify"
    out["skew_s"] = round(now - out["t"], 3)
    out["fresh"] = abs(now - out["t"]) <= max_skew
    return out


def verify_standard_webhook(headers, body: bytes, public_key, max_skew: float, now: float):
    """Checks Standard Webhooks headers (webhook-id/-timestamp/-signature: v1a,<b64>) if sent."""
    wid = headers.get("webhook-id")
    wts = headers.get("webhook-timestamp")
    wsig = headers.get("webhook-signature")
    if wid is None and wts is None and wsig is None:
        return None
    out = {"valid": False, "fresh": False, "error": None}
    if not (wid and wts and wsig):
        out["error"] = "incomplete webhook-* headers"
        return out
    message = wid.encode() + b"." + wts.encode() + b"." + body
    for part in wsig.split():
        version, _, b64 = part.partition(",")
        if version != "v1a":
            continue
        try:
            public_key.verify(base64.b64decode(b64, validate=True), message)
            out["valid"] = True
            break
        except (InvalidSignature, binascii.Error, ValueError):
            continue
    if not out["valid"]:
        out["error"] = "no v1a signature verifies"
    try:
        out["fresh"] = abs(now - int(wts)) <= max_skew
    except ValueError:
        out["error"] = "webhook-timestamp is not an integer"
    return out


def verify_jwt(header_value: str | None, secret: bytes, leeway: float) -> dict:
    out = {"present": header_value is not None, "valid": False, "claims": None,
           "alg": None, "lifetime_s": None, "error": None}
    if header_value is None:
        out["error"] = "no token header"
        return out
    if not header_value.startswith("Bearer "):
        out["error"] = "not 'Bearer <token>'"
        return out
    token = header_value[len("Bearer "):]
    if pyjwt is None:
        out["error"] = "PyJWT is not installed"
        return out
    try:
        out["alg"] = pyjwt.get_unverified_header(token).get("alg")
        claims = pyjwt.decode(token, secret, algorithms=["HS256"], leeway=leeway,
                              options={"require": ["iat", "exp"]})
        out["claims"] = claims
        out["valid"] = True
        if isinstance(claims.get("iat"), int) and isinstance(claims.get("exp"), int):
            out["lifetime_s"] = claims["exp"] - claims["iat"]
    except Exception as e:  # any PyJWT error means invalid
        out["error"] = f"{type(e).__name__}: {e}"
    return out


# ---- server ------------------------------------------------------------------------------------

class Receiver:
    def __init__(self, args):
        self.args = args
        self.name = args.name
        self.lock = threading.Lock()
        self.seq = 0
        self.stopping = threading.Event()
        self.rng = random.Random(args.seed)
        self.record_file = open(args.record, "a", encoding="utf-8")
        self.public_key = account_public_key(args.account) if args.mode == "wallet" else None
        self.jwt_secret = None
        self.api_key = None
        if args.jwt_secret_file:
            self.jwt_secret = read_secret(args.jwt_secret_file)
        if args.api_key_file:
            self.api_key = read_secret(args.api_key_file)
        self.status_for = {}  # event id -> [code, remaining times or None]
        for item in args.status_for:
            event_id, _, spec = item.rpartition("=")
            code, _, times = spec.partition(":")
            if not event_id or not code.isdigit():
                raise SystemExit(f"--status-for wants EVENT_ID=CODE[:TIMES], got {item!r}")
            self.status_for[event_id] = [int(code), int(times) if times else None]
        self.signature_host = args.signature_host

    def next_seq(self) -> int:
        with self.lock:
            self.seq += 1
            return self.seq

    def write(self, record: dict) -> bool:
        """False when the receiver is shutting down and the record could not be kept: the
        request must then go unanswered, or the sender would count a delivery no record shows."""
        line = json.dumps(record, ensure_ascii=False, sort_keys=False)
        with self.lock:
            if self.record_file.closed:
                return False
            self.record_file.write(line + "\n")
            self.record_file.flush()
            return True

    def decide(self, event_id: str | None):
        """Returns (status, hang) for a request."""
        with self.lock:
            if event_id is not None and event_id in self.status_for:
                entry = self.status_for[event_id]
                if entry[1] is None or entry[1] > 0:
                    if entry[1] is not None:
                        entry[1] -= 1
                    return entry[0], False
            r = self.rng.random()
        if r < self.args.hang_ratio:
            return None, True
        if r < self.args.hang_ratio + self.args.fail_ratio:
            return 500, False
        return self.args.status, False

    def verify(self, headers, body: bytes, now: float) -> dict:
        a = self.args
        v = {"mode": a.mode}
        if a.mode == "wallet":
            v["signature"] = verify_signature_header(headers.get("Signature"), self.signature_host,
                                                     body, self.public_key, a.max_skew, now)
            v["signature_host"] = self.signature_host
            webhook = verify_standard_webhook(headers, body, self.public_key, a.max_skew, now)
            if webhook is not None:
                v["standard_webhook"] = webhook
            ok = v["signature"]["valid"] and v["signature"]["format_ok"] and v["signature"]["fresh"]
        elif a.mode == "business":
            if self.jwt_secret is not None:
                v["jwt"] = verify_jwt(headers.get(a.jwt_header), self.jwt_secret, a.jwt_leeway)
                ok = v["jwt"]["valid"]
            elif self.api_key is not None:
                got = headers.get(a.api_key_header)
                v["api_key"] = {"present": got is not None, "header": a.api_key_header,
                                "valid": got is not None
                                and hmac.compare_digest(got.encode("utf-8"), self.api_key)}
                ok = v["api_key"]["valid"]
            else:
                ok = True
            # Credentials must not leak into the other header.
            v["unexpected_signature_header"] = headers.get("Signature") is not None
        else:
            ok = True
        ctype = headers.get("Content-Type")
        v["content_type"] = ctype
        v["content_type_json"] = ctype is not None and ctype.split(";")[0].strip().lower() == "application/json"
        v["ok"] = bool(ok)
        return v


def read_secret(path: str) -> bytes:
    with open(path, "rb") as f:
        data = f.read()
    return data.rstrip(b"\r\n")


def find_event_id(receiver: Receiver, headers, body_json):
    names = [receiver.args.event_id_header] if receiver.args.event_id_header else []
    for name, _ in headers.items():
        if name not in names and (EVENT_ID_HEADER_RE.search(name) or name.lower() == "webhook-id"):
            names.append(name)
    for name in names:
        value = headers.get(name)
        if value:
            return value, name
    if isinstance(body_json, dict) and isinstance(body_json.get("id"), str) \
            and ("payload" in body_json or "type" in body_json):
        return body_json["id"], None  # business-server body
    return None, None


BRIEF_DROPPED = ("headers", "body", "body_b64", "body_json")


def peer_closed(sock) -> bool:
    """True when the peer has already closed its side (EOF waiting after the request)."""
    try:
        return sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except OSError:
        return True


def body_summary(body_json) -> dict | None:
    """The object a callback body carries: the business envelope's payload object, a wallet's
    {"transaction": ...}, or a bare SEP-12 customer. Returns {kind, id, status, message,
    updated_at} with the fields present, or None."""
    if not isinstance(body_json, dict):
        return None
    obj, kind = None, None
    payload = body_json.get("payload")
    holder = payload if isinstance(payload, dict) else body_json
    for k in ("transaction", "quote", "customer"):
        if isinstance(holder.get(k), dict):
            obj, kind = holder[k], k
            break
    if obj is None and isinstance(body_json.get("id"), str):
        obj, kind = body_json, "customer"  # SEP-12 callbacks send the bare customer
    if obj is None:
        return None
    out = {"kind": kind}
    for k in ("id", "status", "message", "updated_at"):
        if k in obj:
            out[k] = obj[k]
    return out


def brief_record(record: dict) -> dict:
    """--brief: the record without headers and body, plus a summary of the body's object and
    the verification verdict (for load tests that write tens of thousands of records)."""
    out = {k: v for k, v in record.items() if k not in BRIEF_DROPPED}
    out["summary"] = body_summary(record.get("body_json"))
    out["body_bytes"] = len(record.get("body") or "")
    return out


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "anchor-events-e2e-receiver"
    sys_version = ""

    def log_message(self, format, *args):  # noqa: A002 - keep stderr quiet
        if self.server.receiver.args.verbose:
            super().log_message(format, *args)

    def read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(1024)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(length) if length > 0 else b""

    def handle_any(self):
        receiver: Receiver = self.server.receiver
        started = time.time()
        try:
            body = self.read_body()
        except (ValueError, OSError) as e:
            self.send_error(400, str(e))
            return
        now = time.time()
        try:
            text = body.decode("utf-8")
            utf8 = True
        except UnicodeDecodeError:
            text = body.decode("utf-8", errors="replace")
            utf8 = False
        try:
            body_json = json.loads(text) if utf8 and body else None
        except ValueError:
            body_json = None
        event_id, event_id_header = find_event_id(receiver, self.headers, body_json)
        path, _, query = self.path.partition("?")
        client_gone = peer_closed(self.connection)
        record = {
            "seq": receiver.next_seq(),
            "receiver": receiver.name,
            "time": now,
            "time_iso": dt.datetime.fromtimestamp(now, dt.timezone.utc).isoformat(),
            "method": self.command,
            "path": path,
            "query": query,
            "http_version": self.request_version,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": text,
            "body_b64": base64.b64encode(body).decode("ascii"),
            "body_utf8": utf8,
            "body_json": body_json,
            "event_id": event_id,
            "event_id_header": event_id_header,
            # The client had closed the connection before this request was read to the end
            # (it gave up waiting, e.g. its deadline passed): an answer will not reach it.
            "client_gone": client_gone,
            "verification": receiver.verify(self.headers, body, now),
        }
        status, hang = receiver.decide(event_id)
        if receiver.args.latency_ms > 0 and not hang:
            receiver.stopping.wait(receiver.args.latency_ms / 1000.0)
        record["status"] = status
        record["hung"] = hang
        record["latency_ms"] = round((time.time() - started) * 1000, 1)
        if receiver.args.brief:
            record = brief_record(record)
        if not receiver.write(record):
            self.close_connection = True  # stopped meanwhile: no record, so no answer
            return
        if hang:
            # Never answer; give up the connection when the receiver stops, or after
            # --hang-seconds (closed without an answer).
            receiver.stopping.wait(receiver.args.hang_seconds)
            self.close_connection = True
            return
        payload = b"" if status == 204 else json.dumps({"received": True}).encode()
        self.send_response(status)
        if 300 <= status < 400:
            self.send_header("Location", receiver.args.redirect_location)
        if status in (429, 503) and receiver.args.retry_after is not None:
            self.send_header("Retry-After", str(receiver.args.retry_after))
        if payload:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    do_POST = handle_any
    do_PUT = handle_any
    do_GET = handle_any
    do_DELETE = handle_any
    do_PATCH = handle_any


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024  # listen backlog: a load test opens many connections at once

    def __init__(self, address, receiver, family):
        self.address_family = family
        self.receiver = receiver
        super().__init__(address, Handler)


def check_loopback(host: str) -> int:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        raise SystemExit(f"--bind must be a loopback IP address, got {host!r}")
    if not ip.is_loopback:
        raise SystemExit(f"--bind must be a loopback address (127.0.0.0/8 or ::1), got {host}")
    return socket.AF_INET6 if ip.version == 6 else socket.AF_INET


def ratio(value: str) -> float:
    r = float(value)
    if not 0.0 <= r <= 1.0:
        raise argparse.ArgumentTypeError("a ratio is between 0 and 1")
    return r


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", default="receiver", help="recorded in every record")
    p.add_argument("--bind", default="127.0.0.1", help="loopback address to listen on")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--port-file", help="write the bound port here (atomically)")
    p.add_argument("--record", required=True, help="append one JSON line per request here")
    p.add_argument("--mode", choices=["wallet", "business", "plain"], default="plain")
    p.add_argument("--account", help="wallet: the anchor's G... account that signs callbacks")
    p.add_argument("--signature-host", help="wallet: host[:port] that is signed; '{port}' is "
                                             "replaced by the bound port")
    p.add_argument("--max-skew", type=float, default=120.0,
                   help="wallet: largest |now - t| in seconds that counts as fresh")
    p.add_argument("--jwt-secret-file", help="business: HS256 key (file, trailing newline dropped)")
    p.add_argument("--jwt-header", default="Authorization")
    p.add_argument("--jwt-leeway", type=float, default=2.0)
    p.add_argument("--api-key-file", help="business: expected API key (file)")
    p.add_argument("--api-key-header", default="X-Api-Key")
    p.add_argument("--event-id-header", help="header that carries the event id (default: any "
                                              "header named like *event-id, or webhook-id)")
    p.add_argument("--status", type=int, default=200, help="default answer")
    p.add_argument("--fail-ratio", type=ratio, default=0.0, help="answer 500 to this fraction")
    p.add_argument("--hang-ratio", type=ratio, default=0.0, help="never answer this fraction")
    p.add_argument("--hang-seconds", type=float, default=None,
                   help="close a hung request's connection (unanswered) after this many seconds "
                        "(default: only when the receiver stops)")
    p.add_argument("--brief", action="store_true",
                   help="record no headers and body, only a summary of the body's object "
                        "(kind, id, status, message, updated_at) and the verification")
    p.add_argument("--status-for", action="append", default=[], metavar="EVENT_ID=CODE[:TIMES]",
                   help="answer CODE for this event id (the first TIMES requests, or always)")
    p.add_argument("--latency-ms", type=float, default=0.0, help="wait this long before answering")
    p.add_argument("--retry-after", type=int, help="Retry-After seconds sent with 429 and 503")
    p.add_argument("--redirect-location", default="http://127.0.0.1:9/redirected",
                   help="Location sent with 3xx answers (keep it on loopback)")
    p.add_argument("--seed", type=int, help="random seed for --fail-ratio / --hang-ratio")
    p.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = p.parse_args(argv)
    if args.mode == "wallet":
        if not args.account or not args.signature_host:
            p.error("--mode wallet needs --account and --signature-host")
    if args.mode == "business" and args.jwt_secret_file and args.api_key_file:
        p.error("give --jwt-secret-file or --api-key-file, not both")
    if args.fail_ratio + args.hang_ratio > 1.0:
        p.error("--fail-ratio + --hang-ratio must not exceed 1")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    family = check_loopback(args.bind)
    receiver = Receiver(args)
    server = Server((args.bind, args.port), receiver, family)
    port = server.server_address[1]
    if receiver.signature_host:
        receiver.signature_host = receiver.signature_host.replace("{port}", str(port))

    stop = threading.Event()

    def on_signal(signum, frame):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2},
                              daemon=True)
    thread.start()
    if args.port_file:
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{port}\n")
        os.replace(tmp, args.port_file)
    print(f"receiver {args.name}: listening on {args.bind}:{port} mode={args.mode}",
          file=sys.stderr, flush=True)
    while not stop.wait(0.5):
        pass
    receiver.stopping.set()  # releases hung and delayed handlers
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
    with receiver.lock:
        receiver.record_file.close()
    print(f"receiver {args.name}: stopped after {receiver.seq} requests", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
