"""The operator with REAL processors (`anchor-events run`) and a real Kafka broker, no fakes.
There is no kubelet: the test plays it, copying the clients ConfigMap into a folder laid out like
a mounted ConfigMap volume (..data symlink swap) that each processor's clients.value points at,
and it decides when each "pod" gets the new content.

- A resource is Ready (Applied) only once EVERY processor reports (/status clients_revision) the
  revision that contains its spec, with configGeneration = that revision and consumerGroup = the
  processor's lane group; before that it is Pending.
- End to end: a CallbackClient created for a new wallet turns into callbacks to that wallet's
  receiver (signatures checked with Python `cryptography`) once the processor loaded it, and
  the resource turns Ready only then.
"""

from __future__ import annotations

import base64
import json

import pytest

import harness
import kubeharness as kh

KEYS = kh.testdata_keys()
ANCHOR = KEYS["rfc8032-test1"]          # the anchor's signing key (seed given to the processor)
KEY_B = KEYS["rfc8032-test2"]["account"]
CM = "anchor-events-clients"
KEY = "clients.yaml"

RESYNC = 5            # OPERATOR_RESYNC_SECONDS: how often the operator re-reads /status at least
REACT = 30.0          # an operator reaction to a watch event
APPLY = RESYNC + 25.0  # processor loaded -> resource Applied
RELOAD = 30.0         # volume swapped -> processor reports the new revision
OBSERVE = RESYNC + 1.5  # "stays Pending" windows: more than one resync


@pytest.fixture(scope="module")
def kafka():
    k = harness.Kafka()
    k.start()
    yield k
    k.stop()


def nc(domain: str, **extra) -> dict:
    return {"type": "noncustodial", "domains": [domain],
            "callbackUrls": {"sep24": f"https://{domain}/callbacks/sep24"}, **extra}


def processor_env(kafka: harness.Kafka, topic: str, clients_file, rid: str, port: int,
                  resolve: str = "") -> dict[str, str]:
    env = {
        "EVENT_QUEUE_KAFKA_BOOTSTRAP_SERVER": kafka.bootstrap,
        "EVENT_QUEUE_KAFKA_TOPIC": topic,
        "EVENT_QUEUE_KAFKA_DEAD_LETTER_TOPIC": f"{topic}-dlq",
        "EVENT_PROCESSOR_CLIENT_STATUS_CALLBACK_ENABLED": "true",
        "SECRET_SEP10_SIGNING_SEED": ANCHOR["seed"],
        "CLIENTS_TYPE": "file",
        "CLIENTS_VALUE": str(clients_file),
        "EVENT_PROCESSOR_NEW_LANE_OFFSET": "earliest",
        "EVENT_PROCESSOR_CONSUMER_GROUP_PREFIX": f"op-{rid}",
        "EVENT_PROCESSOR_MANAGEMENT_SERVER_ADDRESS": "127.0.0.1",
        "EVENT_PROCESSOR_MANAGEMENT_SERVER_PORT": str(port),
    }
    if resolve:
        env["EVENT_PROCESSOR_RESOLVE"] = resolve
    return env


def cm_data(api: kh.Api, ns: str) -> dict[str, str]:
    return api.configmap(ns, CM)["data"]


def loaded_revision(p: harness.Processor) -> str | None:
    return p.status_json().get("clients_revision")


def lane_groups(p: harness.Processor) -> dict[str, str]:
    return {lane["name"]: lane["group_id"] for lane in p.status_json().get("lanes", [])}


def applied(generation: int):
    return lambda obj: kh.condition_is(obj, "True", "Applied", generation)


def not_ready(obj) -> bool:
    c = kh.ready_condition(obj)
    return c is not None and c["status"] == "False" and c["reason"] == "Pending"


# ---- 7. Ready gating ---------------------------------------------------------------------------

