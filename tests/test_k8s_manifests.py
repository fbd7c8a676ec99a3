"""deploy/k8s renders and validates, and describes the same stack as launcher/apps.py (issue 21, item 1).

No kubectl here and no maintained pure-Python kustomize on PyPI (the ``kustomize`` package writes
kustomization files, it does not build them; ``pykustomize`` wraps the Go library and needs it built), so
``render`` below is a small kustomize-compatible renderer for the features the overlays use: ``resources``
(files and kustomization directories), ``namespace``, ``images`` and ``patches`` (strategic-merge patch
files, optionally applied to every object of a ``target`` kind). Any other kustomization field is refused,
so an overlay cannot silently rely on a feature this renderer would ignore. Every rendered object is then
validated, strictly, against the Kubernetes schemas that ``kubernetes-validate`` ships (offline).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from launcher.apps import ALL_APPS, GATEWAY, ROOT, SERVICES, AppSpec

K8S = ROOT / "deploy" / "k8s"
OVERLAYS = ("dev", "production")
NAMESPACES = {"dev": "crm-dev", "production": "crm"}
KUBERNETES_VERSION = "1.33.0"
PART_OF = "insurance-agent-crm"
SUPPORTED_FIELDS = {"apiVersion", "kind", "resources", "namespace", "images", "patches"}
# What a name says about its value: such a variable is read from a Secret, never written in a manifest.
SECRET_LIKE = re.compile(r"SECRET|PASSWORD|TOKEN|KEY|DATABASE_URL|REDIS_URL|USERNAME", re.IGNORECASE)
# Set in docker-compose.yml but deliberately not in the manifests.
COMPOSE_ONLY = {
    "CLIENTS_IDENTITY_URL",  # the same value as CRM_IDENTITY_URL, which every app gets from the topology
    "DOCUMENTS_S3_CREATE_BUCKET",  # compose's MinIO starts empty; in a cluster the bucket is provisioned
}

Obj = dict[str, Any]
Rendered = tuple[str, list[Obj]]  # (overlay name, its objects)


class RenderError(Exception):
    pass


# --- the renderer ---------------------------------------------------------------------------------------


def _merge_lists(base: list[Any], patch: list[Any]) -> list[Any]:
    """Lists of named objects (containers, env, volumes, ports) merge by name; others are replaced."""
    named = all(isinstance(item, dict) and "name" in item for item in [*base, *patch])
    if not (named and base and patch):
        return copy.deepcopy(patch)
    merged = [copy.deepcopy(item) for item in base]
    for item in patch:
        for index, existing in enumerate(merged):
            if existing["name"] == item["name"]:
                merged[index] = _merge(existing, item)
                break
        else:
            merged.append(copy.deepcopy(item))
    return merged


def _merge(base: Any, patch: Any) -> Any:
    """Strategic merge as kustomize does it for these fields: maps merge, ``null`` deletes a key."""
    if isinstance(base, dict) and isinstance(patch, dict):
        merged = dict(base)
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            elif key in merged:
                merged[key] = _merge(merged[key], value)
            else:
                merged[key] = copy.deepcopy(value)
        return merged
    if isinstance(base, list) and isinstance(patch, list):
        return _merge_lists(base, patch)
    return copy.deepcopy(patch)


def _load(path: Path) -> list[Obj]:
    documents = [doc for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")) if doc is not None]
    for doc in documents:
        if not isinstance(doc, dict) or not {"apiVersion", "kind", "metadata"} <= set(doc):
            raise RenderError(f"{path}: not a Kubernetes object: {doc!r:.80}")
    return documents


def _pod_specs(obj: Obj) -> list[Obj]:
    template = obj.get("spec", {}).get("template", {}).get("spec")
    return [template] if isinstance(template, dict) else []


def _apply_images(objects: list[Obj], images: list[Obj]) -> None:
    for image in images:
        for obj in objects:
            for pod in _pod_specs(obj):
                for container in [*pod.get("containers", []), *pod.get("initContainers", [])]:
                    name, _, tag = container["image"].partition(":")
                    if name != image["name"]:
                        continue
                    name = image.get("newName", name)
                    tag = str(image.get("newTag", tag))
                    container["image"] = f"{name}:{tag}" if tag else name


def _apply_patch(objects: list[Obj], patch: Obj, target: Obj | None, where: Path) -> None:
    if target is not None and set(target) - {"kind", "name"}:
        raise RenderError(f"{where}: only kind and name are supported in a patch target")
    kind = (target or {}).get("kind", patch["kind"])
    name = (target or {}).get("name", None if target else patch["metadata"]["name"])
    hits = [
        index
        for index, obj in enumerate(objects)
        if obj["kind"] == kind and (name is None or obj["metadata"]["name"] == name)
    ]
    if not hits:
        raise RenderError(f"{where}: the patch matches nothing ({kind}/{name})")
    for index in hits:
        body = {key: value for key, value in patch.items() if key not in ("apiVersion", "kind")}
        body["metadata"] = {k: v for k, v in patch["metadata"].items() if k != "name"}
        objects[index] = _merge(objects[index], body)


def render(directory: Path) -> list[Obj]:
    """``kustomize build directory`` for the subset described in this module's docstring."""
    kustomization = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(kustomization) - SUPPORTED_FIELDS
    if unknown:
        raise RenderError(f"{directory}: kustomization fields this renderer does not implement: {unknown}")
    objects: list[Obj] = []
    for entry in kustomization.get("resources", []):
        path = (directory / entry).resolve()
        objects.extend(render(path) if path.is_dir() else _load(path))
    _apply_images(objects, kustomization.get("images", []))
    for patch_entry in kustomization.get("patches", []):
        path = directory / patch_entry["path"]
        for patch in _load(path):
            _apply_patch(objects, patch, patch_entry.get("target"), path)
    if "namespace" in kustomization:
        for obj in objects:
            obj["metadata"]["namespace"] = kustomization["namespace"]
    seen: set[tuple[str, str]] = set()
    for obj in objects:
        key = (obj["kind"], obj["metadata"]["name"])
        if key in seen:
            raise RenderError(f"{directory}: {key} defined twice")
        seen.add(key)
    return objects


