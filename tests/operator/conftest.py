"""Fixtures of the operator's tests: one real API server for the session (scripts/kube-local.sh on
the suite's ports, fresh etcd, the CRD applied, stopped at the end), a namespace per test, and a
factory of operator processes that are killed after the test and whose log tails are shown when
the test fails."""

from __future__ import annotations

from pathlib import Path

import pytest

import kubeharness as kh


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture(scope="session")
def kube():
    k = kh.KubeLocal()
    try:
        k.start()
        k.apply_crd()
        yield k
    finally:
        k.stop()


@pytest.fixture
def api(kube) -> kh.Api:
    return kube.api


@pytest.fixture
def ns(kube, request) -> str:
    """A fresh namespace for the test (namespaces never finish deleting without controllers)."""
    base = request.node.name.split("[")[0].replace("_", "-").lower()
    base = base.removeprefix("test-")[:40].strip("-")
    name = kh.unique(base)
    kube.api.create_namespace(name)
    return name


class Procs:
    """Operators (and processors) started by one test."""

    def __init__(self, kube: kh.KubeLocal, workdir: Path):
        self.kube = kube
        self.workdir = workdir
        self.all: list = []      # operators and processors (harness.Processor)
        self.others: list = []   # receivers: stopped after the test

    def operator(self, ns: str, identity: str = "op-1", start: bool = True,
                 env: dict | None = None, **overrides) -> kh.Operator:
        e = env if env is not None else kh.operator_env(self.kube, ns, identity, **overrides)
        op = kh.Operator(self.workdir, e, name=f"operator-{identity}")
        self.all.append(op)
        if start:
            op.start()
            op.wait_serving()
        return op

    def track(self, proc):
        (self.all if isinstance(proc, kh.harness.Processor) else self.others).append(proc)
        return proc

    def diagnostics(self, lines: int = 40) -> str:
        out = []
        for p in self.all:
            state = "running" if p.running() else f"exited {p.proc.returncode if p.proc else '-'}"
            out.append(f"----- {p.name} ({state}) last {lines} log lines -----\n"
                       f"{p.log_tail(lines)}")
            if isinstance(p, kh.Operator) and p.running():
                out.append(f"----- {p.name} metrics -----\n{p.metric_lines()}")
        return "\n".join(out)


@pytest.fixture
def procs(kube, tmp_path, request):
    p = Procs(kube, tmp_path)
    yield p
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed:
        print(p.diagnostics(80))
        print("----- kube-local log -----\n" + kube.log(10))
    for proc in p.all:
        if proc.running():
            proc.kill()
    for other in p.others:
        other.stop()


@pytest.fixture
def eventually(procs) -> kh.Eventually:
    return kh.Eventually(lambda: procs.diagnostics(30))