def test_ready_only_when_every_processor_loaded_the_revision(api, ns, procs, eventually, kafka,
                                                            tmp_path):
    rid = harness.run_id()
    topic = f"op-gate-{rid}"
    kafka.create_topic(topic, 1)
    kafka.create_topic(f"{topic}-dlq", 1)
    ports = [harness.free_port(), harness.free_port()]
    op = procs.operator(ns, OPERATOR_RESYNC_SECONDS=RESYNC,
                        OPERATOR_PROCESSOR_URLS=",".join(f"http://127.0.0.1:{p}" for p in ports))

    api.create_cbc(ns, "wallet-a", nc("wallet-a.example"))
    doc = eventually(lambda: kh.clients_doc(api.configmap(ns, CM)),
                     lambda d: d and [i["name"] for i in d["items"]] == ["wallet-a"], REACT,
                     "wallet-a rendered")
    r1 = kh.revision(doc)
    # No processor is up yet: Pending.
    eventually(lambda: api.get_cbc(ns, "wallet-a"), lambda o: kh.condition_is(o, "False",
               "Pending", 1), REACT, "wallet-a Pending while no processor answers")

    # Two processor "pods", each with its own mounted copy of the ConfigMap.
    vols = [kh.ConfigMapVolume(tmp_path / f"clients-{i}", cm_data(api, ns)) for i in range(2)]
    processors = [procs.track(harness.Processor(
        tmp_path, processor_env(kafka, topic, vols[i].path(KEY), rid, ports[i]),
        name=f"processor-{i}")) for i in range(2)]
    for p in processors:
        p.start()
    for p in processors:
        p.wait_ready()
        assert loaded_revision(p) == str(r1)
    a = eventually(lambda: api.get_cbc(ns, "wallet-a"), applied(1), APPLY,
                   "wallet-a Applied once both processors loaded r1")
    assert a["status"]["configGeneration"] == r1
    assert a["status"]["consumerGroup"] == lane_groups(processors[0])["wallet-a"]
    assert a["status"]["clientName"] == "wallet-a"

    # A new client: rendered into r2, Pending while no processor has r2 ...
    api.create_cbc(ns, "wallet-b", nc("wallet-b.example"))
    doc = eventually(lambda: kh.clients_doc(api.configmap(ns, CM)),
                     lambda d: "wallet-b" in kh.items_by_name(d), REACT, "wallet-b rendered")
    r2 = kh.revision(doc)
    assert r2 == r1 + 1
    eventually(lambda: api.get_cbc(ns, "wallet-b"), not_ready, REACT, "wallet-b Pending")
    eventually.holds(lambda: (api.get_cbc(ns, "wallet-b"), [loaded_revision(p) for p in processors]),
                     lambda v: not_ready(v[0]) and v[1] == [str(r1), str(r1)], OBSERVE,
                     "wallet-b Pending while both processors have r1")

    # ... and while only one has it.
    vols[0].sync(cm_data(api, ns))
    eventually(lambda: loaded_revision(processors[0]), lambda v: v == str(r2), RELOAD,
               "processor-0 to load r2")
    eventually.holds(lambda: (api.get_cbc(ns, "wallet-b"), [loaded_revision(p) for p in processors]),
                     lambda v: not_ready(v[0]) and v[1] == [str(r2), str(r1)], OBSERVE,
                     "wallet-b Pending while processor-1 still has r1")

    vols[1].sync(cm_data(api, ns))
    eventually(lambda: loaded_revision(processors[1]), lambda v: v == str(r2), RELOAD,
               "processor-1 to load r2")
    b = eventually(lambda: api.get_cbc(ns, "wallet-b"), applied(1), APPLY,
                   "wallet-b Applied once both processors loaded r2")
    assert b["status"]["configGeneration"] == r2
    assert b["status"]["consumerGroup"] == lane_groups(processors[1])["wallet-b"]
    a = api.get_cbc(ns, "wallet-a")
    assert kh.condition_is(a, "True", "Applied", 1)
    assert a["status"]["configGeneration"] == r1, "the revision that FIRST contained the spec"

    # Changing wallet-a's spec: not Ready for generation 2 until both load r3.
    api.patch_cbc_spec(ns, "wallet-a", {"maxAttempts": 4})
    doc = eventually(lambda: kh.clients_doc(api.configmap(ns, CM)),
                     lambda d: kh.items_by_name(d)["wallet-a"].get("max_attempts") == 4, REACT,
                     "wallet-a's change rendered")
    r3 = kh.revision(doc)
    assert r3 == r2 + 1
    eventually(lambda: api.get_cbc(ns, "wallet-a"),
               lambda o: kh.condition_is(o, "False", "Pending", 2), REACT,
               "wallet-a Pending for generation 2")
    for v in vols:
        v.sync(cm_data(api, ns))
    for p in processors:
        eventually(lambda: loaded_revision(p), lambda v: v == str(r3), RELOAD,
                   f"{p.name} to load r3")
    a = eventually(lambda: api.get_cbc(ns, "wallet-a"), applied(2), APPLY,
                   "wallet-a Applied for generation 2")
    assert a["status"]["configGeneration"] == r3
    for p in processors:
        assert p.status_json()["clients_revision"] == str(a["status"]["configGeneration"])
    assert kh.condition_is(api.get_cbc(ns, "wallet-b"), "True", "Applied", 1)

    eventually(lambda: [e for e in api.events(ns, "wallet-a") if e.get("reason") == "Applied"],
               bool, REACT, "an Applied Event for wallet-a")
    eventually(lambda: op.metric("anchor_events_operator_clients", {"state": "ready"}),
               lambda v: v == 2, REACT, "two ready clients in the metrics")


