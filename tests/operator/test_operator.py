"""`anchor-events operator` against a real kube-apiserver + etcd (no processor: every valid
resource stays Ready=False/Pending here; tests/operator/test_operator_processor.py has the Ready
gating with real processors).

What a user of the operator observes:
- the clients ConfigMap follows CallbackClients being created, updated and deleted (a revision
  that grows by one per content change), and each resource's status follows its generation;
- invalid resources, missing CA Secrets, duplicate client names and domains are reported in the
  status and by Events, and left out of the ConfigMap while the others stay;
- settings: ConfigMap name and key, owner reference, several watched namespaces, no leader
  election;
- the operator survives watch expiry (410) and API server restarts (graceful and SIGKILL), and
  puts its rendering back when someone else edits the ConfigMap;
- two replicas: only the Lease holder writes, the other takes over when it dies and continues
  the revision;
- the chart's operator Role, bound to the chart's ServiceAccount and used through its token, is
  enough.
"""

from __future__ import annotations

import datetime as dt
import re
import time

import pytest

import harness
import kubeharness as kh

KEYS = kh.testdata_keys()
KEY_B = KEYS["rfc8032-test2"]["account"]
SEED = KEYS["rfc8032-test1"]["seed"]
CM = "anchor-events-clients"
KEY = "clients.yaml"
LEASE = "anchor-events-operator"

# Bounded waits. The operator reacts to watch events (10-30 ms here); a Secret may only be seen
# at the next resync (OPERATOR_RESYNC_SECONDS, default 30).
REACT = 30.0
RESYNC_DEFAULT = 30.0


def nc(domain: str, **extra) -> dict:
    return {"type": "noncustodial", "domains": [domain],
            "callbackUrls": {"sep24": f"https://{domain}/callbacks/sep24"}, **extra}


def custodial(key: str = KEY_B, **extra) -> dict:
    return {"type": "custodial", "signingKeys": [key],
            "callbackUrls": {"sep6": "https://hooks.custodial.example:8443/sep6?source=anchor"},
            **extra}


def doc_of(api: kh.Api, ns: str, cm: str = CM, key: str = KEY):
    return lambda: kh.clients_doc(api.configmap(ns, cm), key)


def names_are(*names):
    return lambda d: d is not None and [i["name"] for i in d.get("items") or []] == sorted(names)


def cbc_of(api: kh.Api, ns: str, name: str):
    return lambda: api.get_cbc(ns, name)


def reason_is(status: str, reason: str, generation: int | None = None):
    return lambda obj: kh.condition_is(obj, status, reason, generation)


def events_for(api: kh.Api, ns: str, name: str, reason: str):
    return lambda: [e for e in api.events(ns, name)
                    if e.get("reason") == reason
                    and e.get("involvedObject", {}).get("kind") == "CallbackClient"]


def parse_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def wait_past_second_of(obj: dict) -> None:
    """creationTimestamp has one-second resolution: returns once the wall clock is in a later
    second than obj's creation, so a resource created next is strictly newer."""
    created = parse_time(obj["metadata"]["creationTimestamp"])
    harness.wait_until(lambda: dt.datetime.now(dt.timezone.utc) >= created +
                       dt.timedelta(seconds=1.05), 5, 0.05, "the next second")


# ---- 1. create / update / delete ---------------------------------------------------------------

