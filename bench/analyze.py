#!/usr/bin/env python3
"""Numbers for bench/run from the receivers' records (arrival µs, host, event id per request).

  analyze.py expect --events FILE                     deliveries per event (business + wallets)
  analyze.py rate --records FILE [--skip S] [--window W] [--per-event D]
  analyze.py latency --records FILE --timestamps FILE [--warmup S]
  analyze.py kafka-path --consumer FILE [--warmup S]  the Kafka path alone (bench_consumer)
  analyze.py signing --sign FILE --throughput FILE   signing's share of the processor's CPU
  analyze.py wrk --output FILE                        requests/s from wrk's output
  analyze.py drain < kcat output                     records/s between first and last line
  analyze.py context --dir DIR                        Kafka path latency, signing share
  analyze.py summary --dir DIR                        the final JSON object from DIR/*.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path


def read_records(path: str) -> list[tuple[int, str, str]]:
    out = []
    for line in Path(path).read_text().splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[0].isdigit():
            out.append((int(parts[0]), parts[1], parts[2]))
    return out


def deliveries_per_event(events: str) -> tuple[int, int]:
    """(events, deliveries): every event reaches the business server; transactions that name a
    client also reach that wallet."""
    n = d = 0
    with open(events) as f:
        for line in f:
            e = json.loads(line.split("\t", 1)[1])
            n += 1
            d += 1
            tx = e.get("transaction")
            if tx and (tx.get("client_name") or tx.get("client_domain")):
                d += 1
    return n, d


def cmd_expect(args) -> None:
    n, d = deliveries_per_event(args.events)
    print(json.dumps({"events": n, "deliveries": d, "per_event": d / n}))


def cmd_rate(args) -> None:
    """Events/s delivered to all lanes: every event reaches the business server and
    (per_event - 1) of them a wallet, so the slower of the two streams sets the rate."""
    recs = sorted((r[0], not r[1].startswith("127.0.0.1:")) for r in read_records(args.records))
    if len(recs) < 2:
        print(json.dumps({"deliveries": len(recs), "eps": 0, "dps": 0}))
        return
    start = recs[0][0] + int(args.skip * 1e6)
    end = start + int(args.window * 1e6) if args.window > 0 else recs[-1][0]
    inside = [wallet for t, wallet in recs if start <= t <= end]
    seconds = max((end - start) / 1e6, 1e-6)
    business = inside.count(False) / seconds
    wallets = inside.count(True) / seconds
    eps = business if args.per_event <= 1 else min(business, wallets / (args.per_event - 1))
    print(json.dumps({"deliveries": len(recs), "window_deliveries": len(inside),
                      "window_s": round(seconds, 3), "dps": round(len(inside) / seconds, 1),
                      "business_dps": round(business, 1), "wallet_dps": round(wallets, 1),
                      "eps": round(eps, 1)}))


def percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return 0.0
    i = min(len(sorted_values) - 1, max(0, int(round(p / 100 * len(sorted_values) + 0.5)) - 1))
    return sorted_values[i]


def cmd_latency(args) -> None:
    """Added latency of every delivery: arrival at the receiver minus the Kafka record
    timestamp (CreateTime, ms) of its event, read back from the topic with kcat."""
    stamps = {}
    for line in Path(args.timestamps).read_text().splitlines():
        ts, _, value = line.partition("\t")
        m = re.search(r'"id":"([^"]+)"', value)  # the event's own id comes first
        if ts.isdigit() and m:
            stamps[m.group(1)] = int(ts)
    added = []
    missing = 0
    # Start-up (the lanes' first fetches after joining their groups) is not steady state.
    since = min(stamps.values(), default=0) + int(args.warmup * 1000)
    for at_us, _host, event_id in read_records(args.records):
        if event_id in stamps and stamps[event_id] < since:
            continue
        if event_id in stamps:
            added.append(at_us / 1000.0 - stamps[event_id])
        else:
            missing += 1
    added.sort()
    print(json.dumps({"deliveries": len(added), "unmatched": missing,
                      "p50_ms": round(percentile(added, 50), 2),
                      "p99_ms": round(percentile(added, 99), 2),
                      "max_ms": round(added[-1], 2) if added else 0}))


def cmd_kafka_path(args) -> None:
    """The Kafka path's own latency: bench_consumer's arrival time (µs) minus the record
    timestamp (ms), after the same warm-up as cmd_latency."""
    pairs = []
    for line in Path(args.consumer).read_text().splitlines():
        at_us, _, ts = line.partition("\t")
        if at_us.isdigit() and ts.isdigit():
            pairs.append((int(at_us), int(ts)))
    since = min((ts for _, ts in pairs), default=0) + int(args.warmup * 1000)
    added = sorted(at_us / 1000.0 - ts for at_us, ts in pairs if ts >= since)
    print(json.dumps({"kafka_path_records": len(added),
                      "kafka_path_p50_ms": round(percentile(added, 50), 2),
                      "kafka_path_p99_ms": round(percentile(added, 99), 2),
                      "kafka_path_max_ms": round(added[-1], 2) if added else 0}))


def cmd_signing(args) -> None:
    """Signing's share of the processor's CPU in the throughput run: one signature's CPU time
    (bench_sign, same bodies) times the wallet deliveries (each signed once), over the
    processor's CPU seconds."""
    sign = json.loads(Path(args.sign).read_text())
    thr = json.loads(Path(args.throughput).read_text())
    dps = thr.get("dps", 0)
    signed = thr.get("deliveries", 0) * (thr.get("wallet_dps", 0) / dps if dps else 0)
    cpu_s = thr.get("cpu_s", 0)
    share = sign["sign_us"] * signed / (cpu_s * 1e6) if cpu_s else 0
    print(json.dumps({"sign_us": sign["sign_us"], "signed_deliveries": round(signed),
                      "cpu_s": cpu_s,
                      "cpu_us_per_delivery": round(cpu_s * 1e6 / thr["deliveries"], 1)
                      if thr.get("deliveries") else 0,
                      "signing_cpu_share": round(share, 3)}))


