"""Assertions on the objects the chart renders for one set of values. Each check returns the
problems it found (an empty list when the chart is right)."""
import posixpath
import re

import yaml

SELECTOR_KEYS = {"app.kubernetes.io/name", "app.kubernetes.io/instance",
                 "app.kubernetes.io/component"}
SECRET_SETTINGS = {
    # environment name -> when it must be wired, given the processor's configuration
    "SECRET_SEP10_SIGNING_SEED":
        lambda c: c["event_processor"]["client_status_callback"]["enabled"],
    "CALLBACK_API_SECRET": lambda c: (c["event_processor"]["callback_api_request"]["enabled"]
                                      and c["callback_api"]["auth"]["type"] != "none"),
    "EVENT_QUEUE_KAFKA_SASL_USERNAME": lambda c: c["event"]["queue"]["kafka"]["security_protocol"]
    .startswith("SASL_"),
    "EVENT_QUEUE_KAFKA_SASL_PASSWORD": lambda c: c["event"]["queue"]["kafka"]["security_protocol"]
    .startswith("SASL_"),
}
# What the operator's Role in the release namespace grants (docs/kubernetes.md, "The operator"):
# every rule is needed and nothing else is allowed. Resources in NAMED_ONLY are limited to the
# objects the operator's environment names, each with its own verbs (check_rbac): the Secret it
# writes (OPERATOR_CLIENT_SECRETS_SECRET) get and patch, the Secrets CallbackClients reference
# (operator.secretNames) get only.
OPERATOR_VERBS = {
    ("anchor-events.io", "callbackclients"): {"get", "list", "watch"},
    ("anchor-events.io", "callbackclients/status"): {"get", "update", "patch"},
    ("", "configmaps"): {"get", "update", "patch"},
    ("coordination.k8s.io", "leases"): {"get", "update", "patch"},
    ("", "events"): {"create", "patch"},
    ("discovery.k8s.io", "endpointslices"): {"list", "watch"},
    ("apps", "deployments"): {"get"},
    ("", "secrets"): {"get", "patch"},
}
# The verbs on each Secret the operator only reads.
REFERENCED_SECRET_VERBS = {"get"}
# ... and its Role in each other watched namespace.
WATCH_VERBS = {
    ("anchor-events.io", "callbackclients"): {"get", "list", "watch"},
    ("anchor-events.io", "callbackclients/status"): {"get", "update", "patch"},
    ("", "events"): {"create", "patch"},
}
NAMED_ONLY = {"configmaps", "leases", "secrets", "deployments"}
# The operator's environment (its contract with the chart) and the log levels it accepts.
OPERATOR_ENV = [
    "OPERATOR_NAMESPACE", "OPERATOR_WATCH_NAMESPACES", "OPERATOR_IDENTITY",
    "OPERATOR_CLIENTS_CONFIGMAP", "OPERATOR_CLIENTS_KEY", "OPERATOR_CLIENT_SECRETS_SECRET",
    "OPERATOR_CLIENT_SECRETS_DIR", "OPERATOR_LEASE_NAME",
    "OPERATOR_LEADER_ELECTION", "OPERATOR_LEASE_DURATION_SECONDS", "OPERATOR_PROCESSOR_SERVICE",
    "OPERATOR_PROCESSOR_PORT", "OPERATOR_MANAGEMENT_SERVER_PORT", "OPERATOR_RESYNC_SECONDS",
    "OPERATOR_OWNER_DEPLOYMENT", "OPERATOR_LOG_LEVEL",
]
LOG_LEVELS = {"trace", "debug", "info", "warn", "error"}
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