def test_configmap_follows_create_update_delete(api, ns, procs, eventually, tmp_path):
    op = procs.operator(ns)
    spec_a = nc("wallet-a.example", maxAttempts=5, initialBackoffMs=200, maxBackoffMs=4000,
                maxInFlight=8, requestTimeoutMs=3000, standardWebhooks=True,
                allowedNetworks=["10.20.0.0/16", "fd00:20::/32"])
    spec_b = custodial(name="WalletB")
    api.create_cbc(ns, "wallet-a", spec_a)
    api.create_cbc(ns, "wallet-b", spec_b)

    doc = eventually(doc_of(api, ns), names_are("wallet-a", "WalletB"), REACT,
                     "both clients in the ConfigMap, sorted by name")
    r1 = kh.revision(doc)
    items = kh.items_by_name(doc)
    assert kh.normalize_item(items["wallet-a"]) == kh.normalize_item(
        kh.expected_item(spec_a, "wallet-a"))
    assert kh.normalize_item(items["WalletB"]) == kh.normalize_item(
        kh.expected_item(spec_b, "WalletB"))

    cm = api.configmap(ns, CM)
    managers = {(m["manager"], m["operation"]) for m in cm["metadata"].get("managedFields", [])}
    assert (kh.FIELD_MANAGER, "Apply") in managers, managers

    # The rendered document is what the processor loads.
    checked = kh.check_config(tmp_path, cm["data"], seed=SEED)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "WalletB" in checked.stdout and "wallet-a" in checked.stdout

    # Status: no processor is reachable, so valid resources are Pending.
    b = eventually(cbc_of(api, ns, "wallet-b"), reason_is("False", "Pending", 1), REACT,
                   "wallet-b Ready=False/Pending for generation 1")
    assert b["status"]["clientName"] == "WalletB"
    cond = kh.ready_condition(b)
    parse_time(cond["lastTransitionTime"])
    assert isinstance(cond.get("message"), str)

    # Update: the item follows, the revision grows by one, observedGeneration follows.
    new_urls = {"sep24": "https://wallet-a.example/v2/sep24",
                "sep12": "https://wallet-a.example/v2/sep12"}
    patched = api.patch_cbc_spec(ns, "wallet-a", {"callbackUrls": new_urls, "maxAttempts": 7})
    assert patched["metadata"]["generation"] == 2
    doc = eventually(doc_of(api, ns),
                     lambda d: kh.items_by_name(d)["wallet-a"].get("callback_urls") == new_urls,
                     REACT, "wallet-a's new callback URLs in the ConfigMap")
    assert kh.revision(doc) == r1 + 1
    assert kh.items_by_name(doc)["wallet-a"]["max_attempts"] == 7
    eventually(cbc_of(api, ns, "wallet-a"), reason_is("False", "Pending", 2), REACT,
               "wallet-a observedGeneration 2")

    # A metadata-only change is no content change: the next real change is exactly one more.
    api.merge_patch(api.cbc_path(ns, "wallet-a"), {"metadata": {"labels": {"team": "x"}}})
    api.delete_cbc(ns, "wallet-b")
    doc = eventually(doc_of(api, ns), names_are("wallet-a"), REACT, "wallet-b gone")
    assert kh.revision(doc) == r1 + 2
    assert api.get_cbc(ns, "wallet-a")["status"]["observedGeneration"] == 2

    # The operator's own view.
    eventually(lambda: op.metric("anchor_events_operator_clients_revision"),
               lambda v: v == r1 + 2, REACT, "clients_revision metric")
    assert op.metric("anchor_events_operator_leader") == 1
    eventually(lambda: op.metric("anchor_events_operator_clients", {"state": "pending"}),
               lambda v: v == 1, REACT, "one pending client in the metrics")
    assert (op.metric("anchor_events_operator_reconciles_total", {"result": "ok"}) or 0) > 0
    eventually(lambda: harness.http_get(op.url("/readyz"))[0], lambda s: s == 200, REACT,
               "the leader's /readyz")
    assert op.running()


def test_settings_configmap_key_owner_and_no_leader_election(api, ns, procs, eventually):
    deployment = api.post(f"/apis/apps/v1/namespaces/{ns}/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "ae-operator", "namespace": ns},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "op"}},
                 "template": {"metadata": {"labels": {"app": "op"}},
                              "spec": {"containers": [{"name": "operator",
                                                       "image": "anchor-events:test"}]}}}})
    op = procs.operator(ns, OPERATOR_CLIENTS_CONFIGMAP="my-clients",
                        OPERATOR_CLIENTS_KEY="wallets.yaml",
                        OPERATOR_OWNER_DEPLOYMENT="ae-operator",
                        OPERATOR_LEADER_ELECTION="false", OPERATOR_LEASE_NAME="my-lease")
    api.create_cbc(ns, "w1", nc("w1.example"))
    eventually(doc_of(api, ns, "my-clients", "wallets.yaml"), names_are("w1"), REACT,
               "w1 in my-clients/wallets.yaml")
    cm = api.configmap(ns, "my-clients")
    owners = cm["metadata"].get("ownerReferences") or []
    assert [(o["apiVersion"], o["kind"], o["name"], o["uid"]) for o in owners] == [
        ("apps/v1", "Deployment", "ae-operator", deployment["metadata"]["uid"])], owners
    assert api.configmap(ns, CM) is None
    assert api.lease(ns, "my-lease") is None and api.lease(ns, LEASE) is None
    eventually(cbc_of(api, ns, "w1"), reason_is("False", "Pending", 1), REACT, "w1 status")
    assert op.metric("anchor_events_operator_leader") == 1


def test_watch_namespaces_render_together_and_names_are_unique_across_them(
        api, kube, ns, procs, eventually):
    # ns2 sorts before ns, and "a-new" before "z-old": only creationTimestamp makes z-old older.
    ns2 = kh.unique("a-second")
    api.create_namespace(ns2)
    procs.operator(ns, OPERATOR_WATCH_NAMESPACES=f"{ns},{ns2}")
    old = api.create_cbc(ns, "z-old", nc("old.shared.example", name="shared"))
    api.create_cbc(ns2, "elsewhere", nc("elsewhere.example"))
    eventually(doc_of(api, ns), names_are("shared", "elsewhere"), REACT,
               "clients of both namespaces in one ConfigMap")
    wait_past_second_of(old)
    api.create_cbc(ns2, "a-new", nc("new.shared.example", name="shared"))

    newer = eventually(cbc_of(api, ns2, "a-new"), reason_is("False", "DuplicateName", 1), REACT,
                       "the newer resource DuplicateName")
    assert "z-old" in kh.ready_condition(newer)["message"]
    doc = kh.clients_doc(api.configmap(ns, CM))
    assert kh.items_by_name(doc)["shared"]["domains"] == ["old.shared.example"]
    eventually(cbc_of(api, ns, "z-old"), reason_is("False", "Pending", 1), REACT,
               "the older resource keeps the name")
    eventually(events_for(api, ns2, "a-new", "DuplicateName"), bool, REACT,
               "a DuplicateName Event for a-new")

    # The older one goes: the newer one takes the name.
    api.delete_cbc(ns, "z-old")
    doc = eventually(doc_of(api, ns),
                     lambda d: kh.items_by_name(d).get("shared", {}).get("domains") ==
                     ["new.shared.example"], REACT, "a-new rendered once z-old is gone")
    eventually(cbc_of(api, ns2, "a-new"), reason_is("False", "Pending", 1), REACT,
               "a-new Pending")


