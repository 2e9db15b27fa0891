"""Scenario 1: 10,000 events over 500 transactions and 3 wallets; every receiver fails 20 % of
requests with 500 and lets 5 % time out.

Expected: every event delivered to every lane it belongs to, per-transaction order kept at each
receiver, nothing dead-lettered. The lanes retry with a policy that makes exhaustion negligible
(12 attempts: 0.25^12 = 6e-8 per event); the default client policy (3 attempts) would dead-letter
about 1.6 % of wallet events by design (0.25^3), which is not what this scenario measures.

Duplicates: a receiver that answers 200 after the processor's deadline (a slow Python receiver
under load) is retried, so the same event may be received twice in a row; that is not a rewind.
Their number is bounded by the attempts the processor saw fail without an HTTP status (status
class "error") minus the requests the receivers deliberately left unanswered.
"""

from __future__ import annotations

import os
import time

import harness
import reliability as rel
import workload as wl

EVENTS_SCALE = float(os.environ.get("ANCHOR_EVENTS_RELIABILITY_SCALE", "1"))
TIMEOUT_MS = 1500


def test_flaky_receivers_lose_nothing_and_keep_order(kafka, tmp_path_factory):
    n_txn = max(30, int(500 * EVENTS_SCALE))
    w = wl.generate(transactions=n_txn, steps=19, quotes=n_txn // 2, customers=n_txn // 4,
                    customer_updates=2, seed=1)
    policy = rel.LaneOptions(max_attempts=12, initial_backoff_ms=200, max_backoff_ms=2000,
                             request_timeout_ms=TIMEOUT_MS)
    faults = ["--fail-ratio", "0.2", "--hang-ratio", "0.05", "--hang-seconds", "5"]
    run = rel.Run(kafka, tmp_path_factory.mktemp("s1"), w, "s1", business=policy,
                  clients=policy,
                  receiver_args={lane: faults + ["--seed", str(i + 11)]
                                 for i, lane in enumerate(w.lanes)})
    try:
        t0 = time.monotonic()
        half = len(w.events) // 2
        run.produce(w.events[:half])          # a backlog ...
        proc = run.processor().start()
        proc.wait_ready()
        producer = run.produce_paced(w.events[half:], rate=1000)  # ... and live traffic

        def alive():
            assert proc.running(), proc.log_tail()
            assert not producer.errors, producer.errors

        producer.join(120)
        assert not producer.is_alive() and not producer.errors, producer.errors
        took = run.wait_delivered(timeout=900, check=alive, interval=2.0)
        time.sleep(2)  # late duplicates would arrive now
        metrics = harness.parse_metrics(proc.metrics())
        dlq = run.dead_letters()
        accounts = rel.account(run, dlq=dlq)
        hung = sum(a.hung for a in accounts.values())
        errors = {lane: sum(v for n, labels, v in metrics
                            if n == "anchor_events_attempts_total" and f'lane="{lane}"' in labels
                            and 'status_class="error"' in labels)
                  for lane in w.lanes}
        bound = {lane: max(0, int(errors[lane]) - accounts[lane].hung) for lane in w.lanes}
        attempts = {}
        for n, labels, v in metrics:
            if n == "anchor_events_attempts_total":
                cls = labels.split('status_class="')[1].split('"')[0]
                attempts[cls] = attempts.get(cls, 0) + int(v)
        result = {
            "events": run.produced, "transactions": n_txn, "wallets": len(w.wallets),
            "per_lane_expected": w.counts(),
            "requests": sum(a.requests for a in accounts.values()),
            "deliveries": sum(a.deliveries for a in accounts.values()),
            "answered_500": sum(a.failed_attempts for a in accounts.values()),
            "left_hanging": hung,
            "duplicates": {lane: a.duplicates for lane, a in accounts.items()},
            "duplicate_bound": bound,
            "dead_lettered": len(dlq),
            "processor_attempts_by_status_class": attempts,
            "circuit_log": rel.circuit_events(proc),
            "delivery_seconds": round(took, 1),
            "total_seconds": round(time.monotonic() - t0, 1),
            "accounts": rel.account_summary(accounts),
        }
        rel.write_result("s1", result)
        assert dlq == [], [r["headers"] for r in dlq[:5]]
        rel.assert_balanced(accounts, duplicate_bound=bound)
        assert proc.terminate() == 0, proc.log_tail()
    finally:
        run.close()
