"""Every metric the PrometheusRule and the Grafana dashboard query is one the processor exports,
with labels it has. The exported names are read from a running processor: `anchor-events demo`
(embedded broker, loopback receivers) is scraped while its events flow, because a labelled
family appears only once it has a sample."""
import json
import re
import subprocess
import threading
import time
import urllib.request

import promql_parser

# Labels a Prometheus scrape adds to every series (target labels of the ServiceMonitor).
TARGET_LABELS = {"namespace", "job", "pod", "instance", "service", "endpoint", "container"}
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$__range": "1h"}
PORT_LINE = re.compile(r"management port (\d+)")


def parse_exposition(text, families):
    """Adds {series name: label names} from Prometheus text format to `families`."""
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s", line)
        if match:
            labels = set(re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)=\"", match.group(3) or ""))
            families.setdefault(match.group(1), set()).update(labels)


def scrape_demo(binary, timeout=120):
    """Runs the demo and scrapes its /metrics until it exits; returns {series: labels}."""
    families = {}
    process = subprocess.Popen([binary, "demo"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True)
    stop = threading.Event()

    def poll(port):
        url = f"http://127.0.0.1:{port}/metrics"
        while not stop.is_set():
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    parse_exposition(response.read().decode(), families)
            except OSError:
                pass
            stop.wait(0.1)

    poller = None
    output = []
    deadline = time.monotonic() + timeout
    try:
        for line in process.stdout:
            output.append(line)
            match = PORT_LINE.search(line)
            if match and poller is None:
                poller = threading.Thread(target=poll, args=(int(match.group(1)),), daemon=True)
                poller.start()
            if time.monotonic() > deadline:
                break
        code = process.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        stop.set()
        if process.poll() is None:
            process.kill()
            process.wait()
        if poller:
            poller.join(timeout=5)
    if code != 0:
        raise RuntimeError("anchor-events demo failed:\n" + "".join(output[-30:]))
    if poller is None:
        raise RuntimeError("anchor-events demo printed no management port")
    return families


def selectors(expr):
    """(metric name, label names) of every vector selector in a PromQL expression."""
    found = []

    def visit(node):
        if isinstance(node, promql_parser.VectorSelector):
            found.append((node.name, {m.name for m in node.matchers.matchers}))

    promql_parser.walk(promql_parser.parse(expr), visit)
    return found


def rule_expressions(documents):
    for document in documents:
        if document.obj.get("kind") != "PrometheusRule":
            continue
        for group in document.obj["spec"]["groups"]:
            for rule in group["rules"]:
                yield f"alert {rule.get('alert') or rule.get('record')}", rule["expr"]


def dashboard_expressions(dashboard):
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r}", target["expr"]
    for variable in dashboard["templating"]["list"]:
        query = variable.get("query")
        if isinstance(query, dict):
            match = re.fullmatch(r"label_values\((.*),\s*\w+\)", query["query"])
            if match:
                yield f"variable {variable['name']}", match.group(1)


def grafana_to_promql(expr):
    for variable, value in GRAFANA_VARIABLES.items():
        expr = expr.replace(variable, value)
    return expr


def check_expressions(named_expressions, families):
    problems = []
    count = 0
    for where, expr in named_expressions:
        count += 1
        try:
            found = selectors(grafana_to_promql(expr))
        except Exception as error:  # promql_parser raises its own error types
            problems.append(f"{where}: not valid PromQL: {error}")
            continue
        for name, labels in found:
            if name not in families:
                problems.append(f"{where}: {name} is not exported by the processor")
                continue
            allowed = families[name] | TARGET_LABELS | {"__name__"}
            unknown = labels - allowed
            if unknown:
                problems.append(f"{where}: {name} has no label {sorted(unknown)} "
                                f"(it has {sorted(families[name])})")
    if count == 0:
        problems.append("no expression found")
    return problems


def load_dashboard(chart):
    return json.loads((chart / "dashboards" / "anchor-events.json").read_text())


def check_dashboard_shape(dashboard):
    problems = []
    ids = [p["id"] for p in dashboard["panels"]]
    if len(ids) != len(set(ids)):
        problems.append("panel ids repeat")
    titles = " ".join(p["title"].lower() for p in dashboard["panels"])
    for topic in ("throughput", "outcomes", "duration", "lag", "circuit"):
        if topic not in titles:
            problems.append(f"no panel about {topic}")
    for panel in dashboard["panels"]:
        if panel["type"] != "row" and panel.get("datasource", {}).get("uid") != "${datasource}":
            problems.append(f"panel {panel['title']!r} does not use the datasource variable")
    return problems