# ---- 8. end to end -----------------------------------------------------------------------------

def event(n: int, rid: str, **attribution) -> tuple[str, str]:
    event_id = f"op-{rid}-event-{n}"
    body = {"type": "transaction_status_changed", "id": event_id, "sep": "24",
            "transaction": {"id": f"op-{rid}-tx-{n}", "sep": "24", "kind": "deposit",
                            "status": "pending_anchor",
                            "amount_in": {"amount": str(n), "asset": "iso4217:USD"},
                            **attribution}}
    return event_id, json.dumps(body)


def test_new_wallet_gets_callbacks_once_the_processor_loaded_it(api, ns, procs, eventually,
                                                                kafka, tmp_path):
    rid = harness.run_id()
    topic = f"op-e2e-{rid}"
    kafka.create_topic(topic, 1)
    kafka.create_topic(f"{topic}-dlq", 1)
    wallet = procs.track(harness.ReceiverProcess(
        tmp_path, "wallet-new", "wallet",
        ["--account", ANCHOR["account"], "--signature-host", "wallet-new.example:{port}"]).start())
    bystander = procs.track(harness.ReceiverProcess(tmp_path, "bystander", "plain").start())
    port = harness.free_port()
    op = procs.operator(ns, OPERATOR_RESYNC_SECONDS=RESYNC,
                        OPERATOR_PROCESSOR_URLS=f"http://127.0.0.1:{port}")

    # A wallet that already works, so the processor has something to consume for.
    api.create_cbc(ns, "bystander", {
        "type": "custodial", "signingKeys": [KEY_B], "allowedNetworks": ["127.0.0.0/8"],
        "callbackUrls": {"sep24": f"http://bystander.example:{bystander.port}/cb"}})
    doc = eventually(lambda: kh.clients_doc(api.configmap(ns, CM)),
                     lambda d: d and "bystander" in kh.items_by_name(d), REACT,
                     "bystander rendered")
    r1 = kh.revision(doc)
    vol = kh.ConfigMapVolume(tmp_path / "clients", cm_data(api, ns))
    resolve = (f"wallet-new.example:{wallet.port}:127.0.0.1,"
               f"bystander.example:{bystander.port}:127.0.0.1")
    processor = procs.track(harness.Processor(
        tmp_path, processor_env(kafka, topic, vol.path(KEY), rid, port, resolve)))
    processor.start()
    processor.wait_ready()
    eventually(lambda: api.get_cbc(ns, "bystander"), applied(1), APPLY, "bystander Applied")

    # The new wallet: only the SSRF exemption for loopback, as a real private wallet would.
    api.create_cbc(ns, "wallet-new", {
        "type": "noncustodial", "domains": ["wallet-new.example"],
        "allowedNetworks": ["127.0.0.0/8"],
        "callbackUrls": {"sep24": f"http://wallet-new.example:{wallet.port}/callbacks/sep24"}})
    doc = eventually(lambda: kh.clients_doc(api.configmap(ns, CM)),
                     lambda d: "wallet-new" in kh.items_by_name(d), REACT, "wallet-new rendered")
    r2 = kh.revision(doc)
    eventually(lambda: api.get_cbc(ns, "wallet-new"), not_ready, REACT, "wallet-new Pending")

    # An event for the new wallet, then one for the bystander behind it on the same partition:
    # once the bystander has its event the processor has read past the first one.
    e1, v1 = event(1, rid, client_domain="wallet-new.example")
    c1, vc = event(2, rid, client_name="bystander")
    harness.produce(kafka.bootstrap, topic, [v1, vc], partition=0)
    eventually(lambda: [r for r in bystander.delivered() if r["event_id"] == c1], bool, 60,
               "the bystander's event delivered")
    assert wallet.records() == [], "callbacks reached the new wallet before the processor loaded it"
    assert loaded_revision(processor) == str(r1)
    assert not_ready(api.get_cbc(ns, "wallet-new"))

    # The kubelet updates the volume: the processor loads r2, the lane joins, then Ready.
    vol.sync(cm_data(api, ns))
    eventually(lambda: loaded_revision(processor), lambda v: v == str(r2), RELOAD,
               "the processor to load r2")
    eventually(lambda: {l["name"]: l for l in processor.status_json()["lanes"]},
               lambda lanes: lanes.get("wallet-new", {}).get("joined"), 60,
               "wallet-new's lane to join its group")
    ready = eventually(lambda: api.get_cbc(ns, "wallet-new"), applied(1), APPLY,
                       "wallet-new Applied")
    assert ready["status"]["configGeneration"] == r2
    assert ready["status"]["consumerGroup"] == lane_groups(processor)["wallet-new"]

    e2, v2 = event(3, rid, client_domain="wallet-new.example")
    harness.produce(kafka.bootstrap, topic, [v2], partition=0)
    got = eventually(wallet.delivered, lambda rs: {e1, e2} <= {r["event_id"] for r in rs}, 60,
                     "the new wallet's callbacks")
    for r in got:
        assert r["event_id"] in (e1, e2), r["event_id"]
        assert r["path"] == "/callbacks/sep24"
        assert r["verification"]["ok"], r["verification"]
        assert r["body_json"]["transaction"]["id"] in (f"op-{rid}-tx-1", f"op-{rid}-tx-3")
    assert all(r["event_id"] != c1 for r in wallet.records())
    assert op.running()