# --- helpers over the rendered objects ----------------------------------------------------------------


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> Rendered:
    name = request.param
    assert isinstance(name, str)
    return name, render(K8S / "overlays" / name)


def _one(objects: list[Obj], kind: str, name: str) -> Obj:
    found = [obj for obj in objects if obj["kind"] == kind and obj["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def _container(objects: list[Obj], spec: AppSpec) -> Obj:
    pod = _one(objects, "Deployment", spec.name)["spec"]["template"]["spec"]
    containers = pod["containers"]
    assert [c["name"] for c in containers] == [spec.name]
    container = containers[0]
    assert isinstance(container, dict)
    return container


def _env_names(objects: list[Obj], container: Obj) -> set[str]:
    names = {entry["name"] for entry in container.get("env", [])}
    for source in container.get("envFrom", []):
        config = _one(objects, "ConfigMap", source["configMapRef"]["name"])
        names |= set(config["data"])
    return names


def _pod_labels(obj: Obj) -> dict[str, str]:
    labels = obj["spec"]["template"]["metadata"]["labels"]
    assert isinstance(labels, dict)
    return labels


# --- the renderer itself ------------------------------------------------------------------------------


def test_the_renderer_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "kustomization.yaml").write_text("resources: []\nnamePrefix: x-\n", encoding="utf-8")
    with pytest.raises(RenderError, match="namePrefix"):
        render(tmp_path)


def test_the_renderer_refuses_a_patch_that_matches_nothing(tmp_path: Path) -> None:
    (tmp_path / "patch.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: nowhere\ndata:\n  A: b\n", encoding="utf-8"
    )
    (tmp_path / "kustomization.yaml").write_text(
        f"resources:\n  - {K8S / 'base'}\npatches:\n  - path: patch.yaml\n", encoding="utf-8"
    )
    with pytest.raises(RenderError, match="matches nothing"):
        render(tmp_path)


def test_a_strategic_merge_keeps_other_containers_and_deletes_on_null() -> None:
    base = {
        "spec": {"minAvailable": 1, "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]}
    }
    patch = {"spec": {"minAvailable": None, "maxUnavailable": 1, "containers": [{"name": "b", "image": "z"}]}}
    assert _merge(base, patch) == {
        "spec": {
            "maxUnavailable": 1,
            "containers": [{"name": "a", "image": "x"}, {"name": "b", "image": "z"}],
        }
    }


# --- schema validation --------------------------------------------------------------------------------


def test_every_object_of_every_overlay_is_valid_kubernetes(overlay: Rendered) -> None:
    name, objects = overlay
    assert len(objects) >= 5 * len(ALL_APPS)
    for obj in objects:
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:  # pragma: no cover - the message is the point
            pytest.fail(f"{name}: {obj['kind']}/{obj['metadata']['name']}: {exc.message} at {list(exc.path)}")
        assert obj["metadata"]["namespace"] == NAMESPACES[name]


def test_the_validator_does_reject_a_broken_object() -> None:
    broken = copy.deepcopy(_one(render(K8S / "overlays" / "dev"), "Deployment", "gateway"))
    broken["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"] = "eight thousand"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


# --- in line with launcher/apps.py --------------------------------------------------------------------


@pytest.mark.parametrize("spec", ALL_APPS, ids=lambda spec: spec.name)
def test_each_app_runs_its_module_on_its_port(overlay: Rendered, spec: AppSpec) -> None:
    _, objects = overlay
    container = _container(objects, spec)
    assert container["command"] == [
        "python", "-m", "launcher.serve", spec.module, "--host", "0.0.0.0", "--port", str(spec.port),
    ]  # fmt: skip
    assert container["ports"] == [{"name": "http", "containerPort": spec.port, "protocol": "TCP"}]
    service = _one(objects, "Service", spec.name)
    assert service["spec"]["ports"] == [
        {"name": "http", "port": spec.port, "targetPort": "http", "protocol": "TCP"}
    ]
    assert service["spec"]["selector"].items() <= _pod_labels(_one(objects, "Deployment", spec.name)).items()
    assert service["spec"].get("type", "ClusterIP") == "ClusterIP"


@pytest.mark.parametrize("spec", ALL_APPS, ids=lambda spec: spec.name)
def test_each_app_has_its_probes_and_resources(overlay: Rendered, spec: AppSpec) -> None:
    _, objects = overlay
    container = _container(objects, spec)
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["startupProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    # The startup probe gives a slow start (imports, first connection) a minute before liveness counts.
    startup = container["startupProbe"]
    assert startup["periodSeconds"] * startup["failureThreshold"] >= 60
    for bound in ("requests", "limits"):
        assert set(container["resources"][bound]) == {"cpu", "memory"}
    # A pause before SIGTERM while the endpoints are withdrawn, well inside the grace period.
    assert container["lifecycle"]["preStop"]["exec"]["command"] == ["sleep", "5"]
    pod = _one(objects, "Deployment", spec.name)["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] >= 5 + 20


@pytest.mark.parametrize("spec", ALL_APPS, ids=lambda spec: spec.name)
def test_each_app_runs_locked_down(overlay: Rendered, spec: AppSpec) -> None:
    _, objects = overlay
    pod = _one(objects, "Deployment", spec.name)["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == 10001  # the Dockerfile's `crm` user
    assert pod["automountServiceAccountToken"] is False
    security = _container(objects, spec)["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    mounts = {m["mountPath"]: m["name"] for m in _container(objects, spec)["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]  # noqa: S108 - the pod's own scratch volume


@pytest.mark.parametrize("spec", ALL_APPS, ids=lambda spec: spec.name)
def test_each_app_has_a_disruption_budget_and_an_autoscaler(overlay: Rendered, spec: AppSpec) -> None:
    _, objects = overlay
    labels = _pod_labels(_one(objects, "Deployment", spec.name))
    pdb = _one(objects, "PodDisruptionBudget", spec.name)
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    hpa = _one(objects, "HorizontalPodAutoscaler", spec.name)
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": spec.name}
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
    # The budget must leave room to drain a node at the minimum replica count.
    if "minAvailable" in pdb["spec"]:
        assert pdb["spec"]["minAvailable"] < hpa["spec"]["minReplicas"]


def test_production_runs_several_replicas_of_each_app_from_a_released_image() -> None:
    objects = render(K8S / "overlays" / "production")
    for spec in ALL_APPS:
        assert _one(objects, "HorizontalPodAutoscaler", spec.name)["spec"]["minReplicas"] >= 2
        image = _container(objects, spec)["image"]
        assert re.fullmatch(r"[\w.\-/]+/insurance-agent-crm:\d+\.\d+\.\d+", image), image
    assert _one(objects, "ConfigMap", "crm-topology")["data"]["CRM_ENVIRONMENT"] == "production"
    assert _one(objects, "Ingress", "gateway")["spec"]["tls"]


def test_one_image_for_every_app_and_the_migrations(overlay: Rendered) -> None:
    _, objects = overlay
    images = {c["image"] for obj in objects for pod in _pod_specs(obj) for c in pod["containers"]}
    assert len(images) == 1, images


# --- environment, secrets and topology ----------------------------------------------------------------


def test_no_secret_value_is_written_in_the_manifests(overlay: Rendered) -> None:
    _, objects = overlay
    assert not [obj for obj in objects if obj["kind"] == "Secret"]
    for obj in objects:
        for pod in _pod_specs(obj):
            for container in pod["containers"]:
                for entry in container.get("env", []):
                    if SECRET_LIKE.search(entry["name"]):
                        assert "secretKeyRef" in entry.get("valueFrom", {}), (obj["metadata"]["name"], entry)
                for source in container.get("envFrom", []):
                    assert set(source) == {"configMapRef"} or "secretRef" in source
    for config in (obj for obj in objects if obj["kind"] == "ConfigMap"):
        leaked = [key for key in config["data"] if SECRET_LIKE.search(key)]
        assert not leaked, f"{config['metadata']['name']}: {leaked}"


def test_every_secret_the_manifests_read_is_documented(overlay: Rendered) -> None:
    _, objects = overlay
    docs = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    for obj in objects:
        for pod in _pod_specs(obj):
            for container in pod["containers"]:
                for entry in container.get("env", []):
                    ref = entry.get("valueFrom", {}).get("secretKeyRef")
                    if ref:
                        assert f"`{ref['name']}`" in docs, ref
                        assert f"`{ref['key']}`" in docs, ref


@pytest.mark.parametrize("spec", ALL_APPS, ids=lambda spec: spec.name)
def test_each_app_gets_the_shared_settings(overlay: Rendered, spec: AppSpec) -> None:
    _, objects = overlay
    names = _env_names(objects, _container(objects, spec))
    for name in ("CRM_DATABASE_URL", "CRM_ENVIRONMENT", "CRM_JWT_SECRET", "CRM_FIELD_ENCRYPTION_KEY"):
        assert name in names


@pytest.mark.parametrize("spec", ALL_APPS, ids=lambda spec: spec.name)
def test_each_app_gets_what_compose_gives_it(overlay: Rendered, spec: AppSpec) -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))
    wanted = set(compose["services"][spec.name]["environment"]) - COMPOSE_ONLY
    _, objects = overlay
    missing = wanted - _env_names(objects, _container(objects, spec))
    assert not missing, f"{spec.name}: set in docker-compose.yml, not in deploy/k8s: {sorted(missing)}"


def test_the_topology_names_every_app_by_its_service(overlay: Rendered) -> None:
    _, objects = overlay
    data = _one(objects, "ConfigMap", "crm-topology")["data"]
    for spec in SERVICES:
        assert data[f"CRM_{spec.name.upper()}_URL"] == f"http://{spec.name}:{spec.port}"
    assert data["CRM_IDENTITY_URL"] == f"http://{GATEWAY.name}:{GATEWAY.port}"
    for spec in ALL_APPS:  # every URL points at a Service that exists
        _one(objects, "Service", spec.name)


# --- migrations ---------------------------------------------------------------------------------------


def test_the_migrations_run_as_a_job_before_the_rollout(overlay: Rendered) -> None:
    _, objects = overlay
    job = _one(objects, "Job", "crm-migrate")
    assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PreSync"
    pod = job["spec"]["template"]["spec"]
    assert pod["restartPolicy"] == "Never"
    (container,) = pod["containers"]
    assert container["command"] == ["python", "-m", "launcher", "migrate"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert "CRM_DATABASE_URL" in _env_names(objects, container)
    # With plain kubectl the Job and what it needs are applied first, selected by these labels.
    prerequisites = {"ServiceAccount": pod["serviceAccountName"], "ConfigMap": "crm-topology"}
    for kind, name in prerequisites.items():
        assert _one(objects, kind, name)["metadata"]["labels"]["app.kubernetes.io/component"] == "config"
    assert job["metadata"]["labels"]["app.kubernetes.io/component"] == "migrate"
    steps = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
    assert "-l 'app.kubernetes.io/component in (config,migrate)'" in steps
    assert "wait --for=condition=complete job/crm-migrate" in steps


# --- who may reach whom -------------------------------------------------------------------------------


def _callees(spec: AppSpec) -> set[str]:
    """The apps ``spec`` calls, read from its settings (``<peer>_url``) and its use of ``identity_url``."""
    package = ROOT / spec.package.replace(".", "/")
    config = (package / "config.py").read_text(encoding="utf-8")
    names = {spec.name for spec in SERVICES}
    callees = {name for name in re.findall(r"^\s+(\w+)_url: str", config, re.MULTILINE) if name in names}
    code = "\n".join(path.read_text(encoding="utf-8") for path in package.glob("*.py"))
    if spec is not GATEWAY and "identity_url" in code:
        callees.add(GATEWAY.name)
    return callees


def _admitted(policy: Obj) -> tuple[set[str], bool]:
    """(the apps a NetworkPolicy admits, whether it admits anything from another namespace)."""
    apps: set[str] = set()
    outside = False
    for rule in policy["spec"]["ingress"]:
        for source in rule["from"]:
            if "namespaceSelector" in source or "ipBlock" in source:
                outside = True
            elif "podSelector" in source:
                labels = source["podSelector"]["matchLabels"]
                assert labels["app.kubernetes.io/part-of"] == PART_OF
                apps.add(labels["app.kubernetes.io/name"])
    return apps, outside


def test_the_peers_are_read_from_the_code() -> None:
    # A sanity check of _callees on facts stated in the services' docs.
    assert _callees(GATEWAY) == {spec.name for spec in SERVICES}
    assert _callees(next(s for s in SERVICES if s.name == "claims")) == {"policies"}
    assert _callees(next(s for s in SERVICES if s.name == "documents")) == {"clients", "policies", "claims"}


def test_only_the_gateway_is_reachable_from_outside(overlay: Rendered) -> None:
    _, objects = overlay
    ingresses = [obj for obj in objects if obj["kind"] == "Ingress"]
    assert [obj["metadata"]["name"] for obj in ingresses] == [GATEWAY.name]
    for rule in ingresses[0]["spec"]["rules"]:
        for path in rule["http"]["paths"]:
            assert path["backend"]["service"]["name"] == GATEWAY.name
    deny = _one(objects, "NetworkPolicy", "default-deny-ingress")
    assert deny["spec"] == {"podSelector": {}, "policyTypes": ["Ingress"]}
    for service in (obj for obj in objects if obj["kind"] == "Service"):
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP"


@pytest.mark.parametrize("spec", ALL_APPS, ids=lambda spec: spec.name)
def test_each_app_admits_only_the_gateway_and_its_peers(overlay: Rendered, spec: AppSpec) -> None:
    _, objects = overlay
    labels = _pod_labels(_one(objects, "Deployment", spec.name))
    policies = [
        obj
        for obj in objects
        if obj["kind"] == "NetworkPolicy"
        and obj["spec"]["podSelector"]
        and obj["spec"]["podSelector"]["matchLabels"].items() <= labels.items()
    ]
    assert len(policies) == 1, [p["metadata"]["name"] for p in policies]
    admitted, outside = _admitted(policies[0])
    callers = {other.name for other in ALL_APPS if spec.name in _callees(other)}
    assert admitted == callers
    assert outside is (spec is GATEWAY)
    if spec is not GATEWAY:
        assert GATEWAY.name in admitted
    ports = {port["port"] for rule in policies[0]["spec"]["ingress"] for port in rule["ports"]}
    assert ports == {spec.port}
