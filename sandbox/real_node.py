"""The real node of `sandbox/cluster up --real`: containers run, pods get IPs, DNS answers.

The control plane is the same as the simulated cluster's (kwokctl, binary
runtime, our builds), under its own name, with no simulated node. Next to it
this module runs, as host processes from `sandbox/toolchain install node`:

- containerd 2.2 of our own (own root, state and socket under the cache; not
  Docker's), with the host's runc (Debian's, or containerd.io's) and Debian's
  CNI plugins, the sandbox image being our pause build;
- kubelet (cgroupfs driver; this host is cgroup v1, which kubelet refuses from
  1.35 unless `failCgroupV1: false`), registering node `python-shop-node`;
- kube-proxy (iptables mode; NodePorts answer on 127.0.0.1 only);
- CoreDNS serving cluster.local from the API server, bound to the pod bridge's
  gateway address (pods use it as their nameserver), forwarding nothing, so it
  can never loop back to the host's stub resolver;
- kube-router's network policy controller alone (iptables + ipset), so the
  shop's NetworkPolicies are enforced;
- a route for pods to the API server through the `kubernetes` Service (in-cluster
  clients: a Prometheus's service discovery), which listens on 127.0.0.1 only.

Pods live on a bridge of our own (`pshop0`, 10.244.0.0/24, host-local IPAM,
masquerade), with br_netfilter and ip_forward on. Why not
hack/local-up-cluster.sh: it generates certificates with cfssl (which it
downloads), starts CoreDNS as a pod from a registry image and expects a
Kubernetes source tree with _output; here the control plane is already ours
(kwokctl), so only the node is started by hand.

`stop_node()` undoes everything: kube-proxy's rules (`kube-proxy --cleanup`), the API route,
kube-router's chains and ipsets, the pods' sandboxes and their CNI rules, mounts
under our directories, the bridge, and ip_forward as it was.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import IO

from sandbox.recipes import common

NODE = "python-shop-node"
# The node's processes, in the order they stop (the policy controller first, so that it
# restores no rule the teardown removes).
NODE_PROCESSES = ("kube-router", "kubelet", "kube-proxy", "coredns", "containerd")
SERVICE_CIDR = "10.96.0.0/12"  # the API server's --service-cluster-ip-range (sandbox/cluster)
# The `kubernetes` Service's ClusterIP (the range's first address), which in-cluster clients dial;
# sandbox/cluster adds it to the API server certificate's names.
API_SERVICE_IP = str(ipaddress.ip_network(SERVICE_CIDR)[1])
# KUBE-: remove_kube_chains() and leftovers() take it with kube-proxy's and the kubelet's. None of
# kube-proxy's stale-chain prefixes (KUBE-SVC-, KUBE-SEP-, ...) nor kube-router's.
API_ROUTE_CHAIN = "KUBE-PSHOP-API-SERVICE"
POD_SUBNET = "10.244.0.0/24"
GATEWAY = "10.244.0.1"  # the bridge's address: pods' gateway and their DNS server
BRIDGE = "pshop0"
CNI_NETWORK = "python-shop"  # the bridge plugin names its NAT rules after it
SANDBOX_IMAGE = "registry.k8s.io/pause:3.10.2"
NEEDED = ("kubelet", "kube-proxy", "containerd", "containerd-shim-runc-v2", "ctr", "coredns", "pause")
# From the host, whoever installed them (python3 -m sandbox.system_packages node adds what is missing).
HOST_TOOLS = ("runc", "iptables", "conntrack")
CNI_BRIDGE = Path("/usr/lib/cni/bridge")


class NodeError(RuntimeError):
    pass


def log(message: str) -> None:
    common.say("cluster", message)


def node_dir() -> Path:
    return common.cache_root() / "real-node"


def tool(name: str) -> str:
    return str(common.bin_dir() / name)


def socket_path() -> Path:
    return node_dir() / "containerd" / "state" / "containerd.sock"


def host_tool(name: str) -> str | None:
    """A tool from the host (Debian's or, say, containerd.io's runc), sbin directories included."""
    return shutil.which(name, path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"]))


def check_prerequisites() -> None:
    missing = [n for n in NEEDED if not Path(tool(n)).exists()]
    if missing:
        raise NodeError(f"missing {', '.join(missing)}: run `sandbox/toolchain install node` first")
    absent = [name for name in HOST_TOOLS if host_tool(name) is None]
    absent += [] if CNI_BRIDGE.exists() else ["the bridge CNI plugin"]
    if absent:
        raise NodeError(f"missing {', '.join(absent)}: run `python3 -m sandbox.system_packages node`")
    if os.geteuid() != 0:
        raise NodeError("a real node needs root (containers, mounts, iptables)")


# --- files ---------------------------------------------------------------------


def write_files(kubeconfig: Path, client_ca: Path) -> None:
    d = node_dir()
    for sub in ("containerd/root", "containerd/state", "cni/net.d", "cni/networks", "kubelet/root", "pids", "logs"):
        (d / sub).mkdir(parents=True, exist_ok=True)
    (d / "containerd" / "config.toml").write_text(f"""\