class Rendered:
    """The objects of one rendering, with the processor's pieces looked up once."""

    def __init__(self, documents, namespace, values=None):
        self.namespace = namespace
        self.values = values or {}
        self.objects = [d.obj for d in documents]
        self.processor = self.one("Deployment", "processor")
        self.pod = self.processor["spec"]["template"]
        self.container = self.pod["spec"]["containers"][0]
        config_map = next(o for o in self.objects if o["kind"] == "ConfigMap"
                          and o["metadata"]["name"].endswith("-config"))
        self.config = yaml.safe_load(config_map["data"]["anchor-events.yaml"])

    def all(self, kind, component=None):
        def component_of(obj):
            return obj["metadata"]["labels"].get("app.kubernetes.io/component")

        return [o for o in self.objects
                if o["kind"] == kind and component in (None, component_of(o))]

    def one(self, kind, component):
        found = self.all(kind, component)
        assert len(found) == 1, f"expected one {kind} of component {component}, found {len(found)}"
        return found[0]

    def management_port(self):
        return self.config["event_processor"]["management_server_port"]

    def operator(self):
        """The operator's Deployment, or None when the chart renders none."""
        found = self.all("Deployment", "operator")
        assert len(found) <= 1, f"{len(found)} operator Deployments"
        return found[0] if found else None

    def operator_env(self):
        """The operator container's environment as {name: EnvVar}."""
        container = self.operator()["spec"]["template"]["spec"]["containers"][0]
        return {e["name"]: e for e in container.get("env", [])}

    def watch_namespaces(self):
        operator = self.operator()
        if not operator:
            return []
        value = self.operator_env().get("OPERATOR_WATCH_NAMESPACES", {}).get("value", "")
        return [n for n in value.split(",") if n]


def container_port(container, port):
    """The number a probe's or Service's port (a number or a name) refers to in the container."""
    if isinstance(port, int):
        return port
    for item in container.get("ports", []):
        if item.get("name") == port:
            return item["containerPort"]
    return None


def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())


def check_ports(r):
    problems = []
    port = r.management_port()
    ports = {p["name"]: p["containerPort"] for p in r.container.get("ports", [])}
    if ports.get("management") != port:
        problems.append(f"container port 'management' is {ports.get('management')}, the "
                        f"processor's management_server_port is {port}")
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        get = r.container.get(probe, {}).get("httpGet")
        if not get:
            problems.append(f"{probe} is missing or not an HTTP probe")
            continue
        if container_port(r.container, get["port"]) != port:
            problems.append(f"{probe} port {get['port']} is not the management port {port}")
        want = "/readyz" if probe == "readinessProbe" else "/livez"
        if get.get("path") != want:
            problems.append(f"{probe} path is {get.get('path')}, want {want}")
    service = r.one("Service", "processor")
    for item in service["spec"]["ports"]:
        target = container_port(r.container, item.get("targetPort", item["port"]))
        if target != port or item["port"] != port:
            problems.append(f"Service port {item['port']} -> {item.get('targetPort')} is not the "
                            f"management port {port}")
    for monitor in r.all("ServiceMonitor"):
        names = {p.get("name") for p in service["spec"]["ports"]}
        for endpoint in monitor["spec"]["endpoints"]:
            if endpoint.get("port") not in names:
                problems.append(f"ServiceMonitor scrapes port {endpoint.get('port')}, the Service "
                                f"has {sorted(names)}")
        if not matches(monitor["spec"]["selector"]["matchLabels"], service["metadata"]["labels"]):
            problems.append("ServiceMonitor selector does not match the Service")
    return problems


def secret_wiring(r, name):
    """How the pod receives secret setting `name`: 'env', 'file', or a problem string."""
    env = {e["name"]: e for e in r.container.get("env", [])}
    if name in env and env[name].get("valueFrom", {}).get("secretKeyRef"):
        return "env"
    if name + "_FILE" not in env:
        return None
    path = env[name + "_FILE"]["value"]
    mounts = {m["name"]: m["mountPath"] for m in r.container.get("volumeMounts", [])}
    for volume in r.pod["spec"].get("volumes", []):
        secret = volume.get("secret")
        if not secret or volume["name"] not in mounts:
            continue
        for item in secret.get("items", []):
            if f"{mounts[volume['name']]}/{item['path']}" == path:
                return "file"
    return f"{name}_FILE={path} is not a file of any mounted Secret"


def check_secrets(r):
    problems = []
    for name, needed in SECRET_SETTINGS.items():
        wiring = secret_wiring(r, name)
        if needed(r.config) and wiring not in ("env", "file"):
            problems.append(f"{name} is needed with this configuration but "
                            f"{wiring or 'is not wired'}")
        if not needed(r.config) and wiring:
            problems.append(f"{name} is wired ({wiring}) although this configuration does not "
                            "use it")
    return problems


