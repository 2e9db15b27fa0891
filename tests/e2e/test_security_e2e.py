"""Security end to end (issue 7), through a real broker and the anchor-events binary:

- Standard Webhooks during a rotation: webhook-signature carries v1 (HMAC) with the new and the
  previous secret and v1a (Ed25519) with the new and the previous anchor key; the v1 entries are
  checked with the `standardwebhooks` package, the v1a entries with `cryptography`.
- The SSRF guard with the development switch off: a wallet whose name resolves (via the
  resolve pins) to a loopback address it is not allowed gets nothing and its event is
  dead-lettered; a wallet allowed that address by `allowed_networks` is delivered; the blocked
  attempt is counted and logged without the URL's query.
- An event larger than event_processor.max_event_bytes is dead-lettered with reason too_large.
"""

from __future__ import annotations

import base64
import json
import time

import pytest
from cryptography.exceptions import InvalidSignature
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

import harness
import receiver

TESTDATA = harness.testdata_dir()
VECTORS = json.loads((TESTDATA / "signing-vectors.json").read_text(encoding="utf-8"))
NEW_KEY = VECTORS["keys"]["rfc8032-test2"]
OLD_KEY = VECTORS["keys"]["rfc8032-test1"]
NEW_SECRET = "whsec_" + base64.b64encode(b"n" * 32).decode()
OLD_SECRET = "whsec_" + base64.b64encode(b"o" * 32).decode()


def event(n: int, client_name: str, padding: int = 0) -> str:
    return json.dumps({
        "type": "transaction_status_changed", "id": f"sec-event-{n}", "sep": "24",
        "transaction": {"id": f"sec-tx-{n}", "sep": "24", "kind": "deposit",
                        "status": "pending_anchor", "client_name": client_name,
                        "message": "x" * padding,
                        "amount_in": {"amount": str(n), "asset": "iso4217:USD"}}})


@pytest.fixture(scope="module")
def kafka():
    k = harness.Kafka()
    k.start()
    yield k
    k.stop()


def test_security_end_to_end(kafka, tmp_path):
    rid = harness.run_id()
    topic, dlq = f"security-{rid}", f"security-{rid}-dlq"
    kafka.create_topic(topic, 1)
    kafka.create_topic(dlq, 1)
    allowed = harness.ReceiverProcess(tmp_path, "wallet-a", "plain").start()
    # Listens on 127.0.0.1 too; the guard refuses 127.0.0.2, where nothing listens.
    blocked = harness.ReceiverProcess(tmp_path, "wallet-b", "plain").start()
    (tmp_path / "new").write_text(NEW_SECRET + "\n")
    (tmp_path / "old").write_text(OLD_SECRET + "\n")
    (tmp_path / "seed-old").write_text(OLD_KEY["seed"] + "\n")
    (tmp_path / "clients.yaml").write_text(
        "items:\n"
        "  - name: wallet-a\n    type: custodial\n"
        f"    signing_keys: [{NEW_KEY['account']}]\n"
        f"    callback_urls:\n      sep24: http://wallet-a.example:{allowed.port}/cb?token=s3cret\n"
        "    allowed_networks: [127.0.0.1/32]\n"
        "    standard_webhooks: true\n"
        "    webhook_secret_file: new\n    webhook_secret_previous_file: old\n"
        "  - name: wallet-b\n    type: custodial\n"
        f"    signing_keys: [{NEW_KEY['account']}]\n"
        f"    callback_urls:\n      sep24: http://wallet-b.example:{blocked.port}/cb?token=s3cret\n"
        "    max_attempts: 1\n")
    env = {
        "EVENT_QUEUE_KAFKA_BOOTSTRAP_SERVER": kafka.bootstrap,
        "EVENT_QUEUE_KAFKA_TOPIC": topic,
        "EVENT_QUEUE_KAFKA_DEAD_LETTER_TOPIC": dlq,
        "EVENT_PROCESSOR_CLIENT_STATUS_CALLBACK_ENABLED": "true",
        "SECRET_SEP10_SIGNING_SEED": NEW_KEY["seed"],
        "SECRET_SEP10_SIGNING_SEED_PREVIOUS_FILE": str(tmp_path / "seed-old"),
        "CLIENTS_TYPE": "file",
        "CLIENTS_VALUE": str(tmp_path / "clients.yaml"),
        "EVENT_PROCESSOR_ALLOW_PRIVATE_DESTINATIONS": "false",
        "EVENT_PROCESSOR_RESOLVE": f"wallet-a.example:{allowed.port}:127.0.0.1,"
                                   f"wallet-b.example:{blocked.port}:127.0.0.2",
        "EVENT_PROCESSOR_MAX_EVENT_BYTES": "4096",
        "EVENT_PROCESSOR_NEW_LANE_OFFSET": "earliest",
        "EVENT_PROCESSOR_CONSUMER_GROUP_PREFIX": f"security-{rid}",
        "EVENT_PROCESSOR_MANAGEMENT_SERVER_ADDRESS": "127.0.0.1",
        "EVENT_PROCESSOR_MANAGEMENT_SERVER_PORT": str(harness.free_port()),
        "EVENT_PROCESSOR_LOG_LEVEL": "debug",
    }
    processor = harness.Processor(tmp_path, env)
    try:
        processor.start()
        processor.wait_ready()
        harness.produce(kafka.bootstrap, topic,
                        [event(1, "wallet-a"), event(2, "wallet-b"),
                         event(3, "wallet-a", padding=5000)], partition=0)
        harness.wait_until(lambda: len(allowed.records()) >= 1, 60, what="wallet-a's callback")
        harness.wait_until(lambda: len(harness.consume(kafka.bootstrap, dlq)) >= 2, 60,
                           what="the blocked and the oversize event in the dead-letter topic")

        check_standard_webhooks(allowed.records()[0])
        check_ssrf(processor, blocked)
        reasons = {dead_letter_reason(m) for m in harness.consume(kafka.bootstrap, dlq)}
        assert {"rejected", "too_large"} <= reasons, reasons

        assert processor.terminate() == 0
        log = processor.log_tail(10_000)
        for secret in (NEW_SECRET, OLD_SECRET, NEW_SECRET[6:], OLD_SECRET[6:], NEW_KEY["seed"],
                       OLD_KEY["seed"], "s3cret"):
            assert secret not in log
    finally:
        if processor.running():
            processor.kill()
        allowed.stop()
        blocked.stop()


