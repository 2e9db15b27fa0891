"""Checks that need the processor binary: the chart's configuration, mounts and environment are
accepted by `anchor-events check-config`, values.yaml's config section matches the processor's
settings and defaults, and values.schema.json's bounds are the processor's."""
import base64
import json
import os
import pathlib
import subprocess

import yaml

import crd_checks
from render import CHART

SEED = "SCOWDMM5576VUYF2QRFPJEXMFTCEISOFNF5TE2IZOA52YAY4VZ7WBQNO"  # RFC 8032 test vector 1
PREVIOUS_SEED = "SBGM2CE3FD7ZNWU5W3BUN3ARJYHVXCRRT422XJRE3KGPN3KPXCTPXJAU"  # test vector 2
FAKE_SECRETS = {
    "SECRET_SEP10_SIGNING_SEED": SEED,
    "SECRET_SEP10_SIGNING_SEED_PREVIOUS": PREVIOUS_SEED,
    "CALLBACK_API_SECRET": "a-sample-callback-secret-of-32-bytes-or-more",
    "EVENT_QUEUE_KAFKA_SASL_USERNAME": "anchor-events",
    "EVENT_QUEUE_KAFKA_SASL_PASSWORD": "sample-password",
    "EVENT_QUEUE_KAFKA_SSL_KEY_PASSWORD": "sample-key-password",
}
PEM = "-----BEGIN CERTIFICATE-----\nsample\n-----END CERTIFICATE-----\n"
POD_ROOT_PREFIX = "/etc/anchor-events/"

# Settings of the processor that values.yaml's config section does not carry, and why.
CHART_MANAGED = {
    "event_processor.management_server_address": "must be 0.0.0.0 for probes and scraping",
    "event_processor.group_instance_id": "staticMembership sets it from the pod name",
    "event.enabled": "the chart always consumes",
    "event.queue.type": "kafka is the only queue",
    "event.queue.kafka.sasl_username": "secrets.kafkaSasl",
    "event.queue.kafka.sasl_password": "secrets.kafkaSasl",
    "event.queue.kafka.ssl_ca_location": "secrets.kafkaTls",
    "event.queue.kafka.ssl_certificate_location": "secrets.kafkaTls",
    "event.queue.kafka.ssl_key_location": "secrets.kafkaTls",
    "event.queue.kafka.ssl_key_password": "secrets.kafkaTls",
    "callback_api.secret": "secrets.callbackApi",
    "callback_api.ca_file": "secrets.callbackApiCa",
    "callback_api.client_cert_file": "secrets.callbackApiClientCert",
    "callback_api.client_key_file": "secrets.callbackApiClientCert",
    "secret.sep10.signing_seed": "secrets.signingSeed",
    "secret.sep10.signing_seed_previous": "secrets.signingSeedPrevious",
}
# values.yaml defaults that differ from the processor's on purpose.
CHART_DEFAULTS = {
    "event_processor.client_status_callback.enabled": "the chart is for wallet callbacks",
    "event.queue.kafka.bootstrap_server": "the processor has none; the chart names a Service",
}
# Settings an enum value of another setting needs in order to be valid at all.
ENUM_CONTEXT = {
    "event.queue.kafka.sasl_mechanism": {"EVENT_QUEUE_KAFKA_SECURITY_PROTOCOL": "SASL_SSL"},
}
# values.schema.json bounds stricter than the processor's on purpose.
STRICTER_BOUNDS = {
    "event_processor.management_server_port": "0 (pick a free port) cannot be probed",
}


def run_check_config(binary, env, config=None, cwd=None):
    args = [binary, "check-config"] + (["--config", str(config)] if config else [])
    result = subprocess.run(args, env={"PATH": "/usr/bin:/bin", **env}, cwd=cwd,
                            capture_output=True, text=True, timeout=60)
    return result.returncode, result.stdout + result.stderr


def described(output):
    """check-config's "key = value" lines as a dict."""
    settings = {}
    for line in output.splitlines():
        key, sep, value = line.partition(" =")
        if sep and " " not in key:
            settings[key] = value.strip()
    return settings