# ---- 2. invalid resources ----------------------------------------------------------------------

def test_invalid_resources_are_reported_and_left_out(api, ns, procs, eventually):
    op = procs.operator(ns)
    api.create_cbc(ns, "good", nc("good.example"))
    # Each passes the CRD's schema and fails the processor's own validation.
    api.create_cbc(ns, "bad-key", custodial(kh.break_checksum(KEY_B)))
    api.create_cbc(ns, "bad-port", nc("bad-port.example",
                                      callbackUrls={"sep24": "https://bad-port.example:99999/cb"}))
    api.create_cbc(ns, "bad-cidr", nc("bad-cidr.example", allowedNetworks=["10.0.0.0/40"]))

    expected = {"bad-key": re.compile(r"signing[_ ]?keys", re.I),
                "bad-port": re.compile(r"port|65535", re.I),
                "bad-cidr": re.compile(re.escape("10.0.0.0/40"))}
    for name, pattern in expected.items():
        obj = eventually(cbc_of(api, ns, name), reason_is("False", "InvalidSpec", 1), REACT,
                         f"{name} InvalidSpec")
        message = kh.ready_condition(obj)["message"]
        assert pattern.search(message), (name, message)
    eventually(cbc_of(api, ns, "good"), reason_is("False", "Pending", 1), REACT, "good Pending")
    doc = eventually(doc_of(api, ns), names_are("good"), REACT, "only the valid resource")
    r = kh.revision(doc)
    eventually(events_for(api, ns, "bad-key", "InvalidSpec"), bool, REACT,
               "an InvalidSpec Event for bad-key")
    eventually(lambda: op.metric("anchor_events_operator_clients", {"state": "invalid"}),
               lambda v: v == 3, REACT, "three invalid clients in the metrics")

    # Fixing it brings it in.
    api.patch_cbc_spec(ns, "bad-key", {"signingKeys": [KEY_B]})
    eventually(cbc_of(api, ns, "bad-key"), reason_is("False", "Pending", 2), REACT,
               "bad-key fixed: Pending for generation 2")
    doc = eventually(doc_of(api, ns), names_are("good", "bad-key"), REACT, "bad-key rendered")
    assert kh.revision(doc) == r + 1
    assert op.running()


# ---- 3. caSecretRef ----------------------------------------------------------------------------

def test_missing_ca_secret_then_created(api, ns, procs, eventually, tmp_path):
    procs.operator(ns)
    api.create_cbc(ns, "plain", nc("plain.example"))
    api.create_cbc(ns, "with-ca", nc("with-ca.example", caSecretRef={"name": "with-ca-bundle"}))
    obj = eventually(cbc_of(api, ns, "with-ca"), reason_is("False", "SecretNotFound", 1), REACT,
                     "SecretNotFound while the Secret is missing")
    assert "with-ca-bundle" in kh.ready_condition(obj)["message"]
    eventually(doc_of(api, ns), names_are("plain"), REACT, "with-ca left out")
    eventually(events_for(api, ns, "with-ca", "SecretNotFound"), bool, REACT,
               "a SecretNotFound Event")

    # The Secret without the key (ca.crt by default): still SecretNotFound, naming the key.
    pem = kh.make_ca_pem("wallet CA one")
    t0 = time.monotonic()
    api.put_secret(ns, "with-ca-bundle", {"other.pem": pem})
    eventually(cbc_of(api, ns, "with-ca"),
               lambda o: kh.condition_is(o, "False", "SecretNotFound", 1)
               and "ca.crt" in kh.ready_condition(o)["message"],
               RESYNC_DEFAULT + 15, "SecretNotFound naming the missing key ca.crt")

    # With the key: recovered, the PEM next to the clients file, ca_file naming it.
    api.put_secret(ns, "with-ca-bundle", {"other.pem": pem, "ca.crt": pem})
    eventually(cbc_of(api, ns, "with-ca"), reason_is("False", "Pending", 1),
               RESYNC_DEFAULT + 15, "with-ca recovered (Pending)")
    recovered_after = time.monotonic() - t0
    ca_key = f"ca-{ns}-with-ca.pem"
    doc = eventually(doc_of(api, ns), names_are("plain", "with-ca"), REACT, "with-ca rendered")
    assert kh.items_by_name(doc)["with-ca"]["ca_file"] == ca_key
    cm = api.configmap(ns, CM)
    assert cm["data"][ca_key] == pem
    checked = kh.check_config(tmp_path, cm["data"], seed=SEED)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    # Rotating the Secret's content updates the file and the revision.
    r = kh.revision(doc)
    pem2 = kh.make_ca_pem("wallet CA two")
    api.put_secret(ns, "with-ca-bundle", {"ca.crt": pem2})
    eventually(lambda: api.configmap(ns, CM)["data"].get(ca_key), lambda v: v == pem2,
               RESYNC_DEFAULT + 15, "the rotated PEM in the ConfigMap")
    assert kh.revision(kh.clients_doc(api.configmap(ns, CM))) > r
    print(f"Secret changes took effect within {recovered_after:.1f}s")