def cmd_wrk(args) -> None:
    text = Path(args.output).read_text()
    m = re.search(r"Requests/sec:\s*([\d.]+)", text)
    errors = re.search(r"Non-2xx or 3xx responses:\s*(\d+)", text)
    print(json.dumps({"rps": float(m.group(1)) if m else 0.0,
                      "non_2xx": int(errors.group(1)) if errors else 0}))


def cmd_drain(args) -> None:
    """Reads a consumer's output (one line per record) from stdin: the rate between the first
    and the last record, so start-up (connect, metadata, assignment) is not counted."""
    import time
    first = last = None
    n = 0
    for _ in sys.stdin.buffer:
        last = time.perf_counter()
        if first is None:
            first = last
        n += 1
    seconds = (last - first) if n > 1 else 0
    print(json.dumps({"records": n, "seconds": round(seconds, 3),
                      "eps": round((n - 1) / seconds, 1) if seconds > 0 else 0}))


def cmd_summary(args) -> None:
    d = Path(args.dir)
    load = lambda name: json.loads((d / name).read_text()) if (d / name).exists() else {}
    thr, kafka, http = load("throughput.json"), load("kafka_ceiling.json"), load("http_ceiling.json")
    lat, rss = load("latency.json"), load("rss100.json")
    one, dflt = load("one_in_flight.json"), load("default_20ms.json")
    print(json.dumps({
        "throughput_eps": thr.get("eps", 0),
        "kafka_ceiling_eps": kafka.get("eps", 0),
        "http_ceiling_eps": http.get("eps", 0),
        "p99_added_latency_ms": lat.get("p99_ms", 0),
        "rss_mib": rss.get("rss_mib", 0),
        "one_in_flight_eps": one.get("eps", 0),
        "default_eps_at_20ms": dflt.get("eps", 0),
    }))


def cmd_context(args) -> None:
    """What the targets need beside the last line: the Kafka path's own latency measured at the
    same time, signing's share of the processor's CPU, and live traffic with 100 clients."""
    d = Path(args.dir)
    load = lambda name: json.loads((d / name).read_text()) if (d / name).exists() else {}
    lat, sig, live = load("latency.json"), load("signing.json"), load("live100.json")
    print(json.dumps({
        "p50_added_latency_ms": lat.get("p50_ms", 0),
        "kafka_path_p50_ms": lat.get("kafka_path_p50_ms", 0),
        "kafka_path_p99_ms": lat.get("kafka_path_p99_ms", 0),
        "latency_rate_eps": lat.get("rate_eps", 0),
        "cpu_us_per_delivery": sig.get("cpu_us_per_delivery", 0),
        "sign_us": sig.get("sign_us", 0),
        "signing_cpu_share": sig.get("signing_cpu_share", 0),
        **live,
    }))


def main() -> None:
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("expect")
    e.add_argument("--events", required=True)
    r = sub.add_parser("rate")
    r.add_argument("--records", required=True)
    r.add_argument("--skip", type=float, default=0)
    r.add_argument("--window", type=float, default=0)
    r.add_argument("--per-event", type=float, default=1)
    l = sub.add_parser("latency")
    l.add_argument("--records", required=True)
    l.add_argument("--timestamps", required=True)
    l.add_argument("--warmup", type=float, default=0)
    k = sub.add_parser("kafka-path")
    k.add_argument("--consumer", required=True)
    k.add_argument("--warmup", type=float, default=0)
    g = sub.add_parser("signing")
    g.add_argument("--sign", required=True)
    g.add_argument("--throughput", required=True)
    w = sub.add_parser("wrk")
    w.add_argument("--output", required=True)
    sub.add_parser("drain")
    c = sub.add_parser("context")
    c.add_argument("--dir", required=True)
    s = sub.add_parser("summary")
    s.add_argument("--dir", required=True)
    args = p.parse_args()
    {"expect": cmd_expect, "rate": cmd_rate, "latency": cmd_latency,
     "kafka-path": cmd_kafka_path, "signing": cmd_signing, "wrk": cmd_wrk, "drain": cmd_drain,
     "context": cmd_context, "summary": cmd_summary}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
