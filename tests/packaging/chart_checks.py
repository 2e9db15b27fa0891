"""Assertions on the objects the chart renders for one set of values. Each check returns the
problems it found (an empty list when the chart is right)."""
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
OPERATOR_VERBS = {
    ("anchor-events.io", "callbackclients"): {"get", "list", "watch"},
    ("anchor-events.io", "callbackclients/status"): {"get", "update", "patch"},
    ("", "configmaps"): {"get", "update", "patch"},
    ("coordination.k8s.io", "leases"): {"get", "update", "patch"},
    ("", "events"): {"create", "patch"},
    ("events.k8s.io", "events"): {"create", "patch"},
    ("discovery.k8s.io", "endpointslices"): {"list", "watch"},
    ("", "secrets"): {"get", "watch"},
}
NAMED_ONLY = {"configmaps", "leases", "secrets"}


class Rendered:
    """The objects of one rendering, with the processor's pieces looked up once."""

    def __init__(self, documents, namespace):
        self.namespace = namespace
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
    for obj in r.objects:
        if obj["kind"] != "CustomResourceDefinition" and \
                obj["metadata"].get("namespace") != r.namespace:
            problems.append(f"{obj['kind']} {obj['metadata']['name']} is not in the release "
                            "namespace")
    return problems


def rule_problems(rule):
    problems = []
    groups = set(rule.get("apiGroups", []))
    resources = set(rule.get("resources", []))
    verbs = set(rule.get("verbs", []))
    if "*" in groups | resources | verbs:
        problems.append(f"wildcard in {rule}")
    for group in groups:
        for resource in resources:
            allowed = OPERATOR_VERBS.get((group, resource))
            if allowed is None:
                problems.append(f"access to {group or 'core'}/{resource} is not needed")
            elif not verbs <= allowed:
                problems.append(f"{group or 'core'}/{resource}: verbs {sorted(verbs - allowed)} "
                                "are not needed")
            if resource in NAMED_ONLY and not rule.get("resourceNames"):
                problems.append(f"{resource} access is not limited to named objects")
    return problems


def check_rbac(r):
    problems = []
    if r.all("ClusterRole") or r.all("ClusterRoleBinding"):
        problems.append("cluster-wide RBAC objects are rendered")
    operators = r.all("Deployment", "operator")
    roles = r.all("Role")
    if not operators:
        return problems + ([f"Role without the operator: {roles}"] if roles else [])
    for role in roles:
        for rule in role["rules"]:
            problems += rule_problems(rule)
    account = operators[0]["spec"]["template"]["spec"]["serviceAccountName"]
    for binding in r.all("RoleBinding"):
        subjects = {(s["kind"], s["name"]) for s in binding["subjects"]}
        if subjects != {("ServiceAccount", account)}:
            problems.append(f"RoleBinding {binding['metadata']['name']} binds {subjects}")
    return problems


CHECKS = [
    ("management port: container, probes, Service and ServiceMonitor", check_ports),
    ("secrets wired whenever the configuration needs them", check_secrets),
    ("non-root, read-only root filesystem, restricted security context", check_security),
    ("termination grace exceeds the shutdown grace", check_shutdown),
    ("clients from a ConfigMap directory, no subPath", check_mounts),
    ("selectors and namespaces", check_selectors),
    ("operator RBAC is least privilege", check_rbac),
]