# ---- 3b. client certificates and webhook secrets: the client-secrets Secret --------------------

def client_secrets_of(api: kh.Api, ns: str):
    return lambda: kh.secret_data(api.secret(ns, kh.CLIENT_SECRETS))


def hooked(domain: str, **extra) -> dict:
    """A client with mutual TLS and Standard Webhooks secrets (current and previous)."""
    return nc(domain, standardWebhooks=True,
              clientCertSecretRef={"name": "wallet-tls"},
              webhookSecretRef={"name": "wallet-hooks"},
              webhookSecretPreviousRef={"name": "wallet-hooks", "key": "previous"}, **extra)


def assert_no_material_in_configmap(cm: dict, secrets: list[str], pems: list[str]) -> None:
    for key, value in (cm.get("data") or {}).items():
        for secret in secrets:
            assert secret not in value, f"a webhook secret is in ConfigMap key {key}"
            assert secret.removeprefix("whsec_") not in value, f"secret base64 in {key}"
        for pem in pems:
            assert "PRIVATE KEY" not in value, f"a private key is in ConfigMap key {key}"
            for line in kh.pem_body_lines(pem):
                assert line not in value, f"key material of a PEM is in ConfigMap key {key}"


def test_client_secrets_secret_holds_the_material_and_the_configmap_names_it(
        api, ns, procs, eventually, tmp_path):
    op = procs.operator(ns, OPERATOR_RESYNC_SECONDS=5)
    cert, key = kh.make_cert_and_key("wallet client")
    current, previous = kh.new_whsec(), kh.new_whsec()
    api.put_secret(ns, "wallet-tls", {"tls.crt": cert, "tls.key": key},
                   secret_type="kubernetes.io/tls")
    api.put_secret(ns, "wallet-hooks", {"webhook-secret": current, "previous": previous})
    api.create_cbc(ns, "plain", nc("plain.example"))
    api.create_cbc(ns, "wallet", hooked("wallet.example"))

    doc = eventually(doc_of(api, ns), names_are("plain", "wallet"), REACT, "wallet rendered")
    r1 = kh.revision(doc)
    keys = kh.client_secret_keys(ns, "wallet")
    item = kh.items_by_name(doc)["wallet"]
    assert item["standard_webhooks"] is True
    for field, key_name in keys.items():
        assert item[field] == f"{kh.CLIENT_SECRETS_DIR}/{key_name}", (field, item)
    assert not any(f in kh.items_by_name(doc)["plain"] for f in keys), "plain got key files"

    # The Secret (written before the ConfigMap names it) holds exactly the material.
    held = kh.secret_data(api.secret(ns, kh.CLIENT_SECRETS))
    assert held == {keys["client_cert_file"]: cert, keys["client_key_file"]: key,
                    keys["webhook_secret_file"]: current,
                    keys["webhook_secret_previous_file"]: previous}, sorted(held or {})
    cs = api.secret(ns, kh.CLIENT_SECRETS)
    assert not cs["metadata"].get("ownerReferences"), "the Secret gets no owner"
    managers = {(m["manager"], m["operation"]) for m in cs["metadata"].get("managedFields", [])}
    assert (kh.FIELD_MANAGER, "Apply") in managers, managers

    # No key material in the ConfigMap: only the clients document is there.
    cm = api.configmap(ns, CM)
    assert set(cm["data"]) == {KEY}, sorted(cm["data"])
    assert_no_material_in_configmap(cm, [current, previous], [key])

    # As the processor would load it: the ConfigMap folder and the client-secrets folder beside it.
    (tmp_path / "client-secrets").mkdir()
    for key_name, value in held.items():
        (tmp_path / "client-secrets" / key_name).write_text(value, encoding="utf-8")
    checked = kh.check_config(tmp_path, cm["data"], seed=SEED)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert current not in checked.stdout and previous not in checked.stdout
    eventually(cbc_of(api, ns, "wallet"), reason_is("False", "Pending", 1), REACT,
               "wallet Pending (valid, no processor)")

    # Rotating the webhook secret: the new value (and the old one as previous) in the Secret,
    # the same file names in the document. (The revision: test_rotating_a_webhook_secret_...)
    rotated = kh.new_whsec()
    api.put_secret(ns, "wallet-hooks", {"webhook-secret": rotated, "previous": current})
    eventually(client_secrets_of(api, ns),
               lambda d: d.get(keys["webhook_secret_file"]) == rotated
               and d.get(keys["webhook_secret_previous_file"]) == current, 5 + 15,
               "the rotated webhook secret in the client-secrets Secret")
    # The document names the new material by its digest (so a processor waits for the Secret
    # to be projected), and only that changes.
    eventually(lambda: kh.items_by_name(kh.clients_doc(api.configmap(ns, CM)))["wallet"],
               lambda new: new.get("material_sha256") != item.get("material_sha256"), 15,
               "the rotated material's digest in the clients document")
    doc = kh.clients_doc(api.configmap(ns, CM))
    rotated_item = dict(kh.items_by_name(doc)["wallet"])
    assert len(rotated_item.pop("material_sha256")) == 64
    assert rotated_item == {k: v for k, v in item.items() if k != "material_sha256"}, \
        "the file names stay the same"
    assert_no_material_in_configmap(api.configmap(ns, CM), [rotated, current, previous], [key])

    # Deleting the resource removes its keys from the Secret (and its item from the document).
    api.delete_cbc(ns, "wallet")
    doc = eventually(doc_of(api, ns), names_are("plain"), REACT, "wallet gone")
    assert kh.revision(doc) > r1
    eventually(client_secrets_of(api, ns), lambda d: not set(keys.values()) & set(d), REACT,
               "wallet's keys gone from the client-secrets Secret")

    # None of it reached the operator's log.
    log = "\n".join(op.log_lines())
    for secret in (current, previous, rotated):
        assert secret.removeprefix("whsec_") not in log, "a webhook secret in the operator log"
    for line in kh.pem_body_lines(key):
        assert line not in log, "private key material in the operator log"
    assert op.running()