# Generated by sandbox/cluster up --real.
version = 3
root = "{d / 'containerd' / 'root'}"
state = "{d / 'containerd' / 'state'}"

[grpc]
  address = "{socket_path()}"

[plugins."io.containerd.cri.v1.images".pinned_images]
  sandbox = "{SANDBOX_IMAGE}"

[plugins."io.containerd.cri.v1.runtime"]
  # This VM withholds CAP_SYS_RESOURCE even from root, so no process may lower its
  # oom_score_adj; the kubelet asks -998 for every sandbox. Clamp to containerd's own.
  restrict_oom_score_adj = true

[plugins."io.containerd.cri.v1.runtime".containerd]
  default_runtime_name = "runc"

[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
  BinaryName = "{host_tool('runc')}"
  SystemdCgroup = false

[plugins."io.containerd.cri.v1.runtime".cni]
  bin_dirs = ["/usr/lib/cni"]
  conf_dir = "{d / 'cni' / 'net.d'}"
""")
    (d / "cni" / "net.d" / "10-python-shop.conflist").write_text(json.dumps({
        "cniVersion": "1.0.0",
        "name": CNI_NETWORK,
        "plugins": [
            {
                "type": "bridge", "bridge": BRIDGE, "isGateway": True, "ipMasq": True, "hairpinMode": True,
                "ipam": {"type": "host-local", "ranges": [[{"subnet": POD_SUBNET, "gateway": GATEWAY}]],
                         "routes": [{"dst": "0.0.0.0/0"}], "dataDir": str(d / "cni" / "networks")},
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }, indent=2))
    # Pods' resolv.conf comes from clusterDNS plus this (empty) file: nothing of the host's.
    (d / "kubelet" / "resolv.conf").write_text("# pods resolve through the cluster DNS only\n")
    (d / "kubelet" / "config.yaml").write_text(json.dumps({
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "cgroupDriver": "cgroupfs",
        "failCgroupV1": False,  # this host has cgroup v1
        "failSwapOn": False,
        "containerRuntimeEndpoint": f"unix://{socket_path()}",
        "clusterDomain": "cluster.local",
        "clusterDNS": [GATEWAY],
        "resolvConf": str(d / "kubelet" / "resolv.conf"),
        "healthzBindAddress": "127.0.0.1",
        "readOnlyPort": 0,
        # Only the API server (its client certificate, signed by the cluster CA) may
        # call the kubelet's API; what it may do is asked of the API server.
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                           "x509": {"clientCAFile": str(client_ca)}},
        "authorization": {"mode": "Webhook"},
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "serializeImagePulls": False,
        "syncFrequency": "10s",  # how often the kubelet refreshes ConfigMap volumes (default 1m)
        "configMapAndSecretChangeDetectionStrategy": "Watch",
    }, indent=2))
    (d / "kube-proxy.yaml").write_text(json.dumps({
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clusterCIDR": POD_SUBNET,
        "hostnameOverride": NODE,
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "conntrack": {"maxPerCore": 0},  # leave the host's conntrack table size alone
        "metricsBindAddress": "127.0.0.1:10249",
        "healthzBindAddress": "127.0.0.1:10256",
        "nodePortAddresses": ["127.0.0.1/32"],  # NodePorts on loopback only, never on the VM's interfaces
    }, indent=2))
    (d / "Corefile").write_text(f"""\
cluster.local:53 in-addr.arpa:53 ip6.arpa:53 {{
    bind {GATEWAY}
    errors
    kubernetes cluster.local in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig}
        pods insecure
    }}
    cache 5
}}
.:53 {{
    bind {GATEWAY}
    errors
    # Nothing outside the cluster is resolvable here: answer at once, never forward.
    template ANY ANY {{
        rcode NXDOMAIN
    }}
}}
""")


# --- host networking ---------------------------------------------------------


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise NodeError(f"`{' '.join(argv)}` failed: {proc.stderr.strip()}")
    return proc


def setup_network() -> None:
    state = node_dir() / "host-state.json"
    if not state.exists():
        state.write_text(json.dumps({"ip_forward": Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()}))
    Path("/proc/sys/net/ipv4/ip_forward").write_text("1")
    bridge_nf = Path("/proc/sys/net/bridge/bridge-nf-call-iptables")
    if not bridge_nf.exists():
        sh("modprobe", "br_netfilter")
    bridge_nf.write_text("1")
    # The bridge exists before any pod so that CoreDNS can bind the gateway address.
    if sh("ip", "link", "show", BRIDGE, check=False).returncode != 0:
        sh("ip", "link", "add", BRIDGE, "type", "bridge")
    if GATEWAY not in sh("ip", "-4", "addr", "show", BRIDGE).stdout:
        sh("ip", "addr", "add", f"{GATEWAY}/24", "dev", BRIDGE)
    sh("ip", "link", "set", BRIDGE, "up")


def teardown_network() -> None:
    sh("ip", "link", "delete", BRIDGE, check=False)
    state = node_dir() / "host-state.json"
    with contextlib.suppress(FileNotFoundError, ValueError):
        saved = json.loads(state.read_text())
        Path("/proc/sys/net/ipv4/ip_forward").write_text(saved["ip_forward"])
        state.unlink()


# --- processes -----------------------------------------------------------------


def pid_file(name: str) -> Path:
    return node_dir() / "pids" / f"{name}.pid"


def alive(name: str) -> int | None:
    with contextlib.suppress(FileNotFoundError, ValueError):
        pid = int(pid_file(name).read_text())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        if str(node_dir()) in cmdline or name in cmdline:
            return pid
    return None


def start(name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
    if alive(name):
        return
    log_path = node_dir() / "logs" / f"{name}.log"
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=out, stdin=subprocess.DEVNULL, start_new_session=True,
            env={**os.environ, "PATH": f"{common.bin_dir()}:{os.environ.get('PATH', '')}", **(env or {})},
        )
    pid_file(name).write_text(str(proc.pid))


def log_tail(name: str, lines: int = 15) -> str:
    path = node_dir() / "logs" / f"{name}.log"
    text = path.read_text(errors="replace").splitlines()[-lines:] if path.exists() else []
    return f"--- {path}\n" + "\n".join(text)


def wait(what: str, probe, deadline: float, component: str) -> None:
    while not probe():
        if not alive(component):
            raise NodeError(f"{component} exited while waiting for {what}\n{log_tail(component)}")
        if time.monotonic() > deadline:
            raise NodeError(f"timed out waiting for {what}\n{log_tail(component)}")
        time.sleep(0.5)


def ctr(*args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    argv = [tool("ctr"), "--address", str(socket_path()), "--namespace", "k8s.io", *args]
    proc = subprocess.run(argv, capture_output=True, **kwargs)
    if check and proc.returncode != 0:
        raise NodeError(f"ctr {' '.join(args)} failed: {proc.stderr.decode(errors='replace').strip()}")
    return proc


def import_images(archive: Path | IO[bytes]) -> None:
    """Load a docker-archive (a tarball, or a stream of one) into the node's containerd
    (namespace k8s.io, kept by the kubelet)."""
    if isinstance(archive, Path):
        with open(archive, "rb") as data:
            ctr("images", "import", "--no-unpack", "-", stdin=data)
    else:
        ctr("images", "import", "--no-unpack", "-", stdin=archive)


def import_saved(save_argv: list[str], env: dict[str, str] | None = None) -> None:
    """Stream what `save_argv` writes (a docker-archive on stdout) into the node: the archive
    (hundreds of MB with its base layers) never touches the disk."""
    save = subprocess.Popen(save_argv, env=env, stdout=subprocess.PIPE)
    assert save.stdout is not None  # stdout=PIPE
    try:
        import_images(save.stdout)
    finally:
        save.stdout.close()
        if save.wait() != 0:
            raise NodeError(f"`{' '.join(save_argv)}` failed (exit {save.returncode}; see above)")


def owner_file() -> Path:
    """Which cluster's kubeconfig the running node serves: one real node per machine."""
    return node_dir() / "owner"


