"""Helpers for the operator's tests: a real kube-apiserver + etcd (scripts/kube-local.sh) on the
suite's own loopback ports, a small HTTPS client for its API (admin client certificate or a
ServiceAccount token), `anchor-events operator` as a child process, the CallbackClient CRD and
resources, the clients document the operator writes, and a "kubelet" that copies a ConfigMap into
a directory laid out like a mounted ConfigMap volume (the ..data symlink swap of
tests/e2e/test_reload.py).

The Kafka broker, receivers, the processor (`anchor-events run`), metrics parsing and polling come
from tests/e2e/harness.py. Everything listens on and talks to loopback only.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Callable

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
E2E = REPO / "tests" / "e2e"
if str(E2E) not in sys.path:
    sys.path.insert(0, str(E2E))

import harness  # noqa: E402  (tests/e2e/harness.py)
from test_reload import MountedVolume  # noqa: E402  (the ..data symlink layout)

KUBE_SCRIPT = REPO / "scripts" / "kube-local.sh"
HELM_SCRIPT = REPO / "scripts" / "helm.sh"
CHART = REPO / "helm" / "anchor-events"
CRD_FILE = REPO / "crds" / "anchor-events.io_callbackclients.yaml"

GROUP = "anchor-events.io"
VERSION = "v1alpha1"
PLURAL = "callbackclients"
FIELD_MANAGER = "anchor-events-operator"

# The suite's own API server and etcd ports, away from kube-local's defaults (36443/32379) so a
# developer's instance is never touched (KUBE_LOCAL_FRESH=1 wipes the etcd data of these ports).
# Deliberately not KUBE_LOCAL_PORT: a developer may export that for their own instance.
KUBE_PORT = int(os.environ.get("OPERATOR_TESTS_KUBE_PORT", "36643"))
ETCD_PORT = int(os.environ.get("OPERATOR_TESTS_ETCD_PORT", "32579"))

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


def _check_loopback(url: str) -> None:
    host = urllib.parse.urlparse(url).hostname or ""
    if not (host in LOOPBACK_HOSTS or host.startswith("127.")):
        raise ValueError(f"refusing a non-loopback URL: {url}")


def unique(prefix: str) -> str:
    """A DNS-1123 label: prefix + a short random suffix (namespaces are never really deleted)."""
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


# ---- polling -----------------------------------------------------------------------------------

class Eventually:
    """Polls `probe` until `accept(value)` holds; on timeout raises AssertionError with the last
    value seen and the diagnostics (for example operator log tails)."""

    def __init__(self, diagnostics: Callable[[], str] | None = None):
        self.diagnostics = diagnostics

    def __call__(self, probe: Callable[[], object], accept: Callable[[object], bool] = bool,
                 timeout: float = 30, what: str = "condition", interval: float = 0.2):
        deadline = time.monotonic() + timeout
        last: object = None
        error: str = ""
        while True:
            try:
                last = probe()
                error = ""
                if accept(last):
                    return last
            except (ApiError, KeyError, TypeError, ValueError, yaml.YAMLError) as e:
                error = f"{type(e).__name__}: {e}"
            if time.monotonic() >= deadline:
                diag = self.diagnostics() if self.diagnostics else ""
                raise AssertionError(
                    f"timed out after {timeout:.0f}s waiting for {what}\n"
                    f"last value: {_short(last)}\n{('last error: ' + error) if error else ''}\n"
                    f"{diag}")
            time.sleep(interval)

    def holds(self, probe: Callable[[], object], accept: Callable[[object], bool],
              seconds: float, what: str, interval: float = 0.25):
        """Asserts that accept(probe()) stays true for a bounded observation window."""
        deadline = time.monotonic() + seconds
        while True:
            value = probe()
            if not accept(value):
                diag = self.diagnostics() if self.diagnostics else ""
                raise AssertionError(f"expected {what} to hold, but observed: {_short(value)}\n"
                                     f"{diag}")
            if time.monotonic() >= deadline:
                return value
            time.sleep(interval)


def _short(value: object, limit: int = 3000) -> str:
    try:
        text = json.dumps(value, indent=1, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[:limit] + " ..."


def after_restart(write: Callable[[], object], timeout: float = 30):
    """Runs one API write right after an API server restart, retrying while the server answers
    429 "storage is (re)initializing" (a CRD's storage right after start) or is not reachable."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return write()
        except ApiError as e:
            if e.status not in (0, 429) or time.monotonic() >= deadline:
                raise
        time.sleep(0.2)


# ---- the API server ----------------------------------------------------------------------------

class ApiError(Exception):
    def __init__(self, status: int, body: str, method: str, path: str):
        super().__init__(f"{method} {path}: HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body


class Api:
    """Plain HTTPS requests to the API server: client certificate or bearer token."""

    def __init__(self, server: str, ca_file: str, cert: str | None = None, key: str | None = None,
                 token: str | None = None):
        _check_loopback(server)
        self.server = server.rstrip("/")
        ctx = ssl.create_default_context(cafile=ca_file)
        if cert:
            ctx.load_cert_chain(cert, key)
        self.token = token
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                                  urllib.request.HTTPSHandler(context=ctx))

    def request(self, method: str, path: str, body: object = None,
                content_type: str = "application/json", timeout: float = 15,
                ok: tuple[int, ...] = ()) -> tuple[int, object]:
        data = None
        headers = {"Accept": "application/json"}
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
            headers["Content-Type"] = content_type
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.server + path, data=data, method=method, headers=headers)
        try:
            with self.opener.open(req, timeout=timeout) as r:
                status, text = r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode("utf-8", "replace")
        except (urllib.error.URLError, OSError) as e:
            raise ApiError(0, str(e), method, path) from None
        if status >= 400 and status not in ok:
            raise ApiError(status, text, method, path)
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text

    def get(self, path: str, **kw):
        return self.request("GET", path, **kw)[1]

    def get_or_none(self, path: str):
        status, obj = self.request("GET", path, ok=(404,))
        return None if status == 404 else obj

    def post(self, path: str, body: object, **kw):
        return self.request("POST", path, body, **kw)[1]

    def delete(self, path: str, **kw):
        return self.request("DELETE", path, ok=(404,), **kw)[1]

    def merge_patch(self, path: str, body: object, **kw):
        return self.request("PATCH", path, body, content_type="application/merge-patch+json",
                            **kw)[1]

    def apply(self, path: str, body: object, manager: str, force: bool = True):
        q = f"?fieldManager={manager}" + ("&force=true" if force else "")
        return self.request("PATCH", path + q, body,
                            content_type="application/apply-patch+yaml")[1]

    # -- CallbackClients ----------------------------------------------------------------------

    @staticmethod
    def cbc_path(ns: str, name: str = "") -> str:
        p = f"/apis/{GROUP}/{VERSION}/namespaces/{ns}/{PLURAL}"
        return f"{p}/{name}" if name else p

    def create_cbc(self, ns: str, name: str, spec: dict, labels: dict | None = None) -> dict:
        obj = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "CallbackClient",
               "metadata": {"name": name, "namespace": ns, **({"labels": labels} if labels else {})},
               "spec": spec}
        return self.post(self.cbc_path(ns), obj)

    def get_cbc(self, ns: str, name: str) -> dict:
        return self.get(self.cbc_path(ns, name))

    def patch_cbc_spec(self, ns: str, name: str, spec_patch: dict) -> dict:
        return self.merge_patch(self.cbc_path(ns, name), {"spec": spec_patch})

    def delete_cbc(self, ns: str, name: str) -> None:
        self.delete(self.cbc_path(ns, name))

    # -- core objects -------------------------------------------------------------------------

    def create_namespace(self, name: str) -> None:
        self.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                         "metadata": {"name": name}})

    def configmap(self, ns: str, name: str) -> dict | None:
        return self.get_or_none(f"/api/v1/namespaces/{ns}/configmaps/{name}")

    def lease(self, ns: str, name: str) -> dict | None:
        return self.get_or_none(f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}")

    def put_secret(self, ns: str, name: str, data: dict[str, str],
                   secret_type: str = "Opaque") -> dict:
        body = {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": ns},
                "type": secret_type,
                "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}}
        return self.apply(f"/api/v1/namespaces/{ns}/secrets/{name}", body, "operator-tests")

    def secret(self, ns: str, name: str) -> dict | None:
        return self.get_or_none(f"/api/v1/namespaces/{ns}/secrets/{name}")

    def events(self, ns: str, involved_name: str | None = None) -> list[dict]:
        q = ""
        if involved_name:
            q = "?fieldSelector=" + urllib.parse.quote(f"involvedObject.name={involved_name}")
        return self.get(f"/api/v1/namespaces/{ns}/events{q}")["items"]

    def create_object(self, obj: dict, field_manager: str | None = None) -> dict:
        """POSTs any namespaced object to its collection (the resource from kind)."""
        api_version = obj["apiVersion"]
        ns = obj["metadata"]["namespace"]
        plural = {"ServiceAccount": "serviceaccounts", "Role": "roles",
                  "RoleBinding": "rolebindings", "ConfigMap": "configmaps", "Lease": "leases",
                  "Deployment": "deployments", "Secret": "secrets"}[obj["kind"]]
        base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
        q = f"?fieldManager={field_manager}" if field_manager else ""
        return self.post(f"{base}/namespaces/{ns}/{plural}{q}", obj)


class KubeLocal:
    """The suite's API server: `scripts/kube-local.sh start` with KUBE_LOCAL_FRESH=1 on the suite's
    ports, stopped by stop(). The CRD is applied by apply_crd()."""

    def __init__(self, port: int = KUBE_PORT, etcd_port: int = ETCD_PORT):
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("KUBE_LOCAL_")}
        for k in ("KUBECONFIG", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy",
                  "ALL_PROXY", "all_proxy"):
            self.env.pop(k, None)
        self.env.update({"KUBE_LOCAL_PORT": str(port), "KUBE_LOCAL_ETCD_PORT": str(etcd_port)})
        # Honour a build parallelism or etcd kind chosen by the caller (CI).
        for k in ("KUBE_LOCAL_BUILD_JOBS", "KUBE_LOCAL_ETCD_KIND", "KUBE_LOCAL_START_TIMEOUT"):
            if k in os.environ:
                self.env[k] = os.environ[k]
        self.port = port
        self.etcd_port = etcd_port
        self.kubeconfig = ""
        self.vars: dict[str, str] = {}
        self.started = False
        self.api: Api | None = None

    def script(self, *args: str, check: bool = True, timeout: float = 300,
               extra_env: dict | None = None, input_text: str | None = None
               ) -> subprocess.CompletedProcess:
        env = dict(self.env)
        if extra_env:
            env.update(extra_env)
        p = subprocess.run(["bash", str(KUBE_SCRIPT), *args], env=env, text=True,
                           input=input_text, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout, stdin=None if input_text is not None else subprocess.DEVNULL)
        if check and p.returncode != 0:
            raise RuntimeError(f"kube-local.sh {' '.join(args)} failed ({p.returncode}):\n"
                               f"{p.stdout}\n{p.stderr}")
        return p

    def start(self) -> "KubeLocal":
        # The first start on a new machine builds the binaries (15-25 min); CI builds them first.
        p = self.script("start", timeout=3600, extra_env={"KUBE_LOCAL_FRESH": "1"})
        self.started = True
        self.kubeconfig = p.stdout.strip().splitlines()[-1]
        for line in self.script("env").stdout.splitlines():
            m = re.match(r"^export (\w+)='(.*)'$", line)
            if m:
                self.vars[m.group(1)] = m.group(2)
        self.api = Api(self.server, self.vars["KUBE_LOCAL_CA"], self.vars["KUBE_LOCAL_CLIENT_CERT"],
                       self.vars["KUBE_LOCAL_CLIENT_KEY"])
        return self

    @property
    def server(self) -> str:
        return self.vars.get("KUBE_LOCAL_SERVER", f"https://127.0.0.1:{self.port}")

    def stop(self) -> None:
        if self.started:
            self.script("stop", check=False, timeout=120)
            self.started = False

    def kubectl(self, *args: str, check: bool = True, input_text: str | None = None,
                timeout: float = 120) -> subprocess.CompletedProcess:
        return self.script("kubectl", *args, check=check, input_text=input_text, timeout=timeout)

    def restart_apiserver(self, kill: bool = False) -> float:
        t0 = time.monotonic()
        self.script("restart-apiserver", *(["--kill"] if kill else []), timeout=300)
        return time.monotonic() - t0

    def compact(self) -> None:
        self.script("compact")

    def log(self, lines: int = 40) -> str:
        return self.script("log", str(lines), check=False).stderr

    def apply_crd(self) -> None:
        self.kubectl("apply", "--server-side", "-f", str(CRD_FILE))
        name = f"{PLURAL}.{GROUP}"

        def established():
            crd = self.api.get(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
            return any(c["type"] == "Established" and c["status"] == "True"
                       for c in crd.get("status", {}).get("conditions", []))

        Eventually()(established, timeout=60, what="the CRD to be Established")

        # The first list may answer 429 while the watch cache fills.
        def listable():
            status, _ = self.api.request("GET", f"/apis/{GROUP}/{VERSION}/{PLURAL}", ok=(429,))
            return status == 200

        Eventually()(listable, timeout=60, what="CallbackClients to be listable")

    def user_kubeconfig(self, name: str, *groups: str) -> str:
        return self.script("user-kubeconfig", name, *groups).stdout.strip().splitlines()[-1]

    def token_kubeconfig(self, path: Path, ns: str, service_account: str,
                         seconds: int = 3600) -> tuple[Path, str]:
        """A kubeconfig for a ServiceAccount's bound token (TokenRequest), as a pod gets."""
        tr = self.api.post(f"/api/v1/namespaces/{ns}/serviceaccounts/{service_account}/token",
                           {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                            "spec": {"expirationSeconds": seconds}})
        token = tr["status"]["token"]
        ca = base64.b64encode(Path(self.vars["KUBE_LOCAL_CA"]).read_bytes()).decode()
        config = {
            "apiVersion": "v1", "kind": "Config",
            "clusters": [{"name": "kube-local",
                          "cluster": {"server": self.server, "certificate-authority-data": ca}}],
            "users": [{"name": service_account, "user": {"token": token}}],
            "contexts": [{"name": "kube-local",
                          "context": {"cluster": "kube-local", "user": service_account,
                                      "namespace": ns}}],
            "current-context": "kube-local",
        }
        path.write_text(yaml.safe_dump(config), encoding="utf-8")
        path.chmod(0o600)
        return path, token


# ---- the operator process ----------------------------------------------------------------------

class Operator(harness.Processor):
    """`anchor-events operator` as a child process with exactly the given environment (plus PATH,
    HOME, locale and sanitizer options; never proxies). Reuses the processor wrapper of the e2e
    harness: start/terminate/kill/log_tail/metrics, JSON log lines captured in a file."""

    def __init__(self, workdir: Path, env: dict[str, str], name: str = "operator"):
        port = env["OPERATOR_MANAGEMENT_SERVER_PORT"]
        super().__init__(workdir, {**env, "EVENT_PROCESSOR_MANAGEMENT_SERVER_PORT": port},
                         name=name, args=["operator"])
        self.env.pop("EVENT_PROCESSOR_MANAGEMENT_SERVER_PORT", None)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def wait_serving(self, timeout: float = 30) -> None:
        """Until /livez answers 200 (the management server is up)."""
        def live():
            if self.proc.poll() is not None:
                raise RuntimeError(f"operator {self.name} exited with {self.proc.returncode};"
                                   f" log:\n{self.log_tail()}")
            return harness.http_get(self.url("/livez"), timeout=2)[0] == 200

        try:
            harness.wait_until(live, timeout, 0.2, f"operator {self.name} /livez == 200")
        except TimeoutError as e:
            raise AssertionError(f"{e}; log:\n{self.log_tail()}") from None

    def metric(self, name: str, labels: dict[str, str] | None = None) -> float | None:
        """Sum of the samples of `name` whose labels include `labels`; None when there is none."""
        status, body = harness.http_get(self.url("/metrics"))
        if status != 200:
            return None
        total, found = 0.0, False
        for n, lab, value in harness.parse_metrics(body):
            if n != name:
                continue
            if labels and not all(f'{k}="{v}"' in lab for k, v in labels.items()):
                continue
            total += value
            found = True
        return total if found else None

    def metric_lines(self, prefix: str = "anchor_events_operator_") -> str:
        status, body = harness.http_get(self.url("/metrics"))
        return "\n".join(l for l in body.splitlines() if l.startswith(prefix)) if status == 200 \
            else f"(/metrics answered {status})"

    def log_lines(self) -> list[str]:
        if not self.log_path or not self.log_path.exists():
            return []
        return self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()


def operator_env(kube: KubeLocal, ns: str, identity: str, **overrides: str) -> dict[str, str]:
    env = {
        "KUBECONFIG": kube.kubeconfig,
        "OPERATOR_NAMESPACE": ns,
        "OPERATOR_IDENTITY": identity,
        "OPERATOR_MANAGEMENT_SERVER_ADDRESS": "127.0.0.1",
        "OPERATOR_MANAGEMENT_SERVER_PORT": str(harness.free_port()),
        "OPERATOR_LOG_LEVEL": "debug",
        # A processor that is never reachable (nothing listens there): valid resources are
        # Pending. Tests with real processors override this.
        "OPERATOR_PROCESSOR_URLS": f"http://127.0.0.1:{harness.free_port()}",
    }
    env.update({k: str(v) for k, v in overrides.items()})
    return env


# ---- CallbackClients and the clients document --------------------------------------------------

SNAKE = {
    "callbackUrls": "callback_urls", "signingKeys": "signing_keys", "maxAttempts": "max_attempts",
    "initialBackoffMs": "initial_backoff_ms", "maxBackoffMs": "max_backoff_ms",
    "maxInFlight": "max_in_flight", "requestTimeoutMs": "request_timeout_ms",
    "standardWebhooks": "standard_webhooks", "allowedNetworks": "allowed_networks",
    "type": "type", "domains": "domains",
}
IGNORED_ITEM_KEYS = {"allow_any_destination", "destination_accounts"}
SET_KEYS = {"signing_keys", "domains", "allowed_networks"}


def expected_item(spec: dict, name: str, ca_file: str | None = None) -> dict:
    """The clients-file item a spec renders to (the README's clients file format)."""
    item = {"name": name}
    for camel, snake in SNAKE.items():
        if camel in spec:
            item[snake] = spec[camel]
    if ca_file:
        item["ca_file"] = ca_file
    return item


def normalize_item(item: dict) -> dict:
    out = {k: v for k, v in item.items() if k not in IGNORED_ITEM_KEYS}
    for k in SET_KEYS & set(out):
        out[k] = sorted(out[k])
    return out


def clients_doc(cm: dict | None, key: str = "clients.yaml") -> dict | None:
    """The parsed clients document of the ConfigMap, or None when there is none yet."""
    if not cm or key not in (cm.get("data") or {}):
        return None
    return yaml.safe_load(cm["data"][key]) or {}


def revision(doc: dict) -> int:
    value = doc["revision"]
    if not isinstance(value, str) or not value.isdigit():
        raise AssertionError(f"revision must be an integer written as a string, got {value!r}")
    return int(value)


def items_by_name(doc: dict | None) -> dict[str, dict]:
    return {i["name"]: i for i in (doc or {}).get("items") or []}


def ready_condition(obj: dict | None) -> dict | None:
    for c in ((obj or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c
    return None


def condition_is(obj: dict | None, status: str, reason: str,
                 generation: int | None = None) -> bool:
    c = ready_condition(obj)
    if not c or c.get("status") != status or c.get("reason") != reason:
        return False
    if generation is not None:
        st = obj.get("status") or {}
        if st.get("observedGeneration") != generation or c.get("observedGeneration") != generation:
            return False
    return True


def status_summary(obj: dict | None) -> dict:
    if not obj:
        return {}
    return {"generation": obj["metadata"].get("generation"), "status": obj.get("status")}


# ---- a mounted ConfigMap volume (the test plays the kubelet) -----------------------------------

class ConfigMapVolume(MountedVolume):
    """A folder laid out like a mounted ConfigMap (test_reload.MountedVolume), kept in step with a
    ConfigMap's data the way the kubelet does: a new timestamped folder, the ..data symlink swapped
    atomically, a top-level symlink per key (added for new keys, removed for gone ones)."""

    def __init__(self, root: Path, data: dict[str, str]):
        super().__init__(root, dict(data))

    def sync(self, data: dict[str, str]) -> None:
        self.update(dict(data))
        for name in data:
            link = self.root / name
            if not link.is_symlink():
                link.symlink_to(Path("..data") / name)
        for entry in self.root.iterdir():
            if entry.is_symlink() and not entry.name.startswith("..") and entry.name not in data:
                entry.unlink()


# ---- the client-secrets Secret -----------------------------------------------------------------

# The operator's defaults (docs/kubernetes.md, OPERATOR_CLIENT_SECRETS_SECRET and
# OPERATOR_CLIENT_SECRETS_DIR): the Secret it copies client certificates, keys and webhook
# secrets into, and how the clients file names them (relative to the clients file's folder).
CLIENT_SECRETS = "anchor-events-client-secrets"
CLIENT_SECRETS_DIR = "../client-secrets"


def secret_data(obj: dict | None) -> dict[str, str] | None:
    """A Secret's data, base64-decoded (as the kubelet writes it into the volume's files); None
    when there is no Secret."""
    if obj is None:
        return None
    return {k: base64.b64decode(v).decode("utf-8") for k, v in (obj.get("data") or {}).items()}


def client_secret_keys(ns: str, name: str) -> dict[str, str]:
    """clients-file field -> the client-secrets key the operator copies it to."""
    suffix = f"{ns}-{name}"
    return {"client_cert_file": f"tls-crt-{suffix}.pem", "client_key_file": f"tls-key-{suffix}.pem",
            "webhook_secret_file": f"whsec-{suffix}",
            "webhook_secret_previous_file": f"whsec-previous-{suffix}"}


class SecretVolume(ConfigMapVolume):
    """A folder laid out like a mounted Secret volume (the kubelet writes the base64-decoded
    data the same way as a ConfigMap's: ..data swap, one symlink per key). The chart mounts the
    client-secrets Secret at `client-secrets`, the sibling of the clients folder."""

    def __init__(self, root: Path, secret: dict | None):
        super().__init__(root, secret_data(secret) or {})

    def sync_secret(self, secret: dict | None) -> None:
        self.sync(secret_data(secret) or {})


# ---- test material -----------------------------------------------------------------------------

def testdata_keys() -> dict:
    vectors = json.loads((harness.testdata_dir() / "signing-vectors.json").read_text("utf-8"))
    return vectors["keys"]


def break_checksum(account: str) -> str:
    """The same G... account with one character changed: the pattern still matches, the
    CRC16 checksum does not (a single-character change is always detected)."""
    i = 20
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
    c = alphabet[(alphabet.index(account[i]) + 1) % 32]
    return account[:i] + c + account[i + 1:]


def make_ca_pem(common_name: str) -> str:
    """A self-signed CA certificate (PEM) made with Python `cryptography`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def make_cert_and_key(common_name: str) -> tuple[str, str]:
    """A self-signed client certificate and its unencrypted PKCS#8 private key (PEM), made with
    Python `cryptography`."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(key, hashes.SHA256()))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return cert.public_bytes(serialization.Encoding.PEM).decode(), key_pem


def new_whsec() -> str:
    """A Standard Webhooks secret: whsec_ + the base64 of 32 random bytes."""
    return "whsec_" + base64.b64encode(os.urandom(32)).decode()


def pem_body_lines(pem: str) -> list[str]:
    """The base64 lines of a PEM (what would give key material away in a message or log)."""
    return [l for l in pem.splitlines() if l and not l.startswith("-----")]


def check_config(workdir: Path, cm_data: dict[str, str], key: str = "clients.yaml",
                 seed: str = "") -> subprocess.CompletedProcess:
    """Writes the ConfigMap's files into a folder and runs `anchor-events check-config` with
    clients.value pointing at the clients file (as the processor loads it)."""
    folder = workdir / f"check-{uuid.uuid4().hex[:6]}"
    folder.mkdir()
    for name, content in cm_data.items():
        (folder / name).write_text(content, encoding="utf-8")
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "EVENT_QUEUE_KAFKA_BOOTSTRAP_SERVER": "127.0.0.1:9",
           "EVENT_PROCESSOR_CLIENT_STATUS_CALLBACK_ENABLED": "true",
           "SECRET_SEP10_SIGNING_SEED": seed, "CLIENTS_TYPE": "file",
           "CLIENTS_VALUE": str(folder / key)}
    return subprocess.run([str(harness.binary_path()), "check-config"], env=env,
                          capture_output=True, text=True, timeout=60)


# ---- the chart ---------------------------------------------------------------------------------

def render_chart(release: str, ns: str, values: dict, workdir: Path) -> list[dict]:
    """`helm template` of helm/anchor-events (scripts/helm.sh builds Helm once into the cache)."""
    values_file = workdir / f"values-{release}.yaml"
    values_file.write_text(yaml.safe_dump(values), encoding="utf-8")
    env = {k: v for k, v in os.environ.items()
           if k not in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")}
    p = subprocess.run(["bash", str(HELM_SCRIPT), "template", release, str(CHART), "-n", ns,
                        "-f", str(values_file)], env=env, capture_output=True, text=True,
                       timeout=1800, stdin=subprocess.DEVNULL)
    if p.returncode != 0:
        raise RuntimeError(f"helm template failed ({p.returncode}):\n{p.stderr}")
    return [d for d in yaml.safe_load_all(p.stdout) if d]


def operator_env_from_chart(deployment: dict, ns: str, pod_name: str) -> dict[str, str]:
    """The operator container's environment as the kubelet would set it from the rendered
    Deployment (fieldRefs resolved to the namespace and the pod name)."""
    container = next(c for c in deployment["spec"]["template"]["spec"]["containers"]
                     if c["name"] == "operator")
    assert container.get("args") == ["operator"], container.get("args")
    env = {}
    for e in container.get("env", []):
        if "value" in e:
            env[e["name"]] = str(e["value"])
        else:
            path = e["valueFrom"]["fieldRef"]["fieldPath"]
            env[e["name"]] = {"metadata.namespace": ns, "metadata.name": pod_name}[path]
    return env