def check_security(r):
    problems = []
    for deployment in r.all("Deployment"):
        spec = deployment["spec"]["template"]["spec"]
        where = deployment["metadata"]["name"]
        pod = spec.get("securityContext", {})
        if pod.get("runAsNonRoot") is not True or pod.get("runAsUser", 1) == 0:
            problems.append(f"{where}: the pod does not run as non-root")
        if pod.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{where}: no RuntimeDefault seccomp profile")
        for container in spec["containers"] + spec.get("initContainers", []):
            sc = container.get("securityContext", {})
            if sc.get("readOnlyRootFilesystem") is not True:
                problems.append(f"{where}/{container['name']}: root filesystem is not read-only")
            if sc.get("allowPrivilegeEscalation") is not False:
                problems.append(f"{where}/{container['name']}: privilege escalation allowed")
            if "ALL" not in sc.get("capabilities", {}).get("drop", []):
                problems.append(f"{where}/{container['name']}: capabilities not dropped")
            if sc.get("runAsUser") == 0:
                problems.append(f"{where}/{container['name']}: runs as root")
            if not container.get("resources", {}).get("requests"):
                problems.append(f"{where}/{container['name']}: no resource requests")
    if r.pod["spec"].get("automountServiceAccountToken") is not False:
        problems.append("the processor mounts a service account token it never uses")
    for secret in r.all("Secret"):
        # The chart references Secrets; the only one it renders is the operator's, empty.
        name = secret["metadata"]["name"]
        if secret.get("data") or secret.get("stringData"):
            problems.append(f"Secret {name} is rendered with values")
        if not r.operator():
            problems.append(f"Secret {name} is rendered without the operator")
    group = r.pod["spec"].get("securityContext", {}).get("fsGroup")
    for volume in r.pod["spec"].get("volumes", []):
        if "secret" in volume:
            if volume["secret"].get("defaultMode") != 0o440:
                problems.append(f"secret volume {volume['name']} is not mode 0440")
            if group is None:
                problems.append(f"secret volume {volume['name']} (0440) without an fsGroup")
    return problems


def check_shutdown(r):
    grace = r.config["event_processor"]["shutdown_grace_seconds"]
    pod_grace = r.pod["spec"].get("terminationGracePeriodSeconds", 30)
    if pod_grace <= grace:
        return [f"terminationGracePeriodSeconds {pod_grace} does not exceed "
                f"shutdown_grace_seconds {grace}"]
    return []


def check_mounts(r):
    problems = []
    for deployment in r.all("Deployment"):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            for mount in container.get("volumeMounts", []):
                if "subPath" in mount or "subPathExpr" in mount:
                    problems.append(f"{container['name']} mounts {mount['name']} with subPath "
                                    "(never updated by the kubelet)")
    clients_path = r.config["clients"]["value"]
    volumes = {v["name"]: v for v in r.pod["spec"]["volumes"]}
    for mount in r.container.get("volumeMounts", []):
        if clients_path.startswith(mount["mountPath"] + "/"):
            volume = volumes[mount["name"]]
            if "configMap" not in volume:
                problems.append(f"the clients file {clients_path} is not in a ConfigMap")
            elif volume["configMap"].get("items"):
                problems.append("the clients ConfigMap is mounted with items; mount the directory")
            break
    else:
        problems.append(f"the clients file {clients_path} is in no mounted volume")
    if r.config["clients"]["type"] != "file":
        problems.append("clients.type is not file")
    return problems


def check_selectors(r):
    problems = []
    labels = r.pod["metadata"]["labels"]
    selector = r.processor["spec"]["selector"]["matchLabels"]
    if set(selector) != SELECTOR_KEYS:
        problems.append(f"Deployment selector keys are {sorted(selector)}")
    for kind in ("Service", "PodDisruptionBudget", "NetworkPolicy"):
        for obj in r.all(kind, "processor"):
            spec = obj["spec"]
            sel = spec.get("selector") or spec.get("podSelector")
            sel = sel.get("matchLabels", sel)
            if not matches(sel, labels) or set(sel) != SELECTOR_KEYS:
                problems.append(f"{kind} {obj['metadata']['name']} does not select the processor "
                                "pods by name, instance and component")
    watched = set(r.watch_namespaces())
    for obj in r.objects:
        namespace = obj["metadata"].get("namespace")
        if obj["kind"] == "CustomResourceDefinition" or namespace == r.namespace:
            continue
        if obj["kind"] in ("Role", "RoleBinding") and namespace in watched and \
                obj["metadata"]["labels"].get("app.kubernetes.io/component") == "operator":
            continue  # the operator's access to a namespace it watches
        problems.append(f"{obj['kind']} {obj['metadata']['name']} is not in the release "
                        f"namespace (it is in {namespace})")
    return problems


