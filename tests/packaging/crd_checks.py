"""The CallbackClient CRD: its schema is structural and documented, the chart ships the same
file, and the samples in examples/callbackclients validate against it (OpenAPI schema with
unknown fields refused, as kubectl's strict field validation does, plus the CEL rules), while
every sample in invalid/ is refused with the error its `# expect:` line names."""
import base64
import copy
import pathlib
import re

import celpy
import jsonschema
import yaml

from render import CRD_CHART_COPY, CRD_SOURCE, NAMESPACE, ROOT

SAMPLES = ROOT / "examples" / "callbackclients"
STATUS_SAMPLE = pathlib.Path(__file__).parent / "callbackclient-status.yaml"
PEM = "-----BEGIN CERTIFICATE-----\nsample\n-----END CERTIFICATE-----\n"
KEY_PEM = "-----BEGIN PRIVATE KEY-----\nsample\n-----END PRIVATE KEY-----\n"
# A Standard Webhooks v1 secret of the processor's format: whsec_ and the base64 of 32 bytes.
WEBHOOK_SECRET = "whsec_" + base64.b64encode(bytes(range(32))).decode() + "\n"
# The operator's defaults (docs/kubernetes.md, "The operator"): where the clients file's items
# find the copies of the clients' keys, relative to the clients file's folder.
CLIENT_SECRETS_DIR = "../client-secrets"
DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def load_crd():
    return yaml.safe_load(CRD_SOURCE.read_text())


def version_schema(crd):
    (version,) = [v for v in crd["spec"]["versions"] if v["storage"]]
    return version, version["schema"]["openAPIV3Schema"]


def check_chart_copy():
    if CRD_CHART_COPY.read_bytes() != CRD_SOURCE.read_bytes():
        return [f"{CRD_CHART_COPY.relative_to(ROOT)} differs from {CRD_SOURCE.relative_to(ROOT)} "
                "(crds/ is the source; run scripts/check-packaging.sh --update)"]
    return []


def walk(schema, path, visit):
    visit(schema, path)
    for name, sub in schema.get("properties", {}).items():
        walk(sub, f"{path}.{name}", visit)
    if "items" in schema:
        walk(schema["items"], f"{path}[]", visit)


def check_structure(crd):
    """Every field typed and described; optional spec fields say what their absence means;
    required fields exist; lists and strings bounded (CEL cost); CEL rules compile."""
    version, schema = version_schema(crd)
    problems = []
    env = celpy.Environment()

    def visit(node, path):
        if path.endswith(".metadata") and path.count(".") == 1:
            return
        if "type" not in node:
            problems.append(f"{path}: no type")
        if path != "$" and not node.get("description"):
            problems.append(f"{path}: no description")
        for name in node.get("required", []):
            if name not in node.get("properties", {}):
                problems.append(f"{path}: required {name} is not a property")
        if node.get("type") == "array" and "maxItems" not in node:
            problems.append(f"{path}: list without maxItems")
        if node.get("type") == "string" and not ({"maxLength", "enum", "format"} & set(node)):
            if not path.endswith(("apiVersion", "kind")):
                problems.append(f"{path}: string without maxLength")
        optional = set(node.get("properties", {})) - set(node.get("required", []))
        if path.startswith("$.spec") or path.startswith("$.status"):
            for name in optional:
                sub = node["properties"][name]
                text = sub.get("description", "")
                if sub.get("type") in ("object", "array", "string", "integer", "boolean") and \
                        not re.search(r"\bAbsent\b|\babsent\b|\bAbsent:|not recorded|May be empty",
                                      text) and "default" not in sub:
                    problems.append(f"{path}.{name}: description does not say what absence means")
        for rule in node.get("x-kubernetes-validations", []):
            try:
                env.compile(rule["rule"])
            except celpy.CELParseError as error:
                problems.append(f"{path}: CEL rule does not compile: {error}")
            if not rule.get("message"):
                problems.append(f"{path}: CEL rule without a message")

    walk(schema, "$", visit)
    if version.get("subresources", {}).get("status") != {}:
        problems.append("no status subresource")
    columns = [c["name"] for c in version.get("additionalPrinterColumns", [])
               if not c.get("priority")]
    if columns[:1] != ["Ready"] or not {"Type", "Age"} <= set(columns):
        problems.append(f"printer columns are {columns}; want Ready first, Type and Age")
    status = schema["properties"]["status"]["properties"]
    if "observedGeneration" not in status or "conditions" not in status:
        problems.append("status lacks observedGeneration or conditions")
    elif status["conditions"].get("x-kubernetes-list-map-keys") != ["type"]:
        problems.append("conditions are not a map keyed by type")
    return problems


