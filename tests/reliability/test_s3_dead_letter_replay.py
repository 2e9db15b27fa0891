"""Scenario 3: one wallet answers 400 to one particular event and 200 to all others.

That event is dead-lettered (reason `rejected`, at once: a 4xx is not retried) with its original
key, value and headers plus the anchor-events-* headers; the rest of the lane, including the
later events of the same transaction, flows. A second wallet answers 500 to one event forever
while answering everything else: that event is dead-lettered after its attempts (reason
`exhausted`), the lane's circuit does not mistake it for an outage. After the receivers are
fixed, `replay --lane` delivers each dead-lettered event once (a dry run first sends nothing; a
second run repeats nothing; another lane's replay skips them).
"""

from __future__ import annotations

import time

import pytest

import harness
import reliability as rel
import workload as wl

MAX_ATTEMPTS = 4


@pytest.fixture(scope="module")
def scenario(kafka, tmp_path_factory):
    w = wl.generate(transactions=90, steps=8, quotes=30, customers=15, customer_updates=2,
                    seed=3)
    # The poisoned events: in the middle of a chain (later events of the same transaction
    # must wait for them, then flow), produced early so other traffic is in flight around them.
    def pick(wallet: str) -> wl.Event:
        return next(e for e in w.events if wallet in e.lanes and e.seq == 4)
    rejected, failing = pick("wallet-2"), pick("wallet-3")
    run = rel.Run(kafka, tmp_path_factory.mktemp("s3"), w, "s3",
                  clients=rel.LaneOptions(max_attempts=MAX_ATTEMPTS, initial_backoff_ms=200,
                                          max_backoff_ms=800),
                  receiver_args={"wallet-2": ["--status-for", f"{rejected.id}=400"],
                                 "wallet-3": ["--status-for", f"{failing.id}=500"]})
    try:
        yield run, rejected, failing
    finally:
        run.close()