def check_free(kubeconfig: Path) -> None:
    """Fail at once when the machine's one real node runs for another cluster (never wait for it)."""
    running = [name for name in NODE_PROCESSES if alive(name)]
    owner = owner_file().read_text().strip() if owner_file().exists() else ""
    if running and owner != str(kubeconfig):
        cluster = Path(owner).parent.name if owner else "another cluster"
        how = ("`make down`" if cluster == "python-shop-real"
               else f"`PYTHON_SHOP_CLUSTER={cluster.removesuffix('-real')} sandbox/cluster down --real`")
        raise NodeError(
            f"this machine's real node already runs for cluster {cluster} ({', '.join(running)}), and there is one "
            f"real node per machine: stop that cluster first ({how})"
        )


def start_node(kubeconfig: Path, client_ca: Path, kubectl, deadline: float) -> None:
    check_prerequisites()
    check_free(kubeconfig)
    remove_cni_chains()  # what an earlier run's teardown may have left: this node's pods get fresh ones
    owner_file().parent.mkdir(parents=True, exist_ok=True)
    owner_file().write_text(f"{kubeconfig}\n")
    write_files(kubeconfig, client_ca)
    setup_network()
    d = node_dir()

    start("containerd", [tool("containerd"), "--config", str(d / "containerd" / "config.toml")])
    wait("containerd", lambda: ctr("version", check=False).returncode == 0, deadline, "containerd")

    start("coredns", [tool("coredns"), "-conf", str(d / "Corefile"), "-dns.port", "53"])
    start("kube-proxy", [tool("kube-proxy"), "--config", str(d / "kube-proxy.yaml")])
    start("kubelet", [
        tool("kubelet"),
        "--config", str(d / "kubelet" / "config.yaml"),
        "--kubeconfig", str(kubeconfig),
        "--root-dir", str(d / "kubelet" / "root"),
        "--cert-dir", str(d / "kubelet" / "pki"),
        "--hostname-override", NODE,
    ])
    wait(f"node {NODE} to be Ready",
         lambda: kubectl("get", "node", NODE, "-o", "jsonpath={.status.conditions[?(@.type=='Ready')].status}")
         .stdout.strip() == "True", deadline, "kubelet")
    route_api_service(kubeconfig, deadline)
    # NetworkPolicy, enforced: the bridge CNI plugin enforces none. Only kube-router's policy
    # controller runs (iptables + ipset); routing and the service proxy stay the node's own.
    start("kube-router", [
        tool("kube-router"),
        "--run-firewall=true", "--run-router=false", "--run-service-proxy=false",
        "--enable-cni=false", "--enable-pod-egress=false",
        "--kubeconfig", str(kubeconfig), "--hostname-override", NODE,
        "--service-cluster-ip-range", SERVICE_CIDR,
        "--health-port=0", "--metrics-port=0",
    ])


