"""Tools of the reliability suite, on top of tests/e2e/harness.py and receiver.py.

- `Run`: one scenario's topic (3 partitions), dead-letter topic, consumer-group prefix, callback
  receivers (one per lane: the business server and each wallet), clients file and processor
  environment; processors started from it share the groups.
- `Destination`: the receiver of one lane across restarts (each incarnation records to its own
  file; records are ordered by (incarnation, arrival seq)).
- `produce_events`: keyed production with kcat (key = ordering key), with a constant header so
  dead letters can be checked to carry the original headers.
- `StatusSampler`: polls a processor's /status and /metrics in the background.
- `account()`: the balance every scenario ends with (defined in docs/reliability.md, "Method").
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
E2E = HERE.parent / "e2e"
if str(E2E) not in sys.path:
    sys.path.insert(0, str(E2E))

import harness  # noqa: E402  (tests/e2e/harness.py)
from workload import BUSINESS_LANE, Event, Workload  # noqa: E402

TESTDATA = harness.testdata_dir()
DEV_ENV = harness.read_env_file(TESTDATA / "dev.env")
RUN_HEADER = "x-reliability-run"

# Dead-letter headers (README / SPEC §6.4).
DLQ_HEADERS = ("anchor-events-lane", "anchor-events-reason", "anchor-events-attempts",
               "anchor-events-last-status", "anchor-events-last-error",
               "anchor-events-first-attempt-at", "anchor-events-last-attempt-at",
               "anchor-events-source-topic", "anchor-events-source-partition",
               "anchor-events-source-offset", "anchor-events-event-id")


def results_dir() -> Path:
    d = Path(os.environ.get("ANCHOR_EVENTS_RELIABILITY_RESULTS", "/tmp/anchor-events-reliability"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def write_result(scenario: str, data: dict) -> Path:
    """Stores a scenario's numbers as JSON (docs/reliability.md is written from these)."""
    data = dict(data, scenario=scenario, finished_at=time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                   time.gmtime()))
    path = results_dir() / f"{scenario}.json"
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"\n[{scenario}] " + json.dumps(data, sort_keys=True))
    return path


# ---- Kafka -------------------------------------------------------------------------------------

