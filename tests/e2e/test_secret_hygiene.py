"""End-to-end secret hygiene (issue 7): with the most verbose logging, nothing secret and no
payload reaches the processor's logs, /metrics, /status or `check-config` output.

Scenario: a real Kafka broker, `anchor-events run` at log level trace, a business server with
JWT authentication, two wallets that verify signatures (wallet-b also with Standard Webhooks), one
business delivery that fails twice before it succeeds, one wallet delivery that is rejected (dead
letter), and poison records. Every event carries a unique canary in a field that is copied into the
bodies (`message`, or a quote's `price`); the receivers capture every body, JWT, Signature and
webhook-signature actually sent.

What must not appear anywhere: the seed (as strkey, hex or base64), the JWT secret, the value of a
misspelled secret variable, any token, Signature or webhook-signature value sent (or its signature
part alone), any full body sent, any canary (from a body or from a poison record). Event ids and
transaction ids are not secret and may be logged; the canaries are what stands for "payload", so
the check has no false positives.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import time
import uuid
from pathlib import Path

import pytest

import harness

TESTDATA = harness.testdata_dir()
EVENTS_DIR = TESTDATA / "events"
DEV_ENV = harness.read_env_file(TESTDATA / "dev.env")
SEED = DEV_ENV["SECRET_SEP10_SIGNING_SEED"]
JWT_SECRET = DEV_ENV["CALLBACK_API_SECRET"]
# wallet-b's Standard Webhooks v1 (HMAC) secret, from a file as the clients file requires.
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"hygiene-webhook-secret-32-bytes!").decode()
ANCHOR_ACCOUNT = "GDLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRVHUR"
DELIVERY_TIMEOUT = float(os.environ.get("ANCHOR_EVENTS_E2E_DELIVERY_TIMEOUT", "90"))
RUN = uuid.uuid4().hex[:12]
# The value of a variable in the product's namespace that names no setting: reported as a
# warning by name, never by value.
MISSPELLED_SECRET = f"misspelled-secret-{RUN}-value"

SEP24_TXN = "a4baff5f-778c-43d6-bbef-3e9fb41d096e"


def canary(label: str) -> str:
    return f"canary-{label}-{RUN}"


def load_events() -> list[dict]:
    """The sample events with a canary in the field each body copies."""
    events = []
    for stem in ("sep24-deposit-lifecycle", "sep6-withdrawal-error", "sep31-receive",
                 "customers-and-unattributed"):
        for line in harness.read_lines(EVENTS_DIR / f"{stem}.jsonl"):
            event = json.loads(line)
            if "transaction" in event:
                event["transaction"]["message"] = canary(f"message-{event['id'][-4:]}")
            elif "quote" in event:
                event["quote"]["price"] = canary(f"price-{event['id'][-4:]}")
            events.append(event)
    return events


EVENTS = load_events()
WALLET_A_EVENTS = [e for e in EVENTS
                   if e.get("transaction", {}).get("client_domain") == "wallet-a.example"]
BUSINESS_RETRIED = EVENTS[1]["id"]        # answered 503 twice, then delivered
WALLET_REJECTED = WALLET_A_EVENTS[2]["id"]  # answered 400: rejected, dead-lettered
POISON = [
    "not json {\"note\": \"" + canary("poison-text") + "\"",
    json.dumps({"type": "transaction_created", "id": f"poison-{RUN}",
                "transaction": {"message": canary("poison-object")}}),
]


def seed_encodings() -> list[str]:
    """The seed as a strkey, and its 32 raw bytes in hex and base64."""
    from receiver import decode_strkey  # pytest puts tests/e2e on sys.path, as for harness
    raw = decode_strkey(SEED, 0x90)
    return [SEED, raw.hex(), base64.b64encode(raw).decode(),
            base64.urlsafe_b64encode(raw).decode().rstrip("=")]


def header(record: dict, name: str) -> str | None:
    for key, value in record.get("headers") or []:
        if key.lower() == name.lower():
            return value
    return None


def sent_secrets(receivers: dict[str, harness.ReceiverProcess]) -> dict[str, set[str]]:
    """What the processor actually sent that must stay out of its logs, by kind."""
    out: dict[str, set[str]] = {"jwt": set(), "signature": set(), "webhook-signature": set(),
                                "body": set()}
    for receiver in receivers.values():
        for r in receiver.records():
            body = base64.b64decode(r["body_b64"]).decode("utf-8") if r.get("body_b64") else ""
            if body:
                # As sent, and as a JSON log line would escape it.
                out["body"] |= {body, json.dumps(body, ensure_ascii=False)[1:-1]}
            auth = header(r, "Authorization")
            if auth:
                token = auth.removeprefix("Bearer ").strip()
                out["jwt"] |= {token, token.rsplit(".", 1)[-1]}
            signature = header(r, "Signature")
            if signature:
                out["signature"] |= {signature, signature.split("s=", 1)[-1]}
            webhook = header(r, "webhook-signature")
            if webhook:
                out["webhook-signature"] |= {webhook} | {
                    part.split(",", 1)[-1] for part in webhook.split(" ")}
    return out


def leaks(needles: dict[str, set[str]], haystacks: dict[str, str]) -> list[str]:
    """Every (kind, where) at which a needle occurs, with a short context."""
    found = []
    for kind, values in needles.items():
        for value in values:
            for where, text in haystacks.items():
                at = text.find(value)
                if value and at >= 0:
                    context = text[max(0, at - 60):at + len(value) + 20].replace("\n", "\\n")
                    found.append(f"{kind} in {where}: ...{context}...")
    return found


class Scenario:
    def __init__(self, workdir: Path, kafka: harness.Kafka):
        self.workdir = workdir
        rid = harness.run_id()
        self.topic = f"hygiene-{rid}-TRANSACTION"
        self.dlq_topic = f"hygiene-{rid}-TRANSACTION_DLQ"
        kafka.create_topic(self.topic, 3)
        kafka.create_topic(self.dlq_topic, 1)
        self.kafka = kafka

        jwt_file = harness.write_secret(workdir / "jwt.secret", JWT_SECRET)
        self.receivers = {
            "business": harness.ReceiverProcess(
                workdir, "business", "business",
                ["--jwt-secret-file", str(jwt_file), "--status-for",
                 f"{BUSINESS_RETRIED}=503:2"]).start(),
        }
        for name, extra in (("wallet-a", ["--status-for", f"{WALLET_REJECTED}=400"]),
                            ("wallet-b", [])):
            self.receivers[name] = harness.ReceiverProcess(
                workdir, name, "wallet",
                ["--account", ANCHOR_ACCOUNT, "--signature-host", f"{name}.example:{{port}}",
                 *extra]).start()
        pa, pb = self.receivers["wallet-a"].port, self.receivers["wallet-b"].port
        clients = (TESTDATA / "clients.yaml").read_text(encoding="utf-8")
        clients = clients.replace("wallet-a.example:18081", f"wallet-a.example:{pa}")
        clients = clients.replace("wallet-b.example:18082", f"wallet-b.example:{pb}")
        harness.write_secret(workdir / "whsec-b", WEBHOOK_SECRET)
        clients = clients.replace("  - name: wallet-b\n",
                                  "  - name: wallet-b\n    standard_webhooks: true\n"
                                  "    webhook_secret_file: whsec-b\n")
        assert "standard_webhooks: true" in clients
        clients_file = workdir / "clients.yaml"
        clients_file.write_text(clients, encoding="utf-8")

        self.env = {
            "EVENT_QUEUE_KAFKA_BOOTSTRAP_SERVER": kafka.bootstrap,
            "EVENT_QUEUE_KAFKA_TOPIC": self.topic,
            "EVENT_QUEUE_KAFKA_DEAD_LETTER_TOPIC": self.dlq_topic,
            "EVENT_PROCESSOR_CLIENT_STATUS_CALLBACK_ENABLED": "true",
            "EVENT_PROCESSOR_CLIENT_STATUS_CALLBACK_INITIAL_BACKOFF_MS": "200",
            "EVENT_PROCESSOR_CLIENT_STATUS_CALLBACK_MAX_BACKOFF_MS": "400",
            "EVENT_PROCESSOR_CALLBACK_API_REQUEST_ENABLED": "true",
            "EVENT_PROCESSOR_CALLBACK_API_REQUEST_INITIAL_BACKOFF_MS": "200",
            "EVENT_PROCESSOR_CALLBACK_API_REQUEST_MAX_BACKOFF_MS": "400",
            "CALLBACK_API_BASE_URL": f"http://127.0.0.1:{self.receivers['business'].port}/callback",
            "CALLBACK_API_AUTH_TYPE": "jwt",
            # Secrets straight in the environment, the widest path into the process.
            "CALLBACK_API_SECRET": JWT_SECRET,
            "SECRET_SEP10_SIGNING_SEED": SEED,
            "CALLBACK_API_SECRET_TYPO": MISSPELLED_SECRET,
            "CLIENTS_TYPE": "file",
            "CLIENTS_VALUE": str(clients_file),
            "EVENT_PROCESSOR_ALLOW_PRIVATE_DESTINATIONS": "true",
            "EVENT_PROCESSOR_RESOLVE": f"wallet-a.example:{pa}:127.0.0.1,"
                                       f"wallet-b.example:{pb}:127.0.0.1",
            "EVENT_PROCESSOR_NEW_LANE_OFFSET": "earliest",
            "EVENT_PROCESSOR_CONSUMER_GROUP_PREFIX": f"hygiene-{rid}",
            "EVENT_PROCESSOR_MANAGEMENT_SERVER_ADDRESS": "127.0.0.1",
            "EVENT_PROCESSOR_MANAGEMENT_SERVER_PORT": str(harness.free_port()),
            "EVENT_PROCESSOR_LOG_LEVEL": "trace",
        }
        self.processor = harness.Processor(workdir, self.env)

    def produce(self) -> None:
        # Poison first, then each object's events keyed by its id (so in order on one partition).
        harness.produce(self.kafka.bootstrap, self.topic, POISON, partition=0)
        by_key: dict[str, list[str]] = {}
        for event in EVENTS:
            key = (event.get("transaction") or event.get("quote") or event["customer"])["id"]
            by_key.setdefault(key, []).append(json.dumps(event))
        for key, values in by_key.items():
            harness.produce(self.kafka.bootstrap, self.topic, values, key=key)

    def done(self) -> bool:
        if not self.processor.running():
            raise RuntimeError(f"processor exited:\n{self.processor.log_tail()}")
        business = {r["event_id"] for r in self.receivers["business"].delivered()}
        wallet_a = {r["event_id"] for r in self.receivers["wallet-a"].records()}
        wallet_b = len(self.receivers["wallet-b"].delivered())
        return (business >= {e["id"] for e in EVENTS}
                and wallet_a >= {e["id"] for e in WALLET_A_EVENTS} and wallet_b >= 6)

    def check_config_output(self) -> str:
        p = subprocess.run([str(self.processor.binary), "check-config"], env=self.processor.env,
                           cwd=self.workdir, text=True, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=60, stdin=subprocess.DEVNULL)
        assert p.returncode == 0, p.stdout
        return p.stdout

    def close(self) -> None:
        if self.processor.running():
            self.processor.kill()
        for r in self.receivers.values():
            r.stop()


@pytest.fixture(scope="module")
def kafka():
    k = harness.Kafka()
    k.start()
    yield k
    k.stop()


@pytest.fixture(scope="module")
def run(kafka, tmp_path_factory):
    """The scenario, run to the end: (receivers' captures, every text the processor showed)."""
    if not harness.binary_path().exists():
        pytest.fail(f"processor binary {harness.binary_path()} does not exist")
    s = Scenario(tmp_path_factory.mktemp("hygiene"), kafka)
    try:
        s.produce()
        s.processor.start()
        s.processor.wait_ready()
        harness.wait_until(s.done, DELIVERY_TIMEOUT, 0.2, "every delivery and the rejection")
        time.sleep(1.0)  # the rejected delivery's dead letter and log lines
        shown = {
            "/metrics": s.processor.metrics(),
            "/status": harness.http_get(s.processor.url("/status"))[1],
            "check-config": s.check_config_output(),
        }
        code = s.processor.terminate(timeout=40)
        assert code == 0, s.processor.log_tail()
        shown["log"] = s.processor.log_path.read_text(encoding="utf-8", errors="replace")
        yield s, shown
    finally:
        s.close()


def test_the_scenario_exercised_every_path(run):
    s, shown = run
    sent = sent_secrets(s.receivers)
    assert sent["jwt"] and sent["signature"] and sent["webhook-signature"], sent
    business = s.receivers["business"].records()
    assert [r["status"] for r in business if r["event_id"] == BUSINESS_RETRIED] == [503, 503, 200]
    assert [r["status"] for r in s.receivers["wallet-a"].records()
            if r["event_id"] == WALLET_REJECTED] == [400]
    # The canaries were really sent, so their absence from the logs means something.
    bodies = "\n".join(sent["body"])
    assert all(c in bodies for c in event_canaries()), event_canaries()
    # Debug detail was logged (the level took effect) and named the events.
    assert '"debug"' in shown["log"] and BUSINESS_RETRIED in shown["log"], shown["log"][-2000:]
    assert "CALLBACK_API_SECRET_TYPO" in shown["log"] + shown["check-config"]
    assert shown["/metrics"] and shown["/status"]


def test_no_secret_or_payload_is_shown(run):
    s, shown = run
    needles = sent_secrets(s.receivers)
    needles["seed"] = set(seed_encodings())
    needles["jwt secret"] = {JWT_SECRET}
    needles["webhook secret"] = {WEBHOOK_SECRET, WEBHOOK_SECRET.removeprefix("whsec_")}
    needles["misspelled secret"] = {MISSPELLED_SECRET}
    needles["canary"] = set(event_canaries())
    needles["poison canary"] = {canary("poison-text"), canary("poison-object")}
    found = leaks(needles, shown)
    assert not found, "\n".join(found[:20])


def event_canaries() -> list[str]:
    return [e["transaction"]["message"] if "transaction" in e else e["quote"]["price"]
            for e in EVENTS if "transaction" in e or "quote" in e]


def test_the_leak_check_sees_a_planted_secret(run):
    """The check itself can fail: each kind of needle is found when planted in a copy."""
    s, shown = run
    needles = sent_secrets(s.receivers)
    needles["seed"] = set(seed_encodings())
    for kind, values in needles.items():
        planted = dict(shown)
        planted["log"] = shown["log"] + f'{{"msg":"oops","value":"{sorted(values)[0]}"}}\n'
        assert leaks({kind: values}, planted), kind
