"""Helpers for the end-to-end tests: a real Kafka broker (scripts/kafka-local.sh), kcat as an
independent producer and consumer, callback receivers (receiver.py) and the processor itself
(`anchor-events run`) as separate processes.

Everything listens on and talks to loopback only.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Callable, Iterable

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
SCRIPTS = REPO / "scripts"
KAFKA_SCRIPT = SCRIPTS / "kafka-local.sh"
RECEIVER = HERE / "receiver.py"


def testdata_dir() -> Path:
    env = os.environ.get("ANCHOR_EVENTS_TESTDATA")
    return Path(env) if env else (REPO.parent / "shared" / "testdata").resolve()


def binary_path() -> Path:
    env = os.environ.get("ANCHOR_EVENTS_BINARY")
    return Path(env) if env else REPO / "build" / "src" / "app" / "anchor-events"


def run_id() -> str:
    """A short unique id for topic names and consumer-group prefixes."""
    return time.strftime("%H%M%S") + "-" + uuid.uuid4().hex[:8]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def wait_until(predicate: Callable[[], object], timeout: float, interval: float = 0.1,
               what: str = "condition"):
    """Polls predicate until it returns a truthy value (returned) or raises TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)


def read_env_file(path: Path) -> dict[str, str]:
    out = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        k, _, v = line.partition("=")
        out[k.strip()] = v.strip()
    return out


def write_secret(path: Path, value: str) -> Path:
    path.write_text(value, encoding="utf-8")
    path.chmod(0o600)
    return path