def test_rejected_and_exhausted_events_are_dead_lettered_and_replayed(scenario):
    run, rejected, failing = scenario
    t0 = time.monotonic()
    run.produce(run.workload.events)
    proc = run.processor().start()
    proc.wait_ready()
    took = run.wait_delivered(timeout=180)

    # -- dead letters --
    dlq = run.dead_letters()
    by_event = {r["headers"].get("anchor-events-event-id"): r for r in dlq}
    assert sorted(by_event) == sorted([rejected.id, failing.id]), \
        f"dead letters: {[(r['headers'].get('anchor-events-lane'), r['headers'].get('anchor-events-event-id')) for r in dlq]}"
    source = {(r["partition"], r["offset"]): r for r in rel.read_topic(run.kafka.bootstrap,
                                                                     run.topic)}
    for event, lane, reason, attempts, last_status in (
            (rejected, "wallet-2", "rejected", 1, "400"),
            (failing, "wallet-3", "exhausted", MAX_ATTEMPTS, "500")):
        letter = by_event[event.id]
        h = letter["headers"]
        missing = [name for name in rel.DLQ_HEADERS if name not in h]
        assert not missing, (f"dead letter of {event.id} lacks headers {missing}; has {h}")
        assert h["anchor-events-lane"] == lane
        assert h["anchor-events-reason"] == reason
        assert h["anchor-events-attempts"] == str(attempts), h
        assert h["anchor-events-last-status"] == last_status, h
        assert h["anchor-events-source-topic"] == run.topic
        assert h["anchor-events-first-attempt-at"] <= h["anchor-events-last-attempt-at"]
        # The original record: key, value and its own headers.
        assert letter["key"] == event.key
        assert letter["payload"] == event.value
        assert h.get(rel.RUN_HEADER) == run.rid, f"original header not carried: {h}"
        where = (int(h["anchor-events-source-partition"]), int(h["anchor-events-source-offset"]))
        assert where in source and source[where]["payload"] == event.value, \
            f"source partition/offset {where} does not point at the original record"

    metrics = harness.parse_metrics(proc.metrics())
    got = {(lane, reason): sum(v for n, labels, v in metrics
                               if n == "anchor_events_dead_lettered_total"
                               and f'lane="{lane}"' in labels and f'reason="{reason}"' in labels)
           for lane, reason in (("wallet-2", "rejected"), ("wallet-3", "exhausted"))}
    assert got == {("wallet-2", "rejected"): 1, ("wallet-3", "exhausted"): 1}, got
    status = rel.lanes_of(proc.status_json())
    assert all(lane.get("circuit") == "closed" for lane in status.values()), status

    # -- the rest flowed; order kept (the chains' later events waited for the dead letter) --
    accounts = rel.account(run, dlq=dlq)
    rel.assert_balanced(accounts, dead_letters_allowed={"wallet-2": {rejected.id},
                                                        "wallet-3": {failing.id}})
    assert run.delivered(rel.BUSINESS_LANE) >= {rejected.id, failing.id}
    rejected_requests = [r for r in run.destinations["wallet-2"].records()
                         if r["event_id"] == rejected.id]
    assert [r["status"] for r in rejected_requests] == [400], "a 4xx is not retried"
    failing_requests = [r for r in run.destinations["wallet-3"].records()
                        if r["event_id"] == failing.id]
    assert [r["status"] for r in failing_requests] == [500] * MAX_ATTEMPTS

    # -- fix the receivers, replay --
    for lane in ("wallet-2", "wallet-3"):
        run.destinations[lane].stop()
        run.destinations[lane].start()
    t_replay = time.monotonic()
    dry = run.replay("wallet-2", "--dry-run")
    assert dry.returncode == 0, (dry.stdout, dry.stderr)
    assert rejected.id in dry.stdout and "would" in dry.stdout, dry.stdout
    assert run.destinations["wallet-2"].current.records() == [], "a dry run sends nothing"

    first = run.replay("wallet-2")
    assert first.returncode == 0, (first.stdout, first.stderr)
    assert "replayed" in first.stdout and rejected.id in first.stdout, first.stdout
    replayed = run.destinations["wallet-2"].current.records()
    assert [(r["event_id"], r["status"]) for r in replayed] == [(rejected.id, 200)], replayed
    assert replayed[0]["verification"]["ok"], replayed[0]["verification"]
    assert replayed[0]["summary"]["message"].startswith(f"step {rejected.seq} of ")

    other = run.replay("wallet-3")
    assert other.returncode == 0, (other.stdout, other.stderr)
    assert [(r["event_id"], r["status"]) for r in
            run.destinations["wallet-3"].current.records()] == [(failing.id, 200)]
    business = run.replay(rel.BUSINESS_LANE)
    assert business.returncode == 0, (business.stdout, business.stderr)
    assert rejected.id not in business.stdout and failing.id not in business.stdout

    final = rel.account(run, dlq=dlq, exclude_incarnations={"wallet-2": {2}, "wallet-3": {2}})
    rel.assert_balanced(final, dead_letters_allowed={"wallet-2": {rejected.id},
                                                     "wallet-3": {failing.id}})
    assert final["wallet-2"].received == final["wallet-2"].expected
    assert final["wallet-3"].received == final["wallet-3"].expected
    result = {
        "events": run.produced, "per_lane_expected": run.workload.counts(),
        "dead_lettered": {"wallet-2": "rejected (400, 1 attempt)",
                          "wallet-3": f"exhausted (500, {MAX_ATTEMPTS} attempts)"},
        "delivery_seconds": round(took, 1),
        "replay_output": {"dry_run": last_line(dry), "first": last_line(first),
                          "wallet-3": last_line(other), "callback-api": last_line(business)},
        "accounts": rel.account_summary(final)}
    rel.write_result("s3", dict(result, second_replay="not run yet"))

    # A second run continues where the first stopped: nothing left, nothing repeated, exit 0.
    try:
        again = run.replay("wallet-2")
    except AssertionError as e:
        rel.write_result("s3", dict(result, second_replay=f"FAILED: {str(e).splitlines()[0]}",
                                    total_seconds=round(time.monotonic() - t0, 1)))
        raise
    assert again.returncode == 0, (again.stdout, again.stderr)
    assert rejected.id not in again.stdout, f"a second replay repeated: {again.stdout}"
    assert len(run.destinations["wallet-2"].current.records()) == 1
    replay_seconds = time.monotonic() - t_replay
    assert proc.terminate() == 0, proc.log_tail()
    result["replay_output"]["second"] = last_line(again)
    rel.write_result("s3", dict(result, replay_seconds=round(replay_seconds, 1),
                                total_seconds=round(time.monotonic() - t0, 1)))


def last_line(p) -> str:
    lines = p.stdout.strip().splitlines()
    return lines[-1] if lines else ""
