#!/usr/bin/env python3
"""The packaging checks (issue 4): the CRD and its samples, helm lint, every rendering of the
chart (defaults and each helm/anchor-events/ci/*-values.yaml) validated strictly against the
Kubernetes schemas and asserted on, the rendered processor accepted by the real binary, the
metrics of the alerts and the dashboard exported by a running processor, and manifests/ equal
to the chart's defaults.

Run it through scripts/check-packaging.sh, which provides the tools. Prints one line per check
and ends with "N passed, M failed"; exits 1 when any check failed.
"""
import argparse
import pathlib
import subprocess
import sys
import tempfile
import traceback

import kubernetes_validate
import yaml

import chart_checks
import crd_checks
import metric_checks
import processor_checks
from render import CHART, CRD_CHART_COPY, CRD_SOURCE, MANIFESTS, NAMESPACE, Document, Helm, \
    RenderError, render_manifests

KUBERNETES_VERSIONS = ["1.30.0", "1.37.0"]
MONITORING_KINDS = {"ServiceMonitor", "PodMonitor", "PrometheusRule"}
# Values the chart must refuse, and a phrase of the refusal.
BAD_VALUES = [
    (["--set", "secrets.signingSeed.existingSecret="],
     "secrets.signingSeed.existingSecret is required"),
    (["--set", "config.event_processor.callback_api_request.enabled=true"], "base_url is required"),
    (["--set", "config.event_processor.management_server_port=0"], "management_server_port"),
    (["--set", "securityContext.readOnlyRootFilesystem=false"], "readOnlyRootFilesystem"),
    (["--set", "podSecurityContext.runAsNonRoot=false"], "runAsNonRoot"),
    (["--set", "config.event_processor.unknown_setting=1"], "unknown_setting"),
    (["--set", "clients.source=operator"], "needs operator.enabled"),
    (["--set", "operator.enabled=true"], "needs clients.source operator"),
    (["--set", "operator.enabled=true", "--set", "clients.source=operator",
      "--set-json", 'operator.watchNamespaces=["Wallets_A"]'], "watchNamespaces"),
    (["--set", "operator.enabled=true", "--set", "clients.source=operator",
      "--set", "operator.leaseDurationSeconds=0"], "leaseDurationSeconds"),
    (["--set", "config.event.queue.kafka.security_protocol=SASL_SSL",
      "--set", "config.event.queue.kafka.sasl_mechanism=PLAIN"],
     "kafkaSasl.existingSecret is required"),
    (["--set", "operator.enabled=true", "--set", "clients.source=operator",
      "--set-json", 'operator.secretNames=["anchor-events-client-secrets"]'],
     "operator.secretNames cannot name anchor-events-client-secrets"),
    (["--set", "config.event_processor.client_status_callback.enabled=false",
      "--set", "secrets.signingSeedPrevious.existingSecret=old-seed"],
     "secrets.signingSeedPrevious is only used with wallet callbacks"),
    (["--set", "secrets.callbackApiClientCert.existingSecret=business-tls",
      "--set", "secrets.callbackApiClientCert.keyKey=tls.crt"],
     "certificateKey and keyKey must be different"),
    (["--set", "config.event_processor.client_status_callback.max_attempts=0"], "max_attempts"),
    (["--set-json", 'clients.items=[{"name":"w","type":"custodial","domains":["w.example"]}]'],
     "clients"),
]


class Report:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, name, problems):
        if problems:
            self.failed += 1
            print(f"FAIL  {name}")
            for problem in problems:
                print("      " + str(problem).replace("\n", "\n      "))
        else:
            self.passed += 1
            print(f"ok    {name}")
        sys.stdout.flush()

    def guarded(self, name, function, *args):
        try:
            problems = function(*args)
        except Exception:  # a check that crashes is a failed check, with its trace
            problems = [traceback.format_exc()]
        self.check(name, problems)


