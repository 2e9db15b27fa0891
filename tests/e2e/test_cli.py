"""The command-line tools as a user runs them: `sign` and `verify` against the shared signing
vectors (checked again with Python `cryptography`), and `check-config` exit codes and messages.
No broker is needed."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

import harness

VECTORS = json.loads((harness.testdata_dir() / "signing-vectors.json").read_text(encoding="utf-8"))
KEYS = VECTORS["keys"]


def run(args, env=None, **kwargs):
    full_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    full_env.update(env or {})
    return subprocess.run([str(harness.binary_path()), *args], env=full_env, capture_output=True,
                          text=True, timeout=60, **kwargs)


def body_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "body.json"
    path.write_bytes(body.encode("utf-8"))
    return path


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: c["name"])
def test_sign_prints_the_vector_header(case, tmp_path):
    seed = KEYS[case["key"]]["seed"]

    result = run(["sign", "--url", case["url"], "--timestamp", str(case["t"]),
                  "--body-file", str(body_file(tmp_path, case["body"]))],
                 env={"SECRET_SEP10_SIGNING_SEED": seed})

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == case["header"]


def test_sign_reads_the_seed_from_a_file_and_never_from_arguments(tmp_path):
    case = VECTORS["cases"][0]
    seed_file = tmp_path / "seed"
    seed_file.write_text(KEYS[case["key"]]["seed"] + "\n")

    from_file = run(["sign", "--url", case["url"], "--timestamp", str(case["t"]),
                     "--body-file", str(body_file(tmp_path, case["body"]))],
                    env={"SECRET_SEP10_SIGNING_SEED_FILE": str(seed_file)})
    as_argument = run(["sign", "--seed", KEYS[case["key"]]["seed"], "--url", case["url"],
                       "--body-file", str(body_file(tmp_path, case["body"]))])

    assert from_file.stdout.strip() == case["header"]
    assert as_argument.returncode != 0
    assert "unknown option --seed" in as_argument.stderr


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda c: c["name"])
def test_verify_accepts_every_vector(case, tmp_path):
    result = run(["verify", "--account", KEYS[case["key"]]["account"], "--url", case["url"],
                  "--header", case["header"], "--body-file", str(body_file(tmp_path, case["body"])),
                  "--now", str(case["t"] + 30)])

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("valid")


@pytest.mark.parametrize("case", VECTORS["must_fail"], ids=lambda c: c["name"])
def test_verify_rejects_every_must_fail_case(case, tmp_path):
    url = "https://" + case["host"] + "/cb"

    result = run(["verify", "--account", KEYS[case["key"]]["account"], "--url", url,
                  "--header", case["header"], "--body-file", str(body_file(tmp_path, case["body"])),
                  "--now", "1700000000"])

    assert result.returncode == 1
    assert result.stdout.startswith("invalid:")


def test_verify_rejects_a_stale_signature(tmp_path):
    case = VECTORS["cases"][0]

    result = run(["verify", "--account", KEYS[case["key"]]["account"], "--url", case["url"],
                  "--header", case["header"], "--body-file", str(body_file(tmp_path, case["body"])),
                  "--now", str(case["t"] + 121)])

    assert result.returncode == 1
    assert "invalid" in result.stdout


def test_signature_from_sign_verifies_with_python_cryptography(tmp_path):
    import base64
    import receiver

    body = '{"transaction":{"id":"x","status":"completed"}}'
    key = KEYS["rfc8032-test2"]
    result = run(["sign", "--url", "http://w.example:8080/cb", "--timestamp", "1750000000",
                  "--body-file", str(body_file(tmp_path, body))],
                 env={"SECRET_SEP10_SIGNING_SEED": key["seed"]})
    signature = result.stdout.strip().split("s=", 1)[1]

    public = receiver.account_public_key(key["account"])
    public.verify(base64.b64decode(signature), b"1750000000.w.example:8080." + body.encode())


def test_check_config_accepts_the_dev_configuration():
    data = harness.testdata_dir()
    env = harness.read_env_file(data / "dev.env")

    result = run(["check-config", "--config", str(data / "dev.services.yaml")],
                 env={"SECRET_SEP10_SIGNING_SEED": env["SECRET_SEP10_SIGNING_SEED"]})

    assert result.returncode == 0, result.stderr
    assert "configuration is valid" in result.stdout
    assert env["SECRET_SEP10_SIGNING_SEED"] not in result.stdout
    assert env["CALLBACK_API_SECRET"] not in result.stdout


def test_check_config_lists_every_problem_and_exits_non_zero(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text(
        "event_processor:\n"
        "  client_status_callback:\n"
        "    enabled: yes\n"
        "callback_api:\n"
        "  base_url: http://user:pw@business.example/cb\n"
        "  unknown_key: 1\n")

    result = run(["check-config", "--config", str(config)],
                 env={"EVENT_QUEUE_KAFKA_BOOTSTRAP_SERVER": "127.0.0.1:9"})

    assert result.returncode == 3
    assert "event_processor.client_status_callback.enabled" in result.stderr
    assert "callback_api.base_url" in result.stderr
    assert "unknown_key" in result.stderr
    assert f"{config}:3" in result.stderr
    assert "pw" not in result.stderr.replace("password", "")