# ---- 10. client certificates and webhook secrets through the client-secrets Secret ---------------

def standard_webhook_verifies(record: dict, secret: str) -> bool:
    """Checks the webhook-signature `v1` (HMAC) entries of a recorded callback with the PyPI
    `standardwebhooks` library, as a receiver would."""
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    headers = {k: v for k, v in record["headers"]}
    try:
        Webhook(secret).verify(base64.b64decode(record["body_b64"]), headers)
        return True
    except WebhookVerificationError:
        return False


def test_processor_loads_client_certificates_and_webhook_secrets(api, ns, procs, eventually,
                                                                 kafka, tmp_path):
    """The kubelet projects the ConfigMap into `clients/` and the client-secrets Secret into
    `client-secrets/` beside it; a real processor loads a client with mutual TLS and Standard
    Webhooks secrets, the resource turns Applied, and the callbacks carry `v1` signatures by the
    secrets from the Secret. A client added later whose Secret volume lags behind the ConfigMap
    volume is refused by the processor until the files arrive, then applied."""
    rid = harness.run_id()
    topic = f"op-sec-{rid}"
    kafka.create_topic(topic, 1)
    kafka.create_topic(f"{topic}-dlq", 1)
    wallet = procs.track(harness.ReceiverProcess(
        tmp_path, "wallet-sec", "wallet",
        ["--account", ANCHOR["account"], "--signature-host", "wallet-sec.example:{port}"]).start())
    port = harness.free_port()
    op = procs.operator(ns, OPERATOR_RESYNC_SECONDS=RESYNC,
                        OPERATOR_PROCESSOR_URLS=f"http://127.0.0.1:{port}")

    cert, key = kh.make_cert_and_key("wallet-sec client")
    current, previous = kh.new_whsec(), kh.new_whsec()
    api.put_secret(ns, "wallet-sec-tls", {"tls.crt": cert, "tls.key": key},
                   secret_type="kubernetes.io/tls")
    api.put_secret(ns, "wallet-sec-hooks", {"webhook-secret": current, "previous": previous})
    api.create_cbc(ns, "wallet-sec", {
        "type": "noncustodial", "domains": ["wallet-sec.example"],
        "allowedNetworks": ["127.0.0.0/8"], "standardWebhooks": True,
        "callbackUrls": {"sep24": f"http://wallet-sec.example:{wallet.port}/callbacks/sep24"},
        "clientCertSecretRef": {"name": "wallet-sec-tls"},
        "webhookSecretRef": {"name": "wallet-sec-hooks"},
        "webhookSecretPreviousRef": {"name": "wallet-sec-hooks", "key": "previous"}})
    doc = eventually(lambda: kh.clients_doc(api.configmap(ns, CM)),
                     lambda d: d and "wallet-sec" in kh.items_by_name(d), REACT,
                     "wallet-sec rendered")
    r1 = kh.revision(doc)
    assert kh.items_by_name(doc)["wallet-sec"]["webhook_secret_file"].startswith(
        kh.CLIENT_SECRETS_DIR + "/")

    # The "pod": both volumes, side by side, as the chart mounts them.
    secrets_vol = kh.SecretVolume(tmp_path / "client-secrets",
                                  api.secret(ns, kh.CLIENT_SECRETS))
    vol = kh.ConfigMapVolume(tmp_path / "clients", cm_data(api, ns))
    processor = procs.track(harness.Processor(
        tmp_path, processor_env(kafka, topic, vol.path(KEY), rid, port,
                                f"wallet-sec.example:{wallet.port}:127.0.0.1")))
    processor.start()
    processor.wait_ready()
    assert loaded_revision(processor) == str(r1)
    ready = eventually(lambda: api.get_cbc(ns, "wallet-sec"), applied(1), APPLY,
                       "wallet-sec Applied once the processor loaded r1")
    assert ready["status"]["configGeneration"] == r1
    eventually(lambda: {l["name"]: l for l in processor.status_json()["lanes"]},
               lambda lanes: lanes.get("wallet-sec", {}).get("joined"), 60,
               "wallet-sec's lane to join its group")

    e1, v1 = event(1, rid, client_domain="wallet-sec.example")
    harness.produce(kafka.bootstrap, topic, [v1], partition=0)
    got = eventually(wallet.delivered, lambda rs: any(r["event_id"] == e1 for r in rs), 60,
                     "wallet-sec's callback")
    record = next(r for r in got if r["event_id"] == e1)
    assert record["verification"]["ok"], record["verification"]
    assert record["verification"]["standard_webhook"]["valid"], record["verification"]
    signatures = dict(record["headers"])["webhook-signature"].split()
    assert [s.split(",")[0] for s in signatures].count("v1") == 2, signatures
    assert standard_webhook_verifies(record, current), "no v1 signature by the current secret"
    assert standard_webhook_verifies(record, previous), "no v1 signature by the previous secret"
    assert not standard_webhook_verifies(record, kh.new_whsec())

    # A second client whose Secret volume arrives after the ConfigMap volume.
    late_secret = kh.new_whsec()
    api.put_secret(ns, "wallet-late-hooks", {"webhook-secret": late_secret})
    api.create_cbc(ns, "wallet-late", {
        "type": "noncustodial", "domains": ["wallet-late.example"], "standardWebhooks": True,
        "callbackUrls": {"sep24": "https://wallet-late.example/callbacks/sep24"},
        "webhookSecretRef": {"name": "wallet-late-hooks"}})
    doc = eventually(lambda: kh.clients_doc(api.configmap(ns, CM)),
                     lambda d: "wallet-late" in kh.items_by_name(d), REACT,
                     "wallet-late rendered")
    r2 = kh.revision(doc)
    vol.sync(cm_data(api, ns))
    eventually(lambda: processor.status_json().get("last_reload", {}),
               lambda lr: lr.get("result") == "failed", RELOAD,
               "the processor to refuse r2 while the webhook secret file is missing")
    error = processor.status_json()["last_reload"]["error"]
    assert "webhook_secret_file" in error and "wallet-late" in error, error
    assert late_secret not in error
    eventually.holds(lambda: (loaded_revision(processor), api.get_cbc(ns, "wallet-late")),
                     lambda v: v[0] == str(r1) and not_ready(v[1]), OBSERVE,
                     "r1 kept and wallet-late Pending while its file is missing")
    assert kh.condition_is(api.get_cbc(ns, "wallet-sec"), "True", "Applied", 1)

    secrets_vol.sync_secret(api.secret(ns, kh.CLIENT_SECRETS))
    eventually(lambda: loaded_revision(processor), lambda v: v == str(r2), RELOAD,
               "the processor to load r2 once the Secret volume has the file")
    assert processor.status_json()["last_reload"]["result"] == "applied"
    late = eventually(lambda: api.get_cbc(ns, "wallet-late"), applied(1), APPLY,
                      "wallet-late Applied")
    assert late["status"]["configGeneration"] == r2
    log = processor.log_tail(10_000) + "\n".join(op.log_lines())
    for secret in (current, previous, late_secret):
        assert secret.removeprefix("whsec_") not in log, "a webhook secret in a log"
    for line in kh.pem_body_lines(key):
        assert line not in log, "private key material in a log"
    assert op.running() and processor.running()