def strict(schema):
    """The schema with unknown fields refused (except metadata, which the API server checks)."""
    schema = copy.deepcopy(schema)

    def visit(node, path):
        if node.get("type") == "object" and "properties" in node and \
                "additionalProperties" not in node and \
                not node.get("x-kubernetes-preserve-unknown-fields"):
            node["additionalProperties"] = False

    walk(schema, "$", visit)
    schema["properties"]["metadata"] = {"type": "object"}
    return schema


def cel_errors(schema, value, path="self"):
    """The messages of the CEL rules `value` breaks, evaluated where the API server would."""
    errors = []
    env = celpy.Environment()
    for rule in schema.get("x-kubernetes-validations", []):
        program = env.program(env.compile(rule["rule"]))
        result = program.evaluate({"self": celpy.json_to_cel(value)})
        if not (isinstance(result, celpy.celtypes.BoolType) and bool(result)):
            errors.append(f"{path}: {rule['message'].strip()}")
    if isinstance(value, dict):
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                errors += cel_errors(sub, value[name], f"{path}.{name}")
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            errors += cel_errors(schema["items"], item, f"{path}[{index}]")
    return errors


def validation_errors(crd, resource):
    version, schema = version_schema(crd)
    group = crd["spec"]["group"]
    errors = []
    if resource.get("apiVersion") != f"{group}/{version['name']}" or \
            resource.get("kind") != crd["spec"]["names"]["kind"]:
        errors.append(f"apiVersion/kind {resource.get('apiVersion')}/{resource.get('kind')}")
    name = resource.get("metadata", {}).get("name", "")
    if not DNS_SUBDOMAIN.match(name) or len(name) > 253:
        errors.append(f"metadata.name {name!r} is not a DNS subdomain")
    validator = jsonschema.Draft7Validator(strict(schema))
    errors += [f"{'.'.join(map(str, e.absolute_path)) or '$'}: {e.message}"
               for e in validator.iter_errors(resource)]
    if not errors:
        errors += cel_errors(schema, resource)
    return errors


def expected_error(path):
    for line in path.read_text().splitlines():
        if line.startswith("# expect:"):
            return line[len("# expect:"):].strip()
    return None


def sample_results():
    """(name, problems) for every sample: valid ones must pass, invalid ones fail as expected."""
    crd = load_crd()
    results = []
    valid = sorted(SAMPLES.glob("*.yaml")) + [STATUS_SAMPLE]
    for path in valid:
        errors = validation_errors(crd, yaml.safe_load(path.read_text()))
        results.append((f"valid sample {path.name}", errors))
    for path in sorted((SAMPLES / "invalid").glob("*.yaml")):
        want = expected_error(path)
        errors = validation_errors(crd, yaml.safe_load(path.read_text()))
        if want is None:
            problems = ["no '# expect:' line"]
        elif not errors:
            problems = [f"accepted; expected: {want}"]
        elif not any(want in e for e in errors):
            problems = [f"refused for another reason: {errors}; expected: {want}"]
        else:
            problems = []
        results.append((f"invalid sample {path.name} is refused", problems))
    return results