def validate_kubernetes(documents, monitoringcheck, workdir):
    problems = []
    monitoring = []
    for index, document in enumerate(documents):
        obj = document.obj
        where = f"{obj['kind']} {obj['metadata']['name']}"
        if obj["kind"] in MONITORING_KINDS:
            name = f"{index:02d}-{obj['kind']}-{obj['metadata']['name']}.yaml"
            path = pathlib.Path(workdir) / name
            path.write_text(document.text)
            monitoring.append(str(path))
            continue
        for version in KUBERNETES_VERSIONS:
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as error:
                problems.append(f"{where} (Kubernetes {version}): {error.message}")
            except kubernetes_validate.SchemaNotFoundError:
                problems.append(f"{where}: Kubernetes {version} has no schema for it")
    if monitoring:
        # One rendering at a time: the files of the previous one are replaced.
        result = subprocess.run([monitoringcheck, *monitoring], capture_output=True, text=True)
        if result.returncode != 0:
            problems.append("Prometheus Operator objects:\n" + result.stdout + result.stderr)
    return problems


def scenarios():
    files = sorted((CHART / "ci").glob("*-values.yaml"))
    return [("defaults", None)] + [(p.name, p) for p in files]


def check_crd(report, binary, workdir):
    report.check("CRD: the chart's copy is crds/'s file", crd_checks.check_chart_copy())
    crd = crd_checks.load_crd()
    report.guarded("CRD: structural, every field described, absence explained, CEL compiles",
                   crd_checks.check_structure, crd)
    report.guarded("CRD: valid against the Kubernetes schemas", validate_kubernetes,
                   [Document("crds", CRD_SOURCE.read_text(), crd)], None, workdir)
    for name, problems in crd_checks.sample_results():
        report.check(f"CRD: {name}", problems)

    def samples_accepted():
        # The clients ConfigMap's folder; the client-secrets Secret is its sibling
        # (crd_checks.CLIENT_SECRETS_DIR), as in the chart's pod.
        directory = processor_checks.tmpdir(workdir, "crd-samples/clients")
        clients, count = crd_checks.clients_file_from_samples(directory)
        env = {"EVENT_QUEUE_KAFKA_BOOTSTRAP_SERVER": "kafka:9092", "CLIENTS_VALUE": str(clients)}
        code, output = processor_checks.run_check_config(binary, env, cwd=directory)
        if code != 0:
            return [f"check-config refuses the samples as the operator renders them:\n{output}"]
        described = processor_checks.described(output)
        loaded = described.get("clients")
        problems = [] if loaded == str(count) else [f"the processor loads {loaded} of {count}"]
        return problems + processor_checks.client_files_resolved(
            described, yaml.safe_load(clients.read_text())["items"], directory)

    report.guarded("CRD: the samples, rendered as a clients file, pass the processor's validation",
                   samples_accepted)


def check_scenario(report, helm, binary, monitoringcheck, name, values, workdir):
    code, output = helm.lint(values)
    report.check(f"{name}: helm lint --strict", [] if code == 0 else [output])
    try:
        documents = helm.template(values)
    except RenderError as error:
        report.check(f"{name}: helm template", [str(error)])
        return None
    report.check(f"{name}: helm template", [])
    report.guarded(f"{name}: NOTES.txt renders and says how to check readiness",
                   check_notes, helm, values)
    report.guarded(f"{name}: every object valid (Kubernetes {', '.join(KUBERNETES_VERSIONS)}, "
                   "strict; Prometheus Operator types, strict)",
                   validate_kubernetes, documents, monitoringcheck, workdir)
    values_doc = yaml.safe_load(values.read_text()) if values else {}
    effective = merged(yaml.safe_load((CHART / "values.yaml").read_text()), values_doc)
    rendered = chart_checks.Rendered(documents, NAMESPACE, effective)
    for title, check in chart_checks.CHECKS:
        report.guarded(f"{name}: {title}", check, rendered)
    source = (values_doc.get("clients") or {}).get("source", "values")
    items = (values_doc.get("clients") or {}).get("items", [])
    expected = items if source == "values" else []
    report.guarded(f"{name}: the rendered processor (config, mounts, env) passes check-config",
                   processor_checks.check_pod_accepted, rendered, binary,
                   processor_checks.tmpdir(workdir, f"pod-{name}"), expected)
    if rendered.operator():
        report.guarded(f"{name}: the operator's rendering of the samples (clients file, copied "
                       "keys and webhook secrets) passes check-config in the rendered pod",
                       processor_checks.check_operator_output_accepted, rendered, binary,
                       processor_checks.tmpdir(workdir, f"pod-operator-{name}"))
    return documents


