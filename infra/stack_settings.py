"""Every stack config key of the python-shop project: its type, default and validation.

Defaults work on minikube. A bad value stops `pulumi preview` before anything
is planned, with one message per problem naming the key and what it accepts.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi.runtime.config

PROJECT = "python-shop"
SERVICE_TYPES = ("NodePort", "ClusterIP", "LoadBalancer")
MAX_REPLICAS = 50

_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
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
    backend_port: int
    frontend_service_type: str
    network_policies: bool
    adopt_existing: bool
    render_dir: str | None
    kube_context: str | None


# --- parsers: each takes the raw config string and returns the typed value or raises ValueError


def _dns_label(raw: str) -> str:
    if not _DNS_LABEL.match(raw):
        raise ValueError
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


def _path(raw: str) -> str:
    if not raw.strip():
        raise ValueError
    return raw


@dataclass(frozen=True)
class Key:
    name: str  # the key under `python-shop:` in Pulumi.<stack>.yaml
    field: str  # the Settings field it fills
    default: Any
    parse: Callable[[str], Any]
    accepts: str  # said in the error message


KEYS = (
    Key("namespace", "namespace", "python-shop", _dns_label,
        "a DNS label: lowercase letters, digits and '-', at most 63 characters"),
    Key("createNamespace", "create_namespace", True, _boolean,
        "true (the stack creates the namespace) or false (it exists already, e.g. default)"),
    Key("backendImage", "backend_image", None, _image,
        "an image reference with an explicit tag other than 'latest' (or a @sha256 digest), "
        "e.g. registry.example.com/shop/python-shop-backend:1.4.2; unset, the image built from backend/"),
    Key("frontendImage", "frontend_image", None, _image,
        "an image reference with an explicit tag other than 'latest' (or a @sha256 digest), "
        "e.g. registry.example.com/shop/python-shop-frontend:1.4.2; unset, the image built from frontend/"),
    Key("backendReplicas", "backend_replicas", 1, _integer(1, MAX_REPLICAS), f"an integer from 1 to {MAX_REPLICAS}"),
    Key("frontendReplicas", "frontend_replicas", 1, _integer(1, MAX_REPLICAS), f"an integer from 1 to {MAX_REPLICAS}"),
    Key("backendPort", "backend_port", 8080, _integer(1, 65535), "a port number from 1 to 65535"),
    Key("frontendServiceType", "frontend_service_type", "NodePort", _one_of(*SERVICE_TYPES),
        f"one of {', '.join(SERVICE_TYPES)}"),
    Key("networkPolicies", "network_policies", True, _boolean,
        "true or false (false for clusters whose network plugin does not enforce NetworkPolicy)"),
    Key("adoptExisting", "adopt_existing", False, _boolean,
        "true (take over objects that already exist, e.g. from the original deploy.yaml) or false"),
    Key("renderDir", "render_dir", None, _path, "a directory path to write the manifests to, instead of a cluster"),
)


def load_settings() -> Settings:
    """Read and validate the stack's config; raise SettingsError listing every problem."""
    return parse_settings(_stack_config(), kube_context=pulumi.Config("kubernetes").get("context"))


def parse_settings(raw: Mapping[str, str], kube_context: str | None = None) -> Settings:
    """Validate raw `python-shop:` config values (key without the prefix -> string)."""
    problems = []
    values: dict[str, Any] = {}
    known = {key.name for key in KEYS}
    for name in sorted(set(raw) - known):
        problems.append(f"{PROJECT}:{name} is not a setting of this project; the settings are {', '.join(sorted(known))}")
    for key in KEYS:
        text = raw.get(key.name)
        if text is None:
            values[key.field] = key.default
            continue
        try:
            values[key.field] = key.parse(str(text))
        except ValueError:
            problems.append(f"{PROJECT}:{key.name} is {str(text)!r}; it must be {key.accepts}")
    if problems:
        raise SettingsError("invalid stack config:\n  - " + "\n  - ".join(problems))
    return Settings(kube_context=kube_context, **values)


def _stack_config() -> dict[str, str]:
    """All `python-shop:*` values of this stack, so a misspelled key is reported, not ignored."""
    config = pulumi.Config(PROJECT)
    names = {key.name for key in KEYS}
    # The SDK has no public call listing every key; its runtime config map does.
    everything = {**pulumi.runtime.config.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    names |= {k.split(":", 1)[1] for k in everything if k.startswith(f"{PROJECT}:")}
    return {name: value for name in names if (value := config.get(name)) is not None}