def test_rotating_a_webhook_secret_raises_the_revision(api, ns, procs, eventually):
    procs.operator(ns, OPERATOR_RESYNC_SECONDS=5)
    cert, key = kh.make_cert_and_key("rotating client")
    current, previous = kh.new_whsec(), kh.new_whsec()
    api.put_secret(ns, "wallet-tls", {"tls.crt": cert, "tls.key": key},
                   secret_type="kubernetes.io/tls")
    api.put_secret(ns, "wallet-hooks", {"webhook-secret": current, "previous": previous})
    api.create_cbc(ns, "wallet", hooked("wallet.example"))
    doc = eventually(doc_of(api, ns), names_are("wallet"), REACT, "wallet rendered")
    r1 = kh.revision(doc)
    eventually(cbc_of(api, ns, "wallet"), reason_is("False", "Pending", 1), REACT,
               "wallet Pending")
    assert api.get_cbc(ns, "wallet")["status"].get("configGeneration") == r1

    rotated = kh.new_whsec()
    api.put_secret(ns, "wallet-hooks", {"webhook-secret": rotated, "previous": current})
    whsec_key = kh.client_secret_keys(ns, "wallet")["webhook_secret_file"]
    eventually(client_secrets_of(api, ns), lambda d: d.get(whsec_key) == rotated, 5 + 15,
               "the rotated webhook secret in the client-secrets Secret")
    # A content change the processors must load: a new revision, and the status follows it.
    doc = eventually(doc_of(api, ns), lambda d: kh.revision(d) > r1, 5 + 5,
                     "a new revision after the rotation")
    eventually(cbc_of(api, ns, "wallet"),
               lambda o: (o.get("status") or {}).get("configGeneration") == kh.revision(doc),
               REACT, "configGeneration = the revision holding the rotated secret")


def test_client_cert_mismatch_and_missing_webhook_secret(api, ns, procs, eventually):
    procs.operator(ns, OPERATOR_RESYNC_SECONDS=5)
    cert_a, key_a = kh.make_cert_and_key("pair a")
    _, key_b = kh.make_cert_and_key("pair b")
    api.put_secret(ns, "mismatched-tls", {"tls.crt": cert_a, "tls.key": key_b},
                   secret_type="kubernetes.io/tls")
    api.create_cbc(ns, "mismatch", nc("mismatch.example",
                                      clientCertSecretRef={"name": "mismatched-tls"}))
    api.create_cbc(ns, "late", nc("late.example", standardWebhooks=True,
                                  webhookSecretRef={"name": "late-hooks"}))
    api.create_cbc(ns, "plain", nc("plain.example"))

    obj = eventually(cbc_of(api, ns, "mismatch"), reason_is("False", "InvalidSpec", 1), REACT,
                     "a certificate that does not match its key: InvalidSpec")
    message = kh.ready_condition(obj)["message"]
    assert re.search(r"certificate|key", message, re.I), message
    assert "PRIVATE KEY" not in message and "CERTIFICATE-----" not in message, message
    for line in kh.pem_body_lines(key_b) + kh.pem_body_lines(cert_a):
        assert line not in message, "key material in the status message"
    eventually(events_for(api, ns, "mismatch", "InvalidSpec"), bool, REACT,
               "an InvalidSpec Event for mismatch")

    obj = eventually(cbc_of(api, ns, "late"), reason_is("False", "SecretNotFound", 1), REACT,
                     "SecretNotFound while the webhook Secret is missing")
    assert "late-hooks" in kh.ready_condition(obj)["message"]
    doc = eventually(doc_of(api, ns), names_are("plain"), REACT, "only plain rendered")
    r = kh.revision(doc)
    held = kh.secret_data(api.secret(ns, kh.CLIENT_SECRETS)) or {}
    assert not [k for k in held if ns in k], f"material of invalid clients copied: {sorted(held)}"

    # The Secret appears: late recovers (at the latest at the next resync).
    secret = kh.new_whsec()
    api.put_secret(ns, "late-hooks", {"webhook-secret": secret + "\n"})
    eventually(cbc_of(api, ns, "late"), reason_is("False", "Pending", 1), 5 + 15,
               "late recovered (Pending) once its Secret exists")
    key_name = kh.client_secret_keys(ns, "late")["webhook_secret_file"]
    eventually(client_secrets_of(api, ns), lambda d: (d.get(key_name) or "").strip() == secret,
               REACT, "the webhook secret in the client-secrets Secret")
    doc = eventually(doc_of(api, ns), names_are("late", "plain"), REACT, "late rendered")
    assert kh.revision(doc) == r + 1
    assert kh.items_by_name(doc)["late"]["webhook_secret_file"] == \
        f"{kh.CLIENT_SECRETS_DIR}/{key_name}"
    assert_no_material_in_configmap(api.configmap(ns, CM), [secret], [key_b])
    assert kh.condition_is(api.get_cbc(ns, "mismatch"), "False", "InvalidSpec", 1)