def merged(defaults, overrides):
    """Values as Helm coalesces them: maps merge key by key, anything else is replaced."""
    result = dict(defaults)
    for key, value in (overrides or {}).items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def check_notes(helm, values):
    notes = helm.notes(values)
    problems = [f"NOTES.txt lacks {phrase!r}" for phrase in ("rollout status", "/readyz", "logs")
                if phrase not in notes]
    return problems + ([f"NOTES.txt has an unrendered template: {notes}"] if "{{" in notes else [])


def check_refusals(report, helm):
    for args, phrase in BAD_VALUES:
        try:
            helm.template(extra=args)
            problems = [f"rendered although {' '.join(args)}"]
        except RenderError as error:
            problems = [] if phrase in str(error) else [f"refused, but not for {phrase!r}: {error}"]
        report.check(f"refuses {' '.join(args[1::2])}", problems)


def check_metrics(report, binary, monitoring_documents):
    try:
        families = metric_checks.scrape_demo(binary)
    except Exception as error:
        report.check("metrics: scrape a running processor (anchor-events demo)", [str(error)])
        return
    report.check(f"metrics: scraped {len(families)} series names from a running processor", [])
    rules = list(metric_checks.rule_expressions(monitoring_documents))
    report.check(f"metrics: the PrometheusRule's {len(rules)} alerts query exported metrics "
                 "and labels",
                 metric_checks.check_expressions(rules, families))
    dashboard = metric_checks.load_dashboard(CHART)
    report.check("metrics: the dashboard's queries use exported metrics and labels",
                 metric_checks.check_expressions(
                     metric_checks.dashboard_expressions(dashboard), families))
    report.check("dashboard: panels for throughput, outcomes, latency, lag, circuits",
                 metric_checks.check_dashboard_shape(dashboard))


def check_manifests(report, helm, update):
    if update:
        CRD_CHART_COPY.write_bytes(CRD_SOURCE.read_bytes())
    wanted = render_manifests(helm)
    if update:
        MANIFESTS.mkdir(exist_ok=True)
        for old in MANIFESTS.glob("*.yaml"):
            if old.name not in wanted:
                old.unlink()
        for name, text in wanted.items():
            (MANIFESTS / name).write_text(text)
        print(f"updated {len(wanted)} files in manifests/ and the chart's CRD copy")
    present = {p.name: p.read_text() for p in MANIFESTS.glob("*.yaml")}
    problems = []
    for name in sorted(set(wanted) | set(present)):
        if name not in present:
            problems.append(f"manifests/{name} is missing")
        elif name not in wanted:
            problems.append(f"manifests/{name} is not rendered by the chart any more")
        elif present[name] != wanted[name]:
            problems.append(f"manifests/{name} differs from the chart's rendering")
    if problems:
        problems.append("run scripts/check-packaging.sh --update and commit manifests/")
    report.check(f"manifests/: {len(wanted)} files, one object each, equal to the chart's defaults",
                 problems)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--helm", required=True)
    parser.add_argument("--binary", required=True, help="the anchor-events binary")
    parser.add_argument("--monitoringcheck", required=True)
    parser.add_argument("--update", action="store_true",
                        help="rewrite manifests/ and the chart's CRD copy first")
    args = parser.parse_args()
    helm = Helm(args.helm)
    report = Report()
    if args.update:
        check_manifests(report, helm, update=True)
    with tempfile.TemporaryDirectory(prefix="anchor-events-packaging-") as workdir:
        check_crd(report, args.binary, workdir)
        monitoring_documents = []
        for name, values in scenarios():
            documents = check_scenario(report, helm, args.binary, args.monitoringcheck, name,
                                       values, workdir)
            if documents and any(d.obj["kind"] == "PrometheusRule" for d in documents):
                monitoring_documents = documents
        report.check("a scenario renders the PrometheusRule and ServiceMonitor",
                     [] if monitoring_documents else ["none does"])
        check_refusals(report, helm)
        report.guarded("values.yaml config: every processor setting, with the processor's defaults",
                       processor_checks.check_values_match_settings, args.binary)
        report.guarded("values.schema.json config: bounds and enums are the processor's",
                       processor_checks.check_schema_bounds, args.binary)
        check_metrics(report, args.binary, monitoring_documents)
        if not args.update:
            check_manifests(report, helm, update=False)
    print(f"packaging: {report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
