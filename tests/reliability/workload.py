"""The reliability suite's event generator.

Makes Platform-shaped events (like ../shared/testdata/events/*) for many transactions spread over
several wallets, several status steps per transaction, plus quotes and customer updates that only
the business server receives. Every event knows which lanes must receive it and its place in its
ordering key's chain, so the account (reliability.account) can check completeness and order.

The generator's sequence number is embedded in the event: `transaction.message` is
"step K of N" and `transaction.updated_at` is started_at + K seconds (quotes: `created_at`,
customers: `message`). The ordering key is the event's object id (transaction.id, quote.id,
customer.id); the records are produced with that id as the Kafka key (the Platform does not do
that, but it pins each transaction to one partition so its order is defined).
"""

from __future__ import annotations

import datetime as dt
import json
import random
import uuid
from dataclasses import dataclass, field

BUSINESS_LANE = "callback-api"
ANCHOR_ASSET = "stellar:USDC:GDLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRVHUR"
ANCHOR_ACCOUNT = "GDLVVGABQKYQVN6VJP7NHSLEA45A5YLS6PNKMIZFV4BBU2HXA5IRVHUR"
USER_ACCOUNT = "GA6UAF6D5BBYSWUSW4FKOTI3P26JZGBMZ4XMJFUMYDGVL4JK6RTAZGXX"
EPOCH = dt.datetime(2026, 11, 30, 10, 0, 0, tzinfo=dt.timezone.utc)

# (sep, kind, lifecycle). The middle status of each lifecycle repeats to fill a long chain (the
# Platform emits transaction_status_changed on every update, also when only amounts change).
LIFECYCLES = [
    ("24", "deposit", ["incomplete", "pending_user_transfer_start", "pending_anchor",
                       "pending_stellar", "completed"]),
    ("24", "withdrawal", ["incomplete", "pending_user_transfer_start", "pending_anchor",
                          "pending_external", "completed"]),
    ("6", "deposit", ["incomplete", "pending_user_transfer_start", "pending_anchor",
                      "pending_stellar", "completed"]),
    ("6", "withdrawal", ["incomplete", "pending_user_transfer_start", "pending_anchor",
                         "pending_external", "error"]),
    ("31", "receive", ["pending_sender", "pending_receiver", "pending_external", "completed"]),
]


@dataclass
class Wallet:
    name: str
    custodial: bool  # custodial: matched by client_name; non-custodial: by client_domain

    @property
    def domain(self) -> str:
        return f"{self.name}.example"


@dataclass
class Event:
    id: str
    type: str
    kind: str            # transaction | quote | customer
    key: str             # ordering key: the object id
    seq: int             # 1-based place in its key's chain
    chain_length: int
    lanes: frozenset     # lanes that must receive it
    value: str           # the record value (compact JSON, one line)
    sep: str = ""

    def __hash__(self):
        return hash(self.id)


@dataclass
class Workload:
    events: list[Event]                       # in production order
    wallets: list[Wallet]
    by_id: dict[str, Event] = field(default_factory=dict)

    def __post_init__(self):
        self.by_id = {e.id: e for e in self.events}

    @property
    def lanes(self) -> list[str]:
        return [BUSINESS_LANE] + [w.name for w in self.wallets]

    def expected(self, lane: str) -> list[Event]:
        return [e for e in self.events if lane in e.lanes]

    def chains(self, lane: str) -> dict[str, list[Event]]:
        """Per ordering key, that lane's events in production (= partition) order."""
        out: dict[str, list[Event]] = {}
        for e in self.events:
            if lane in e.lanes:
                out.setdefault(e.key, []).append(e)
        return out

    def counts(self) -> dict[str, int]:
        return {lane: sum(1 for e in self.events if lane in e.lanes) for lane in self.lanes}

    def slice(self, start: int, stop: int | None = None) -> list[Event]:
        return self.events[start:stop]


def iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%S") + "Z"


def _status_chain(lifecycle: list[str], steps: int) -> list[str]:
    """`steps` statuses following the lifecycle, the middle status repeated to fill."""
    if steps <= len(lifecycle):
        return lifecycle[:steps - 1] + [lifecycle[-1]] if steps > 1 else lifecycle[:1]
    fill = steps - len(lifecycle)
    mid = len(lifecycle) // 2
    return lifecycle[:mid] + [lifecycle[mid]] * (fill + 1) + lifecycle[mid + 1:]


