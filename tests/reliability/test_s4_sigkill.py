"""Scenario 4: SIGKILL the processor three times during a load run.

Expected: nothing lost (every event received or dead-lettered per lane, and nothing is
dead-lettered here); per transaction the deliveries at each receiver go back at most once per
kill, never before the first kill; duplicates per lane and kill bounded by the lane's
read-ahead window (the product pauses a lane at max(256, 16 x max_in_flight) unfinished
records, and commits every 200 ms: a crash re-delivers what was read but not committed).

The restarted processor uses static group membership (EVENT_PROCESSOR_GROUP_INSTANCE_ID), as a
Kubernetes pod would with its pod name, so it takes its partitions back at once instead of
waiting for the killed member's session to expire.

A second test kills the processor while one event at the head of a partition is being retried
and the rest of that partition keeps flowing: the spec (§6.3) says a crash re-delivers at most
the in-flight window, so the duplicates must stay within the same bound.
"""

from __future__ import annotations

import time

import harness
import reliability as rel
import workload as wl

MAX_IN_FLIGHT = 32


def duplicates_per_kill(run: rel.Run, lane: str, kill_times: list[float]) -> list[int]:
    """Duplicate 2xx answers attributed to each kill (received after it, before the next);
    element 0 counts those before the first kill."""
    seen: set[str] = set()
    counts = [0] * (len(kill_times) + 1)
    for r in run.destinations[lane].records():
        if not (r.get("status") and 200 <= r["status"] < 300) or r.get("client_gone"):
            continue
        if r["event_id"] in seen:
            k = sum(1 for t in kill_times if r["time"] >= t)
            counts[k] += 1
        seen.add(r["event_id"])
    return counts


def test_three_sigkills_lose_nothing(kafka, tmp_path_factory):
    w = wl.generate(transactions=300, steps=15, quotes=100, customers=50, customer_updates=2,
                    seed=4)
    policy = rel.LaneOptions(max_in_flight=MAX_IN_FLIGHT, initial_backoff_ms=200,
                             max_backoff_ms=2000)
    run = rel.Run(kafka, tmp_path_factory.mktemp("s4"), w, "s4", business=policy,
                  clients=policy,
                  receiver_args={lane: ["--latency-ms", "20"] for lane in w.lanes})
    try:
        t0 = time.monotonic()
        split = len(w.events) * 2 // 3
        run.produce(w.events[:split])
        proc = run.processor(extra_env={"EVENT_PROCESSOR_GROUP_INSTANCE_ID": "rel-s4"}).start()
        proc.wait_ready()
        producer = run.produce_paced(w.events[split:], rate=150, batch=30)
        sampler = rel.StatusSampler(proc, interval=0.5).start()
        expected_business = len(w.events)
        kill_times, resume_seconds, killed_at_delivered = [], [], []
        for fraction in (0.15, 0.40, 0.65):
            harness.wait_until(
                lambda: len(run.delivered(rel.BUSINESS_LANE)) >= fraction * expected_business
                or not proc.running(), 180, 0.05, f"{fraction:.0%} of the business deliveries")
            assert proc.running(), proc.log_tail()
            assert proc.kill() == -9
            kill_times.append(time.time())
            killed_at_delivered.append(len(run.delivered(rel.BUSINESS_LANE)))
            time.sleep(0.3)
            restart = time.time()
            proc.start()
            before = len(run.destinations[rel.BUSINESS_LANE].records())
            harness.wait_until(
                lambda: len(run.destinations[rel.BUSINESS_LANE].records()) > before
                or not proc.running(), 120, 0.05, "deliveries after the restart")
            resume_seconds.append(round(time.time() - restart, 2))
        producer.join(120)
        assert not producer.is_alive() and not producer.errors, producer.errors

        def alive():
            assert proc.running(), proc.log_tail()

        took = run.wait_delivered(timeout=300, check=alive)
        time.sleep(2)
        sampler.stop()
        max_pending = {lane: max((rel.lanes_of(st).get(lane, {}).get("pending", 0)
                                  for _, st, _ in sampler.samples), default=None)
                       for lane in w.lanes}
        dlq = run.dead_letters()
        accounts = rel.account(run, dlq=dlq, faults=3, first_fault_at=kill_times[0])
        per_kill = {lane: duplicates_per_kill(run, lane, kill_times) for lane in w.lanes}
        window = {lane: run.read_ahead(lane) for lane in w.lanes}
        result = {
            "events": run.produced, "per_lane_expected": w.counts(),
            "kills": len(kill_times), "business_delivered_at_kill": killed_at_delivered,
            "first_request_after_restart_s": resume_seconds,
            "duplicates": {lane: a.duplicates for lane, a in accounts.items()},
            "duplicates_per_kill": per_kill,  # [before the first kill, kill 1, 2, 3]
            "duplicates_total": sum(a.duplicates for a in accounts.values()),
            "read_ahead_window": window, "max_in_flight": MAX_IN_FLIGHT,
            "max_pending_in_status": max_pending,
            "keys_rewound": {lane: a.keys_rewound for lane, a in accounts.items()},
            "dead_lettered": len(dlq),
            "delivery_seconds_after_last_kill": round(took, 1),
            "total_seconds": round(time.monotonic() - t0, 1),
            "accounts": rel.account_summary(accounts),
        }
        rel.write_result("s4", result)
        assert dlq == []
        rel.assert_balanced(accounts, faults=3,
                            duplicate_bound={lane: 3 * window[lane] for lane in w.lanes})
        for lane, counts in per_kill.items():
            assert all(c <= window[lane] for c in counts), \
                f"{lane}: duplicates per kill {counts} exceed the window {window[lane]}"
        assert proc.terminate() == 0, proc.log_tail()
    finally:
        run.close()


