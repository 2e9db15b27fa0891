"""Live reload (issue 4): the clients file and the signing seed are mounted the way Kubernetes
mounts a ConfigMap or Secret (a `..data` symlink to a timestamped folder, swapped atomically on
every update), and the running processor follows each change:

- rotating the seed: the next callbacks carry signatures by the new key (checked with Python
  `cryptography`), and no lane restarts;
- adding a client: its lane starts and receives its events; the other lanes are not touched;
- breaking the clients file: the running configuration stays, the failure is counted and shown
  in /status; fixing it applies it.
"""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

import pytest

import harness
import receiver

TESTDATA = harness.testdata_dir()
DEV_ENV = harness.read_env_file(TESTDATA / "dev.env")
VECTORS = json.loads((TESTDATA / "signing-vectors.json").read_text(encoding="utf-8"))
FIRST_KEY = VECTORS["keys"]["rfc8032-test1"]
SECOND_KEY = VECTORS["keys"]["rfc8032-test2"]
RELOAD_TIMEOUT = 30.0


class MountedVolume:
    """A folder laid out like a Kubernetes ConfigMap or Secret volume."""

    def __init__(self, root: Path, files: dict[str, str]):
        self.root = root
        self.root.mkdir(parents=True)
        self.version = 0
        self.update(files)
        for name in files:
            (self.root / name).symlink_to(Path("..data") / name)

    def update(self, files: dict[str, str]) -> None:
        self.version += 1
        folder = self.root / f"..2026_12_04_00_00_{self.version:02d}.000000001"
        folder.mkdir()
        for name, content in files.items():
            (folder / name).write_text(content, encoding="utf-8")
        # The atomic swap the kubelet does: a new symlink renamed over ..data.
        tmp = self.root / "..data_tmp"
        tmp.symlink_to(folder.name)
        os.replace(tmp, self.root / "..data")

    def path(self, name: str) -> Path:
        return self.root / name


def event(n: int, client_name: str) -> str:
    return json.dumps({
        "type": "transaction_status_changed", "id": f"reload-event-{n}", "sep": "24",
        "transaction": {"id": f"reload-tx-{n}", "sep": "24", "kind": "deposit",
                        "status": "pending_anchor", "client_name": client_name,
                        "amount_in": {"amount": str(n), "asset": "iso4217:USD"}}})


def clients_yaml(ports: dict[str, int]) -> str:
    items = []
    for name, port in ports.items():
        items.append(f"  - name: {name}\n    type: custodial\n"
                     f"    signing_keys: [{SECOND_KEY['account']}]\n"
                     f"    callback_urls:\n      sep24: http://{name}.example:{port}/cb\n")
    return "items:\n" + "".join(items)


def verify(record: dict, account: str, host: str) -> bool:
    headers = {k: v for k, v in record["headers"]}
    body = record["body"].encode("utf-8")
    result = receiver.verify_signature_header(headers.get("Signature"), host, body,
                                              receiver.account_public_key(account), 300,
                                              time.time())
    return result["valid"]


@pytest.fixture(scope="module")
def kafka():
    k = harness.Kafka()
    k.start()
    yield k
    k.stop()


