#!/usr/bin/env python3
"""Writes the benchmark's inputs: realistic Anchor Platform events built from the samples in
../shared/testdata/events (same shapes and sizes), a clients file for N wallets, and a body file
for the HTTP load generator.

  gen.py events --out FILE --events E --wallets N [--transactions K] [--seed S]
  gen.py clients --out FILE --wallets N --port P [--max-in-flight M]
  gen.py bodies --events FILE --out FILE [--limit L]

Events file: one "<key>\\t<json>" per line (the key is the transaction, quote or customer id).
Transactions (90 %) run through the status steps of a sample lifecycle, each for one wallet (half
the wallets matched by client_domain, half by client_name); quotes and customers (10 %) go to the
business server only. Events of one transaction keep their order; transactions interleave.
"""

from __future__ import annotations

import argparse
import copy
import json
import random
import uuid
from pathlib import Path

HERE = Path(__file__).resolve().parent
SAMPLES = (HERE.parent.parent / "shared" / "testdata" / "events").resolve()


# The RFC 8032 test key as a Stellar account (the samples' wallet-b key).
SIGNING_KEY = "GA6UAF6D5BBYSWUSW4FKOTI3P26JZGBMZ4XMJFUMYDGVL4JK6RTAZGXX"


def load(name: str) -> list[dict]:
    return [json.loads(l) for l in (SAMPLES / name).read_text().splitlines() if l.strip()]


def wallet_name(i: int) -> str:
    return f"wallet-{i:03d}"


def lifecycles() -> list[list[dict]]:
    sep24 = load("sep24-deposit-lifecycle.jsonl")
    sep6 = load("sep6-withdrawal-error.jsonl")
    sep31 = [e for e in load("sep31-receive.jsonl") if "transaction" in e]
    return [sep24, sep6, sep31]


def others() -> list[dict]:
    quote = [e for e in load("sep31-receive.jsonl") if "quote" in e]
    customers = [e for e in load("customers-and-unattributed.jsonl") if "customer" in e]
    return quote + customers


def attribute(tx: dict, wallet: int) -> None:
    tx.pop("client_domain", None)
    tx.pop("client_name", None)
    name = wallet_name(wallet)
    if wallet % 2 == 0:
        tx["client_domain"] = f"{name}.example"
    else:
        tx["client_name"] = name


def cmd_events(args) -> None:
    rng = random.Random(args.seed)
    cycles, extra = lifecycles(), others()
    streams: list[list[tuple[str, dict]]] = []
    produced = 0
    while produced < args.events:
        if rng.random() < 0.1:
            e = copy.deepcopy(rng.choice(extra))
            obj = e.get("quote") or e.get("customer")
            obj["id"] = str(uuid.UUID(int=rng.getrandbits(128)))
            streams.append([(obj["id"], e)])
            produced += 1
            continue
        cycle = rng.choice(cycles)
        tx_id = str(uuid.UUID(int=rng.getrandbits(128)))
        wallet = rng.randrange(args.wallets)
        steps = []
        for template in cycle[: args.events - produced]:
            e = copy.deepcopy(template)
            e["transaction"]["id"] = tx_id
            attribute(e["transaction"], wallet)
            steps.append((tx_id, e))
        produced += len(steps)
        streams.append(steps)
    # Interleave: a random transaction's next step each time, so one transaction's events are
    # spread over the topic as in a real deployment.
    order = [i for i, s in enumerate(streams) for _ in s]
    rng.shuffle(order)
    cursors = [0] * len(streams)
    with open(args.out, "w") as out:
        for n, i in enumerate(order):
            key, e = streams[i][cursors[i]]
            cursors[i] += 1
            e["id"] = str(uuid.UUID(int=rng.getrandbits(128)))
            out.write(key + "\t" + json.dumps(e, separators=(",", ":")) + "\n")


def cmd_clients(args) -> None:
    lines = ["items:"]
    for i in range(args.wallets):
        name = wallet_name(i)
        base = f"http://{name}.example:{args.port}/{name}"
        lines.append(f"  - name: {name}")
        if i % 2 == 0:
            lines += ["    type: noncustodial", f"    domains: [{name}.example]"]
        else:
            lines += ["    type: custodial", f"    signing_keys: [{SIGNING_KEY}]"]
        lines += ["    callback_urls:", f"      sep6: {base}/sep6", f"      sep24: {base}/sep24",
                  f"      sep31: {base}/sep31", f"      sep12: {base}/sep12"]
        if args.max_in_flight:
            lines.append(f"    max_in_flight: {args.max_in_flight}")
    Path(args.out).write_text("\n".join(lines) + "\n")
    pins = [f"{wallet_name(i)}.example:{args.port}:127.0.0.1" for i in range(args.wallets)]
    Path(args.out + ".resolve").write_text(",".join(pins) + "\n")


def cmd_bodies(args) -> None:
    """One body per line for the wrk script: the record values, as the lanes send bodies of
    those sizes (the business envelope is slightly larger, a wallet body slightly smaller)."""
    with open(args.events) as f, open(args.out, "w") as out:
        for n, line in enumerate(f):
            if n >= args.limit:
                break
            out.write(line.split("\t", 1)[1])


def main() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("events")
    e.add_argument("--out", required=True)
    e.add_argument("--events", type=int, required=True)
    e.add_argument("--wallets", type=int, required=True)
    e.add_argument("--seed", type=int, default=1)
    c = sub.add_parser("clients")
    c.add_argument("--out", required=True)
    c.add_argument("--wallets", type=int, required=True)
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--max-in-flight", type=int, default=0)
    b = sub.add_parser("bodies")
    b.add_argument("--events", required=True)
    b.add_argument("--out", required=True)
    b.add_argument("--limit", type=int, default=2000)
    args = p.parse_args()
    {"events": cmd_events, "clients": cmd_clients, "bodies": cmd_bodies}[args.cmd](args)


if __name__ == "__main__":
    main()
