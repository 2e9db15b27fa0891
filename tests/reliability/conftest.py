"""Fixtures of the reliability suite: the broker (KAFKA_BOOTSTRAP, or one started with
scripts/kafka-local.sh for the module) and the processor binary."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
for p in (HERE, HERE.parent / "e2e"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import harness  # noqa: E402


@pytest.fixture(scope="module")
def kafka():
    k = harness.Kafka()
    k.start()
    yield k
    k.stop()


@pytest.fixture(scope="module", autouse=True)
def binary():
    path = harness.binary_path()
    if not path.exists():
        pytest.fail(f"processor binary {path} does not exist (build it or set ANCHOR_EVENTS_BINARY)")
    return path
