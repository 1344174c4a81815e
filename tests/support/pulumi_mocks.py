"""Pulumi mocks that behave like the kubernetes provider, and the real infra/__main__.py run under them.

The mocks echo every input back as an output, add what the API server would
(uids, cluster IPs, node ports), and record each registration with the resource
options the engine would see (URN, parent, aliases, dependencies, ignored changes, provider), so tests can assert
on what the program asked for, on how outputs were wired and on what keeps a URN.
"""

from __future__ import annotations

import itertools
import json
import os
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pulumi
import pulumi.runtime.config
import pulumi.runtime.settings
import yaml
from google.protobuf.json_format import MessageToDict
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import Stack
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

ROOT = Path(__file__).resolve().parents[2]
PROGRAM = ROOT / "infra"  # run as pulumi does: the directory, its __main__.py
PROVIDER_TYPE = "pulumi:providers:kubernetes"


@dataclass
class Registered:
    type: str
    name: str
    inputs: dict
    outputs: dict
    provider: str
    # The options as the engine receives them: an alias or a parent lost here is a
    # replaced object on the next `pulumi up`, which no input shows.
    urn: str = ""
    parent: str = ""  # the parent's URN ("" for the stack itself)
    aliases: list[dict] = field(default_factory=list)  # e.g. [{"spec": {"name": "shop-prod"}}]
    dependencies: list[str] = field(default_factory=list)  # URNs it waits for (depends_on and its inputs' sources)
    ignore_changes: list[str] = field(default_factory=list)  # input paths the engine keeps as they were deployed


class OptionRecordingMonitor(MockMonitor):
    """The SDK's mock monitor, which hands Mocks only type, name, inputs and provider, made to
    pass on the rest of the registration (parent, aliases) too, under the URNs the engine gives."""

    mocks: ProviderLikeMocks  # narrower than the SDK's Mocks: new_resource_with_options is ours

    def __init__(self, mocks: ProviderLikeMocks, *, project: str, stack: str):
        super().__init__(mocks)
        self.project, self.stack = project, stack

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # As the engine names them: the parent's qualified type, unless the parent is the stack.
        qualified = parent.split("::")[2] if parent else ""
        if qualified and qualified != "pulumi:pulumi:Stack":
            type_ = f"{qualified}${type_}"
        return f"urn:pulumi:{self.stack}::{self.project}::{type_}::{name}"

    def RegisterResource(self, request):  # noqa: N802 - the gRPC method's name
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        _ensure_event_loop()
        args = pulumi.runtime.MockResourceArgs(
            typ=request.type, name=request.name, inputs=rpc.deserialize_properties(request.object),
            provider=request.provider, resource_id=request.importId, custom=request.custom or False)
        options = {"urn": urn, "parent": request.parent, "aliases": [MessageToDict(a) for a in request.aliases],
                   "dependencies": list(request.dependencies), "ignore_changes": list(request.ignoreChanges)}
        id_, state = self.mocks.new_resource_with_options(args, options)
        self.resources[urn] = MockMonitor.ResourceRegistration(urn, id_, state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=_sync_await(rpc.serialize_properties(state, {})))