def test_reload_follows_mounted_configmap_and_secret(kafka, tmp_path):
    rid = harness.run_id()
    topic = f"reload-{rid}"
    kafka.create_topic(topic, 1)
    kafka.create_topic(f"{topic}-dlq", 1)
    wallets = {name: harness.ReceiverProcess(tmp_path, name, "plain").start()
               for name in ("wallet-a", "wallet-b")}
    ports = {name: r.port for name, r in wallets.items()}
    clients = MountedVolume(tmp_path / "clients", {"clients.yaml": clients_yaml(
        {"wallet-a": ports["wallet-a"]})})
    secrets = MountedVolume(tmp_path / "secrets", {"seed": FIRST_KEY["seed"] + "\n"})
    env = {
        "EVENT_QUEUE_KAFKA_BOOTSTRAP_SERVER": kafka.bootstrap,
        "EVENT_QUEUE_KAFKA_TOPIC": topic,
        "EVENT_QUEUE_KAFKA_DEAD_LETTER_TOPIC": f"{topic}-dlq",
        "EVENT_PROCESSOR_CLIENT_STATUS_CALLBACK_ENABLED": "true",
        "SECRET_SEP10_SIGNING_SEED_FILE": str(secrets.path("seed")),
        "CLIENTS_TYPE": "file",
        "CLIENTS_VALUE": str(clients.path("clients.yaml")),
        "EVENT_PROCESSOR_ALLOW_PRIVATE_DESTINATIONS": "true",
        "EVENT_PROCESSOR_RESOLVE": ",".join(f"{n}.example:{p}:127.0.0.1" for n, p in ports.items()),
        "EVENT_PROCESSOR_NEW_LANE_OFFSET": "earliest",
        "EVENT_PROCESSOR_CONSUMER_GROUP_PREFIX": f"reload-{rid}",
        "EVENT_PROCESSOR_MANAGEMENT_SERVER_ADDRESS": "127.0.0.1",
        "EVENT_PROCESSOR_MANAGEMENT_SERVER_PORT": str(harness.free_port()),
    }
    processor = harness.Processor(tmp_path, env)
    try:
        processor.start()
        processor.wait_ready()
        lanes = {lane["name"]: lane for lane in processor.status_json()["lanes"]}
        assert set(lanes) == {"wallet-a"}
        started_a = lanes["wallet-a"]["started_at_ms"]

        # 1. Signed with the first key.
        harness.produce(kafka.bootstrap, topic, [event(1, "wallet-a")], partition=0)
        harness.wait_until(lambda: len(wallets["wallet-a"].records()) >= 1, 60, what="event 1")
        first = wallets["wallet-a"].records()[0]
        host_a = f"wallet-a.example:{ports['wallet-a']}"
        assert verify(first, FIRST_KEY["account"], host_a)

        # 2. Rotate the seed: the next callback is signed by the new key; no lane restarts.
        generation = processor.status_json()["generation"]
        secrets.update({"seed": SECOND_KEY["seed"] + "\n"})
        harness.wait_until(lambda: processor.status_json()["generation"] > generation,
                           RELOAD_TIMEOUT, what="the seed rotation to be applied")
        harness.produce(kafka.bootstrap, topic, [event(2, "wallet-a")], partition=0)
        harness.wait_until(lambda: len(wallets["wallet-a"].records()) >= 2, 60, what="event 2")
        second = wallets["wallet-a"].records()[1]
        assert verify(second, SECOND_KEY["account"], host_a)
        assert not verify(second, FIRST_KEY["account"], host_a)
        assert processor.status_json()["lanes"][0]["started_at_ms"] == started_a

        # 3. Add wallet-b: its lane starts, wallet-a's lane is not touched.
        generation = processor.status_json()["generation"]
        clients.update({"clients.yaml": clients_yaml(ports)})
        harness.wait_until(lambda: processor.status_json()["generation"] > generation,
                           RELOAD_TIMEOUT, what="wallet-b to be added")
        harness.wait_until(lambda: all(l["joined"] for l in processor.status_json()["lanes"]),
                           60, what="wallet-b's lane to join its group")
        lanes = {lane["name"]: lane for lane in processor.status_json()["lanes"]}
        assert set(lanes) == {"wallet-a", "wallet-b"}
        assert lanes["wallet-a"]["started_at_ms"] == started_a
        harness.produce(kafka.bootstrap, topic, [event(3, "wallet-b")], partition=0)
        harness.wait_until(lambda: len(wallets["wallet-b"].records()) >= 1, 60, what="event 3")
        assert verify(wallets["wallet-b"].records()[0], SECOND_KEY["account"],
                      f"wallet-b.example:{ports['wallet-b']}")

        # 4. A broken clients file keeps the running configuration and is counted.
        generation = processor.status_json()["generation"]
        failed_before = reload_count(processor, "failed")
        clients.update({"clients.yaml": clients_yaml(ports) + "    not_a_key: true\n"})
        harness.wait_until(lambda: reload_count(processor, "failed") > failed_before,
                           RELOAD_TIMEOUT, what="the failed reload to be counted")
        status = processor.status_json()
        assert status["generation"] == generation
        assert status["last_reload"]["result"] == "failed"
        assert "not_a_key" in status["last_reload"]["error"]
        harness.produce(kafka.bootstrap, topic, [event(4, "wallet-b")], partition=0)
        harness.wait_until(lambda: len(wallets["wallet-b"].records()) >= 2, 60,
                           what="event 4 under the kept configuration")

        # 5. Fixing it applies it.
        clients.update({"clients.yaml": clients_yaml({"wallet-b": ports["wallet-b"]})})
        harness.wait_until(lambda: processor.status_json()["generation"] > generation,
                           RELOAD_TIMEOUT, what="the fixed clients file to be applied")
        assert [l["name"] for l in processor.status_json()["lanes"]] == ["wallet-b"]
        assert processor.status_json()["last_reload"]["result"] == "applied"

        assert processor.terminate() == 0
        log = processor.log_tail(10_000)
        for secret in (FIRST_KEY["seed"], SECOND_KEY["seed"]):
            assert secret not in log
    finally:
        if processor.running():
            processor.kill()
        for r in wallets.values():
            r.stop()


def reload_count(processor: harness.Processor, result: str) -> float:
    for name, labels, value in harness.parse_metrics(processor.metrics()):
        if name == "anchor_events_config_reloads_total" and f'result="{result}"' in labels:
            return value
    return 0.0


def standard_webhook_verifies(record: dict, secret: str) -> bool:
    """The webhook-signature `v1` (HMAC) check of the PyPI `standardwebhooks` library."""
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    try:
        Webhook(secret).verify(base64.b64decode(record["body_b64"]), dict(record["headers"]))
        return True
    except WebhookVerificationError:
        return False


