"""Scenario 6: one wallet accepts connections and never answers.

Measured twice in the same test with the same workload and configuration: a baseline run where
every receiver answers (after 40 ms), then a run where wallet-3 accepts every connection and
never answers. Each lane's throughput is its deliveries per second between its first and last
delivery of the backlog. The lanes' throughput is bounded by latency x in-flight (4 in flight
per wallet, 12 for the business server), not by CPU, so the comparison is stable on a shared
2-core machine.

Expected: the business server and the other wallets keep at least 90 % of their baseline
throughput; no consumer leaves its group: while wallet-3 hangs (longer than
max.poll.interval.ms, set to 8 s here), every lane in /status stays joined with all 3 partitions,
the log shows no revoked or lost partitions, and the broker lists exactly one member with 3
partitions per group. Then wallet-3 answers again and its lane delivers everything (the account
balances for every lane).
"""

from __future__ import annotations

import os
import time

import harness
import reliability as rel
import workload as wl

HANG_SECONDS = float(os.environ.get("ANCHOR_EVENTS_RELIABILITY_HANG", "25"))
KAFKA_PROPS = {"session.timeout.ms": "6000", "heartbeat.interval.ms": "1500",
               "max.poll.interval.ms": "8000"}
HUNG = "wallet-3"


def workload() -> wl.Workload:
    return wl.generate(transactions=240, steps=10, quotes=0, customers=0, unattributed_every=0,
                       concurrency=120, seed=6)


def rate(run: rel.Run, lane: str) -> tuple[float, int]:
    times = sorted(r["time"] for r in run.destinations[lane].records()
                   if r.get("status") == 200 and not r.get("client_gone"))
    if len(times) < 2:
        return 0.0, len(times)
    return (len(times) - 1) / (times[-1] - times[0]), len(times)


def start(kafka, workdir, name: str, hung: bool) -> tuple[rel.Run, harness.Processor]:
    w = workload()
    args = {lane: ["--latency-ms", "40"] for lane in w.lanes}
    if hung:
        args[HUNG] = ["--hang-ratio", "1.0"]
    run = rel.Run(kafka, workdir, w, name,
                  business=rel.LaneOptions(max_in_flight=12),
                  clients=rel.LaneOptions(max_in_flight=4, initial_backoff_ms=500,
                                          max_backoff_ms=2000),
                  receiver_args=args, kafka_properties=KAFKA_PROPS)
    run.produce(w.events)
    proc = run.processor().start()
    return run, proc


def test_hung_wallet_does_not_slow_the_others(kafka, tmp_path_factory):
    t0 = time.monotonic()
    others = [rel.BUSINESS_LANE, "wallet-1", "wallet-2"]

    # -- baseline --
    base, proc = start(kafka, tmp_path_factory.mktemp("s6-baseline"), "s6a", hung=False)
    try:
        proc.wait_ready()
        base.wait_delivered(timeout=180)
        baseline = {lane: rate(base, lane) for lane in base.workload.lanes}
        rel.assert_balanced(rel.account(base))
        assert proc.terminate() == 0, proc.log_tail()
    finally:
        base.close()

    # -- wallet-3 hangs --
    run, proc = start(kafka, tmp_path_factory.mktemp("s6-hung"), "s6b", hung=True)
    try:
        proc.wait_ready()
        hung_from = time.time()
        sampler = rel.StatusSampler(proc, interval=0.5).start()
        run.wait_delivered(timeout=180, lanes=others)
        with_hung = {lane: rate(run, lane) for lane in others}
        remaining = HANG_SECONDS - (time.time() - hung_from)
        if remaining > 0:
            time.sleep(remaining)
        groups = {lane: f"{run.group_prefix}-callback-api" if lane == rel.BUSINESS_LANE
                  else f"{run.group_prefix}-client-{lane}" for lane in run.workload.lanes}
        broker_view = rel.describe_groups(kafka.bootstrap, list(groups.values()))
        sampler.stop()
        hung_requests = len(run.destinations[HUNG].records())

        # wallet-3 answers again: its lane must catch up and the account balance everywhere.
        run.destinations[HUNG].stop()
        run.destinations[HUNG].start(["--latency-ms", "40"])
        fixed_at = time.time()
        run.wait_delivered(timeout=180)
        caught_up = time.time() - fixed_at
        accounts = rel.account(run)

        samples = sampler.samples
        membership_problems = []
        for t, st, _ in samples:
            for lane, s in rel.lanes_of(st).items():
                if not s.get("joined") or sorted(s.get("partitions", [])) != [0, 1, 2]:
                    membership_problems.append((round(t - hung_from, 1), lane, s.get("joined"),
                                                s.get("partitions")))
        left = [item for item in rel.log_lines(proc)
                if item.get("msg") in ("partitions revoked", "partitions lost")]
        ratios = {lane: round(with_hung[lane][0] / baseline[lane][0], 3) for lane in others}
        result = {
            "events": run.produced, "per_lane_expected": run.workload.counts(),
            "baseline_rate_per_s": {lane: round(r, 1) for lane, (r, _) in baseline.items()},
            "with_hung_wallet_rate_per_s": {lane: round(r, 1) for lane, (r, _) in
                                            with_hung.items()},
            "ratio": ratios,
            "hung_seconds": HANG_SECONDS, "requests_left_hanging": hung_requests,
            "status_samples": len(samples), "membership_problems": membership_problems[:10],
            "revoked_or_lost_log_lines": len(left),
            "broker_members": {lane: broker_view[g] for lane, g in groups.items()},
            "hung_lane_caught_up_seconds": round(caught_up, 1),
            "circuit_log": rel.circuit_events(proc),
            "total_seconds": round(time.monotonic() - t0, 1),
            "accounts": rel.account_summary(accounts),
        }
        rel.write_result("s6", result)

        slow = {lane: r for lane, r in ratios.items() if r < 0.9}
        assert not slow, f"throughput with a hung wallet fell below 90 % of the baseline: {slow}"
        assert samples and not membership_problems, membership_problems[:10]
        assert not left, left[:5]
        for lane, g in groups.items():
            members = broker_view[g]
            assert len(members) == 1 and members[0][2] == 3, \
                f"broker view of {g} after {HANG_SECONDS:.0f}s of hanging: {members}"
        assert rel.circuit_events(proc).get(HUNG, {}).get("opened", 0) >= 1
        rel.assert_balanced(accounts)
        assert proc.terminate() == 0, proc.log_tail()
    finally:
        run.close()