class ProviderLikeMocks(pulumi.runtime.Mocks):
    def __init__(self, service_name_suffix: str = ""):
        self.registered: list[Registered] = []
        self._node_ports = itertools.count(30080)
        self._ips = itertools.count(10)
        # Lets a test make the API server's answer differ from the request, to
        # prove consumers read the Service's outputs rather than repeating inputs.
        self.service_name_suffix = service_name_suffix

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        return self.new_resource_with_options(args, {})

    def new_resource_with_options(self, args: pulumi.runtime.MockResourceArgs, options: dict):
        outputs = json.loads(json.dumps(args.inputs))  # a deep copy: inputs echoed
        if args.typ.startswith("kubernetes:"):
            metadata = outputs.setdefault("metadata", {})
            if args.typ != "kubernetes:core/v1:Namespace":
                metadata.setdefault("namespace", "default")
            metadata["uid"] = f"uid-{args.name}"
        if args.typ == "kubernetes:core/v1:Service":
            outputs["metadata"]["name"] += self.service_name_suffix
            spec = outputs["spec"]
            spec["clusterIP"] = f"10.96.0.{next(self._ips)}"
            for port in spec["ports"]:
                port.setdefault("protocol", "TCP")
                if spec.get("type") in ("NodePort", "LoadBalancer"):
                    port["nodePort"] = next(self._node_ports)
            if spec.get("type") == "LoadBalancer":  # what the cloud's controller fills in
                outputs["status"] = {"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}]}}
        self.registered.append(Registered(args.typ, args.name, args.inputs, outputs, args.provider or "", **options))
        return f"{args.name}_id", outputs

    def call(self, args: pulumi.runtime.MockCallArgs):
        return {}


@dataclass
class Run:
    """What one run of the program registered and exported."""

    registered: list[Registered]
    exports: dict = field(default_factory=dict)
    config: dict[str, str] = field(default_factory=dict)  # the config it ran under, the very dict it was given

    def all(self, type_: str) -> list[Registered]:
        return [r for r in self.registered if r.type == type_]

    def one(self, type_: str, name: str) -> Registered:
        matches = [r for r in self.registered if r.type == type_ and (r.inputs.get("metadata") or {}).get("name") == name]
        assert len(matches) == 1, f"expected one {type_} named {name}, found {len(matches)}"
        return matches[0]

    @property
    def provider(self) -> Registered:
        (provider,) = self.all(PROVIDER_TYPE)
        return provider

    def by_urn(self, urn: str) -> Registered:
        (match,) = [r for r in self.registered if r.urn == urn]
        return match

    def kubernetes_objects(self) -> list[Registered]:
        return [r for r in self.registered if r.type.startswith("kubernetes:")]


def stack_config(stack_file: Path) -> dict[str, str]:
    """A Pulumi.<stack>.yaml's config as the engine hands it to the program: strings."""
    config = yaml.safe_load(stack_file.read_text())["config"]
    return {k: json.dumps(v) if isinstance(v, bool) else str(v) for k, v in config.items()}


def run_program(config: dict[str, str], *, stack: str = "dev", mocks: ProviderLikeMocks | None = None,
                program: Path = PROGRAM) -> Run:
    """`program` (a directory with its __main__.py, as pulumi runs it): the shop's unless a test names another."""
    mocks = mocks or ProviderLikeMocks()
    # As the language host hands config over: PULUMI_CONFIG in the environment, then the SDK's map.
    os.environ["PULUMI_CONFIG"] = json.dumps(config)
    pulumi.runtime.config.set_all_config(dict(config))
    # A fresh Stack, so exports do not leak between runs. The SDK annotates the argument Resource, yet
    # its context variable is Optional[Resource] with None as default, which is what this resets it to.
    pulumi.runtime.settings.set_root_resource(cast(pulumi.Resource, None))
    pulumi.runtime.set_mocks(mocks, project="python-shop", stack=stack, preview=False,
                             monitor=OptionRecordingMonitor(mocks, project="python-shop", stack=stack))
    exports: dict = {}

    @pulumi.runtime.test
    def run():
        runpy.run_path(str(program), run_name="__main__")
        root = pulumi.runtime.settings.get_root_resource()
        assert isinstance(root, Stack), root  # the program ran, so the SDK made its Stack the root
        stack_outputs = root.outputs
        return pulumi.Output.from_input(stack_outputs).apply(exports.update)

    try:
        run()
    finally:
        del os.environ["PULUMI_CONFIG"]  # nothing leaks into the pulumi CLIs other tests start
    return Run(mocks.registered, exports, config)


DEV_CONFIG = stack_config(ROOT / "Pulumi.dev.yaml")

# What a production cluster would get: its own namespace, several replicas, a
# registry, a load balancer in front, a different backend port.
PRODUCTION_LIKE_CONFIG = {
    "kubernetes:context": "prod-cluster",
    "python-shop:namespace": "shop-prod",
    "python-shop:backendImage": "registry.example.com:5000/shop/python-shop-backend:1.4.2",
    "python-shop:frontendImage": "registry.example.com:5000/shop/python-shop-frontend@sha256:" + "ab" * 32,
    "python-shop:backendReplicas": "3",
    "python-shop:frontendReplicas": "4",
    "python-shop:backendPort": "9090",
    "python-shop:frontendServiceType": "LoadBalancer",
}