def client_secret_keys(resource):
    """{clients-file field: key in the operator's client-secrets Secret} of a CallbackClient's
    secret references (docs/kubernetes.md): unique across watched namespaces."""
    spec = resource["spec"]
    suffix = f"{resource['metadata'].get('namespace', NAMESPACE)}-{resource['metadata']['name']}"
    keys = {}
    if "clientCertSecretRef" in spec:
        keys["client_cert_file"] = f"tls-crt-{suffix}.pem"
        keys["client_key_file"] = f"tls-key-{suffix}.pem"
    if "webhookSecretRef" in spec:
        keys["webhook_secret_file"] = f"whsec-{suffix}"
    if "webhookSecretPreviousRef" in spec:
        keys["webhook_secret_previous_file"] = f"whsec-previous-{suffix}"
    return keys


def client_secret_content(field):
    """Sample content of a copied key, in the format the processor checks."""
    return {"client_cert_file": PEM, "client_key_file": KEY_PEM}.get(field, WEBHOOK_SECRET)


def to_clients_item(resource, secrets_dir=CLIENT_SECRETS_DIR):
    """The clients-file item the operator renders from a CallbackClient (docs/kubernetes.md);
    `secrets_dir` is OPERATOR_CLIENT_SECRETS_DIR."""
    spec = resource["spec"]
    item = {"name": spec.get("name", resource["metadata"]["name"]), "type": spec["type"]}
    renames = {"signingKeys": "signing_keys", "domains": "domains", "callbackUrls": "callback_urls",
               "maxAttempts": "max_attempts", "initialBackoffMs": "initial_backoff_ms",
               "maxBackoffMs": "max_backoff_ms", "maxInFlight": "max_in_flight",
               "requestTimeoutMs": "request_timeout_ms", "standardWebhooks": "standard_webhooks",
               "allowedNetworks": "allowed_networks",
               "allowAnyDestination": "allow_any_destination",
               "destinationAccounts": "destination_accounts"}
    for field, key in renames.items():
        if field in spec:
            item[key] = spec[field]
    if "caSecretRef" in spec:
        # The PEM goes into the same ConfigMap, under a key unique across watched namespaces.
        namespace = resource["metadata"].get("namespace", NAMESPACE)
        item["ca_file"] = f"ca-{namespace}-{resource['metadata']['name']}.pem"
    for field, key in client_secret_keys(resource).items():
        # Key material goes into the client-secrets Secret, never into the ConfigMap.
        item[field] = f"{secrets_dir}/{key}"
    return item


def clients_file_from_samples(directory, secrets_directory=None, secrets_dir=CLIENT_SECRETS_DIR,
                              file_name="clients.yaml"):
    """Writes the valid samples as the operator would render them: the clients file and its CA
    bundles into `directory` (the ConfigMap), the copied certificates, keys and webhook secrets
    into `secrets_directory` (the client-secrets Secret; default: `secrets_dir` resolved from
    `directory`), which the items name as <secrets_dir>/<key>. Returns the file and the number
    of clients."""
    if secrets_directory is None:
        secrets_directory = directory / secrets_dir
    items, files, secrets = [], {}, {}
    for path in sorted(SAMPLES.glob("*.yaml")):
        resource = yaml.safe_load(path.read_text())
        item = to_clients_item(resource, secrets_dir)
        items.append(item)
        if "ca_file" in item:
            files[item["ca_file"]] = PEM
        for field, key in client_secret_keys(resource).items():
            secrets[key] = client_secret_content(field)
    for name, text in files.items():
        (directory / name).write_text(text)
    if secrets:
        secrets_directory.mkdir(parents=True, exist_ok=True)
        for name, text in secrets.items():
            (secrets_directory / name).write_text(text)
    clients = directory / file_name
    clients.write_text(yaml.safe_dump({"revision": "1", "items": items}, sort_keys=False))
    return clients, len(items)