def route_api_service(kubeconfig: Path, deadline: float) -> None:
    """Pods reach the API server at the `kubernetes` Service, as on any cluster.

    Its endpoint is the host's address (the API server's advertise address) while it listens on
    127.0.0.1 only, so kube-proxy's rule leads nowhere. Ours, ahead of kube-proxy's jump in nat
    PREROUTING, sends the pods' packets for the Service to the loopback listener: nothing new
    listens anywhere (kube-proxy's route_localnet, set for the loopback NodePorts, lets them in).
    kube-proxy prepends its jump only while it is missing, so ours goes in once that is there."""
    match = re.search(r"server: https://127\.0\.0\.1:(\d+)", kubeconfig.read_text())
    if not match:
        raise NodeError(f"{kubeconfig}: no API server on https://127.0.0.1:<port>")
    wait("kube-proxy's service rules", lambda: "-j KUBE-SERVICES" in sh("iptables", "-t", "nat", "-S", "PREROUTING").stdout,
         deadline, "kube-proxy")
    if sh("iptables", "-t", "nat", "-N", API_ROUTE_CHAIN, check=False).returncode != 0:
        sh("iptables", "-t", "nat", "-F", API_ROUTE_CHAIN)  # an earlier start's
    sh("iptables", "-t", "nat", "-A", API_ROUTE_CHAIN, "-d", f"{API_SERVICE_IP}/32", "-p", "tcp", "--dport", "443",
       "-m", "comment", "--comment", "pods to the API server on loopback", "-j", "DNAT",
       "--to-destination", f"127.0.0.1:{match.group(1)}")
    jump = ["PREROUTING", "-i", BRIDGE, "-j", API_ROUTE_CHAIN]
    if sh("iptables", "-t", "nat", "-C", *jump, check=False).returncode != 0:
        sh("iptables", "-t", "nat", "-I", jump[0], "1", *jump[1:])