def account_from_seed(seed: str) -> str:
    """Derives the G... account of an S... seed with Python `cryptography` (independent check)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives import serialization
    sys.path.insert(0, str(HERE))
    from receiver import crc16_xmodem, decode_strkey

    raw_seed = decode_strkey(seed, 0x90)
    pub = Ed25519PrivateKey.from_private_bytes(raw_seed).public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    payload = bytes([0x30]) + pub
    return base64.b32encode(payload + crc16_xmodem(payload).to_bytes(2, "little")).decode()


# ---- Kafka -------------------------------------------------------------------------------------

class Kafka:
    """The broker for a test session: KAFKA_BOOTSTRAP if set, else scripts/kafka-local.sh.

    A broker that was already running (or given by KAFKA_BOOTSTRAP) is left running by stop().
    """

    def __init__(self, env: dict[str, str] | None = None):
        self.env = dict(os.environ)
        if env:
            self.env.update(env)
        self.bootstrap: str | None = None
        self.owned = False

    def _script(self, *args: str, check: bool = True, timeout: float = 300,
                extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        env = dict(self.env)
        if extra_env:
            env.update(extra_env)
        return subprocess.run(["bash", str(KAFKA_SCRIPT), *args], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                              check=check, stdin=subprocess.DEVNULL)

    def start(self) -> str:
        external = self.env.get("KAFKA_BOOTSTRAP")
        if external:
            self.bootstrap = external
            self.owned = False
            return external
        already = self._script("status", check=False).returncode == 0
        if not already and "KAFKA_PORT" not in self.env and "KAFKA_CONTROLLER_PORT" not in self.env:
            # Default ports taken by something that is not our broker (another checkout's or a
            # developer's): use free ports and a private state directory instead.
            if not port_is_free(39092) or not port_is_free(39093):
                port, cport = free_port(), free_port()
                self.env["KAFKA_PORT"] = str(port)
                self.env["KAFKA_CONTROLLER_PORT"] = str(cport)
                self.env.setdefault("KAFKA_STATE_DIR", f"/tmp/anchor-events-kafka-{port}")
        p = self._script("start", check=False)
        if p.returncode != 0:
            raise RuntimeError(f"kafka-local.sh start failed ({p.returncode}):\n{p.stderr}")
        self.bootstrap = p.stdout.strip().splitlines()[-1]
        self.owned = not already
        return self.bootstrap

    def stop(self) -> None:
        if self.owned:
            self._script("stop", check=False)
            self.owned = False
            state = self.env.get("KAFKA_STATE_DIR", "")
            if state.startswith("/tmp/anchor-events-kafka-"):
                shutil.rmtree(state, ignore_errors=True)

    def restart(self, keep_data: bool = True) -> str:
        """Stops and starts the local broker (only one this session started)."""
        if not self.owned:
            raise RuntimeError("refusing to restart a broker this session did not start")
        p = self._script("restart", check=False,
                         extra_env={"KAFKA_KEEP_DATA": "1" if keep_data else "0"})
        if p.returncode != 0:
            raise RuntimeError(f"kafka-local.sh restart failed:\n{p.stderr}")
        self.bootstrap = p.stdout.strip().splitlines()[-1]
        return self.bootstrap

    def create_topic(self, name: str, partitions: int = 3) -> None:
        p = self._script("create-topic", name, str(partitions), check=False,
                         extra_env={"KAFKA_BOOTSTRAP": self.bootstrap or ""})
        if p.returncode != 0:
            raise RuntimeError(f"creating topic {name} failed:\n{p.stderr}")
        # Wait until the topic's partitions have leaders.
        wait_until(lambda: topic_partitions(self.bootstrap, name) == partitions, 30,
                   interval=0.3, what=f"topic {name} with {partitions} partitions")

    def log_tail(self, lines: int = 80) -> str:
        return self._script("log", str(lines), check=False).stderr


def topic_partitions(bootstrap: str, topic: str) -> int:
    p = subprocess.run(["kcat", "-b", bootstrap, "-L", "-J", "-t", topic, "-m", "5"],
                       text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=30,
                       stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        return 0
    try:
        meta = json.loads(p.stdout)
    except ValueError:
        return 0
    for t in meta.get("topics", []):
        if t.get("topic") == topic and not t.get("error"):
            return sum(1 for part in t.get("partitions", []) if part.get("leader", -1) >= 0)
    return 0


def produce(bootstrap: str, topic: str, values: Iterable[str], partition: int | None = None,
            key: str | None = None) -> int:
    """Produces each value as one record (no key unless given) with kcat; returns the count.

    kcat -P reads one message per line from stdin and skips empty lines, so a value may not be
    empty or contain a newline.
    """
    values = list(values)
    for v in values:
        if not v or "\n" in v or "\r" in v:
            raise ValueError(f"kcat cannot produce {v!r} as one line")
    if not values:
        return 0
    cmd = ["kcat", "-P", "-b", bootstrap, "-t", topic, "-X", "acks=all", "-X",
           "message.timeout.ms=30000"]
    if partition is not None:
        cmd += ["-p", str(partition)]
    if key is not None:
        cmd += ["-K", "\t"]
        values = [f"{key}\t{v}" for v in values]
    data = ("\n".join(values) + "\n").encode("utf-8")
    p = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=60)
    err = p.stderr.decode("utf-8", "replace")
    if p.returncode != 0 or "delivery failed" in err.lower() or "% error" in err.lower():
        raise RuntimeError(f"kcat produce to {topic} failed ({p.returncode}): {err}")
    return len(values)


def read_lines(path: Path) -> list[str]:
    """The record values of a .jsonl/.txt file: one per non-empty line, exact text."""
    return [line for line in Path(path).read_text(encoding="utf-8").split("\n") if line != ""]


def produce_file(bootstrap: str, topic: str, path: Path, partition: int | None = None) -> int:
    """Produces every non-empty line of a file as one record, without a key."""
    return produce(bootstrap, topic, read_lines(path), partition=partition)


def consume(bootstrap: str, topic: str, timeout: float = 30) -> list[dict]:
    """Every record now in topic (all partitions) as kcat -J objects: partition, offset, key,
    payload, headers (a flat [name, value, ...] list)."""
    p = subprocess.run(["kcat", "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e",
                        "-J", "-q", "-m", "10"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout,
                       stdin=subprocess.DEVNULL)
    out = []
    for line in p.stdout.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if line.startswith("{"):
            out.append(json.loads(line))
    return out


# ---- receivers ---------------------------------------------------------------------------------

class ReceiverProcess:
    """One receiver.py process. `args` are extra command-line options."""

    def __init__(self, workdir: Path, name: str, mode: str = "plain", args: list[str] = (),
                 python: str = sys.executable):
        self.workdir = Path(workdir)
        self.name = name
        self.record_path = self.workdir / f"{name}.records.jsonl"
        self.port_file = self.workdir / f"{name}.port"
        self.log_path = self.workdir / f"{name}.log"
        self.cmd = [python, str(RECEIVER), "--name", name, "--mode", mode, "--bind", "127.0.0.1",
                    "--port", "0", "--port-file", str(self.port_file),
                    "--record", str(self.record_path), *args]
        self.proc: subprocess.Popen | None = None
        self.port: int | None = None

    def start(self, timeout: float = 15) -> "ReceiverProcess":
        self.port_file.unlink(missing_ok=True)
        self.record_path.touch()
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL)
        log.close()

        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"receiver {self.name} exited: {self.log_path.read_text()}")
            return self.port_file.exists() and self.port_file.read_text().strip()

        self.port = int(wait_until(ready, timeout, 0.05, f"receiver {self.name} port"))
        return self

    def records(self) -> list[dict]:
        if not self.record_path.exists():
            return []
        out = []
        for line in self.record_path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                out.append(json.loads(line))
        return out

    def delivered(self) -> list[dict]:
        """Records that were answered with a 2xx."""
        return [r for r in self.records() if r.get("status") and 200 <= r["status"] < 300]

    def stop(self, timeout: float = 10) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
            raise RuntimeError(f"receiver {self.name} ignored SIGTERM")


# ---- the processor -----------------------------------------------------------------------------

PASS_THROUGH_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TZ", "ASAN_OPTIONS", "UBSAN_OPTIONS",
                    "LSAN_OPTIONS", "TSAN_OPTIONS", "LLVM_PROFILE_FILE", "SSL_CERT_FILE")


def _no_proxy_opener():
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_get(url: str, timeout: float = 5) -> tuple[int, str]:
    """GET on loopback without any proxy; returns (status, body), status 0 on connect errors."""
    host = urllib.request.urlparse(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise ValueError(f"refusing a non-loopback URL: {url}")
    try:
        with _no_proxy_opener().open(url, timeout=timeout) as r:
            return r.status, r.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError):
        return 0, ""


class Processor:
    """`anchor-events run` as a child process with exactly the given environment (plus PATH,
    HOME, locale and sanitizer options; never proxies or the caller's EVENT_* settings)."""

    def __init__(self, workdir: Path, env: dict[str, str], name: str = "processor",
                 args: list[str] | None = None, binary: Path | None = None):
        self.workdir = Path(workdir)
        self.binary = Path(binary) if binary else binary_path()
        self.args = args if args is not None else ["run"]
        self.env = {k: os.environ[k] for k in PASS_THROUGH_ENV if k in os.environ}
        self.env.setdefault("LANG", "C.UTF-8")
        self.env.update(env)
        self.name = name
        self.starts = 0
        self.proc: subprocess.Popen | None = None
        self.log_path: Path | None = None
        self.management_port = int(env["EVENT_PROCESSOR_MANAGEMENT_SERVER_PORT"])

    def start(self) -> "Processor":
        if not self.binary.exists():
            raise FileNotFoundError(f"processor binary not found: {self.binary} "
                                    f"(build it, or set ANCHOR_EVENTS_BINARY)")
        self.starts += 1
        self.log_path = self.workdir / f"{self.name}.{self.starts}.log"
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([str(self.binary), *self.args], env=self.env, stdout=log,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                     cwd=self.workdir)
        log.close()
        return self

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.management_port}{path}"

    def wait_ready(self, timeout: float = 90) -> None:
        def ready():
            if self.proc.poll() is not None:
                raise RuntimeError(f"processor exited with {self.proc.returncode} before ready;"
                                   f" log:\n{self.log_tail()}")
            return http_get(self.url("/readyz"), timeout=2)[0] == 200

        try:
            wait_until(ready, timeout, 0.25, "processor /readyz == 200")
        except TimeoutError as e:
            raise TimeoutError(f"{e}; log:\n{self.log_tail()}") from None

    def metrics(self) -> str:
        status, body = http_get(self.url("/metrics"))
        if status != 200:
            raise RuntimeError(f"/metrics answered {status}")
        return body

    def status_json(self) -> dict:
        status, body = http_get(self.url("/status"))
        return json.loads(body) if status == 200 else {}

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def terminate(self, timeout: float = 40) -> int:
        """SIGTERM, then wait; returns the exit code (SIGKILL and raise after timeout)."""
        if not self.running():
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
            raise TimeoutError(f"processor did not exit within {timeout}s of SIGTERM")

    def kill(self) -> int:
        """SIGKILL (a crash); returns the exit code."""
        if not self.running():
            return self.proc.returncode if self.proc else 0
        self.proc.kill()
        return self.proc.wait(10)

    def log_tail(self, lines: int = 60) -> str:
        if not self.log_path or not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])


# ---- Prometheus text ---------------------------------------------------------------------------

_SAMPLE_RE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")


def parse_metrics(text: str) -> list[tuple[str, str, float]]:
    """(name, labels text, value) for every sample line."""
    out = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = _SAMPLE_RE.match(line)
        if not m:
            continue
        try:
            value = float(m.group(3))
        except ValueError:
            continue
        out.append((m.group(1), m.group(2) or "", value))
    return out


def read_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines()
            if line.strip()]