class PodSimulation:
    """The processor container of a rendering, laid out under a temporary directory: its mounted
    ConfigMaps and Secrets as files (Secrets with sample values), its environment, its config."""

    def __init__(self, rendered, workdir):
        self.r = rendered
        self.root = pathlib.Path(workdir)
        self.file_for_env = {e["name"][:-len("_FILE")]: e["value"] for e in self.container_env()
                             if e["name"].endswith("_FILE")}

    def container_env(self):
        return self.r.container.get("env", [])

    def local(self, path):
        return str(self.root / path.lstrip("/")) if path.startswith(POD_ROOT_PREFIX) else path

    def config_map_data(self, name):
        for obj in self.r.all("ConfigMap"):
            if obj["metadata"]["name"] == name:
                return obj.get("data", {})
        # A ConfigMap the chart does not render (clients.source existingConfigMap): an empty
        # clients file in the format its key names.
        key = self.r.config["clients"]["value"].rsplit("/", 1)[1]
        return {key: '{"items": []}' if key.endswith(".json") else "items: []\n"}

    def secret_data(self, name):
        for obj in self.r.all("Secret"):
            if obj["metadata"]["name"] == name:
                data = {k: base64.b64decode(v) for k, v in (obj.get("data") or {}).items()}
                data.update({k: v.encode() for k, v in (obj.get("stringData") or {}).items()})
                return data
        return {}

    def secret_content(self, path):
        for name, file_path in self.file_for_env.items():
            if file_path == path:
                return FAKE_SECRETS[name] + "\n"
        return PEM

    def lay_out(self):
        volumes = {v["name"]: v for v in self.r.pod["spec"]["volumes"]}
        for mount in self.r.container.get("volumeMounts", []):
            directory = pathlib.Path(self.local(mount["mountPath"]))
            directory.mkdir(parents=True, exist_ok=True)
            volume = volumes[mount["name"]]
            if "configMap" in volume:
                for key, text in self.config_map_data(volume["configMap"]["name"]).items():
                    (directory / key).write_text(self.rewrite(text))
            elif "secret" in volume and "items" in volume["secret"]:
                for item in volume["secret"]["items"]:
                    path = f"{mount['mountPath']}/{item['path']}"
                    (directory / item["path"]).write_text(self.secret_content(path))
            elif "secret" in volume:
                # A whole Secret (the operator's client-secrets): what the chart renders in it.
                for key, text in self.secret_data(volume["secret"]["secretName"]).items():
                    (directory / key).write_bytes(text)

    def rewrite(self, text):
        return text.replace(POD_ROOT_PREFIX, str(self.root) + POD_ROOT_PREFIX)

    def environment(self):
        env = {}
        for item in self.container_env():
            source = item.get("valueFrom", {})
            if "value" in item:
                env[item["name"]] = self.local(item["value"])
            elif "secretKeyRef" in source:
                env[item["name"]] = FAKE_SECRETS[item["name"]]
            elif "fieldRef" in source:
                env[item["name"]] = "anchor-events-7d9f8b6c5-x2x4z"
        return env

    def config_path(self):
        args = self.r.container["args"]
        return self.local(args[args.index("--config") + 1])