def role_problems(role, allowed, names):
    """A Role's rules against `allowed` {(group, resource): verbs}: no wildcard, nothing beyond
    it, every permission in it granted, and resources in NAMED_ONLY limited to the objects
    `names` {resource: {name: verbs}} lists, each with exactly its verbs."""
    problems = []
    where = f"Role {role['metadata']['namespace']}/{role['metadata']['name']}"
    granted = {}
    granted_named = {}
    for rule in role.get("rules", []):
        groups = set(rule.get("apiGroups", []))
        resources = set(rule.get("resources", []))
        verbs = set(rule.get("verbs", []))
        if "*" in groups | resources | verbs:
            problems.append(f"{where}: wildcard in {rule}")
        if rule.get("nonResourceURLs"):
            problems.append(f"{where}: non-resource URLs {rule['nonResourceURLs']}")
        for group in groups:
            for resource in resources:
                key = (group, resource)
                label = f"{group or 'core'}/{resource}"
                if key not in allowed:
                    problems.append(f"{where}: access to {label} is not needed")
                    continue
                if not verbs <= allowed[key]:
                    problems.append(f"{where}: {label}: verbs {sorted(verbs - allowed[key])} "
                                    "are not needed")
                if resource in NAMED_ONLY:
                    wanted = names.get(resource, {})
                    listed = rule.get("resourceNames") or []
                    if not listed:
                        problems.append(f"{where}: {label} is not limited to named objects, "
                                        f"want {sorted(wanted)}")
                    for name in listed:
                        if name not in wanted:
                            problems.append(f"{where}: {label} {name} is not needed "
                                            f"(want only {sorted(wanted)})")
                        elif not verbs <= wanted[name]:
                            problems.append(f"{where}: {label} {name}: verbs "
                                            f"{sorted(verbs - wanted[name])} are not needed")
                        granted_named.setdefault((resource, name), set()).update(verbs)
                elif rule.get("resourceNames"):
                    problems.append(f"{where}: {label} has resourceNames, which list and watch "
                                    "ignore")
                granted.setdefault(key, set()).update(verbs)
    for key, verbs in allowed.items():
        if key[1] in NAMED_ONLY:
            for name, wanted in sorted(names.get(key[1], {}).items()):
                missing = wanted - granted_named.get((key[1], name), set())
                if missing:
                    problems.append(f"{where}: {key[0] or 'core'}/{key[1]} {name} lacks "
                                    f"{sorted(missing)}, which the operator needs")
            continue
        missing = verbs - granted.get(key, set())
        if missing:
            problems.append(f"{where}: {key[0] or 'core'}/{key[1]} lacks {sorted(missing)}, "
                            "which the operator needs")
    return problems