def stop_node() -> list[str]:
    """Stop the node's processes and remove what they left on the host."""
    d = node_dir()
    stopped = []
    if alive("containerd"):
        remove_sandboxes()
    for name in NODE_PROCESSES:
        pid = alive(name)
        if not pid:
            continue
        common.stop_process(pid, grace=15)
        stopped.append(name)
    kill_shims()
    if Path(tool("kube-proxy")).exists():
        subprocess.run([tool("kube-proxy"), "--cleanup"], capture_output=True)  # its iptables chains
    remove_kube_chains()  # the kubelet's own (KUBE-FIREWALL, canaries) and kube-router's
    remove_ipsets()  # kube-router's, once no rule refers to them
    remove_cni_chains()  # of pods whose sandbox the kubelet had not torn down when it stopped
    common.unmount_under(d)
    teardown_network()
    owner_file().unlink(missing_ok=True)
    return stopped


def remove_sandboxes() -> None:
    """Stop every task and delete every container in our containerd (the kubelet is stopped after)."""
    tasks = ctr("tasks", "list", "--quiet", check=False).stdout.decode().split()
    for task in tasks:
        ctr("tasks", "kill", "--signal", "SIGKILL", task, check=False)
    for task in tasks:
        ctr("tasks", "delete", "--force", task, check=False)
    for container in ctr("containers", "list", "--quiet", check=False).stdout.decode().split():
        ctr("containers", "delete", container, check=False)


def remove_kube_chains() -> None:
    """Delete every KUBE-* chain and the jumps to them, in every table, IPv4 and IPv6."""
    for save, cmd in (("iptables-save", "iptables"), ("ip6tables-save", "ip6tables")):
        if not shutil.which(save):
            continue
        table = ""
        chains: list[tuple[str, str]] = []
        jumps: list[tuple[str, list[str]]] = []
        for line in sh(save, check=False).stdout.splitlines():
            if line.startswith("*"):
                table = line[1:]
            elif line.startswith(":KUBE-"):
                chains.append((table, line[1:].split()[0]))
            elif line.startswith("-A ") and " -j KUBE-" in line and not line.startswith("-A KUBE-"):
                jumps.append((table, shlex.split(line)[1:]))
        for table, rule in jumps:
            subprocess.run([cmd, "-t", table, "-D", *rule], capture_output=True)
        for table, chain in chains:
            subprocess.run([cmd, "-t", table, "-F", chain], capture_output=True)
        for table, chain in chains:
            subprocess.run([cmd, "-t", table, "-X", chain], capture_output=True)