def check_pod_accepted(rendered, binary, workdir, clients_expected):
    """The rendered processor container, files and environment included, passes check-config;
    `clients_expected` (the clients.items of the values) are loaded and get their lanes."""
    sim = PodSimulation(rendered, workdir)
    sim.lay_out()
    if rendered.container["args"][0] != "run":
        return [f"the container runs {rendered.container['args'][0]}, not run"]
    code, output = run_check_config(binary, sim.environment(), sim.config_path())
    if code != 0:
        return [f"check-config refuses the rendered processor (exit {code}):\n{output}"]
    settings = described(output)
    problems = []
    if rendered.config["event_processor"]["client_status_callback"]["enabled"] and \
            settings.get("secret.sep10.signing_seed") != "<set>":
        problems.append("wallet callbacks are on but the processor sees no signing seed")
    wired = {e["name"].removesuffix("_FILE") for e in rendered.container.get("env", [])}
    if "SECRET_SEP10_SIGNING_SEED_PREVIOUS" in wired and \
            settings.get("secret.sep10.signing_seed_previous") != "<set>":
        problems.append("the previous signing seed is wired but the processor does not see it")
    for key in ("client_cert_file", "client_key_file"):
        if rendered.config["callback_api"].get(key) and \
                not settings.get(f"callback_api.{key}"):
            problems.append(f"callback_api.{key} is configured but the processor has none")
    auth = rendered.config["callback_api"]["auth"]["type"]
    if rendered.config["event_processor"]["callback_api_request"]["enabled"] and auth != "none" \
            and settings.get("callback_api.secret") != "<set>":
        problems.append("business-server auth is on but the processor sees no secret")
    if clients_expected is not None and settings.get("clients") != str(len(clients_expected)):
        problems.append(f"the processor loads {settings.get('clients')} clients, "
                        f"values have {len(clients_expected)}")
    if clients_expected is not None and "lanes" in settings:
        lanes = int(rendered.config["event_processor"]["callback_api_request"]["enabled"])
        if rendered.config["event_processor"]["client_status_callback"]["enabled"]:
            lanes += sum(1 for item in clients_expected if item.get("callback_urls"))
        if settings["lanes"] != str(lanes):
            problems.append(f"the processor plans {settings['lanes']} lanes, expected {lanes}")
    return problems


def check_operator_output_accepted(rendered, binary, workdir):
    """With the operator: its rendering of the valid CallbackClient samples, written where the
    rendered pod mounts it (the clients file into the clients ConfigMap's folder, the copied
    certificates, keys and webhook secrets into the mounted OPERATOR_CLIENT_SECRETS_SECRET, the
    items naming them through OPERATOR_CLIENT_SECRETS_DIR), passes check-config and every file
    resolves to the mounted one."""
    if not rendered.operator():
        return []
    env = rendered.operator_env()
    sim = PodSimulation(rendered, workdir)
    sim.lay_out()
    clients_path = pathlib.Path(sim.local(rendered.config["clients"]["value"]))
    secret = env["OPERATOR_CLIENT_SECRETS_SECRET"]["value"]
    volumes = [v["name"] for v in rendered.pod["spec"]["volumes"]
               if v.get("secret", {}).get("secretName") == secret]
    mounts = [m["mountPath"] for m in rendered.container.get("volumeMounts", [])
              if m["name"] in volumes]
    if len(mounts) != 1:
        return [f"the processor mounts Secret {secret} (OPERATOR_CLIENT_SECRETS_SECRET) "
                f"{len(mounts)} times"]
    clients, count = crd_checks.clients_file_from_samples(
        clients_path.parent, pathlib.Path(sim.local(mounts[0])),
        env["OPERATOR_CLIENT_SECRETS_DIR"]["value"], clients_path.name)
    code, output = run_check_config(binary, sim.environment(), sim.config_path())
    if code != 0:
        return [f"check-config refuses the operator's rendering of the samples in the rendered "
                f"pod (exit {code}):\n{output}"]
    settings = described(output)
    problems = []
    if settings.get("clients") != str(count):
        problems.append(f"the processor loads {settings.get('clients')} of {count} clients")
    return problems + client_files_resolved(settings, yaml.safe_load(clients.read_text())["items"],
                                            clients_path.parent)


def flatten(tree, prefix=""):
    flat = {}
    for key, value in tree.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value and not path.endswith(".properties"):
            flat.update(flatten(value, path + "."))
        else:
            flat[path] = value
    return flat


