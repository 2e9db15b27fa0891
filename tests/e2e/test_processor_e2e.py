"""End-to-end: a real Kafka broker, `anchor-events run` as a separate process, and independent
HTTP receivers that check every Signature (Python `cryptography`) and JWT (PyJWT).

Scenario (issue 2): every line of the shared sample events and of poison.txt is produced to a
fresh topic without a key; the processor delivers each event to the business server and each
attributed transaction to its own wallet, skips the poison records and, after a kill -9 half-way,
re-delivers whatever was in flight (at least once, no losses).

Records are produced to fixed partitions, one sample file per partition, with poison records in
front of each file on the same partition, so that (a) per-transaction order is defined (Kafka
orders within a partition only; records without a key would otherwise be spread at random) and
(b) every valid record comes after poison records on its partition:

    p0: poison 1-2, sep24-deposit-lifecycle (5)     p1: poison 3-4, sep6-withdrawal-error (3)
    p2: poison 5-6, sep31-receive (4)               p0: poison 7, customers-and-unattributed (3)

Environment: ANCHOR_EVENTS_BINARY (processor), ANCHOR_EVENTS_TESTDATA (shared test data),
KAFKA_BOOTSTRAP (use this broker instead of starting scripts/kafka-local.sh), KAFKA_PORT,
ANCHOR_EVENTS_POISON_METRIC (exact metric name of the poison counter, if the default search by
name does not fit), ANCHOR_EVENTS_EVENT_ID_HEADER (the processor's event id header name).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import time
import warnings
from pathlib import Path

import pytest

import harness

TESTDATA = harness.testdata_dir()
EVENTS_DIR = TESTDATA / "events"
EVENT_FILES = ["sep24-deposit-lifecycle", "sep6-withdrawal-error", "sep31-receive",
               "customers-and-unattributed"]
ANCHOR_ACCOUNT = "GDLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRVHUR"
DELIVERY_TIMEOUT = float(os.environ.get("ANCHOR_EVENTS_E2E_DELIVERY_TIMEOUT", "90"))
SETTLE_SECONDS = 3.0

SEP24_TXN = "a4baff5f-778c-43d6-bbef-3e9fb41d096e"
SEP6_TXN = "7f1c2b9a-6a43-4f3e-bb0e-1d2c3b4a5e6f"
SEP31_TXN = "ABC-31-0001"

# Fields of the events' transaction objects that have no place in a SEP response body.
NOT_FOR_WALLETS = ("customers", "creator", "client_domain", "client_name")


# ---- test data ---------------------------------------------------------------------------------

def load_file(stem: str) -> list[tuple[str, dict]]:
    path = EVENTS_DIR / f"{stem}.jsonl"
    return [(line, json.loads(line)) for line in harness.read_lines(path)]


FILES = {stem: load_file(stem) for stem in EVENT_FILES}
EVENTS = [event for stem in EVENT_FILES for _, event in FILES[stem]]
EVENTS_BY_ID = {e["id"]: e for e in EVENTS}
POISON = harness.read_lines(EVENTS_DIR / "poison.txt")
DEV_ENV = harness.read_env_file(TESTDATA / "dev.env")


def wallet_events(client: str) -> list[dict]:
    """The events a client gets, in file order (the README's attribution table)."""
    out = []
    for e in EVENTS:
        t = e.get("transaction")
        if not t or e["type"].lower() == "quote_created":
            continue
        if client == "wallet-a" and t.get("client_domain") == "wallet-a.example":
            out.append(e)
        elif client == "wallet-b" and t.get("client_name") == "wallet-b":
            out.append(e)
    return out


def expected_wallet_fields(txn: dict) -> dict:
    """The SEP response fields the README's mapping table derives from this snapshot (only
    fields whose source is present)."""
    sep = str(txn["sep"])
    kind = txn.get("kind", "")
    out = {}
    for k in ("id", "status", "message", "quote_id", "started_at", "updated_at", "completed_at",
              "user_action_required_by", "external_transaction_id", "fee_details"):
        if k in txn:
            out[k] = txn[k]
    if sep in ("6", "24") and "kind" in txn:
        out["kind"] = kind
    for k in ("amount_in", "amount_out"):
        if k in txn:
            out[k] = txn[k]["amount"]
            out[k + "_asset"] = txn[k]["asset"]
    if txn.get("stellar_transactions"):
        out["stellar_transaction_id"] = txn["stellar_transactions"][0]["id"]
    if sep in ("6", "24"):
        if "source_account" in txn:
            out["from"] = txn["source_account"]
        if "destination_account" in txn:
            out["to"] = txn["destination_account"]
        prefix = "deposit" if kind.startswith("deposit") else "withdraw"
        if "memo" in txn:
            out[f"{prefix}_memo"] = txn["memo"]
        if "memo_type" in txn:
            out[f"{prefix}_memo_type"] = txn["memo_type"]
        if kind.startswith("withdrawal") and "withdraw_anchor_account" in txn:
            out["withdraw_anchor_account"] = txn["withdraw_anchor_account"]
    if sep == "31":
        if "destination_account" in txn:
            out["stellar_account_id"] = txn["destination_account"]
        if "memo" in txn:
            out["stellar_memo"] = txn["memo"]
        if "memo_type" in txn:
            out["stellar_memo_type"] = txn["memo_type"]
    return out


def nulls(value, path="$"):
    if value is None:
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in nulls(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in nulls(v, f"{path}[{i}]")]
    return []


def parse_iso_utc(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert value.utcoffset() == dt.timedelta(0), f"timestamp {text!r} is not UTC"
    return value


def test_data_is_what_the_scenario_expects():
    ids = [e["id"] for e in EVENTS]
    assert ids == [f"7d0c3e2a-0000-4000-8000-{i:012d}" for i in range(1, len(ids) + 1)]
    assert len(ids) == 15 and len(POISON) == 7
    assert [e["transaction"]["status"] for e in wallet_events("wallet-a")] == [
        "incomplete", "pending_user_transfer_start", "pending_anchor", "pending_stellar",
        "completed"]
    assert len(wallet_events("wallet-b")) == 6
    assert harness.account_from_seed(DEV_ENV["SECRET_SEP10_SIGNING_SEED"]) == ANCHOR_ACCOUNT


# ---- scenario ----------------------------------------------------------------------------------

class Scenario:
    """A topic, receivers, a clients file and the processor's environment for one run."""

    def __init__(self, workdir: Path, kafka: harness.Kafka, business_args: list[str] = ()):
        self.workdir = workdir
        self.kafka = kafka
        rid = harness.run_id()
        self.topic = f"e2e-{rid}-TRANSACTION"
        self.dlq_topic = f"e2e-{rid}-TRANSACTION_DLQ"
        self.group_prefix = f"e2e-{rid}"
        kafka.create_topic(self.topic, 3)
        kafka.create_topic(self.dlq_topic, 1)

        self.secret_file = harness.write_secret(workdir / "callback-api.secret",
                                                DEV_ENV["CALLBACK_API_SECRET"])
        self.seed_file = harness.write_secret(workdir / "sep10.seed",
                                              DEV_ENV["SECRET_SEP10_SIGNING_SEED"])
        id_header = os.environ.get("ANCHOR_EVENTS_EVENT_ID_HEADER")
        extra = ["--event-id-header", id_header] if id_header else []
        self.receivers: dict[str, harness.ReceiverProcess] = {}
        for name in ("wallet-a", "wallet-b"):
            self.receivers[name] = harness.ReceiverProcess(
                workdir, name, "wallet",
                ["--account", ANCHOR_ACCOUNT, "--signature-host", f"{name}.example:{{port}}",
                 *extra]).start()
        self.receivers["business"] = harness.ReceiverProcess(
            workdir, "business", "business",
            ["--jwt-secret-file", str(self.secret_file), *business_args]).start()
        # wallet-c-no-callbacks has no URLs; its host is pinned to a receiver that must stay idle.
        self.receivers["wallet-c"] = harness.ReceiverProcess(workdir, "wallet-c", "plain").start()

        pa, pb, pc = (self.receivers[n].port for n in ("wallet-a", "wallet-b", "wallet-c"))
        clients = (TESTDATA / "clients.yaml").read_text(encoding="utf-8")
        assert "wallet-a.example:18081" in clients and "wallet-b.example:18082" in clients
        clients = clients.replace("wallet-a.example:18081", f"wallet-a.example:{pa}")
        clients = clients.replace("wallet-b.example:18082", f"wallet-b.example:{pb}")
        self.clients_file = workdir / "clients.yaml"
        self.clients_file.write_text(clients, encoding="utf-8")

        self.env = {
            "EVENT_QUEUE_KAFKA_BOOTSTRAP_SERVER": kafka.bootstrap,
            "EVENT_QUEUE_KAFKA_TOPIC": self.topic,
            "EVENT_QUEUE_KAFKA_DEAD_LETTER_TOPIC": self.dlq_topic,
            "EVENT_PROCESSOR_CLIENT_STATUS_CALLBACK_ENABLED": "true",
            "EVENT_PROCESSOR_CALLBACK_API_REQUEST_ENABLED": "true",
            "CALLBACK_API_BASE_URL": f"http://127.0.0.1:{self.receivers['business'].port}/callback",
            "CALLBACK_API_AUTH_TYPE": "jwt",
            "CALLBACK_API_SECRET_FILE": str(self.secret_file),
            "SECRET_SEP10_SIGNING_SEED_FILE": str(self.seed_file),
            "CLIENTS_TYPE": "file",
            "CLIENTS_VALUE": str(self.clients_file),
            "EVENT_PROCESSOR_ALLOW_PRIVATE_DESTINATIONS": "true",
            "EVENT_PROCESSOR_RESOLVE": ",".join([f"wallet-a.example:{pa}:127.0.0.1",
                                                 f"wallet-b.example:{pb}:127.0.0.1",
                                                 f"wallet-c.example:{pc}:127.0.0.1"]),
            "EVENT_PROCESSOR_NEW_LANE_OFFSET": "earliest",
            "EVENT_PROCESSOR_CONSUMER_GROUP_PREFIX": self.group_prefix,
            "EVENT_PROCESSOR_MANAGEMENT_SERVER_ADDRESS": "127.0.0.1",
            "EVENT_PROCESSOR_MANAGEMENT_SERVER_PORT": str(harness.free_port()),
            "EVENT_PROCESSOR_LOG_LEVEL": "debug",
        }
        self.processor = harness.Processor(workdir, self.env)

    def produce_all(self) -> None:
        b, t = self.kafka.bootstrap, self.topic
        layout = [(0, POISON[0:2]), (0, FILES["sep24-deposit-lifecycle"]),
                  (1, POISON[2:4]), (1, FILES["sep6-withdrawal-error"]),
                  (2, POISON[4:6]), (2, FILES["sep31-receive"]),
                  (0, POISON[6:7]), (0, FILES["customers-and-unattributed"])]
        total = 0
        for partition, items in layout:
            values = [v if isinstance(v, str) else v[0] for v in items]
            total += harness.produce(b, t, values, partition=partition)
        assert total == len(EVENTS) + len(POISON)

    def business_ids(self) -> set[str]:
        return {r["event_id"] for r in self.receivers["business"].delivered() if r["event_id"]}

    def wallet_keys(self, name: str) -> set[tuple[str, str]]:
        out = set()
        for r in self.receivers[name].delivered():
            t = (r.get("body_json") or {}).get("transaction") or {}
            out.add((t.get("id"), t.get("status")))
        return out

    def all_delivered(self) -> bool:
        want_a = {(e["transaction"]["id"], e["transaction"]["status"])
                  for e in wallet_events("wallet-a")}
        want_b = {(e["transaction"]["id"], e["transaction"]["status"])
                  for e in wallet_events("wallet-b")}
        return (self.business_ids() >= set(EVENTS_BY_ID) and self.wallet_keys("wallet-a") >= want_a
                and self.wallet_keys("wallet-b") >= want_b)

    def wait_all_delivered(self, timeout: float = DELIVERY_TIMEOUT) -> None:
        def done():
            if not self.processor.running():
                raise RuntimeError(f"processor exited with {self.processor.proc.returncode}:\n"
                                   f"{self.processor.log_tail()}")
            return self.all_delivered()

        try:
            harness.wait_until(done, timeout, 0.2, "every event to be delivered")
        except TimeoutError as e:
            raise AssertionError(f"{e}\n{self.summary()}") from None

    def summary(self) -> str:
        lines = [f"workdir: {self.workdir}", f"topic: {self.topic}"]
        for name, r in self.receivers.items():
            recs = r.records()
            lines.append(f"{name}: {len(recs)} requests, statuses "
                         f"{[x['status'] for x in recs]}, paths {sorted({x['path'] for x in recs})}")
        missing = set(EVENTS_BY_ID) - self.business_ids()
        lines.append(f"business missing: {sorted(missing)}")
        lines.append("processor log tail:\n" + self.processor.log_tail(40))
        return "\n".join(lines)

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
def binary():
    path = harness.binary_path()
    if not path.exists():
        pytest.fail(f"processor binary {path} does not exist (build it or set ANCHOR_EVENTS_BINARY)")
    return path


@pytest.fixture(scope="module")
def first_run(kafka, binary, tmp_path_factory):
    """One clean run: everything produced, processor started, every event delivered."""
    s = Scenario(tmp_path_factory.mktemp("first-run"), kafka)
    try:
        s.produce_all()
        s.processor.start()
        s.processor.wait_ready()
        s.wait_all_delivered()
        time.sleep(SETTLE_SECONDS)  # anything extra (duplicates, strays) would arrive now
        yield s
    finally:
        s.close()


# ---- the clean run -----------------------------------------------------------------------------

def test_business_server_gets_every_event_once(first_run):
    s = first_run
    recs = s.receivers["business"].records()
    assert all(r["status"] == 200 for r in recs)
    assert sorted(r["event_id"] for r in recs) == sorted(EVENTS_BY_ID), s.summary()
    for r in recs:
        event = EVENTS_BY_ID[r["event_id"]]
        ctx = f"business record for {event['id']} ({s.workdir})"
        assert r["method"] == "POST" and r["path"] == "/callback/event", ctx
        jwt_check = r["verification"]["jwt"]
        assert jwt_check["valid"], (ctx, jwt_check)
        assert jwt_check["alg"] == "HS256" and jwt_check["lifetime_s"] == 30, (ctx, jwt_check)
        assert r["verification"]["content_type_json"], (ctx, r["verification"]["content_type"])
        body = r["body_json"]
        assert isinstance(body, dict), ctx
        assert {"id", "type", "timestamp", "payload"} <= set(body), (ctx, body)
        assert body["id"] == event["id"], ctx
        assert body["type"] == event["type"].lower(), ctx
        sent = parse_iso_utc(body["timestamp"])
        assert abs(sent.timestamp() - r["time"]) < 120, (ctx, body["timestamp"])
        payload = body["payload"]
        if "transaction" in event:
            assert list(payload) == ["transaction"], ctx
            assert payload["transaction"]["id"] == event["transaction"]["id"], ctx
            assert payload["transaction"]["status"] == event["transaction"]["status"], ctx
        elif "quote" in event:
            assert list(payload) == ["quote"], ctx
            assert payload["quote"]["id"] == event["quote"]["id"], ctx
        else:
            assert payload == {"customer": {"id": event["customer"]["id"]}}, ctx


def check_wallet_record(s: Scenario, r: dict, event: dict, path: str) -> None:
    ctx = f"{r['receiver']} record #{r['seq']} for event {event['id']} ({s.workdir})"
    assert r["method"] == "POST" and r["path"] == path, (ctx, r["path"])
    sig = r["verification"]["signature"]
    assert sig["valid"] and sig["format_ok"] and sig["fresh"], (ctx, sig, r["headers"])
    ctype = (r["verification"]["content_type"] or "").lower().replace(" ", "")
    assert ctype == "application/json;charset=utf-8", (ctx, ctype)
    assert r["body_utf8"], ctx
    body = r["body_json"]
    assert isinstance(body, dict) and list(body) == ["transaction"], (ctx, r["body"])
    txn = body["transaction"]
    want = expected_wallet_fields(event["transaction"])
    got = {k: txn.get(k, "<absent>") for k in want}
    assert got == want, ctx
    assert not nulls(body), (ctx, nulls(body))
    leaked = [k for k in NOT_FOR_WALLETS if k in txn]
    assert not leaked, (ctx, leaked)
    if r["event_id"] is not None:
        assert r["event_id"] == event["id"], (ctx, r["event_id_header"], r["event_id"])


def test_wallet_a_gets_its_sep24_callbacks_in_order(first_run):
    s = first_run
    recs = s.receivers["wallet-a"].records()
    events = wallet_events("wallet-a")
    assert [r["status"] for r in recs] == [200] * len(events), s.summary()
    assert [r["body_json"]["transaction"]["status"] for r in recs] == [
        "incomplete", "pending_user_transfer_start", "pending_anchor", "pending_stellar",
        "completed"]
    for r, event in zip(recs, events):
        check_wallet_record(s, r, event, "/callbacks/sep24")
    last = recs[-1]["body_json"]["transaction"]
    assert last["amount_in"] == "100" and last["amount_in_asset"] == "iso4217:USD"
    assert last["deposit_memo"] == "4242" and last["deposit_memo_type"] == "id"
    assert last["message"] == "Depósito recibido, procesando ✓"
    assert "Depósito".encode("utf-8") in base64.b64decode(recs[-1]["body_b64"])


def test_wallet_events_carry_a_stable_event_id_header(first_run):
    for name in ("wallet-a", "wallet-b"):
        for r in first_run.receivers[name].records():
            assert r["event_id"], (
                f"{name} request without a recognised event id header (set "
                f"ANCHOR_EVENTS_EVENT_ID_HEADER if it is named differently); headers: "
                f"{[h[0] for h in r['headers']]}")


def test_wallet_b_gets_its_sep6_then_sep31_callbacks_in_order(first_run):
    s = first_run
    recs = s.receivers["wallet-b"].records()
    assert [r["status"] for r in recs] == [200] * 6, s.summary()
    by_txn: dict[str, list[dict]] = {}
    for r in recs:
        by_txn.setdefault(r["body_json"]["transaction"]["id"], []).append(r)
    assert set(by_txn) == {SEP6_TXN, SEP31_TXN}
    for txn_id, path in ((SEP6_TXN, "/hooks/sep6"), (SEP31_TXN, "/hooks/sep31")):
        events = [e for e in wallet_events("wallet-b") if e["transaction"]["id"] == txn_id]
        got = by_txn[txn_id]
        assert [r["body_json"]["transaction"]["status"] for r in got] == \
            [e["transaction"]["status"] for e in events]
        for r, event in zip(got, events):
            check_wallet_record(s, r, event, path)
    error = by_txn[SEP6_TXN][-1]["body_json"]["transaction"]
    assert error["status"] == "error"
    assert error["message"] == "bank rejected the payout: account closed"
    assert error["withdraw_memo"] == "777"
    received = by_txn[SEP31_TXN][-1]["body_json"]["transaction"]
    assert received["stellar_account_id"] == ANCHOR_ACCOUNT


def test_nothing_else_is_sent_anywhere(first_run):
    s = first_run
    assert s.receivers["wallet-c"].records() == [], "wallet-c has no callback URLs"
    assert {r["path"] for r in s.receivers["wallet-a"].records()} == {"/callbacks/sep24"}
    assert {r["path"] for r in s.receivers["wallet-b"].records()} == {"/hooks/sep6", "/hooks/sep31"}
    assert {r["path"] for r in s.receivers["business"].records()} == {"/callback/event"}
    # Unattributed events and quotes never reach a wallet.
    wallet_txns = {r["body_json"]["transaction"]["id"]
                   for n in ("wallet-a", "wallet-b") for r in s.receivers[n].records()}
    assert wallet_txns == {SEP24_TXN, SEP6_TXN, SEP31_TXN}


def poison_count(metrics_text: str) -> tuple[float, list]:
    samples = harness.parse_metrics(metrics_text)
    name = os.environ.get("ANCHOR_EVENTS_POISON_METRIC")
    if name:
        chosen = [s for s in samples if s[0] == name]
    else:
        chosen = [s for s in samples
                  if ("poison" in s[0] or "poison" in s[1])
                  and not s[0].endswith(("_created", "_bucket", "_sum"))]
    return sum(s[2] for s in chosen), chosen


def test_poison_records_are_skipped_and_counted(first_run):
    s = first_run
    # Every valid record was produced after poison records on the same partition and was
    # delivered (the tests above), so poison did not block the partitions. Now the counter:
    text = s.processor.metrics()
    total, chosen = poison_count(text)
    related = [line for line in text.splitlines()
               if not line.startswith("#") and ("skip" in line or "poison" in line)]
    assert total >= len(POISON), (
        f"expected a poison counter >= {len(POISON)}; samples {chosen}; "
        f"skip/poison lines: {related}")


def test_sigterm_exits_zero(first_run):
    p = first_run.processor
    assert p.running(), p.log_tail()
    code = p.terminate(timeout=40)
    assert code == 0, f"exit code {code} after SIGTERM; log:\n{p.log_tail()}"


# ---- crash and restart -------------------------------------------------------------------------

def test_kill_9_half_way_then_restart_loses_nothing(kafka, binary, tmp_path_factory):
    s = Scenario(tmp_path_factory.mktemp("crash"), kafka, business_args=["--latency-ms", "200"])
    try:
        s.produce_all()
        s.processor.start()
        s.processor.wait_ready()
        harness.wait_until(lambda: len(s.business_ids()) > 0 or not s.processor.running(),
                           DELIVERY_TIMEOUT, 0.02, "the first business delivery")
        assert s.processor.running(), s.summary()
        s.processor.kill()
        before = s.business_ids()
        if len(before) >= len(EVENTS_BY_ID):
            warnings.warn("every event was delivered before the kill; the restart shows less")
        print(f"killed after {len(before)} of {len(EVENTS_BY_ID)} business deliveries")
        time.sleep(0.5)  # let the receivers finish answering the dead connections

        # The killed members stay in their groups until their session times out, so the new
        # process may take that long to get its partitions and report ready.
        s.processor.start()
        s.processor.wait_ready(timeout=150)
        s.wait_all_delivered()
        time.sleep(SETTLE_SECONDS)

        business = s.receivers["business"].delivered()
        counts: dict[str, int] = {}
        for r in business:
            counts[r["event_id"]] = counts.get(r["event_id"], 0) + 1
            assert r["verification"]["jwt"]["valid"], r["verification"]
            assert r["path"] == "/callback/event"
        assert set(counts) == set(EVENTS_BY_ID), s.summary()
        duplicates = {k: v for k, v in counts.items() if v > 1}
        print(f"business duplicates after the restart: {duplicates}")

        for name, path_prefix in (("wallet-a", "/callbacks/"), ("wallet-b", "/hooks/")):
            for r in s.receivers[name].records():
                sig = r["verification"]["signature"]
                assert sig["valid"] and sig["fresh"], (name, sig)
                assert r["path"].startswith(path_prefix)
            want = {(e["transaction"]["id"], e["transaction"]["status"])
                    for e in wallet_events(name)}
            assert s.wallet_keys(name) == want, (name, s.summary())
        assert s.receivers["wallet-c"].records() == []

        code = s.processor.terminate(timeout=40)
        assert code == 0, s.processor.log_tail()
    finally:
        s.close()


# ---- live traffic ------------------------------------------------------------------------------

def test_live_events_reach_their_wallets_and_every_lane_reads_past_the_rest(
        kafka, binary, tmp_path_factory):
    """Events produced one by one to a processor that has caught up. The shared fetch then wakes
    a wallet's lane only for its own events, and the lane skips the others later, in a batch
    (docs/architecture.md). Each wallet still gets exactly its events, signed and in order, and
    every lane reads past the events that are not its own: its lag returns to 0."""
    s = Scenario(tmp_path_factory.mktemp("live"), kafka)
    try:
        s.processor.start()
        s.processor.wait_ready()

        def caught_up():
            lanes = s.processor.status_json().get("lanes", [])
            return len(lanes) == 3 and all(lane.get("shared_partitions") for lane in lanes)

        harness.wait_until(caught_up, 60, 0.2, "every lane to read through the shared fetch")
        for partition, stem in ((0, "sep24-deposit-lifecycle"), (1, "sep6-withdrawal-error"),
                                (2, "sep31-receive"), (0, "customers-and-unattributed")):
            for line, _ in FILES[stem]:
                harness.produce(s.kafka.bootstrap, s.topic, [line], partition=partition)
        s.wait_all_delivered()
        time.sleep(SETTLE_SECONDS)

        business = s.receivers["business"].records()
        assert sorted(r["event_id"] for r in business) == sorted(EVENTS_BY_ID), s.summary()
        for name in ("wallet-a", "wallet-b"):
            recs = s.receivers[name].records()
            got = [(r["body_json"]["transaction"]["id"], r["body_json"]["transaction"]["status"])
                   for r in recs]
            want = [(e["transaction"]["id"], e["transaction"]["status"])
                    for e in wallet_events(name)]
            assert sorted(got) == sorted(want), (name, s.summary())
            for txn in {t for t, _ in want}:  # per transaction, in order
                assert [g for g in got if g[0] == txn] == [w for w in want if w[0] == txn]
            for r in recs:
                sig = r["verification"]["signature"]
                assert sig["valid"] and sig["fresh"], (name, sig)
        assert s.receivers["wallet-c"].records() == []

        def lags():
            return [v for metric, _, v in harness.parse_metrics(s.processor.metrics())
                    if metric == "anchor_events_consumer_lag"]

        harness.wait_until(lambda: len(lags()) == 3 and not any(lags()), 30, 0.2,
                           "every lane's lag to return to 0")
        code = s.processor.terminate(timeout=40)
        assert code == 0, s.processor.log_tail()
    finally:
        s.close()


# ---- dead letters (SPEC §3, §6.4); last, so that -x still runs everything above ----------------

def test_poison_records_are_dead_lettered(first_run):
    s = first_run
    dlq = harness.consume(s.kafka.bootstrap, s.dlq_topic)
    payloads = [m.get("payload") for m in dlq]
    missing = [p for p in POISON if p not in payloads]
    assert not missing, f"poison records not in {s.dlq_topic}: {missing}; got {payloads}"
    for m in dlq:
        try:
            event_id = json.loads(m.get("payload") or "null")
            event_id = event_id.get("id") if isinstance(event_id, dict) else None
        except ValueError:
            event_id = None
        assert event_id not in EVENTS_BY_ID, f"a deliverable event was dead-lettered: {m}"