def our_ipsets() -> list[str]:
    if not shutil.which("ipset"):
        return []
    names = sh("ipset", "list", "-name", check=False).stdout.split()
    return [n for n in names if n.startswith(("KUBE-", "kube-router"))]


def remove_ipsets() -> None:
    for name in our_ipsets():
        subprocess.run(["ipset", "destroy", name], capture_output=True)


def remove_cni_chains() -> None:
    """Delete the bridge plugin's NAT rules and CNI-* chains of our network's pods, and any empty
    CNI-* chain nothing jumps to.

    The kubelet runs the CNI DEL that removes them when it tears a pod's sandbox down,
    asynchronously after the pod is deleted; a node stopped before then (a namespace just
    destroyed, or pods still deployed) would leave them, and a DEL cut short can leave a chain
    without its jump, or empty. Ours carry the network's name in their comment; an empty chain
    that nothing jumps to does nothing for anyone (the plugin creates and fills one per pod)."""
    rules = sh("iptables-save", "-t", "nat", check=False).stdout.splitlines()
    declared = {line[1:].split()[0] for line in rules if line.startswith(":CNI-")}
    tagged = [line for line in rules if line.startswith("-A ") and f'name: \\"{CNI_NETWORK}\\"' in line]
    jumps = [line for line in tagged if line.startswith("-A POSTROUTING")]
    ours = {shlex.split(line)[1] for line in tagged if shlex.split(line)[1].startswith("CNI-")}
    ours |= {shlex.split(line)[-1] for line in jumps}
    filled = {shlex.split(line)[1] for line in rules if line.startswith("-A CNI-")}
    referenced = {t for line in rules if line.startswith("-A ") and " -j CNI-" in line
                  for t in [shlex.split(line)[-1]]}
    empty = {chain for chain in declared - filled if chain not in referenced}
    for line in jumps:
        subprocess.run(["iptables", "-t", "nat", "-D", *shlex.split(line)[1:]], capture_output=True)
    for chain in sorted(ours | empty):
        subprocess.run(["iptables", "-t", "nat", "-F", chain], capture_output=True)
    for chain in sorted(ours | empty):
        subprocess.run(["iptables", "-t", "nat", "-X", chain], capture_output=True)


def kill_shims() -> None:
    for proc in Path("/proc").glob("[0-9]*"):
        with contextlib.suppress(OSError):
            cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            if "containerd-shim-runc-v2" in cmdline and str(socket_path()) in cmdline:
                os.kill(int(proc.name), signal.SIGKILL)


def leftovers() -> list[str]:
    """What of ours is still on the host (the tests' check that nothing is left)."""
    found = [f"process {name}" for name in NODE_PROCESSES if alive(name)]
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    found += [f"mount {m}" for m in mounts if m.startswith(str(node_dir()))]
    if sh("ip", "link", "show", BRIDGE, check=False).returncode == 0:
        found.append(f"interface {BRIDGE}")
    found += [f"interface {line.split(':')[1].strip().split('@')[0]}"
              for line in sh("ip", "-o", "link", "show", "master", BRIDGE, check=False).stdout.splitlines()]
    rules = sh("iptables-save", check=False).stdout
    # Ours only: another network's CNI chains (podman's, say) are not this node's to remove.
    found += [f"iptables {line}" for line in rules.splitlines()
              if "KUBE-" in line or f'name: \\"{CNI_NETWORK}\\"' in line][:5]
    found += [f"ipset {name}" for name in our_ipsets()]
    return found


def forget_state() -> None:
    """Remove the node's per-cluster state (pods, IP leases); containerd's image store stays."""
    d = node_dir()
    common.unmount_under(d)
    for sub in ("kubelet/root", "kubelet/pki", "cni/networks", "containerd/state", "pids"):
        shutil.rmtree(d / sub, ignore_errors=True)
