"""Self-tests of the operator test tools, none of which needs the operator: the API server on the
suite's ports, the real CRD (what it lets through that the processor refuses: the premise of the
InvalidSpec test), the status shape the tests expect being storable, a forced 410 after an API
server restart (the premise of the relist test), the chart's operator RBAC objects applied and
used through a ServiceAccount token, and the kubelet-like ConfigMap volume."""

from __future__ import annotations

import json
import os
import pytest

import kubeharness as kh

KEYS = kh.testdata_keys()


def test_api_server_runs_on_the_suites_own_loopback_port(kube, api):
    assert kube.server == f"https://127.0.0.1:{kh.KUBE_PORT}"
    assert kube.vars["KUBE_LOCAL_ETCD_URL"] == f"http://127.0.0.1:{kh.ETCD_PORT}"
    assert api.get("/version")["gitVersion"] == "v1.37.2"
    crd = api.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                  "callbackclients.anchor-events.io")
    assert crd["spec"]["versions"][0]["subresources"] == {"status": {}}


def test_crd_accepts_a_bad_checksum_the_processor_refuses(api, ns, tmp_path):
    good = KEYS["rfc8032-test2"]["account"]
    bad = kh.break_checksum(good)
    assert bad != good and len(bad) == 56
    spec = {"type": "custodial", "signingKeys": [bad],
            "callbackUrls": {"sep24": "https://w.example/cb"}}
    created = api.create_cbc(ns, "bad-key", spec)
    assert created["spec"]["signingKeys"] == [bad]

    item = kh.expected_item(spec, "bad-key")
    refused = kh.check_config(tmp_path, {"clients.yaml": f"items: {json.dumps([item])}\n"},
                              seed=KEYS["rfc8032-test1"]["seed"])
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "signing_keys" in refused.stderr
    item["signing_keys"] = [good]
    accepted = kh.check_config(tmp_path, {"clients.yaml": f"items: {json.dumps([item])}\n"},
                               seed=KEYS["rfc8032-test1"]["seed"])
    assert accepted.returncode == 0, accepted.stdout + accepted.stderr


def test_crd_refuses_what_its_schema_can_tell(api, ns):
    with pytest.raises(kh.ApiError) as e:
        api.create_cbc(ns, "no-domains", {"type": "noncustodial"})
    assert e.value.status == 422
    with pytest.raises(kh.ApiError) as e:
        api.create_cbc(ns, "userinfo", {"type": "noncustodial", "domains": ["a.example"],
                                        "callbackUrls": {"sep24": "https://u:p@a.example/cb"}})
    assert e.value.status == 422


def test_status_shape_the_tests_expect_is_storable(api, ns):
    """The admin writes a status the way the operator must (status subresource): the CRD keeps
    it, the main resource's spec is untouched, and the helpers read it back."""
    spec = {"type": "noncustodial", "domains": ["w.example"]}
    obj = api.create_cbc(ns, "w", spec)
    status = {"observedGeneration": 1, "clientName": "w", "configGeneration": 3,
              "consumerGroup": "anchor-events-client-w",
              "conditions": [{"type": "Ready", "status": "False", "reason": "DuplicateName",
                              "message": "x", "observedGeneration": 1,
                              "lastTransitionTime": "2026-12-04T00:00:00Z"}]}
    obj["status"] = status
    api.request("PUT", api.cbc_path(ns, "w") + "/status", obj)
    got = api.get_cbc(ns, "w")
    assert kh.condition_is(got, "False", "DuplicateName", generation=1)
    assert got["status"]["configGeneration"] == 3
    # Writing the main resource cannot change the status.
    got["status"]["clientName"] = "other"
    api.request("PUT", api.cbc_path(ns, "w"), got)
    assert api.get_cbc(ns, "w")["status"]["clientName"] == "w"


