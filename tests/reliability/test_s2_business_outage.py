"""Scenario 2: the business server is down for 60 s while events keep coming.

Expected: nothing is dead-lettered; the business lane's circuit opens (in /status, in the
anchor_events_circuit_open metric and in the log) and closes again once the server is back;
everything arrives afterwards, in order; the wallet lanes are not held back meanwhile.

The business lane's retry policy is deliberately short (10 attempts, 0.5 s growing to 5 s:
about 40 s of retrying), shorter than the outage: without the circuit the events in flight would
run out of attempts and be dead-lettered.
"""

from __future__ import annotations

import os
import time

import harness
import reliability as rel
import workload as wl

OUTAGE_SECONDS = float(os.environ.get("ANCHOR_EVENTS_RELIABILITY_OUTAGE", "60"))


def test_business_server_outage_pauses_the_lane_and_loses_nothing(kafka, tmp_path_factory):
    w = wl.generate(transactions=150, steps=12, quotes=60, customers=30, customer_updates=2,
                    seed=2)
    run = rel.Run(kafka, tmp_path_factory.mktemp("s2"), w, "s2",
                  business=rel.LaneOptions(max_attempts=10, initial_backoff_ms=500,
                                           max_backoff_ms=5000, request_timeout_ms=5000),
                  clients=rel.LaneOptions(initial_backoff_ms=200, max_backoff_ms=1000),
                  receiver_args={lane: ["--latency-ms", "5"] for lane in w.lanes})
    business = run.destinations[rel.BUSINESS_LANE]
    try:
        t0 = time.monotonic()
        third = len(w.events) // 3
        run.produce(w.events[:third])
        proc = run.processor().start()
        proc.wait_ready()
        sampler = rel.StatusSampler(proc, interval=0.5, metrics=True).start()
        # Live traffic for the whole outage and after it.
        producer = run.produce_paced(w.events[third:], rate=len(w.events[third:]) /
                                     (OUTAGE_SECONDS + 20), batch=20)

        harness.wait_until(lambda: len(run.delivered(rel.BUSINESS_LANE)) >= third // 2, 60, 0.2,
                           "the business server to receive a part of the backlog")
        business.stop()
        down_at = time.time()
        wallets_before = {lane: len(run.delivered(lane)) for lane in w.lanes[1:]}
        time.sleep(OUTAGE_SECONDS)
        wallets_during = {lane: len(run.delivered(lane)) - wallets_before[lane]
                          for lane in w.lanes[1:]}
        assert run.dead_letters() == [], "an outage dead-lettered events"
        business.start()
        up_at = time.time()
        producer.join(60)
        assert not producer.is_alive() and not producer.errors, producer.errors

        def alive():
            assert proc.running(), proc.log_tail()

        took = run.wait_delivered(timeout=240, check=alive)
        done_at = time.time()
        time.sleep(2)
        sampler.stop()

        dlq = run.dead_letters()
        accounts = rel.account(run, dlq=dlq)
        biz_records = business.records()
        first_after = min((r["time"] for r in biz_records
                           if r["incarnation"] == 2 and r.get("status") == 200), default=None)
        last_after = max(r["time"] for r in biz_records if r.get("status") == 200)
        status_circuit = [(t, rel.lanes_of(st).get(rel.BUSINESS_LANE, {}).get("circuit"))
                          for t, st, _ in sampler.samples]
        metric_circuit = [(t, rel.metric(m, "anchor_events_circuit_open", rel.BUSINESS_LANE))
                          for t, _, m in sampler.samples]
        during = [c for t, c in status_circuit if down_at + 15 < t < up_at]
        metric_during = [v for t, v in metric_circuit if down_at + 15 < t < up_at]
        metric_end = [v for t, v in metric_circuit if t > done_at]
        log_circuit = rel.circuit_events(proc)
        in_flight = run.max_in_flight(rel.BUSINESS_LANE)
        result = {
            "events": run.produced, "per_lane_expected": w.counts(),
            "outage_seconds": round(up_at - down_at, 1),
            "business_first_delivery_after_restart_s":
                round(first_after - up_at, 1) if first_after else None,
            "business_caught_up_after_restart_s": round(last_after - up_at, 1),
            "wallet_deliveries_during_outage": wallets_during,
            "business_attempts_during_outage": sum(1 for r in biz_records
                                                  if down_at < r["time"] < up_at),
            "status_circuit_values_during_outage": sorted(set(during)),
            "metric_circuit_open_during_outage": sorted(set(metric_during)),
            "log_circuit_events": log_circuit,
            "duplicates": {lane: a.duplicates for lane, a in accounts.items()},
            "dead_lettered": len(dlq),
            "delivery_seconds_after_restart": round(took, 1),
            "total_seconds": round(time.monotonic() - t0, 1),
            "accounts": rel.account_summary(accounts),
        }
        rel.write_result("s2", result)

        assert dlq == [], [r["headers"] for r in dlq[:5]]
        # Requests the receiver had read when it was stopped may be answered to a closed
        # connection and sent again: at most the lane's in-flight window.
        rel.assert_balanced(accounts, duplicate_bound={rel.BUSINESS_LANE: in_flight})
        assert all(n > 0 for n in wallets_during.values()), \
            f"wallet lanes stalled during the business outage: {wallets_during}"
        assert log_circuit.get(rel.BUSINESS_LANE, {}).get("opened", 0) >= 1, log_circuit
        assert log_circuit.get(rel.BUSINESS_LANE, {}).get("closed", 0) >= 1, log_circuit
        assert metric_during and set(metric_during) == {1.0}, \
            f"anchor_events_circuit_open{{lane=callback-api}} during the outage: {metric_during}"
        assert metric_end and set(metric_end) == {0.0}, metric_end
        assert during and "closed" not in during, \
            f"/status circuit of callback-api during the outage: {sorted(set(during))}"
        assert all(lane.get("circuit") == "closed"
                   for lane in rel.lanes_of(proc.status_json()).values())
        assert proc.terminate() == 0, proc.log_tail()
    finally:
        run.close()