def check_rbac(r):
    problems = []
    if r.all("ClusterRole") or r.all("ClusterRoleBinding"):
        problems.append("cluster-wide RBAC objects are rendered")
    operator = r.operator()
    roles = r.all("Role")
    if not operator:
        return problems + ([f"Role without the operator: {roles}"] if roles else [])
    env = r.operator_env()
    secret_names = ((r.values.get("operator") or {}).get("secretNames")) or []
    names = {
        "configmaps": {env["OPERATOR_CLIENTS_CONFIGMAP"]["value"]:
                       OPERATOR_VERBS[("", "configmaps")]},
        "leases": {env["OPERATOR_LEASE_NAME"]["value"]:
                   OPERATOR_VERBS[("coordination.k8s.io", "leases")]},
        "deployments": {operator["metadata"]["name"]: OPERATOR_VERBS[("apps", "deployments")]},
        # Read the referenced Secrets; write (server-side apply: patch) only its own.
        "secrets": dict({name: REFERENCED_SECRET_VERBS for name in secret_names},
                        **{env["OPERATOR_CLIENT_SECRETS_SECRET"]["value"]:
                           OPERATOR_VERBS[("", "secrets")]}),
    }
    if env["OPERATOR_CLIENT_SECRETS_SECRET"]["value"] in secret_names:
        problems.append("operator.secretNames lists the Secret the operator writes")
    spec = operator["spec"]["template"]["spec"]
    account = spec["serviceAccountName"]
    if spec.get("automountServiceAccountToken") is False:
        problems.append("the operator's service account token is not mounted")
    by_namespace = {}
    for role in roles:
        by_namespace.setdefault(role["metadata"]["namespace"], []).append(role)
    wanted = {r.namespace} | set(r.watch_namespaces())
    if set(by_namespace) != wanted:
        problems.append(f"Roles in namespaces {sorted(by_namespace)}, want one in each of "
                        f"{sorted(wanted)} (release and watched namespaces)")
    for namespace, found in sorted(by_namespace.items()):
        if len(found) != 1:
            problems.append(f"{len(found)} Roles in namespace {namespace}")
        for role in found:
            if namespace == r.namespace:
                problems += role_problems(role, OPERATOR_VERBS, names)
            else:
                problems += role_problems(role, WATCH_VERBS, {})
    bound = set()
    for binding in r.all("RoleBinding"):
        namespace = binding["metadata"]["namespace"]
        subjects = {(s["kind"], s["name"], s.get("namespace")) for s in binding["subjects"]}
        if subjects != {("ServiceAccount", account, r.namespace)}:
            problems.append(f"RoleBinding {namespace}/{binding['metadata']['name']} binds "
                            f"{subjects}")
        ref = binding["roleRef"]
        if ref["kind"] != "Role" or not any(role["metadata"]["name"] == ref["name"]
                                            for role in by_namespace.get(namespace, [])):
            problems.append(f"RoleBinding {namespace}/{binding['metadata']['name']} refers to "
                            f"{ref['kind']} {ref['name']}, not the Role of its namespace")
        bound.add(namespace)
    if bound != set(by_namespace):
        problems.append(f"RoleBindings in {sorted(bound)}, Roles in {sorted(by_namespace)}")
    return problems


def client_secrets_problems(r, secret, relative_dir):
    """The Secret the operator copies the clients' keys into: created empty by the chart (the
    operator may not create it), mounted whole and read-only in the processor pods, at the place
    OPERATOR_CLIENT_SECRETS_DIR names relative to the clients file's folder."""
    problems = []
    rendered = [o for o in r.all("Secret") if o["metadata"]["name"] == secret]
    if len(rendered) != 1:
        problems.append(f"the chart renders {len(rendered)} Secrets named {secret} "
                        "(OPERATOR_CLIENT_SECRETS_SECRET; the operator has no create)")
    elif rendered[0]["metadata"].get("annotations", {}).get("anchor-events.io/managed-by") != \
            "operator":
        problems.append(f"Secret {secret} is not annotated anchor-events.io/managed-by: operator")
    if not relative_dir or relative_dir.startswith("/"):
        problems.append(f"OPERATOR_CLIENT_SECRETS_DIR {relative_dir!r} is not relative to the "
                        "clients file's folder")
        return problems
    clients_dir = posixpath.dirname(r.config["clients"]["value"])
    want = posixpath.normpath(posixpath.join(clients_dir, relative_dir))
    volumes = [v for v in r.pod["spec"]["volumes"]
               if v.get("secret", {}).get("secretName") == secret]
    if len(volumes) != 1:
        return problems + [f"the processor pods have {len(volumes)} volumes of Secret {secret}"]
    volume = volumes[0]
    if volume["secret"].get("items"):
        problems.append(f"Secret {secret} is mounted with items; mount it whole (its keys are "
                        "the operator's)")
    if volume["secret"].get("defaultMode") != 0o440:
        problems.append(f"Secret {secret} is mounted with mode "
                        f"{oct(volume['secret'].get('defaultMode', 0o644))}, want 0440")
    mounts = [m for m in r.container.get("volumeMounts", []) if m["name"] == volume["name"]]
    if [m["mountPath"] for m in mounts] != [want]:
        problems.append(f"Secret {secret} is mounted at {[m['mountPath'] for m in mounts]}; the "
                        f"clients file names its keys as {relative_dir}/<key>, which is {want}")
    elif not mounts[0].get("readOnly"):
        problems.append(f"Secret {secret} is not mounted read-only")
    return problems