# ---- 4. duplicates -----------------------------------------------------------------------------

def test_duplicate_name_and_domain_newer_loses(api, ns, procs, eventually):
    procs.operator(ns)
    first = api.create_cbc(ns, "first", nc("first.example", name="dup"))
    eventually(doc_of(api, ns), names_are("dup"), REACT, "first rendered")
    wait_past_second_of(first)
    api.create_cbc(ns, "dup", nc("second.example"))   # metadata.name is the client name
    api.create_cbc(ns, "same-domain", nc("first.example"))

    dup = eventually(cbc_of(api, ns, "dup"), reason_is("False", "DuplicateName", 1), REACT,
                     "the newer 'dup' DuplicateName")
    assert "first" in kh.ready_condition(dup)["message"]
    eventually(cbc_of(api, ns, "same-domain"), reason_is("False", "DuplicateDomain", 1), REACT,
               "a second claim of first.example DuplicateDomain")
    doc = eventually(doc_of(api, ns), names_are("dup"), REACT, "only the older rendered")
    assert kh.items_by_name(doc)["dup"]["domains"] == ["first.example"]
    assert kh.condition_is(api.get_cbc(ns, "first"), "False", "Pending", 1)

    api.patch_cbc_spec(ns, "first", {"name": "renamed"})
    eventually(doc_of(api, ns), names_are("dup", "renamed"), REACT,
               "renaming the older frees the name for the newer")
    eventually(cbc_of(api, ns, "dup"), reason_is("False", "Pending", 1), REACT, "dup Pending")


# ---- 5. watch expiry and API server restarts ---------------------------------------------------

def watch_restarts(op: kh.Operator) -> float:
    return op.metric("anchor_events_operator_watch_restarts_total") or 0.0


def test_survives_watch_expiry_and_apiserver_restarts(api, kube, ns, procs, eventually):
    op = procs.operator(ns)
    pid = op.pid
    api.create_cbc(ns, "r1", nc("r1.example"))
    eventually(doc_of(api, ns), names_are("r1"), REACT, "r1 rendered")
    restarts0 = watch_restarts(op)
    expired0 = op.metric("anchor_events_operator_watch_restarts_total", {"reason": "expired"}) or 0

    # Writes the watch has seen, a compaction, then a restart: a re-watch from the last seen
    # resourceVersion answers 410 Expired, so the operator must re-list.
    for i in range(20):
        api.merge_patch(api.cbc_path(ns, "r1"), {"metadata": {"labels": {"n": str(i)}}})
    kube.compact()
    kube.restart_apiserver()
    kh.after_restart(lambda: api.create_cbc(ns, "r2", nc("r2.example")))
    eventually(doc_of(api, ns), names_are("r1", "r2"), 60,
               "r2 (created after a graceful API server restart) rendered")
    eventually(cbc_of(api, ns, "r2"), reason_is("False", "Pending", 1), 60, "r2 status")
    assert op.running() and op.pid == pid
    eventually(lambda: watch_restarts(op), lambda v: v > restarts0, 30,
               "watch_restarts_total to grow after the restart")
    restarts1 = watch_restarts(op)

    kube.restart_apiserver(kill=True)
    kh.after_restart(lambda: api.patch_cbc_spec(
        ns, "r2", {"callbackUrls": {"sep24": "https://r2.example/after-kill"}}))
    api.delete_cbc(ns, "r1")
    eventually(doc_of(api, ns),
               lambda d: names_are("r2")(d) and kh.items_by_name(d)["r2"]["callback_urls"] ==
               {"sep24": "https://r2.example/after-kill"}, 60,
               "changes after a SIGKILLed API server rendered")
    eventually(cbc_of(api, ns, "r2"), reason_is("False", "Pending", 2), 60,
               "r2 observedGeneration 2")
    assert op.running() and op.pid == pid
    eventually(lambda: watch_restarts(op), lambda v: v > restarts1, 30,
               "watch_restarts_total to grow after the kill")
    # At least one of the re-watches was answered 410 Expired and the operator re-listed.
    expired = op.metric("anchor_events_operator_watch_restarts_total", {"reason": "expired"}) or 0
    assert expired > expired0, op.metric_lines()
    print("operator metrics after the restarts:\n" + op.metric_lines())


