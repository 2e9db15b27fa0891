"""Scenario 5: restart the Kafka broker during a load run.

The scenario needs a broker it may stop, so it always starts its own (scripts/kafka-local.sh on
free ports with a private state directory under /tmp), even when KAFKA_BOOTSTRAP names a shared
one. The broker is stopped (SIGTERM, as kafka-local.sh does) while the lanes are delivering and
started again with its data; more events are produced once it is back.

Expected: the processor survives (no exit, ready again), nothing is lost, nothing is
dead-lettered; re-deliveries are allowed (commits fail while the broker is away) and reported;
per transaction the order goes back at most once, not before the restart.
"""

from __future__ import annotations

import time

import pytest

import harness
import reliability as rel
import workload as wl


@pytest.fixture(scope="module")
def own_kafka():
    port, cport = harness.free_port(), harness.free_port()
    k = harness.Kafka({"KAFKA_PORT": str(port), "KAFKA_CONTROLLER_PORT": str(cport),
                       "KAFKA_STATE_DIR": f"/tmp/anchor-events-kafka-{port}"})
    k.env.pop("KAFKA_BOOTSTRAP", None)
    k.start()
    assert k.owned, "the scenario must own the broker it restarts"
    yield k
    k.stop()


def test_broker_restart_loses_nothing(own_kafka, tmp_path_factory):
    kafka = own_kafka
    w = wl.generate(transactions=200, steps=15, quotes=100, customers=50, customer_updates=2,
                    seed=5)
    policy = rel.LaneOptions(max_in_flight=16, initial_backoff_ms=200, max_backoff_ms=2000)
    run = rel.Run(kafka, tmp_path_factory.mktemp("s5"), w, "s5", business=policy, clients=policy,
                  receiver_args={lane: ["--latency-ms", "40"] for lane in w.lanes})
    try:
        t0 = time.monotonic()
        split = len(w.events) * 3 // 5
        run.produce(w.events[:split])
        proc = run.processor().start()
        proc.wait_ready()
        sampler = rel.StatusSampler(proc, interval=1.0).start()
        harness.wait_until(lambda: len(run.delivered(rel.BUSINESS_LANE)) >= split // 4, 120, 0.1,
                           "a quarter of the first batch at the business server")
        delivered_before = {lane: len(run.delivered(lane)) for lane in w.lanes}
        restart_at = time.time()
        t_restart = time.monotonic()
        kafka.restart(keep_data=True)
        restart_seconds = time.monotonic() - t_restart
        during = {lane: len(run.delivered(lane)) - delivered_before[lane] for lane in w.lanes}
        assert proc.running(), proc.log_tail()
        run.produce(w.events[split:])

        def alive():
            assert proc.running(), proc.log_tail()

        took = run.wait_delivered(timeout=300, check=alive)
        time.sleep(2)
        sampler.stop()
        ready_after = harness.http_get(proc.url("/readyz"))[0]
        dlq = run.dead_letters()
        accounts = rel.account(run, dlq=dlq, faults=1, first_fault_at=restart_at)
        window = {lane: run.read_ahead(lane) for lane in w.lanes}
        result = {
            "events": run.produced, "per_lane_expected": w.counts(),
            "broker_restart_seconds": round(restart_seconds, 1),
            "deliveries_while_broker_restarted": during,
            "duplicates": {lane: a.duplicates for lane, a in accounts.items()},
            "keys_rewound": {lane: a.keys_rewound for lane, a in accounts.items()},
            "read_ahead_window": window,
            "dead_lettered": len(dlq), "readyz_after": ready_after,
            "delivery_seconds_after_restart": round(took, 1),
            "total_seconds": round(time.monotonic() - t0, 1),
            "accounts": rel.account_summary(accounts),
        }
        rel.write_result("s5", result)
        assert dlq == []
        rel.assert_balanced(accounts, faults=1, duplicate_bound=window)
        assert ready_after == 200
        assert proc.terminate() == 0, proc.log_tail()
    finally:
        run.close()