def as_described(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return ",".join(value) if isinstance(value, list) else \
            ",".join(f"{k}={v}" for k, v in sorted(value.items()))
    return str(value)


def processor_defaults(binary):
    code, output = run_check_config(binary, {"EVENT_QUEUE_KAFKA_BOOTSTRAP_SERVER": "127.0.0.1:9"})
    if code != 0:
        raise RuntimeError(f"check-config with defaults failed:\n{output}")
    # The settings come first, in table order; the clients, lanes and more follow.
    settings_text = output.split("\nclients =", 1)[0]
    return described(settings_text)


def check_values_match_settings(binary):
    """values.yaml's config has every processor setting the chart does not manage, with the
    processor's default unless listed in CHART_DEFAULTS."""
    defaults = processor_defaults(binary)
    values = flatten(yaml.safe_load((CHART / "values.yaml").read_text())["config"])
    problems = []
    for key in sorted(set(defaults) - set(values) - set(CHART_MANAGED)):
        problems.append(f"processor setting {key} is missing from values.yaml config")
    for key in sorted(set(values) - set(defaults)):
        problems.append(f"values.yaml config.{key} is not a processor setting")
    for key in sorted(set(values) & set(CHART_MANAGED)):
        problems.append(f"values.yaml config.{key} is managed by the chart ({CHART_MANAGED[key]})")
    for key in sorted(set(values) & set(defaults)):
        same = as_described(values[key]) == defaults[key]
        if not same and key not in CHART_DEFAULTS:
            problems.append(f"values.yaml config.{key} is {values[key]!r}, the processor's "
                            f"default is {defaults[key]!r}")
        if same and key in CHART_DEFAULTS:
            problems.append(f"config.{key} is listed as a chart default but equals the processor's")
    return problems


def schema_leaves(schema, prefix=""):
    for key, sub in schema.get("properties", {}).items():
        path = f"{prefix}{key}"
        if sub.get("type") == "object" and "properties" in sub:
            yield from schema_leaves(sub, path + ".")
        else:
            yield path, sub


def env_name(key):
    return key.upper().replace(".", "_").replace("-", "_")


def check_schema_bounds(binary):
    """Every integer and enum in values.schema.json's config section is exactly what the
    processor accepts: the bounds and enum values pass, one past each bound fails."""
    schema = json.loads((CHART / "values.schema.json").read_text())["properties"]["config"]
    base = {"EVENT_QUEUE_KAFKA_BOOTSTRAP_SERVER": "kafka:9092"}
    problems = []
    ints = {k: s for k, s in schema_leaves(schema) if s.get("type") == "integer"}
    for edge in ("minimum", "maximum"):
        env = dict(base, **{env_name(k): str(s[edge]) for k, s in ints.items()})
        code, output = run_check_config(binary, env)
        if code != 0:
            problems.append(f"the processor refuses the schema's {edge}s:\n{output}")
    for key, s in ints.items():
        for value in (s["minimum"] - 1, s["maximum"] + 1):
            code, _ = run_check_config(binary, dict(base, **{env_name(key): str(value)}))
            if code == 0 and key not in STRICTER_BOUNDS:
                problems.append(f"config.{key}: the processor accepts {value}, outside the "
                                f"schema's {s['minimum']}..{s['maximum']}")
    for key, s in schema_leaves(schema):
        for value in [v for v in s.get("enum", []) if v]:
            env = dict(base, **ENUM_CONTEXT.get(key, {}), **{env_name(key): value})
            code, output = run_check_config(binary, env)
            if code != 0 and f"env {env_name(key)}" in output:
                problems.append(f"config.{key}: the processor refuses enum value {value}")
    return problems


CLIENT_FILE_FIELDS = ("ca_file", "client_cert_file", "client_key_file", "webhook_secret_file",
                      "webhook_secret_previous_file")


def client_files_resolved(settings, items, clients_dir):
    """Each file an item names is the one check-config reports, resolved from the clients file's
    folder (so the relative paths the operator writes reach the mounted files)."""
    problems = []
    for item in items:
        for field in CLIENT_FILE_FIELDS:
            if field not in item:
                continue
            want = os.path.normpath(os.path.join(str(clients_dir), item[field]))
            got = settings.get(f"clients.{item['name']}.{field}")
            if got != want:
                problems.append(f"client {item['name']}: {field} {item[field]!r} resolves to "
                                f"{got!r}, want {want!r}")
            elif not os.path.isfile(want):
                problems.append(f"client {item['name']}: {field} {want} does not exist")
    return problems


def tmpdir(base, name):
    path = pathlib.Path(base) / name
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o755)
    return path