def test_edits_to_the_configmap_are_overwritten(api, ns, procs, eventually):
    """Someone else (kubectl edit, another tool) changes the rendered ConfigMap: the operator
    puts its rendering back (forcing its field ownership, conflicts retried) at the latest at
    the next resync."""
    procs.operator(ns, OPERATOR_RESYNC_SECONDS=5)
    api.create_cbc(ns, "e1", nc("e1.example"))
    doc = eventually(doc_of(api, ns), names_are("e1"), REACT, "e1 rendered")
    cm = api.configmap(ns, CM)
    cm["data"][KEY] = 'revision: "999"\nitems: []\n'
    api.request("PUT", f"/api/v1/namespaces/{ns}/configmaps/{CM}?fieldManager=kubectl-edit", cm)
    restored = eventually(doc_of(api, ns), names_are("e1"), 20, "the rendering restored")
    assert kh.items_by_name(restored)["e1"] == kh.items_by_name(doc)["e1"]
    # And it keeps following changes.
    api.create_cbc(ns, "e2", nc("e2.example"))
    eventually(doc_of(api, ns), names_are("e1", "e2"), REACT, "e2 rendered after the edit")


# ---- 6. leader election ------------------------------------------------------------------------

def test_only_the_leader_writes_and_the_standby_takes_over(api, ns, procs, eventually):
    # The standby is configured with another ConfigMap name: anything it wrote would show up
    # there, so "the standby writes nothing" is observable. Same Lease.
    lease_s = 5
    a = procs.operator(ns, "op-a", OPERATOR_LEASE_DURATION_SECONDS=lease_s)
    api.create_cbc(ns, "l1", nc("l1.example"))
    eventually(doc_of(api, ns), names_are("l1"), REACT, "the first replica renders")
    lease = eventually(lambda: api.lease(ns, LEASE),
                       lambda l: l and l["spec"].get("holderIdentity") == "op-a", REACT,
                       "op-a holds the Lease")
    assert lease["spec"].get("leaseDurationSeconds") == lease_s
    b = procs.operator(ns, "op-b", OPERATOR_LEASE_DURATION_SECONDS=lease_s,
                       OPERATOR_CLIENTS_CONFIGMAP="standby-clients")

    # Changes while both run: the leader renders and writes status; the standby does not.
    api.create_cbc(ns, "l2", nc("l2.example"))
    eventually(doc_of(api, ns), names_are("l1", "l2"), REACT, "the leader renders l2")
    eventually(cbc_of(api, ns, "l2"), reason_is("False", "Pending", 1), REACT, "l2 status")
    api.patch_cbc_spec(ns, "l2", {"maxAttempts": 4})
    eventually(doc_of(api, ns), lambda d: kh.items_by_name(d)["l2"].get("max_attempts") == 4,
               REACT, "the leader renders l2's change")
    eventually(lambda: b.metric("anchor_events_operator_leader"), lambda v: v == 0, REACT,
               "op-b reports it is not the leader")
    assert a.metric("anchor_events_operator_leader") == 1
    assert api.configmap(ns, "standby-clients") is None, "the standby wrote its ConfigMap"
    assert api.lease(ns, LEASE)["spec"]["holderIdentity"] == "op-a"
    assert b.running()

    # The leader dies without releasing the Lease: op-b takes over once it expires.
    t0 = time.monotonic()
    a.kill()
    eventually(lambda: api.lease(ns, LEASE),
               lambda l: l["spec"].get("holderIdentity") == "op-b", lease_s + 10,
               "op-b to take the Lease within the lease duration + 10 s")
    took = time.monotonic() - t0
    eventually(doc_of(api, ns, "standby-clients"), names_are("l1", "l2"), REACT,
               "the new leader renders")
    api.create_cbc(ns, "l3", nc("l3.example"))
    eventually(doc_of(api, ns, "standby-clients"), names_are("l1", "l2", "l3"), REACT,
               "the new leader follows changes")
    eventually(cbc_of(api, ns, "l3"), reason_is("False", "Pending", 1), REACT,
               "the new leader writes status")
    assert b.metric("anchor_events_operator_leader") == 1
    print(f"takeover after {took:.1f}s (lease {lease_s}s)")


def test_revision_keeps_growing_across_failover(api, ns, procs, eventually):
    """Two identical replicas (as the chart runs them): after the leader dies the new leader
    continues the revision of the ConfigMap it finds; a processor compares revisions, so they
    must never go back."""
    lease_s = 5
    a = procs.operator(ns, "op-a", OPERATOR_LEASE_DURATION_SECONDS=lease_s)
    procs.operator(ns, "op-b", OPERATOR_LEASE_DURATION_SECONDS=lease_s)
    api.create_cbc(ns, "f1", nc("f1.example"))
    api.create_cbc(ns, "f2", nc("f2.example"))
    doc = eventually(doc_of(api, ns), names_are("f1", "f2"), REACT, "rendered by the leader")
    eventually(lambda: api.lease(ns, LEASE),
               lambda l: l and l["spec"].get("holderIdentity") == "op-a", REACT, "op-a leads")
    before = kh.revision(doc)
    a.kill()
    eventually(lambda: api.lease(ns, LEASE),
               lambda l: l["spec"].get("holderIdentity") == "op-b", lease_s + 10, "op-b leads")
    api.patch_cbc_spec(ns, "f2", {"maxAttempts": 9})
    doc = eventually(doc_of(api, ns), lambda d: kh.items_by_name(d)["f2"].get("max_attempts") == 9,
                     REACT, "the new leader renders the change")
    assert kh.revision(doc) == before + 1, (before, doc["revision"])
    eventually(cbc_of(api, ns, "f2"), reason_is("False", "Pending", 2), REACT,
               "the new leader writes status")