def _transaction(txn_id: str, sep: str, kind: str, status: str, k: int, n: int,
                 wallet: Wallet | None, rng: random.Random, amount: str) -> dict:
    started = EPOCH
    t = {"id": txn_id, "sep": sep, "kind": kind, "status": status,
         "amount_expected": {"amount": amount, "asset": ANCHOR_ASSET if sep != "31"
                             else "iso4217:USD"},
         "started_at": iso(started), "updated_at": iso(started + dt.timedelta(seconds=k)),
         "message": f"step {k} of {n}"}
    if wallet is not None:
        if wallet.custodial:
            t["client_name"] = wallet.name
        else:
            t["client_domain"] = wallet.domain
    if sep == "6":
        t["type"] = "bank_account"
        t["fundingMethod"] = "bank_account"
    if kind == "deposit":
        t["destination_account"] = USER_ACCOUNT
        t["memo"] = str(rng.randint(1000, 999999))
        t["memo_type"] = "id"
    elif kind == "withdrawal":
        t["source_account"] = USER_ACCOUNT
        t["withdraw_anchor_account"] = ANCHOR_ACCOUNT
        t["memo"] = str(rng.randint(1000, 999999))
        t["memo_type"] = "id"
    else:  # SEP-31 receive
        t["destination_account"] = ANCHOR_ACCOUNT
        t["memo"] = "c2VwMzEtbWVtbw=="
        t["memo_type"] = "hash"
        t["fundingMethod"] = "SEPA"
    if k >= 2:
        fee = "1.5"
        t["amount_in"] = {"amount": amount, "asset": "iso4217:USD" if kind != "withdrawal"
                          else ANCHOR_ASSET}
        t["amount_out"] = {"amount": f"{float(amount) - 1.5:.1f}",
                           "asset": ANCHOR_ASSET if kind != "withdrawal" else "iso4217:USD"}
        t["fee_details"] = {"total": fee, "asset": "iso4217:USD",
                            "details": [{"name": "Service fee", "amount": fee}]}
    if status in ("completed", "error"):
        t["completed_at"] = t["updated_at"]
        if status == "error":
            t["message"] = f"step {k} of {n}: bank rejected the payout"
    if status in ("pending_stellar", "completed") and kind == "deposit":
        t["stellar_transactions"] = [{"id": uuid.UUID(int=rng.getrandbits(128)).hex * 2,
                                      "created_at": t["updated_at"]}]
    return t


def generate(transactions: int = 500, steps: int = 19, quotes: int = 250,
             customers: int = 125, customer_updates: int = 2, wallets: int = 3,
             unattributed_every: int = 10, concurrency: int = 60, seed: int = 1) -> Workload:
    """A workload of transactions x steps transaction events + quotes quote_created events +
    customers x customer_updates customer_updated events.

    Transactions are assigned round-robin to the wallets (odd wallets non-custodial, matched by
    domain; even ones custodial, matched by client_name), except every `unattributed_every`-th,
    which names no client (business server only). Events are interleaved as the Platform would
    emit them: about `concurrency` objects are in progress at once; each object's events stay in
    order.
    """
    rng = random.Random(seed)
    ws = [Wallet(f"wallet-{i + 1}", custodial=(i % 2 == 1)) for i in range(wallets)]

    def new_id() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    chains: list[list[Event]] = []
    for i in range(transactions):
        sep, kind, lifecycle = LIFECYCLES[i % len(LIFECYCLES)]
        wallet = None if unattributed_every and i % unattributed_every == unattributed_every - 1 \
            else ws[i % len(ws)]
        txn_id = new_id()
        amount = str(rng.randint(10, 5000))
        statuses = _status_chain(lifecycle, steps)
        chain = []
        lanes = frozenset([BUSINESS_LANE] + ([wallet.name] if wallet else []))
        for k, status in enumerate(statuses, start=1):
            etype = "transaction_created" if k == 1 else "transaction_status_changed"
            txn = _transaction(txn_id, sep, kind, status, k, len(statuses), wallet, rng, amount)
            eid = new_id()
            value = {"type": etype, "id": eid, "sep": sep, "transaction": txn}
            chain.append(Event(eid, etype, "transaction", txn_id, k, len(statuses), lanes,
                               json.dumps(value, separators=(",", ":"), ensure_ascii=False),
                               sep))
        chains.append(chain)
    for i in range(quotes):
        qid = new_id()
        eid = new_id()
        q = {"id": qid, "sell_amount": "100", "sell_asset": ANCHOR_ASSET, "buy_amount": "92.1",
             "buy_asset": "iso4217:EUR", "price": "1.075", "total_price": "1.0857",
             "expires_at": iso(EPOCH + dt.timedelta(minutes=10)),
             "created_at": iso(EPOCH + dt.timedelta(seconds=1)),
             "fee": {"total": "1", "asset": ANCHOR_ASSET}}
        etype = "quote_created" if i % 7 else "QUOTE_CREATED"  # the Platform's upper case too
        value = {"type": etype, "id": eid, "sep": "38", "quote": q}
        chains.append([Event(eid, etype, "quote", qid, 1, 1, frozenset([BUSINESS_LANE]),
                             json.dumps(value, separators=(",", ":")), "38")])
    for i in range(customers):
        cid = new_id()
        chain = []
        for k in range(1, customer_updates + 1):
            eid = new_id()
            c = {"id": cid, "status": "NEEDS_INFO" if k < customer_updates else "ACCEPTED",
                 "message": f"step {k} of {customer_updates}"}
            value = {"type": "customer_updated", "id": eid, "sep": "12", "customer": c}
            chain.append(Event(eid, "customer_updated", "customer", cid, k, customer_updates,
                               frozenset([BUSINESS_LANE]),
                               json.dumps(value, separators=(",", ":")), "12"))
        chains.append(chain)

    # Interleave: a window of `concurrency` objects in progress; each step emits the next event
    # of a random one of them.
    rng.shuffle(chains)
    pending = list(reversed(chains))
    active: list[list[Event]] = []
    out: list[Event] = []
    while pending or active:
        while pending and len(active) < concurrency:
            active.append(list(pending.pop()))
        j = rng.randrange(len(active))
        out.append(active[j].pop(0))
        if not active[j]:
            active.pop(j)
    return Workload(out, ws)