def produce_events(bootstrap: str, topic: str, events: list[Event], run_header: str,
                   timeout: float = 120) -> int:
    """Produces each event with its ordering key as the record key (kcat -K), acks=all, with the
    header x-reliability-run=<run_header>. Raises when kcat reports a failed delivery."""
    if not events:
        return 0
    lines = []
    for e in events:
        if "\t" in e.key or "\n" in e.value or "\t" in e.value:
            raise ValueError(f"event {e.id} cannot be produced as one kcat line")
        lines.append(f"{e.key}\t{e.value}")
    cmd = ["kcat", "-P", "-b", bootstrap, "-t", topic, "-K", "\t", "-H",
           f"{RUN_HEADER}={run_header}", "-X", "acks=all", "-X", "message.timeout.ms=60000",
           "-X", "linger.ms=5"]
    p = subprocess.run(cmd, input=("\n".join(lines) + "\n").encode("utf-8"),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode != 0 or "delivery failed" in err.lower() or "% error" in err.lower():
        raise RuntimeError(f"kcat produce to {topic} failed ({p.returncode}): {err[-2000:]}")
    return len(events)


def headers_dict(kcat_headers) -> dict[str, str]:
    """kcat -J headers (a flat [name, value, ...] list) as a dict (last value wins)."""
    out: dict[str, str] = {}
    if isinstance(kcat_headers, list):
        for i in range(0, len(kcat_headers) - 1, 2):
            out[kcat_headers[i]] = kcat_headers[i + 1]
    return out


def read_topic(bootstrap: str, topic: str, timeout: float = 60) -> list[dict]:
    """Every record of the topic (kcat -J objects) with `headers` as a dict."""
    recs = harness.consume(bootstrap, topic, timeout=timeout)
    for r in recs:
        r["headers"] = headers_dict(r.get("headers"))
    return recs


# ---- receivers ---------------------------------------------------------------------------------

class Destination:
    """The receiver of one lane; it may be stopped and started again on the same port."""

    def __init__(self, workdir: Path, name: str, mode: str, base_args: list[str]):
        self.workdir = workdir
        self.name = name
        self.mode = mode
        self.base_args = list(base_args)
        self.incarnations: list[harness.ReceiverProcess] = []
        self.port: int | None = None
        self._cache: dict[int, tuple[int, list]] = {}

    def start(self, fault_args: list[str] = ()) -> harness.ReceiverProcess:
        n = len(self.incarnations) + 1
        args = ["--brief", *self.base_args, *fault_args]
        if self.port is not None:
            args += ["--port", str(self.port)]  # the last --port wins
        r = harness.ReceiverProcess(self.workdir, f"{self.name}.{n}", self.mode, args)
        self.incarnations.append(r)
        deadline = time.monotonic() + 20
        while True:  # the port of a stopped incarnation may take a moment to be free
            try:
                r.start()
                break
            except RuntimeError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        self.port = r.port
        return r

    @property
    def current(self) -> harness.ReceiverProcess:
        return self.incarnations[-1]

    def running(self) -> bool:
        return bool(self.incarnations) and self.current.proc is not None \
            and self.current.proc.poll() is None

    def stop(self) -> None:
        if self.running():
            self.current.stop()

    def _read(self, n: int, r: harness.ReceiverProcess) -> list[dict]:
        """The records of one incarnation, read incrementally (complete lines only)."""
        offset, cached = self._cache.get(n, (0, []))
        try:
            with open(r.record_path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except FileNotFoundError:
            return cached
        end = data.rfind(b"\n") + 1
        for line in data[:end].splitlines():
            if line.strip():
                x = json.loads(line)
                x["incarnation"] = n
                cached.append(x)
        self._cache[n] = (offset + end, cached)
        return cached

    def records(self) -> list[dict]:
        """Every request of every incarnation, in arrival order; adds `incarnation`."""
        out = []
        for n, r in enumerate(self.incarnations, start=1):
            out.extend(sorted(self._read(n, r), key=lambda x: x["seq"]))
        return out

    def delivered_ids(self) -> set[str]:
        ids = set()
        for n, r in enumerate(self.incarnations, start=1):
            for x in self._read(n, r):
                if x.get("status") and 200 <= x["status"] < 300 and x.get("event_id"):
                    ids.add(x["event_id"])
        return ids


# ---- a scenario's setup ------------------------------------------------------------------------

@dataclass
class LaneOptions:
    max_attempts: int | None = None
    initial_backoff_ms: int | None = None
    max_backoff_ms: int | None = None
    max_in_flight: int | None = None
    request_timeout_ms: int | None = None

    def items(self):
        return [(k, v) for k, v in self.__dict__.items() if v is not None]


class Run:
    """A topic with `partitions` partitions, a dead-letter topic, a consumer-group prefix, one
    receiver per lane and the processor environment. `wallet_options` override the client lane
    defaults per wallet (clients-file extensions)."""

    def __init__(self, kafka: harness.Kafka, workdir: Path, workload: Workload, name: str,
                 partitions: int = 3, business: LaneOptions | None = None,
                 clients: LaneOptions | None = None,
                 wallet_options: dict[str, LaneOptions] | None = None,
                 receiver_args: dict[str, list[str]] | None = None,
                 kafka_properties: dict[str, str] | None = None,
                 log_level: str = "info"):
        self.kafka = kafka
        self.workdir = Path(workdir)
        self.workload = workload
        self.name = name
        rid = harness.run_id()
        self.rid = f"rel-{name}-{rid}"
        self.topic = f"{self.rid}-TRANSACTION"
        self.dlq_topic = f"{self.rid}-TRANSACTION_DLQ"
        self.group_prefix = self.rid
        self.partitions = partitions
        kafka.create_topic(self.topic, partitions)
        kafka.create_topic(self.dlq_topic, 1)
        self.business = business or LaneOptions()
        self.clients = clients or LaneOptions()
        self.wallet_options = wallet_options or {}
        self.secret_file = harness.write_secret(self.workdir / "callback-api.secret",
                                                DEV_ENV["CALLBACK_API_SECRET"])
        self.seed_file = harness.write_secret(self.workdir / "sep10.seed",
                                              DEV_ENV["SECRET_SEP10_SIGNING_SEED"])
        self.account_id = harness.account_from_seed(DEV_ENV["SECRET_SEP10_SIGNING_SEED"])
        receiver_args = receiver_args or {}
        self.destinations: dict[str, Destination] = {}
        self.destinations[BUSINESS_LANE] = Destination(
            self.workdir, "business", "business",
            ["--jwt-secret-file", str(self.secret_file), "--event-id-header", "X-Anchor-Event-Id"])
        for w in workload.wallets:
            self.destinations[w.name] = Destination(
                self.workdir, w.name, "wallet",
                ["--account", self.account_id, "--signature-host", f"{w.domain}:{{port}}",
                 "--event-id-header", "X-Anchor-Event-Id"])
        for lane, d in self.destinations.items():
            d.start(receiver_args.get(lane, []))
        self.clients_file = self.workdir / "clients.yaml"
        self.clients_file.write_text(self.clients_yaml(), encoding="utf-8")
        props = dict(kafka_properties or {})
        self.env = {
            "EVENT_QUEUE_KAFKA_BOOTSTRAP_SERVER": kafka.bootstrap,
            "EVENT_QUEUE_KAFKA_TOPIC": self.topic,
            "EVENT_QUEUE_KAFKA_DEAD_LETTER_TOPIC": self.dlq_topic,
            "EVENT_PROCESSOR_CLIENT_STATUS_CALLBACK_ENABLED": "true",
            "EVENT_PROCESSOR_CALLBACK_API_REQUEST_ENABLED": "true",
            "CALLBACK_API_BASE_URL":
                f"http://127.0.0.1:{self.destinations[BUSINESS_LANE].port}/callback",
            "CALLBACK_API_AUTH_TYPE": "jwt",
            "CALLBACK_API_SECRET_FILE": str(self.secret_file),
            "SECRET_SEP10_SIGNING_SEED_FILE": str(self.seed_file),
            "CLIENTS_TYPE": "file",
            "CLIENTS_VALUE": str(self.clients_file),
            "EVENT_PROCESSOR_ALLOW_PRIVATE_DESTINATIONS": "true",
            "EVENT_PROCESSOR_RESOLVE": ",".join(
                f"{w.domain}:{self.destinations[w.name].port}:127.0.0.1"
                for w in workload.wallets),
            "EVENT_PROCESSOR_NEW_LANE_OFFSET": "earliest",
            "EVENT_PROCESSOR_CONSUMER_GROUP_PREFIX": self.group_prefix,
            "EVENT_PROCESSOR_MANAGEMENT_SERVER_ADDRESS": "127.0.0.1",
            "EVENT_PROCESSOR_LOG_LEVEL": log_level,
        }
        if props:
            self.env["EVENT_QUEUE_KAFKA_PROPERTIES"] = ",".join(f"{k}={v}" for k, v in props.items())
        for k, v in self.business.items():
            self.env[f"EVENT_PROCESSOR_CALLBACK_API_REQUEST_{k.upper()}"] = str(v)
        for k, v in self.clients.items():
            self.env[f"EVENT_PROCESSOR_CLIENT_STATUS_CALLBACK_{k.upper()}"] = str(v)
        self.processors: list[harness.Processor] = []
        self.produced = 0
        self.produced_ids: set[str] = set()
        self._replays = 0

    def clients_yaml(self) -> str:
        lines = ["items:"]
        for w in self.workload.wallets:
            port = self.destinations[w.name].port
            base = f"http://{w.domain}:{port}/callbacks"
            lines.append(f"  - name: {w.name}")
            if w.custodial:
                lines += ["    type: custodial",
                          f"    signing_keys: [{DEV_USER_ACCOUNT}]"]
            else:
                lines += ["    type: noncustodial", f"    domains: [{w.domain}]"]
            lines.append("    callback_urls:")
            for sep in ("sep6", "sep24", "sep31", "sep12"):
                lines.append(f"      {sep}: {base}/{sep}")
            for k, v in self.wallet_options.get(w.name, LaneOptions()).items():
                lines.append(f"    {k}: {v}")
        return "\n".join(lines) + "\n"

    def lane_option(self, lane: str, name: str, default: int) -> int:
        if lane == BUSINESS_LANE:
            v = getattr(self.business, name)
        else:
            v = getattr(self.wallet_options.get(lane, LaneOptions()), name)
            if v is None:
                v = getattr(self.clients, name)
        return default if v is None else v

    def max_in_flight(self, lane: str) -> int:
        return self.lane_option(lane, "max_in_flight", 64)

    def read_ahead(self, lane: str) -> int:
        """The lane's read-ahead bound: records it holds unfinished before pausing (the product
        pauses at max(256, 16 x max_in_flight))."""
        return max(256, 16 * self.max_in_flight(lane))

    # -- processors --

    def processor(self, name: str | None = None, extra_env: dict[str, str] | None = None,
                  args: list[str] | None = None) -> harness.Processor:
        env = dict(self.env)
        env["EVENT_PROCESSOR_MANAGEMENT_SERVER_PORT"] = str(harness.free_port())
        env.update(extra_env or {})
        p = harness.Processor(self.workdir, env, name=name or f"processor-{len(self.processors) + 1}",
                              args=args)
        self.processors.append(p)
        return p

    def replay(self, lane: str, *extra: str, timeout: float = 60) -> subprocess.CompletedProcess:
        """`anchor-events replay --lane LANE ...` with the run's configuration."""
        env = {k: os.environ[k] for k in harness.PASS_THROUGH_ENV if k in os.environ}
        env.setdefault("LANG", "C.UTF-8")
        env.update(self.env)
        env["EVENT_PROCESSOR_MANAGEMENT_SERVER_PORT"] = str(harness.free_port())
        self._replays += 1
        out_path = self.workdir / f"replay-{self._replays}-{lane}.out"
        err_path = self.workdir / f"replay-{self._replays}-{lane}.err"
        cmd = [str(harness.binary_path()), "replay", "--lane", lane, *extra]
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            p = subprocess.Popen(cmd, env=env, cwd=self.workdir, stdout=out, stderr=err,
                                 stdin=subprocess.DEVNULL)
            try:
                code = p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(10)
                raise AssertionError(
                    f"`{' '.join(cmd[1:])}` did not exit within {timeout:.0f}s; stdout so far:\n"
                    f"{out_path.read_text(errors='replace')}\nstderr:\n"
                    f"{err_path.read_text(errors='replace')}") from None
        return subprocess.CompletedProcess(cmd, code, out_path.read_text(errors="replace"),
                                           err_path.read_text(errors="replace"))

    # -- load --

    def produce(self, events: list[Event]) -> int:
        n = produce_events(self.kafka.bootstrap, self.topic, events, self.rid)
        self.produced_ids.update(e.id for e in events)
        self.produced += n
        return n

    def produce_paced(self, events: list[Event], rate: float, batch: int = 50,
                      stop: threading.Event | None = None) -> threading.Thread:
        """Produces `events` in batches at about `rate` events/s in a background thread."""
        errors: list[BaseException] = []

        def work():
            t0 = time.monotonic()
            for i in range(0, len(events), batch):
                if stop is not None and stop.is_set():
                    return
                due = t0 + i / rate
                delay = due - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                try:
                    self.produce(events[i:i + batch])
                except BaseException as e:  # surfaced by join_producer
                    errors.append(e)
                    return

        t = threading.Thread(target=work, daemon=True, name="producer")
        t.errors = errors  # type: ignore[attr-defined]
        t.start()
        return t

    # -- observation --

    def delivered(self, lane: str) -> set[str]:
        return self.destinations[lane].delivered_ids()

    def outstanding(self) -> dict[str, int]:
        """Per lane: expected events neither received (2xx) nor dead-lettered for that lane."""
        dlq = self.dead_letters_by_lane()
        out = {}
        for lane in self.workload.lanes:
            want = {e.id for e in self.workload.expected(lane) if e.id in self.produced_ids}
            out[lane] = len(want - self.delivered(lane) - dlq.get(lane, set()))
        return out

    def dead_letters(self) -> list[dict]:
        return read_topic(self.kafka.bootstrap, self.dlq_topic)

    def dead_letters_by_lane(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for r in self.dead_letters():
            h = r["headers"]
            out.setdefault(h.get("anchor-events-lane", "?"), set()).add(
                h.get("anchor-events-event-id", ""))
        return out

    def wait_delivered(self, timeout: float, lanes: list[str] | None = None,
                       check=None, interval: float = 1.0) -> float:
        """Waits until every produced event is received or dead-lettered on every lane (or
        `lanes`); returns the time it took. `check()` is called each round (may raise)."""
        t0 = time.monotonic()
        lanes = lanes or self.workload.lanes
        last = {}

        def done():
            if check is not None:
                check()
            nonlocal last
            last = self.outstanding()
            return all(last[lane] == 0 for lane in lanes)

        try:
            harness.wait_until(done, timeout, interval, "every event received or dead-lettered")
        except TimeoutError as e:
            raise AssertionError(f"{e}; outstanding per lane: {last}\n{self.describe()}") from None
        return time.monotonic() - t0

    def describe(self) -> str:
        lines = [f"run {self.rid} in {self.workdir}"]
        for p in self.processors:
            lines.append(f"--- {p.name} (running={p.running()}) log tail:\n{p.log_tail(25)}")
        return "\n".join(lines)

    def close(self) -> None:
        for p in self.processors:
            if p.running():
                p.kill()
        for d in self.destinations.values():
            try:
                d.stop()
            except RuntimeError:
                pass


DEV_USER_ACCOUNT = "GA6UAF6D5BBYSWUSW4FKOTI3P26JZGBMZ4XMJFUMYDGVL4JK6RTAZGXX"


# ---- background sampling of /status and /metrics ------------------------------------------------

class StatusSampler:
    """Polls a processor's /status (and optionally /metrics) every `interval` seconds."""

    def __init__(self, processor: harness.Processor, interval: float = 0.5, metrics: bool = False):
        self.processor = processor
        self.interval = interval
        self.with_metrics = metrics
        self.samples: list[tuple[float, dict, list]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="status-sampler")

    def start(self) -> "StatusSampler":
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            t = time.time()
            try:
                status = self.processor.status_json() if self.processor.running() else {}
                metrics = harness.parse_metrics(self.processor.metrics()) \
                    if self.with_metrics and self.processor.running() else []
            except Exception:  # noqa: BLE001 - a sample missed while the process restarts
                status, metrics = {}, []
            if status:
                self.samples.append((t, status, metrics))
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def lanes_of(status: dict) -> dict[str, dict]:
    """The /status lanes as {name: lane} (accepts a list of lanes or a name-keyed object)."""
    lanes = status.get("lanes", [])
    if isinstance(lanes, dict):
        return {k: dict(v, name=v.get("name", k)) for k, v in lanes.items()}
    return {lane.get("name", ""): lane for lane in lanes}


def metric(samples: list, name: str, lane: str | None = None) -> float:
    total = 0.0
    for n, labels, v in samples:
        if n == name and (lane is None or f'lane="{lane}"' in labels):
            total += v
    return total


# ---- the account -------------------------------------------------------------------------------

@dataclass
class LaneAccount:
    lane: str
    expected: int = 0
    received: int = 0          # distinct expected events answered 2xx
    dead_lettered: int = 0     # distinct expected events in the DLQ for this lane
    missing: list = field(default_factory=list)
    unexpected: list = field(default_factory=list)       # received but not for this lane
    foreign_dead_letters: list = field(default_factory=list)
    requests: int = 0
    deliveries: int = 0        # 2xx answers
    duplicates: int = 0        # 2xx answers beyond the first per event
    failed_attempts: int = 0   # answered non-2xx
    hung: int = 0              # never answered (receiver hang)
    abandoned: int = 0         # read after the processor closed the connection (gave up)
    bad_verification: int = 0  # signature / JWT not valid or not fresh
    body_mismatch: int = 0     # body's object id or step differs from the event id's event
    rewinds: int = 0           # 2xx steps that go back in a key's chain
    keys_rewound: int = 0
    max_rewinds_per_key: int = 0
    early: list = field(default_factory=list)  # sent before its predecessor was finished
    early_rewinds: list = field(default_factory=list)  # rewinds before the first fault

    def summary(self) -> dict:
        return {k: (len(v) if isinstance(v, list) else v) for k, v in self.__dict__.items()}


def account(run: Run, events: list[Event] | None = None, faults: int = 0,
            first_fault_at: float | None = None, exclude_incarnations: dict | None = None,
            dlq: list[dict] | None = None) -> dict[str, LaneAccount]:
    """The balance of a scenario, per lane.

    - completeness: every produced event the lane must receive is received (2xx) at least once,
      or is in the dead-letter topic with that lane's name; nothing else reaches the lane;
    - order: (a) every request for an event arrives after its predecessor in the lane's chain
      for its key was answered 2xx or is dead-lettered for the lane ("the next waits until the
      previous is delivered or dead-lettered"); (b) per key, the 2xx answers in arrival order
      never step back in the chain, except by re-deliveries after a fault: at most `faults`
      rewinds per key, none before `first_fault_at`;
    - duplicates: 2xx answers beyond the first per event;
    - every request's Signature / JWT verified by the receiver.
    `exclude_incarnations` {lane: {n, ...}} leaves receiver incarnations out of the order check
    (a replay delivers an old event on purpose).
    """
    if events is None:
        events = [e for e in run.workload.events if e.id in run.produced_ids]
    produced = {e.id for e in events}
    dlq = dlq if dlq is not None else run.dead_letters()
    dlq_by_lane: dict[str, dict[str, dict]] = {}
    for r in dlq:
        h = r["headers"]
        dlq_by_lane.setdefault(h.get("anchor-events-lane", "?"), {})[
            h.get("anchor-events-event-id", "")] = r
    out = {}
    for lane in run.workload.lanes:
        acc = LaneAccount(lane)
        chains = {k: [e for e in c if e.id in produced]
                  for k, c in run.workload.chains(lane).items()}
        place = {e.id: (k, i) for k, c in chains.items() for i, e in enumerate(c)}
        expected = set(place)
        acc.expected = len(expected)
        lane_dlq = dlq_by_lane.get(lane, {})
        acc.foreign_dead_letters = sorted(set(lane_dlq) - expected)
        records = run.destinations[lane].records()
        acc.requests = len(records)
        seen_2xx: dict[str, int] = {}
        by_key_stream: dict[str, list[tuple[int, float]]] = {}
        excluded = (exclude_incarnations or {}).get(lane, set())
        for r in records:
            eid = r.get("event_id")
            status = r.get("status")
            ok = status is not None and 200 <= status < 300
            if r.get("client_gone"):
                # Read only after the processor had given up on it (its deadline passed and it
                # closed the connection): the processor retries, so it is no delivery, and its
                # late arrival says nothing about the order the processor sent in.
                acc.abandoned += 1
                ok = False
            elif r.get("hung"):
                acc.hung += 1
            elif not ok:
                acc.failed_attempts += 1
            if not r.get("verification", {}).get("ok"):
                acc.bad_verification += 1
            if eid not in place:
                if ok:
                    acc.unexpected.append(eid)
                continue
            key, i = place[eid]
            ev = chains[key][i]
            # The body carries the event's object, at the event's step (quotes have no step;
            # the business server gets only {"customer": {"id"}} for customer events).
            summ = r.get("summary") or {}
            step_shown = ev.kind == "transaction" or (ev.kind == "customer"
                                                      and lane != BUSINESS_LANE)
            if summ.get("id") != ev.key or (step_shown and not str(
                    summ.get("message", "")).startswith(f"step {ev.seq} of ")):
                acc.body_mismatch += 1
            if r["incarnation"] not in excluded and i > 0 and not r.get("client_gone"):
                prev = chains[key][i - 1]
                if prev.id not in seen_2xx and prev.id not in lane_dlq:
                    acc.early.append((eid, prev.id))
            if ok:
                acc.deliveries += 1
                seen_2xx[eid] = seen_2xx.get(eid, 0) + 1
                if r["incarnation"] not in excluded:
                    by_key_stream.setdefault(key, []).append((i, r["time"]))
        acc.received = len(set(seen_2xx) & expected)
        acc.dead_lettered = len(set(lane_dlq) & expected)
        acc.missing = sorted(expected - set(seen_2xx) - set(lane_dlq))
        acc.duplicates = sum(n - 1 for n in seen_2xx.values())
        for key, stream in by_key_stream.items():
            rewinds = 0
            for (a, _), (b, t) in zip(stream, stream[1:]):
                if b < a:
                    rewinds += 1
                    if first_fault_at is None or t < first_fault_at:
                        acc.early_rewinds.append((key, a, b))
            if rewinds:
                acc.keys_rewound += 1
                acc.rewinds += rewinds
                acc.max_rewinds_per_key = max(acc.max_rewinds_per_key, rewinds)
        out[lane] = acc
    return out


def assert_balanced(accounts: dict[str, LaneAccount], faults: int = 0,
                    dead_letters_allowed: dict[str, set[str]] | None = None,
                    duplicate_bound: dict[str, int] | None = None) -> None:
    """Asserts the account: nothing missing, nothing foreign, order kept, signatures valid,
    dead letters only where allowed, duplicates within `duplicate_bound` per lane (0 without
    faults unless given)."""
    problems = []
    allowed = dead_letters_allowed or {}
    for lane, a in accounts.items():
        if a.missing:
            problems.append(f"{lane}: {len(a.missing)} events neither received nor dead-lettered,"
                            f" e.g. {a.missing[:5]}")
        if a.unexpected:
            problems.append(f"{lane}: {len(a.unexpected)} foreign events received, "
                            f"e.g. {a.unexpected[:5]}")
        if a.foreign_dead_letters:
            problems.append(f"{lane}: dead letters for events not of this lane: "
                            f"{a.foreign_dead_letters[:5]}")
        if a.bad_verification:
            problems.append(f"{lane}: {a.bad_verification} requests failed signature/JWT checks")
        if a.body_mismatch:
            problems.append(f"{lane}: {a.body_mismatch} bodies do not match their event id")
        if a.early:
            problems.append(f"{lane}: {len(a.early)} requests sent before their predecessor was "
                            f"delivered or dead-lettered, e.g. {a.early[:3]}")
        if a.early_rewinds:
            problems.append(f"{lane}: order went backwards without a fault: {a.early_rewinds[:3]}")
        if a.max_rewinds_per_key > faults:
            problems.append(f"{lane}: a key's deliveries went backwards {a.max_rewinds_per_key} "
                            f"times with {faults} faults")
        dl_allowed = allowed.get(lane, set())
        dl_here = a.dead_lettered
        if dl_here and dl_here > len(dl_allowed):
            problems.append(f"{lane}: {dl_here} events dead-lettered, allowed "
                            f"{sorted(dl_allowed)}")
        bound = (duplicate_bound or {}).get(lane, 0)
        if a.duplicates > bound:
            problems.append(f"{lane}: {a.duplicates} duplicate deliveries, bound {bound}")
    assert not problems, "the account does not balance:\n  " + "\n  ".join(problems)


def account_summary(accounts: dict[str, LaneAccount]) -> dict:
    return {lane: a.summary() for lane, a in accounts.items()}


# ---- processor logs and the broker's view of the groups ----------------------------------------

def log_lines(processor: harness.Processor, msg: str | None = None) -> list[dict]:
    """The JSON log lines of every start of `processor` (optionally only those with `msg`)."""
    out = []
    for n in range(1, processor.starts + 1):
        path = processor.workdir / f"{processor.name}.{n}.log"
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            if not line.startswith("{"):
                continue
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if msg is None or item.get("msg") == msg:
                item["start"] = n
                out.append(item)
    return out


CIRCUIT_OPENED = "destination unreachable, lane paused and probing"
CIRCUIT_CLOSED = "destination answering again, lane resumed"


def circuit_events(processor: harness.Processor) -> dict[str, dict[str, int]]:
    """Per lane, how often the log says the circuit opened and closed."""
    out: dict[str, dict[str, int]] = {}
    for item in log_lines(processor):
        if item.get("msg") in (CIRCUIT_OPENED, CIRCUIT_CLOSED):
            lane = out.setdefault(item.get("lane", "?"), {"opened": 0, "closed": 0})
            lane["opened" if item["msg"] == CIRCUIT_OPENED else "closed"] += 1
    return out


def describe_groups(bootstrap: str, groups: list[str], timeout: float = 60) -> dict[str, list]:
    """The broker's view (kafka ConsumerGroupCommand --describe --members): per group, a list of
    (consumer id, client id, #partitions) of its current members."""
    lib = Path(os.environ.get("ANCHOR_EVENTS_CACHE", Path.home() / ".cache" / "anchor-events")) \
        / "kafka-4.1.1" / "lib"
    if not (lib / ".complete").exists():  # the broker is external: fetch the tools' jars
        subprocess.run(["bash", str(harness.KAFKA_SCRIPT), "fetch"], check=True, timeout=600,
                       stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    cmd = ["java", "-Xmx256m", "-XX:TieredStopAtLevel=1", "-Dlog4j2.level=ERROR",
           "-cp", f"{lib}/*", "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
           "--bootstrap-server", bootstrap, "--describe", "--members"]
    for g in groups:
        cmd += ["--group", g]
    p = subprocess.run(cmd, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise RuntimeError(f"kafka-consumer-groups failed ({p.returncode}): {p.stderr[-2000:]}")
    out: dict[str, list] = {g: [] for g in groups}
    for line in p.stdout.splitlines():
        parts = line.split()
        if len(parts) >= 5 and parts[0] in out and parts[1] != "CONSUMER-ID":
            # GROUP CONSUMER-ID HOST CLIENT-ID #PARTITIONS
            try:
                out[parts[0]].append((parts[1], parts[3], int(parts[4])))
            except ValueError:
                pass
    return out