# ---- 9. the chart's RBAC -----------------------------------------------------------------------

def test_chart_rbac_is_enough(api, kube, ns, procs, eventually, tmp_path):
    """The chart's operator objects (ServiceAccount, Role, RoleBinding, Lease, clients ConfigMap,
    Deployment) rendered by `helm template` and created as Helm would; the operator runs with the
    Deployment's environment and the ServiceAccount's token, nothing more."""
    ns2 = kh.unique("rbac-watched")
    api.create_namespace(ns2)
    values = {"operator": {"enabled": True, "secretNames": ["wallet-ca"],
                           "watchNamespaces": [ns, ns2]},
              "clients": {"source": "operator"}}
    docs = kh.render_chart("ae", ns, values, tmp_path)
    wanted = [d for d in docs
              if (d["kind"] in ("ServiceAccount", "Role", "RoleBinding", "Lease", "Deployment")
                  and d["metadata"]["name"].endswith("-operator"))
              or (d["kind"] == "ConfigMap" and d["metadata"]["name"].endswith("-clients"))]
    kinds = sorted(d["kind"] for d in wanted)
    assert kinds.count("Role") == 2 and kinds.count("RoleBinding") == 2, kinds
    for obj in wanted:
        api.create_object(obj, field_manager="helm")
    deployment = next(d for d in wanted if d["kind"] == "Deployment")
    sa = next(d for d in wanted if d["kind"] == "ServiceAccount")["metadata"]["name"]
    kubeconfig, _ = kube.token_kubeconfig(tmp_path / "operator.kubeconfig", ns, sa)

    env = kh.operator_env_from_chart(deployment, ns, "ae-operator-pod-1")
    env.update({"KUBECONFIG": str(kubeconfig), "OPERATOR_MANAGEMENT_SERVER_ADDRESS": "127.0.0.1",
                "OPERATOR_MANAGEMENT_SERVER_PORT": str(harness.free_port())})
    cm_name, key, lease_name = (env["OPERATOR_CLIENTS_CONFIGMAP"], env["OPERATOR_CLIENTS_KEY"],
                                env["OPERATOR_LEASE_NAME"])
    pem = kh.make_ca_pem("rbac CA")
    api.put_secret(ns, "wallet-ca", {"ca.crt": pem})
    api.put_secret(ns, "not-listed", {"ca.crt": pem})
    api.create_cbc(ns, "ok", nc("ok.example", caSecretRef={"name": "wallet-ca"}))
    api.create_cbc(ns, "unlisted-ca", nc("unlisted.example", caSecretRef={"name": "not-listed"}))
    api.create_cbc(ns, "invalid", custodial(kh.break_checksum(KEY_B)))
    api.create_cbc(ns2, "remote", nc("remote.example"))

    op = procs.operator(ns, env=env)
    doc = eventually(doc_of(api, ns, cm_name, key), names_are("ok", "remote"), 45,
                     "the chart's ConfigMap rendered with the chart's RBAC")
    kh.revision(doc)
    cm = api.configmap(ns, cm_name)
    assert cm["data"][f"ca-{ns}-ok.pem"] == pem
    owners = cm["metadata"].get("ownerReferences") or []
    dep_uid = api.get(f"/apis/apps/v1/namespaces/{ns}/deployments/"
                      f"{deployment['metadata']['name']}")["metadata"]["uid"]
    assert [(o["kind"], o["uid"]) for o in owners] == [("Deployment", dep_uid)], owners
    eventually(cbc_of(api, ns, "ok"), reason_is("False", "Pending", 1), REACT, "ok status")
    eventually(cbc_of(api, ns2, "remote"), reason_is("False", "Pending", 1), REACT,
               "status in the other watched namespace")
    eventually(cbc_of(api, ns, "unlisted-ca"), reason_is("False", "SecretNotFound", 1), REACT,
               "a Secret outside operator.secretNames is SecretNotFound")
    eventually(cbc_of(api, ns, "invalid"), reason_is("False", "InvalidSpec", 1), REACT,
               "invalid status")
    eventually(events_for(api, ns, "invalid", "InvalidSpec"), bool, REACT,
               "Events recorded with the chart's RBAC")
    lease = api.lease(ns, lease_name)
    assert lease["spec"].get("holderIdentity") == "ae-operator-pod-1"
    assert op.running()
    # Forbidden answers only for the Secret the Role deliberately does not grant.
    denied = [l for l in op.log_lines() if re.search(r"forbidden|\b403\b", l, re.I)
              and "not-listed" not in l]
    assert not denied, "\n".join(denied[:10])
