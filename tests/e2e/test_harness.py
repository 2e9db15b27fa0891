"""Self-tests of the end-to-end test tools: receiver.py's independent checks against the shared
signing vectors and PyJWT tokens, its fault options, and the Kafka helpers against a real broker.
None of this needs the processor binary."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import time
import urllib.error
import urllib.request

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

import harness
from receiver import crc16_xmodem, decode_strkey

TESTDATA = harness.testdata_dir()
VECTORS = json.loads((TESTDATA / "signing-vectors.json").read_text(encoding="utf-8"))
KEYS = VECTORS["keys"]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def post(port: int, path: str, body: bytes, headers: dict[str, str], timeout: float = 5):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method="POST",
                                 headers={"Content-Type": "application/json; charset=utf-8",
                                          **headers})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect())
    try:
        with opener.open(req, timeout=timeout) as r:
            return r.status, dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers)


def header_value(header_line: str) -> str:
    name, _, value = header_line.partition(": ")
    assert name == "Signature"
    return value


@pytest.fixture
def receivers(tmp_path):
    started = []

    def make(name, mode, *args):
        r = harness.ReceiverProcess(tmp_path, name, mode, list(args)).start()
        started.append(r)
        return r

    yield make
    for r in started:
        assert r.stop() == 0, f"receiver {r.name} did not exit 0 on SIGTERM"


# ---- strkeys -----------------------------------------------------------------------------------

def test_crc16_xmodem_check_value():
    assert crc16_xmodem(b"123456789") == 0x31C3


@pytest.mark.parametrize("key", sorted(KEYS))
def test_strkeys_of_vectors(key):
    k = KEYS[key]
    assert decode_strkey(k["seed"], 0x90).hex() == k["seed_hex"]
    assert harness.account_from_seed(k["seed"]) == k["account"]
    decode_strkey(k["account"], 0x30)


@pytest.mark.parametrize("bad", VECTORS["bad_seeds"], ids=lambda b: b["why"])
def test_bad_seeds_rejected(bad):
    with pytest.raises(ValueError):
        decode_strkey(bad["value"], 0x90)


# ---- wallet mode ---------------------------------------------------------------------------------

def test_wallet_mode_checks_signature_vectors(receivers):
    by_target = {}

    def receiver_for(key, host):
        if (key, host) not in by_target:
            by_target[(key, host)] = receivers(f"w{len(by_target)}", "wallet", "--account",
                                               KEYS[key]["account"], "--signature-host", host)
        return by_target[(key, host)]

    sent = []
    for case in VECTORS["cases"]:
        r = receiver_for(case["key"], case["host"])
        status, _ = post(r.port, "/cb", case["body"].encode("utf-8"),
                         {"Signature": header_value(case["header"])})
        assert status == 200
        sent.append((r, case, True))
    for case in VECTORS["must_fail"]:
        r = receiver_for(case["key"], case["host"])
        status, _ = post(r.port, "/cb", case["body"].encode("utf-8"),
                         {"Signature": header_value(case["header"])})
        assert status == 200, "an invalid signature is still answered 200"
        sent.append((r, case, False))

    records = {}
    for r in by_target.values():
        records[r.name] = r.records()
    seen = {}
    for r, case, expect_valid in sent:
        i = seen.get(r.name, 0)
        seen[r.name] = i + 1
        rec = records[r.name][i]
        sig = rec["verification"]["signature"]
        assert rec["body"] == case["body"], case["name"]
        assert base64.b64decode(rec["body_b64"]) == case["body"].encode("utf-8")
        assert sig["valid"] is expect_valid, (case["name"], sig)
        assert sig["format_ok"], case["name"]
        # t=1700000000 is long past: never fresh, so never ok.
        assert sig["fresh"] is False and rec["verification"]["ok"] is False


def test_wallet_mode_fresh_signature_and_headers(receivers):
    key = KEYS["rfc8032-test1"]
    r = receivers("wallet", "wallet", "--account", key["account"], "--signature-host",
                  "wallet-a.example:{port}")
    private = Ed25519PrivateKey.from_private_bytes(bytes.fromhex(key["seed_hex"]))
    body = '{"transaction":{"id":"t1","status":"completed","message":"ok ✓"}}'.encode()
    host = f"wallet-a.example:{r.port}"
    t = str(int(time.time()))
    s = base64.b64encode(private.sign(t.encode() + b"." + host.encode() + b"." + body)).decode()
    assert post(r.port, "/callbacks/sep24", body,
                {"Signature": f"t={t}, s={s}", "X-Event-Id": "ev-1"})[0] == 200
    # Wrong host (no port) and malformed headers are recorded as invalid.
    s2 = base64.b64encode(private.sign(t.encode() + b".wallet-a.example." + body)).decode()
    post(r.port, "/callbacks/sep24", body, {"Signature": f"t={t}, s={s2}"})
    post(r.port, "/callbacks/sep24", body, {"Signature": f"t={t},s={s}"})
    post(r.port, "/callbacks/sep24", body, {})
    recs = r.records()
    assert [x["verification"]["ok"] for x in recs] == [True, False, False, False]
    first = recs[0]
    assert first["path"] == "/callbacks/sep24" and first["method"] == "POST"
    assert first["event_id"] == "ev-1" and first["event_id_header"].lower() == "x-event-id"
    assert first["verification"]["content_type_json"] is True
    assert first["body_json"]["transaction"]["message"] == "ok ✓"
    assert recs[2]["verification"]["signature"]["error"] == "malformed Signature header"
    assert recs[3]["verification"]["signature"]["present"] is False


# ---- business mode -------------------------------------------------------------------------------

def test_business_mode_checks_jwt(receivers, tmp_path):
    secret = VECTORS["jwt"]["secret"]
    secret_file = harness.write_secret(tmp_path / "cb.secret", secret + "\n")
    r = receivers("business", "business", "--jwt-secret-file", str(secret_file))
    body = json.dumps({"id": "ev-9", "type": "transaction_created", "timestamp": "x",
                       "payload": {"transaction": {"id": "t"}}}).encode()
    now = int(time.time())
    good = jwt.encode({"iat": now, "exp": now + 30}, secret, algorithm="HS256")
    bad_key = jwt.encode({"iat": now, "exp": now + 30}, "another-secret-of-at-least-32-bytes!!",
                         algorithm="HS256")
    no_exp = jwt.encode({"iat": now}, secret, algorithm="HS256")
    for token in (good, VECTORS["jwt"]["token"], bad_key, no_exp):
        assert post(r.port, "/callback/event", body, {"Authorization": f"Bearer {token}"})[0] == 200
    post(r.port, "/callback/event", body, {})
    recs = r.records()
    checks = [x["verification"]["jwt"] for x in recs]
    assert [c["valid"] for c in checks] == [True, False, False, False, False]
    assert checks[0]["lifetime_s"] == 30 and checks[0]["alg"] == "HS256"
    assert "Expired" in checks[1]["error"]
    assert recs[0]["event_id"] == "ev-9"


def test_business_mode_checks_api_key(receivers, tmp_path):
    key_file = harness.write_secret(tmp_path / "api.key", "k-123456\n")
    r = receivers("business", "business", "--api-key-file", str(key_file), "--api-key-header",
                  "X-Anchor-Key")
    post(r.port, "/cb/event", b"{}", {"X-Anchor-Key": "k-123456"})
    post(r.port, "/cb/event", b"{}", {"X-Api-Key": "k-123456"})
    post(r.port, "/cb/event", b"{}", {"X-Anchor-Key": "k-1234567"})
    assert [x["verification"]["api_key"]["valid"] for x in r.records()] == [True, False, False]


# ---- fault options -------------------------------------------------------------------------------

def test_fault_options(receivers):
    r = receivers("faults", "plain", "--status-for", "ev-a=503:2", "--status-for", "ev-b=404",
                  "--status-for", "ev-c=302", "--retry-after", "7")
    ev = lambda i: json.dumps({"id": i, "type": "quote_created", "payload": {}}).encode()  # noqa
    s1, h1 = post(r.port, "/e", ev("ev-a"), {})
    s2, _ = post(r.port, "/e", ev("ev-a"), {})
    s3, _ = post(r.port, "/e", ev("ev-a"), {})
    s4, _ = post(r.port, "/e", ev("ev-b"), {})
    s5, h5 = post(r.port, "/e", ev("ev-c"), {})
    s6, _ = post(r.port, "/e", b"{}", {"Event-Id": "ev-b"})
    assert (s1, s2, s3, s4, s5, s6) == (503, 503, 200, 404, 302, 404)
    assert h1.get("Retry-After") == "7"
    assert h5.get("Location", "").startswith("http://127.0.0.1")
    assert [x["status"] for x in r.records()] == [503, 503, 200, 404, 302, 404]


def test_fail_ratio_latency_and_hang(receivers):
    failing = receivers("failing", "plain", "--fail-ratio", "1")
    assert post(failing.port, "/x", b"{}", {})[0] == 500
    slow = receivers("slow", "plain", "--latency-ms", "300")
    t0 = time.monotonic()
    assert post(slow.port, "/x", b"{}", {})[0] == 200
    assert time.monotonic() - t0 >= 0.29
    hanging = receivers("hanging", "plain", "--hang-ratio", "1")
    with pytest.raises((socket.timeout, TimeoutError, urllib.error.URLError)):
        post(hanging.port, "/x", b"{}", {}, timeout=1)
    rec = hanging.records()
    assert len(rec) == 1 and rec[0]["hung"] is True and rec[0]["status"] is None
    # SIGTERM with a hung request in flight still exits promptly with 0 (checked by the fixture).
    t0 = time.monotonic()
    assert hanging.stop(timeout=5) == 0
    assert time.monotonic() - t0 < 5


def test_receiver_refuses_non_loopback(tmp_path):
    r = harness.ReceiverProcess(tmp_path, "bad", "plain", [])
    r.cmd[r.cmd.index("--bind") + 1] = "0.0.0.0"
    with pytest.raises(RuntimeError, match="loopback"):
        r.start(timeout=10)


# ---- Kafka helpers ---------------------------------------------------------------------------------

@pytest.mark.skipif(os.environ.get("ANCHOR_EVENTS_E2E_NO_KAFKA") == "1", reason="no Kafka wanted")
def test_kafka_produce_and_consume():
    kafka = harness.Kafka()
    bootstrap = kafka.start()
    try:
        topic = f"harness-{harness.run_id()}"
        kafka.create_topic(topic, 3)
        lines = harness.read_lines(TESTDATA / "events" / "poison.txt")
        assert len(lines) == 7
        harness.produce(bootstrap, topic, lines[:4], partition=1)
        harness.produce(bootstrap, topic, lines[4:], partition=2)
        got = harness.consume(bootstrap, topic)
        assert sorted((m["partition"], m["offset"]) for m in got) == \
            [(1, 0), (1, 1), (1, 2), (1, 3), (2, 0), (2, 1), (2, 2)]
        by_pos = {(m["partition"], m["offset"]): m for m in got}
        assert [by_pos[(1, i)]["payload"] for i in range(4)] == lines[:4]
        assert [by_pos[(2, i)]["payload"] for i in range(3)] == lines[4:]
        assert all(m["key"] is None for m in got), "records are produced without a key"
    finally:
        kafka.stop()
