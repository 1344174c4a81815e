"""The domain checks of the stack settings, whose types, defaults and descriptions
Pulumi.yaml declares (`config:`), so `pulumi config` and the engine know them too.

A bad value stops `pulumi preview` before anything is planned, with one message per
problem naming the key and what it accepts; a misspelled key is reported, not ignored
(the engine checks declared keys' types but lets an undeclared one through).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
import yaml

PROJECT = "python-shop"
PROJECT_FILE = Path(__file__).resolve().parents[1] / "Pulumi.yaml"
SERVICE_TYPES = ("NodePort", "ClusterIP", "LoadBalancer")
MONITORING = ("off", "annotations", "podmonitor")  # how a Prometheus finds the apps' metrics (web_service.py)
MAX_REPLICAS = 50
# autoscalingCpuPercent: a percentage of each pod's CPU request; above 100 lets pods run past their request
# before the autoscaler adds one. 500: the limit is 5 times the request (web_service.ContainerResources), so no
# pod's usage can reach a higher target, and the autoscaler would never scale up.
MAX_CPU_PERCENT = 500

_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_DNS_NAME = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$")
# name[:tag] or name@sha256:digest, where name may carry a registry host:port.
_IMAGE = re.compile(
    r"^(?P<name>[a-z0-9]+(?:[._-][a-z0-9]+)*(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)


class SettingsError(pulumi.RunError):
    """Bad stack config: pulumi prints the message alone, without a Python traceback."""


@dataclass(frozen=True)
class Settings:
    namespace: str
    create_namespace: bool
    backend_image: str | None  # None: the image built from backend/ (app_images)
    frontend_image: str | None  # None: the image built from frontend/
    backend_replicas: int
    frontend_replicas: int
    backend_max_replicas: int  # 0: no autoscaler; else the autoscaler's max, with backend_replicas its min
    frontend_max_replicas: int
    autoscaling_cpu_percent: int  # the autoscalers' target: average CPU use, in percent of the pods' request
    backend_port: int
    frontend_service_type: str
    network_policies: bool
    frontend_host: str | None  # None: no Ingress
    ingress_class_name: str | None  # None: the cluster's default IngressClass
    ingress_tls_secret: str | None  # None: plain HTTP
    ingress_controller_namespace: str
    monitoring: str  # one of MONITORING
    monitoring_namespace: str
    adopt_existing: bool
    render_dir: str | None
    kube_context: str | None


# --- parsers: each takes the raw config string and returns the typed value or raises ValueError


def _dns_label(raw: str) -> str:
    if not _DNS_LABEL.match(raw):
        raise ValueError
    return raw


def image_tag(reference: str) -> str | None:
    """The tag of an image reference, if it has one (a registry's host:port is no tag)."""
    match = _IMAGE.match(reference)
    return match["tag"] if match else None


def image_build(reference: str) -> str | None:
    """The build an image reference names: its digest when it has one (the runtime pulls by the digest,
    whatever the tag says), else its tag; None for neither."""
    match = _IMAGE.match(reference)
    return (match["digest"] or match["tag"]) if match else None


def _dns_name(raw: str) -> str:
    if not _DNS_NAME.match(raw):
        raise ValueError
    return raw


def _host(raw: str) -> str:
    """A DNS name, or a wildcard over one (*.shop.example.com), as an Ingress rule takes it."""
    _dns_name(raw.removeprefix("*."))
    return raw


def _image(raw: str) -> str:
    match = _IMAGE.match(raw)
    if not match or not (match["tag"] or match["digest"]) or match["tag"] == "latest":
        raise ValueError
    return raw


def _integer(low: int, high: int) -> Callable[[str], int]:
    def parse(raw: str) -> int:
        value = int(raw)
        if not low <= value <= high:
            raise ValueError
        return value

    return parse


def _boolean(raw: str) -> bool:
    lowered = raw.strip().lower()
    if lowered not in ("true", "false"):
        raise ValueError
    return lowered == "true"


def _one_of(*choices: str) -> Callable[[str], str]:
    def parse(raw: str) -> str:
        if raw not in choices:
            raise ValueError
        return raw

    return parse


def _optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """Empty: unset (None); anything else must pass `parse`."""
    def check(raw: str) -> Any:
        return None if raw == "" else parse(raw)

    return check


def _max_replicas(raw: str) -> int:
    """0, or 2 to MAX_REPLICAS (more than the minimum, checked against it in _across_settings)."""
    value = int(raw)
    if value != 0 and not 2 <= value <= MAX_REPLICAS:
        raise ValueError
    return value


def _across_settings(values: Mapping[str, Any]) -> list[str]:
    """The problems no one setting shows: an autoscaler's max must exceed its min (`<app>Replicas`), or it
    could never scale; an Ingress is the frontend's one way in (a ClusterIP Service), and its TLS needs it."""
    problems = []
    for app in ("backend", "frontend"):
        low, high = values.get(f"{app}_replicas"), values.get(f"{app}_max_replicas")
        if isinstance(low, int) and high and high <= low:
            problems.append(f"{PROJECT}:{app}MaxReplicas is {high}, not more than {PROJECT}:{app}Replicas ({low}), "
                            f"the autoscaler's minimum; set it above {low}, or 0 for no autoscaler")
    kind = values.get("frontend_service_type")
    if values.get("frontend_host") and kind not in (None, "ClusterIP"):
        problems.append(f"{PROJECT}:frontendHost is set, so an Ingress is the frontend's way in; "
                        f"{PROJECT}:frontendServiceType is {kind}, a second way in past the ingress controller that "
                        "the NetworkPolicy would have to leave open to anywhere: set it to ClusterIP")
    if values.get("ingress_tls_secret") and "frontend_host" in values and not values["frontend_host"]:
        problems.append(f"{PROJECT}:ingressTlsSecret is set but {PROJECT}:frontendHost is empty: there is no Ingress "
                        "to serve the certificate on; set frontendHost, or leave ingressTlsSecret empty")
    return problems


def _path(raw: str) -> str:
    """A relative path is taken from the project's root, where `pulumi` is run (the program itself
    runs in infra/)."""
    if not raw.strip():
        raise ValueError
    return str(PROJECT_FILE.parent / raw)


# key -> (its check, what it accepts). Empty strings are the declared "unset" of optional keys.
CHECKS: dict[str, tuple[Callable[[str], Any], str]] = {
    "namespace": (_dns_label, "a DNS label: lowercase letters, digits and '-', at most 63 characters"),
    "createNamespace": (_boolean, "true (the stack creates the namespace) or false (it exists already, e.g. default)"),
    "backendImage": (_optional(_image), "an image reference with an explicit tag other than 'latest' (or a @sha256 "
                     "digest), e.g. registry.example.com/shop/python-shop-backend:1.4.2; empty, the image built "
                     "from backend/"),
    "frontendImage": (_optional(_image), "an image reference with an explicit tag other than 'latest' (or a @sha256 "
                      "digest), e.g. registry.example.com/shop/python-shop-frontend:1.4.2; empty, the image built "
                      "from frontend/"),
    "backendReplicas": (_integer(1, MAX_REPLICAS), f"an integer from 1 to {MAX_REPLICAS}"),
    "frontendReplicas": (_integer(1, MAX_REPLICAS), f"an integer from 1 to {MAX_REPLICAS}"),
    "backendMaxReplicas": (_max_replicas, f"0 (no autoscaler) or an integer from 2 to {MAX_REPLICAS}, more than "
                           "backendReplicas (the autoscaler's minimum)"),
    "frontendMaxReplicas": (_max_replicas, f"0 (no autoscaler) or an integer from 2 to {MAX_REPLICAS}, more than "
                            "frontendReplicas (the autoscaler's minimum)"),
    "autoscalingCpuPercent": (_integer(1, MAX_CPU_PERCENT), f"an integer from 1 to {MAX_CPU_PERCENT}: the average "
                              "CPU use the autoscalers aim for, in percent of each pod's CPU request"),
    "backendPort": (_integer(1, 65535), "a port number from 1 to 65535"),
    "frontendServiceType": (_one_of(*SERVICE_TYPES), f"one of {', '.join(SERVICE_TYPES)}"),
    "networkPolicies": (_boolean, "true or false (false for clusters whose network plugin does not enforce "
                        "NetworkPolicy)"),
    "frontendHost": (_optional(_host), "a DNS name (lowercase; or *.<name>), the host an Ingress routes to the "
                     "frontend; empty, no Ingress"),
    "ingressClassName": (_optional(_dns_name), "an IngressClass name (a lowercase DNS name), e.g. nginx; empty, "
                         "the cluster's default class"),
    "ingressTlsSecret": (_optional(_dns_name), "the name of a kubernetes.io/tls Secret in the shop's namespace (a "
                         "lowercase DNS name) for frontendHost's certificate; empty, plain HTTP"),
    "ingressControllerNamespace": (_dns_label, "a DNS label: the namespace the ingress controller runs in, lowercase "
                                   "letters, digits and '-', at most 63 characters"),
    "monitoring": (_one_of(*MONITORING), f"one of {', '.join(MONITORING)} (annotations: prometheus.io/* on the "
                   "pods; podmonitor: a Prometheus-operator PodMonitor per app; off: neither)"),
    "monitoringNamespace": (_dns_label, "a DNS label: the namespace the scraper runs in, lowercase letters, digits "
                            "and '-', at most 63 characters"),
    "adoptExisting": (_boolean, "true (take over objects that already exist, e.g. from the original deploy.yaml) "
                      "or false"),
    "renderDir": (_optional(_path), "a directory path to write the manifests to, instead of a cluster"),
}


def declared() -> dict[str, dict]:
    """Pulumi.yaml's declarations of this project's keys: key -> {type, default, description}
    (other namespaces' keys there, like pulumi:disable-default-providers, are values, not settings)."""
    return {k: v for k, v in yaml.safe_load(PROJECT_FILE.read_text())["config"].items() if ":" not in k}


def load_settings() -> Settings:
    """Read and validate the stack's config; raise SettingsError listing every problem."""
    return parse_settings(_stack_config(), kube_context=pulumi.Config("kubernetes").get("context"))


def parse_settings(raw: Mapping[str, str], kube_context: str | None = None) -> Settings:
    """Validate raw `python-shop:` config values (key without the prefix -> string); an absent
    key takes Pulumi.yaml's default, as the engine would have given it."""
    problems = []
    values: dict[str, Any] = {}
    declarations = declared()
    for name in sorted(set(raw) - set(declarations)):
        problems.append(f"{PROJECT}:{name} is not a setting of this project; the settings are "
                        f"{', '.join(sorted(declarations))}")
    for name, declaration in declarations.items():
        text = raw.get(name)
        check, accepts = CHECKS[name]
        if text is None:
            text = json_text(declaration["default"])
        try:
            values[_field(name)] = check(str(text))
        except ValueError:
            problems.append(f"{PROJECT}:{name} is {str(text)!r}; it must be {accepts}")
    problems += _across_settings(values)
    if problems:
        raise SettingsError("invalid stack config:\n  - " + "\n  - ".join(problems))
    return Settings(kube_context=kube_context, **values)


def json_text(value: Any) -> str:
    """A declared default as the engine hands config to a program: a string (true, not True)."""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _field(key: str) -> str:
    """backendReplicas -> backend_replicas: the Settings field a key fills."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", key).lower()


def _stack_config() -> dict[str, str]:
    """Every `python-shop:*` value the engine handed this program (it passes them all in
    PULUMI_CONFIG), so a misspelled key is reported, not ignored."""
    config = pulumi.Config(PROJECT)
    names = {k.split(":", 1)[1] for k in pulumi.runtime.get_config_env() if k.startswith(f"{PROJECT}:")}
    return {name: value for name in names | set(declared()) if (value := config.get(name)) is not None}