def check_operator(r):
    """The operator's environment is its contract (docs/kubernetes.md): every variable set, each
    naming what the chart really renders; probes on its own management port; the processor's
    NetworkPolicy lets it read /status."""
    operator = r.operator()
    if not operator:
        return []
    problems = []
    spec = operator["spec"]["template"]["spec"]
    container = spec["containers"][0]
    env = r.operator_env()
    values = r.values.get("operator") or {}
    if container.get("args") != ["operator"]:
        problems.append(f"the operator container runs {container.get('args')}, not operator")
    for name in OPERATOR_ENV:
        if name not in env:
            problems.append(f"{name} is not set")
    names = [e["name"] for e in container.get("env", [])]
    for name in sorted({n for n in names if names.count(n) > 1}):
        problems.append(f"{name} is set more than once")
    if problems:
        return problems

    def value(name):
        return env[name].get("value")

    def field(name):
        return env[name].get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")

    if field("OPERATOR_NAMESPACE") != "metadata.namespace":
        problems.append("OPERATOR_NAMESPACE is not the pod's metadata.namespace")
    if field("OPERATOR_IDENTITY") != "metadata.name":
        problems.append("OPERATOR_IDENTITY is not the pod's metadata.name")
    watched = r.watch_namespaces()
    want_watched = values.get("watchNamespaces") or [r.namespace]
    if watched != want_watched or not all(DNS_LABEL.match(n) for n in watched):
        problems.append(f"OPERATOR_WATCH_NAMESPACES is {value('OPERATOR_WATCH_NAMESPACES')!r}, "
                        f"want {','.join(want_watched)!r}")
    # The clients ConfigMap and key: the ones the processor mounts and reads.
    clients_path = r.config["clients"]["value"]
    mounts = {m["name"]: m["mountPath"] for m in r.container.get("volumeMounts", [])}
    mounted = [v["configMap"]["name"] for v in r.pod["spec"]["volumes"]
               if "configMap" in v and v["name"] in mounts
               and clients_path.startswith(mounts[v["name"]] + "/")]
    if mounted != [value("OPERATOR_CLIENTS_CONFIGMAP")]:
        problems.append(f"OPERATOR_CLIENTS_CONFIGMAP is {value('OPERATOR_CLIENTS_CONFIGMAP')}, the "
                        f"processor mounts its clients file from {mounted}")
    if clients_path.rsplit("/", 1)[-1] != value("OPERATOR_CLIENTS_KEY"):
        problems.append(f"OPERATOR_CLIENTS_KEY is {value('OPERATOR_CLIENTS_KEY')}, the processor "
                        f"reads {clients_path}")
    config_maps = {o["metadata"]["name"]: o for o in r.all("ConfigMap")}
    rendered = config_maps.get(value("OPERATOR_CLIENTS_CONFIGMAP"))
    if not rendered:
        problems.append("the chart does not create the clients ConfigMap the operator writes "
                        "(its Role has no create)")
    elif value("OPERATOR_CLIENTS_KEY") not in rendered.get("data", {}):
        problems.append("the clients ConfigMap the chart creates has no "
                        f"{value('OPERATOR_CLIENTS_KEY')}")
    problems += client_secrets_problems(r, value("OPERATOR_CLIENT_SECRETS_SECRET"),
                                        value("OPERATOR_CLIENT_SECRETS_DIR"))
    leases = [o["metadata"]["name"] for o in r.all("Lease")]
    if leases != [value("OPERATOR_LEASE_NAME")]:
        problems.append(f"OPERATOR_LEASE_NAME is {value('OPERATOR_LEASE_NAME')}, the chart creates "
                        f"Leases {leases}")
    if value("OPERATOR_LEADER_ELECTION") != "true":
        problems.append(f"OPERATOR_LEADER_ELECTION is {value('OPERATOR_LEADER_ELECTION')!r}")
    for name, key, default in (("OPERATOR_LEASE_DURATION_SECONDS", "leaseDurationSeconds", 15),
                               ("OPERATOR_RESYNC_SECONDS", "resyncSeconds", 30)):
        want = str(values.get(key, default))
        if value(name) != want:
            problems.append(f"{name} is {value(name)!r}, operator.{key} is {want}")
    service = r.one("Service", "processor")
    if value("OPERATOR_PROCESSOR_SERVICE") != service["metadata"]["name"]:
        problems.append(f"OPERATOR_PROCESSOR_SERVICE is {value('OPERATOR_PROCESSOR_SERVICE')}, "
                        f"the processor's Service is {service['metadata']['name']}")
    service_ports = {p["port"] for p in service["spec"]["ports"]}
    if value("OPERATOR_PROCESSOR_PORT") != str(r.management_port()) or \
            r.management_port() not in service_ports:
        problems.append(f"OPERATOR_PROCESSOR_PORT is {value('OPERATOR_PROCESSOR_PORT')}, the "
                        f"processor's management port {r.management_port()}, the Service's "
                        f"{sorted(service_ports)}")
    port = {p["name"]: p["containerPort"] for p in container.get("ports", [])}.get("management")
    want_port = values.get("managementPort", 9089)
    if value("OPERATOR_MANAGEMENT_SERVER_PORT") != str(port) or port != want_port:
        problems.append(f"OPERATOR_MANAGEMENT_SERVER_PORT is "
                        f"{value('OPERATOR_MANAGEMENT_SERVER_PORT')}, container port management "
                        f"is {port}, operator.managementPort is {want_port}")
    if value("OPERATOR_OWNER_DEPLOYMENT") != operator["metadata"]["name"]:
        problems.append(f"OPERATOR_OWNER_DEPLOYMENT is {value('OPERATOR_OWNER_DEPLOYMENT')}, the "
                        f"operator's Deployment is {operator['metadata']['name']}")
    if value("OPERATOR_LOG_LEVEL") not in LOG_LEVELS:
        problems.append(f"OPERATOR_LOG_LEVEL is {value('OPERATOR_LOG_LEVEL')!r}")
    for probe, path in (("livenessProbe", "/livez"), ("readinessProbe", "/readyz")):
        get = container.get(probe, {}).get("httpGet")
        if not get:
            problems.append(f"operator {probe} is missing or not an HTTP probe")
        elif container_port(container, get["port"]) != port or get.get("path") != path:
            problems.append(f"operator {probe} is {get.get('path')} on {get['port']}, want {path} "
                            f"on the operator's management port {port}")
    labels = operator["spec"]["template"]["metadata"]["labels"]
    for policy in r.all("NetworkPolicy", "processor"):
        admitted = False
        for rule in policy["spec"].get("ingress", []):
            ports = [container_port(r.container, p.get("port")) for p in rule.get("ports", [])]
            if rule.get("ports") and r.management_port() not in ports:
                continue
            peers = rule.get("from")
            if not peers or any(set(p) == {"podSelector"}
                                and matches(p["podSelector"].get("matchLabels", {}), labels)
                                for p in peers):
                admitted = True
        if not admitted:
            problems.append(f"NetworkPolicy {policy['metadata']['name']} keeps the operator from "
                            "the processor pods' /status")
    for monitor in r.all("PodMonitor", "operator"):
        if not matches(monitor["spec"]["selector"]["matchLabels"], labels):
            problems.append("the operator's PodMonitor does not select its pods")
        for endpoint in monitor["spec"]["podMetricsEndpoints"]:
            if container_port(container, endpoint.get("port")) != port:
                problems.append(f"the operator's PodMonitor scrapes {endpoint.get('port')}, not "
                                "its management port")
    return problems


CHECKS = [
    ("management port: container, probes, Service and ServiceMonitor", check_ports),
    ("secrets wired whenever the configuration needs them", check_secrets),
    ("non-root, read-only root filesystem, restricted security context", check_security),
    ("termination grace exceeds the shutdown grace", check_shutdown),
    ("clients from a ConfigMap directory, no subPath", check_mounts),
    ("selectors and namespaces", check_selectors),
    ("operator RBAC is least privilege (and complete)", check_rbac),
    ("operator environment contract, probes on its management port, reach to /status",
     check_operator),
]
