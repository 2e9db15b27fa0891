"""Scenario 7: start a second processor instance mid-run, then stop the first.

Both instances share the consumer groups (same prefix, no static membership). The second joins
while the first is delivering a backlog and live traffic; the groups rebalance (cooperative-
sticky) and split the 3 partitions; then the first gets SIGTERM, finishes its in-flight
attempts, commits and leaves, and the second takes every partition.

Expected: nothing lost, nothing dead-lettered, the first exits 0; both instances held
partitions at the same time; at the end the second holds all 3 partitions of every lane; per
transaction the order goes back at most once per membership change (2), not before the second
instance started; duplicates within the lanes' unfinished windows per change.
"""

from __future__ import annotations

import time

import harness
import reliability as rel
import workload as wl


def assigned(proc: harness.Processor) -> dict[str, list]:
    return {lane: sorted(s.get("partitions", [])) for lane, s in
            rel.lanes_of(proc.status_json()).items()}


def test_second_instance_then_stop_the_first_loses_nothing(kafka, tmp_path_factory):
    w = wl.generate(transactions=300, steps=12, quotes=100, customers=50, customer_updates=2,
                    seed=7)
    policy = rel.LaneOptions(max_in_flight=16, initial_backoff_ms=200, max_backoff_ms=2000)
    run = rel.Run(kafka, tmp_path_factory.mktemp("s7"), w, "s7", business=policy, clients=policy,
                  receiver_args={lane: ["--latency-ms", "20"] for lane in w.lanes})
    try:
        t0 = time.monotonic()
        first_batch = len(w.events) // 4
        run.produce(w.events[:first_batch])
        a = run.processor("instance-a").start()
        a.wait_ready()
        producer = run.produce_paced(w.events[first_batch:], rate=90, batch=30)
        sampler_a = rel.StatusSampler(a, interval=0.5).start()
        harness.wait_until(lambda: len(run.delivered(rel.BUSINESS_LANE)) >= first_batch // 2,
                           120, 0.1, "half of the backlog at the business server")

        b = run.processor("instance-b")
        b_started = time.time()
        b.start()
        sampler_b = rel.StatusSampler(b, interval=0.5).start()

        def split():
            if not b.running():
                raise AssertionError(f"instance-b exited: {b.log_tail()}")
            sa, sb = assigned(a), assigned(b)
            return sb and all(sb.get(lane) for lane in w.lanes) and \
                all(sa.get(lane) for lane in w.lanes)

        harness.wait_until(split, 90, 0.5, "both instances to hold partitions of every lane")
        split_at = time.time()
        both = {"a": assigned(a), "b": assigned(b)}
        time.sleep(8)  # both deliver for a while
        stop_at = time.time()
        code_a = a.terminate(timeout=60)
        sampler_a.stop()
        harness.wait_until(lambda: all(v == [0, 1, 2] for v in assigned(b).values())
                           and len(assigned(b)) == len(w.lanes), 90, 0.5,
                           "instance-b to take every partition")
        taken_over = time.time() - stop_at
        producer.join(120)
        assert not producer.is_alive() and not producer.errors, producer.errors

        def alive():
            assert b.running(), b.log_tail()

        took = run.wait_delivered(timeout=300, check=alive)
        time.sleep(2)
        sampler_b.stop()
        dlq = run.dead_letters()
        accounts = rel.account(run, dlq=dlq, faults=2, first_fault_at=b_started)
        window = {lane: run.read_ahead(lane) for lane in w.lanes}
        result = {
            "events": run.produced, "per_lane_expected": w.counts(),
            "split_after_second_start_s": round(split_at - b_started, 1),
            "assignment_while_both_ran": both,
            "first_instance_exit_code": code_a,
            "second_took_all_partitions_after_stop_s": round(taken_over, 1),
            "duplicates": {lane: a_.duplicates for lane, a_ in accounts.items()},
            "keys_rewound": {lane: a_.keys_rewound for lane, a_ in accounts.items()},
            "read_ahead_window": window,
            "dead_lettered": len(dlq),
            "delivery_seconds_after_stop": round(took, 1),
            "total_seconds": round(time.monotonic() - t0, 1),
            "accounts": rel.account_summary(accounts),
        }
        rel.write_result("s7", result)
        assert code_a == 0, a.log_tail()
        assert dlq == []
        rel.assert_balanced(accounts, faults=2,
                            duplicate_bound={lane: 2 * window[lane] for lane in w.lanes})
        assert b.terminate() == 0, b.log_tail()
    finally:
        run.close()