def test_refused_reload_is_applied_when_the_missing_file_appears(kafka, tmp_path):
    """The clients file (a ConfigMap volume) names a webhook secret file of a Secret volume that
    the kubelet has not written yet: the processor refuses that reload and keeps its clients,
    then applies it by itself when the file appears, without the clients file changing again."""
    rid = harness.run_id()
    topic = f"reload-missing-{rid}"
    kafka.create_topic(topic, 1)
    kafka.create_topic(f"{topic}-dlq", 1)
    wallets = {name: harness.ReceiverProcess(tmp_path, name, "plain").start()
               for name in ("wallet-a", "wallet-b")}
    ports = {name: r.port for name, r in wallets.items()}
    clients = MountedVolume(tmp_path / "clients", {"clients.yaml": clients_yaml(
        {"wallet-a": ports["wallet-a"]})})
    env = {
        "EVENT_QUEUE_KAFKA_BOOTSTRAP_SERVER": kafka.bootstrap,
        "EVENT_QUEUE_KAFKA_TOPIC": topic,
        "EVENT_QUEUE_KAFKA_DEAD_LETTER_TOPIC": f"{topic}-dlq",
        "EVENT_PROCESSOR_CLIENT_STATUS_CALLBACK_ENABLED": "true",
        "SECRET_SEP10_SIGNING_SEED": FIRST_KEY["seed"],
        "CLIENTS_TYPE": "file",
        "CLIENTS_VALUE": str(clients.path("clients.yaml")),
        "EVENT_PROCESSOR_ALLOW_PRIVATE_DESTINATIONS": "true",
        "EVENT_PROCESSOR_RESOLVE": ",".join(f"{n}.example:{p}:127.0.0.1" for n, p in ports.items()),
        "EVENT_PROCESSOR_NEW_LANE_OFFSET": "earliest",
        "EVENT_PROCESSOR_CONSUMER_GROUP_PREFIX": f"reload-missing-{rid}",
        "EVENT_PROCESSOR_MANAGEMENT_SERVER_ADDRESS": "127.0.0.1",
        "EVENT_PROCESSOR_MANAGEMENT_SERVER_PORT": str(harness.free_port()),
    }
    processor = harness.Processor(tmp_path, env)
    try:
        processor.start()
        processor.wait_ready()
        generation = processor.status_json()["generation"]
        failed_before = reload_count(processor, "failed")
        applied_before = reload_count(processor, "applied")

        # wallet-b with Standard Webhooks, its secret in a Secret volume not mounted yet.
        secret_file = tmp_path / "hooks" / "whsec-b"
        clients.update({"clients.yaml": clients_yaml(ports) +
                        "    standard_webhooks: true\n"
                        "    webhook_secret_file: ../hooks/whsec-b\n"})
        clients_version = clients.version
        harness.wait_until(lambda: reload_count(processor, "failed") > failed_before,
                           RELOAD_TIMEOUT, what="the refused reload to be counted")
        status = processor.status_json()
        assert status["last_reload"]["result"] == "failed", status["last_reload"]
        error = status["last_reload"]["error"]
        assert "webhook_secret_file" in error and "wallet-b" in error, error
        assert str(secret_file) in error, error
        assert status["generation"] == generation
        assert [l["name"] for l in status["lanes"]] == ["wallet-a"]

        # The old clients keep working, and the refusal is not retried in a loop.
        harness.produce(kafka.bootstrap, topic, [event(1, "wallet-a")], partition=0)
        harness.wait_until(lambda: len(wallets["wallet-a"].records()) >= 1, 60,
                           what="event 1 under the kept configuration")
        failed_now = reload_count(processor, "failed")
        time.sleep(2.0)
        assert reload_count(processor, "failed") == failed_now
        assert processor.status_json()["generation"] == generation

        # The kubelet writes the Secret volume: the refused reload goes through by itself.
        secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()
        MountedVolume(tmp_path / "hooks", {"whsec-b": secret + "\n"})
        harness.wait_until(lambda: processor.status_json()["generation"] > generation,
                           RELOAD_TIMEOUT, what="the reload once the file appeared")
        assert clients.version == clients_version, "the clients file was touched"
        status = processor.status_json()
        assert status["last_reload"]["result"] == "applied", status["last_reload"]
        assert reload_count(processor, "applied") > applied_before
        harness.wait_until(lambda: all(l["joined"] for l in processor.status_json()["lanes"]),
                           60, what="wallet-b's lane to join its group")
        lanes = {lane["name"]: lane for lane in processor.status_json()["lanes"]}
        assert set(lanes) == {"wallet-a", "wallet-b"}

        # The secret it loaded signs wallet-b's callbacks (Standard Webhooks v1).
        harness.produce(kafka.bootstrap, topic, [event(2, "wallet-b")], partition=0)
        harness.wait_until(lambda: len(wallets["wallet-b"].records()) >= 1, 60, what="event 2")
        record = wallets["wallet-b"].records()[0]
        assert standard_webhook_verifies(record, secret), dict(record["headers"])
        assert not standard_webhook_verifies(
            record, "whsec_" + base64.b64encode(os.urandom(32)).decode())

        assert processor.terminate() == 0
        assert secret.removeprefix("whsec_") not in processor.log_tail(10_000)
    finally:
        if processor.running():
            processor.kill()
        for r in wallets.values():
            r.stop()