def check_standard_webhooks(record: dict) -> None:
    headers = {k.lower(): v for k, v in record["headers"]}
    body = record["body"]
    signatures = headers["webhook-signature"].split(" ")
    assert [s.split(",")[0] for s in signatures] == ["v1", "v1", "v1a", "v1a"]
    # v1 with either secret, by the reference library (it also checks the timestamp).
    for secret in (NEW_SECRET, OLD_SECRET):
        Webhook(secret).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook("whsec_" + base64.b64encode(b"x" * 32).decode()).verify(body, headers)
    # v1a with the new and the previous anchor key, in that order.
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body}".encode()
    assert abs(int(headers["webhook-timestamp"]) - time.time()) < 300
    for signature, key in zip(signatures[2:], (NEW_KEY, OLD_KEY)):
        public_key = receiver.account_public_key(key["account"])
        public_key.verify(base64.b64decode(signature.split(",", 1)[1]), signed)
    with pytest.raises(InvalidSignature):
        receiver.account_public_key(OLD_KEY["account"]).verify(
            base64.b64decode(signatures[2].split(",", 1)[1]), signed)


def check_ssrf(processor: harness.Processor, blocked: harness.ReceiverProcess) -> None:
    assert blocked.records() == []
    metrics = harness.parse_metrics(processor.metrics())
    counted = [v for name, labels, v in metrics if name == "anchor_events_attempts_total"
               and 'status_class="blocked"' in labels and "wallet-b" in labels]
    assert counted and counted[0] >= 1, metrics
    lines = [json.loads(line) for line in processor.log_tail(10_000).splitlines()
             if line.startswith("{") and "delivery rejected" in line]
    refused = [line for line in lines if line.get("blocked") == "loopback"]
    assert refused, lines
    assert refused[0]["destination"] == f"http://wallet-b.example:{blocked.port}/cb"


def dead_letter_reason(message: dict) -> str | None:
    headers = message.get("headers") or []
    pairs = dict(zip(headers[::2], headers[1::2]))
    return pairs.get("anchor-events-reason")
