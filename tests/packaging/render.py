"""Rendering the chart with Helm, and the manifests/ folder rendered from its defaults."""
import dataclasses
import pathlib
import re
import shutil
import subprocess
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "anchor-events"
CRD_SOURCE = ROOT / "crds" / "anchor-events.io_callbackclients.yaml"
CRD_CHART_COPY = CHART / "crds" / CRD_SOURCE.name
MANIFESTS = ROOT / "manifests"

RELEASE = "anchor-events"
NAMESPACE = "anchor-events"

MANIFEST_HEADER = (
    "# Rendered from helm/anchor-events with its default values (release {release}, namespace\n"
    "# {namespace}) by `scripts/check-packaging.sh --update`; do not edit. CI fails when these\n"
    "# files differ from the chart.\n"
)


@dataclasses.dataclass
class Document:
    """One rendered object: the text Helm wrote and the parsed object."""

    source: str
    text: str
    obj: dict


class Helm:
    def __init__(self, binary):
        self.binary = binary

    def run(self, *args):
        result = subprocess.run([self.binary, *args], capture_output=True, text=True)
        return result.returncode, result.stdout + result.stderr

    def lint(self, values_file=None):
        args = ["lint", "--strict", str(CHART)]
        if values_file:
            args += ["-f", str(values_file)]
        return self.run(*args)

    def template(self, values_file=None, include_crds=False, release=RELEASE, namespace=NAMESPACE,
                 extra=()):
        """Renders the chart; returns the documents in Helm's install order."""
        args = ["template", release, str(CHART), "--namespace", namespace, *extra]
        if include_crds:
            args.append("--include-crds")
        if values_file:
            args += ["-f", str(values_file)]
        code, output = self.run(*args)
        if code != 0:
            raise RenderError(output.strip())
        return split_documents(output)


    def notes(self, values_file=None):
        """NOTES.txt as `helm install` prints it (rendered through a copy of the chart, since
        `helm template` skips it and `helm install --dry-run` needs a cluster)."""
        with tempfile.TemporaryDirectory(prefix="anchor-events-notes-") as tmp:
            chart = pathlib.Path(tmp) / CHART.name
            shutil.copytree(CHART, chart)
            (chart / "notes.txt").write_text((chart / "templates" / "NOTES.txt").read_text())
            (chart / "templates" / "notes-check.yaml").write_text(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes-check\n"
                "data:\n  notes: {{ tpl (.Files.Get \"notes.txt\") . | quote }}\n")
            args = ["template", RELEASE, str(chart), "--namespace", NAMESPACE,
                    "--show-only", "templates/notes-check.yaml"]
            if values_file:
                args += ["-f", str(values_file)]
            code, output = self.run(*args)
            if code != 0:
                raise RenderError(output.strip())
            return yaml.safe_load(output)["data"]["notes"]


class RenderError(Exception):
    pass


def split_documents(text):
    documents = []
    for chunk in re.split(r"^---\s*$", text, flags=re.MULTILINE):
        lines = chunk.strip("\n").splitlines()
        source = ""
        if lines and lines[0].startswith("# Source: "):
            source = lines[0][len("# Source: "):]
            lines = lines[1:]
        body = "\n".join(lines).strip("\n")
        obj = yaml.safe_load(body) if body else None
        if obj:
            documents.append(Document(source, body + "\n", obj))
    return documents


def manifest_name(index, obj):
    kind = obj["kind"].lower()
    name = obj["metadata"]["name"]
    if kind == "customresourcedefinition":
        name = name.split(".")[0]
    prefix = f"{RELEASE}-"
    if name.startswith(prefix):
        name = name[len(prefix):]
    elif name == RELEASE:
        name = "processor"
    return f"{index:02d}-{kind}-{name}.yaml"


def render_manifests(helm):
    """The manifests/ files as {file name: text}, one object per file, numbered in apply order."""
    files = {}
    header = MANIFEST_HEADER.format(release=RELEASE, namespace=NAMESPACE)
    for index, document in enumerate(helm.template(include_crds=True)):
        files[manifest_name(index, document.obj)] = header + document.text
    return files


def objects(documents, kind=None, component=None):
    found = []
    for document in documents:
        obj = document.obj
        labels = obj.get("metadata", {}).get("labels", {}) or {}
        if kind and obj.get("kind") != kind:
            continue
        if component and labels.get("app.kubernetes.io/component") != component:
            continue
        found.append(obj)
    return found