def test_sigkill_while_an_event_is_retried_redelivers_at_most_the_window(kafka, tmp_path_factory):
    """One business event answered 503 for ~25 s (while everything else is answered at once)
    holds its partition's committed offset; the lane keeps delivering the records behind it.
    A crash must still re-deliver at most the lane's window (SPEC §6.3)."""
    w = wl.generate(transactions=200, steps=10, quotes=0, customers=0, unattributed_every=1,
                    seed=41)
    stuck = w.events[5]
    policy = rel.LaneOptions(max_in_flight=16, max_attempts=20, initial_backoff_ms=1000,
                             max_backoff_ms=4000)
    run = rel.Run(kafka, tmp_path_factory.mktemp("s4b"), w, "s4b", business=policy,
                  receiver_args={rel.BUSINESS_LANE: ["--status-for", f"{stuck.id}=503:8"]})
    try:
        run.produce(w.events)
        proc = run.processor(extra_env={"EVENT_PROCESSOR_GROUP_INSTANCE_ID": "rel-s4b"}).start()
        proc.wait_ready()
        # Wait until the stuck event has been tried a few times and the rest is delivered.
        harness.wait_until(
            lambda: sum(1 for r in run.destinations[rel.BUSINESS_LANE].records()
                        if r["event_id"] == stuck.id) >= 4, 90, 0.2, "four failed attempts")
        delivered_before = len(run.delivered(rel.BUSINESS_LANE))
        proc.kill()
        kill_at = time.time()
        time.sleep(0.3)
        proc.start()
        took = run.wait_delivered(timeout=180)
        time.sleep(1)
        accounts = rel.account(run, faults=1, first_fault_at=kill_at)
        window = run.read_ahead(rel.BUSINESS_LANE)
        dups = accounts[rel.BUSINESS_LANE].duplicates
        rel.write_result("s4b", {
            "events": run.produced, "delivered_before_kill": delivered_before,
            "duplicates_after_kill": dups, "read_ahead_window": window,
            "delivery_seconds_after_kill": round(took, 1),
            "accounts": rel.account_summary(accounts)})
        assert dups <= window, (
            f"a kill while one event was being retried re-delivered {dups} events "
            f"(window {window}): the committed offset waited for the retried event while the "
            f"lane kept delivering the records behind it")
        rel.assert_balanced(accounts, faults=1, duplicate_bound={rel.BUSINESS_LANE: window})
        assert proc.terminate() == 0, proc.log_tail()
    finally:
        run.close()