def test_a_watch_from_before_an_apiserver_restart_gets_410(kube, api, ns):
    """The premise of the relist test (docs/testing-kubernetes.md): after a restart a watch from
    an older resourceVersion answers an ERROR event with code 410."""
    api.create_cbc(ns, "rv", {"type": "noncustodial", "domains": ["rv.example"]})
    old_rv = api.get(api.cbc_path(ns))["metadata"]["resourceVersion"]
    for i in range(5):
        api.merge_patch(api.cbc_path(ns, "rv"), {"metadata": {"labels": {"n": str(i)}}})
    kube.compact()
    kube.restart_apiserver()
    # Right after the restart the CRD's watch cache may answer 429 "storage is (re)initializing"
    # for a moment (clients retry it, and so does this).
    status, body = kh.Eventually()(
        lambda: api.request("GET", api.cbc_path(ns) + f"?watch=1&resourceVersion={old_rv}"
                            "&timeoutSeconds=2", timeout=20, ok=(410, 429)),
        lambda r: r[0] != 429, timeout=30, what="the watch cache to be initialized")
    first = json.loads(body.splitlines()[0]) if isinstance(body, str) else body
    assert first["type"] == "ERROR" and first["object"]["code"] == 410, body


def test_chart_operator_rbac_objects_apply_and_a_token_works(kube, api, ns, tmp_path):
    docs = kh.render_chart("ae", ns, {"operator": {"enabled": True, "secretNames": ["ca-ok"]},
                                      "clients": {"source": "operator"}}, tmp_path)
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    role = next(r for r in by_kind["Role"] if r["metadata"]["name"].endswith("-operator"))
    sa = next(s for s in by_kind["ServiceAccount"] if s["metadata"]["name"].endswith("-operator"))
    binding = next(b for b in by_kind["RoleBinding"] if b["roleRef"]["name"] == role["metadata"]["name"])
    lease = by_kind["Lease"][0]
    clients = next(c for c in by_kind["ConfigMap"] if c["metadata"]["name"].endswith("-clients"))
    for obj in (sa, role, binding, lease, clients):
        api.create_object(obj, field_manager="helm")
    path, token = kube.token_kubeconfig(tmp_path / "sa.kubeconfig", ns, sa["metadata"]["name"])
    as_sa = kh.Api(kube.server, kube.vars["KUBE_LOCAL_CA"], token=token)
    assert as_sa.get(f"/api/v1/namespaces/{ns}/configmaps/{clients['metadata']['name']}")
    assert as_sa.get(api.cbc_path(ns))["items"] == []
    status, _ = as_sa.request("GET", f"/api/v1/namespaces/{ns}/secrets", ok=(403,))
    assert status == 403
    status, _ = as_sa.request("GET", f"/api/v1/namespaces/{ns}/configmaps/other", ok=(403,))
    assert status == 403
    env = kh.operator_env_from_chart(
        next(d for d in by_kind["Deployment"] if d["metadata"]["name"].endswith("-operator")),
        ns, "pod-1")
    assert env["OPERATOR_NAMESPACE"] == ns and env["OPERATOR_IDENTITY"] == "pod-1"
    assert env["OPERATOR_CLIENTS_CONFIGMAP"] == clients["metadata"]["name"]
    assert env["OPERATOR_LEASE_NAME"] == lease["metadata"]["name"]


def test_configmap_volume_follows_keys_like_the_kubelet(tmp_path):
    vol = kh.ConfigMapVolume(tmp_path / "v", {"clients.yaml": "items: []\n"})
    assert (vol.root / "clients.yaml").read_text() == "items: []\n"
    vol.sync({"clients.yaml": "revision: \"2\"\nitems: []\n", "ca-ns-w.pem": "PEM"})
    assert (vol.root / "ca-ns-w.pem").read_text() == "PEM"
    assert os.readlink(vol.root / "clients.yaml") == "..data/clients.yaml"
    vol.sync({"clients.yaml": "items: []\n"})
    assert not (vol.root / "ca-ns-w.pem").exists()
    assert (vol.root / "clients.yaml").read_text() == "items: []\n"


def test_user_kubeconfig_identity_is_refused_without_a_role(kube, ns):
    cfg = kube.user_kubeconfig("nobody")
    p = kube.kubectl("--kubeconfig", cfg, "-n", ns, "get", "configmaps", check=False)
    assert p.returncode != 0 and "forbidden" in p.stderr.lower()
