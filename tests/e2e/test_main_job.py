"""The main job, as the README runs it, on a machine with no kube context and no minikube.

`make up` announces and starts the embedded cluster with its real node (the committed
Pulumi.real-node.yaml, its salt, its context), deploys, and ends with the shop's URL; the
page there lists the five items; while it runs, a second real node is refused at once,
naming what is in the way; `make preview` shows no changes and runs the policy pack
against the live cluster; an edit to either app, then `make up`, and the first page after it shows the edit,
with no failed request on the way; a `make up` with nothing changed builds and changes
nothing; `make down` leaves no object,
process, bridge or iptables rule.
The verbs run in a copy of the repository, with their state in a backend of the test's own.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

from sandbox.real_node import alive, leftovers, node_dir
from tests.support.load import Load
from tests.support.repo import copy_repo
from tools.toolset import ROOT

pytestmark = pytest.mark.pods

ITEMS = ["Apple", "Banana", "Orange", "Potato", "Onion"]
PRINTED: dict[str, str] = {}  # the URL the first `make up` printed


@pytest.fixture(scope="module")
def machine(tmp_path_factory):
    """A clone to run make in, and the environment of a machine with no kube context and no minikube."""
    if any(alive(name) for name in ("kubelet", "containerd")):
        owner = (node_dir() / "owner").read_text().strip() if (node_dir() / "owner").exists() else "?"
        pytest.fail(f"a real node already runs on this machine (for {owner}): `make down` stops make up's")
    tmp = tmp_path_factory.mktemp("main-job")
    (tmp / "state").mkdir()
    path = [d for d in os.environ["PATH"].split(os.pathsep) if d and not os.path.exists(os.path.join(d, "minikube"))]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "PYTHON_SHOP_CLUSTER"))}
    env.update(
        PATH=os.pathsep.join(path),
        KUBECONFIG=str(tmp / "no-kubeconfig"),  # no file: no context at all
        PULUMI_BACKEND_URL=f"file://{tmp / 'state'}",
    )
    repo = copy_repo(tmp / "repo")
    yield repo, env
    # Whatever happened above, leave no cluster running for the next tests.
    subprocess.run(["make", "--no-print-directory", "down"], cwd=repo, env=env, capture_output=True, timeout=600)


def make(machine, verb: str) -> subprocess.CompletedProcess:
    repo, env = machine
    return subprocess.run(["make", "--no-print-directory", verb], cwd=repo, env=env, capture_output=True, text=True,
                          timeout=900, stdin=subprocess.DEVNULL)


def test_make_up_ends_with_the_url_of_the_page_listing_the_five_items(machine):
    up = make(machine, "up")
    assert up.returncode == 0, (up.stdout + up.stderr)[-6000:]
    assert "no kube context 'minikube' answers and minikube is not installed" in up.stderr
    last = up.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"The shop: http://127\.0\.0\.1:\d+/", last), last
    PRINTED["url"] = last.removeprefix("The shop: ")
    page = requests.get(last.removeprefix("The shop: "), timeout=10)
    assert page.status_code == 200
    positions = [page.text.index(f"<td>{name}</td>") for name in ITEMS]
    assert positions == sorted(positions)


def test_a_second_real_node_is_refused_at_once_naming_what_is_in_the_way(machine):
    env = {**machine[1], "PYTHON_SHOP_CLUSTER": "python-shop-second"}
    started = time.monotonic()
    second = subprocess.run([str(ROOT / "sandbox" / "cluster"), "up", "--real"], env=env, capture_output=True,
                            text=True, timeout=300)
    elapsed = time.monotonic() - started
    assert second.returncode == 1
    assert ("this machine's real node already runs for cluster python-shop-real (kube-router, kubelet, kube-proxy, "
            "coredns, containerd), and there is one real node per machine: stop that cluster first (`make down`)"
            ) in second.stderr
    # At once, not after the node's 5-minute start deadline (about a second here; 60 s is generous).
    assert elapsed < 60, f"took {elapsed:.0f}s"
    assert alive("kubelet"), "make up's node is untouched"


@pytest.mark.parametrize("bench", [["benchmarks.deploy", "--real", "--rounds", "1"], ["benchmarks.edit_loop"]])
def test_the_real_node_benchmarks_stop_at_once_naming_make_ups_cluster(machine, bench):
    repo, env = machine
    started = time.monotonic()
    run = subprocess.run([str(repo / ".venv" / "bin" / "python"), "-m", *bench], cwd=repo, env=env,
                         capture_output=True, text=True, timeout=300)
    elapsed = time.monotonic() - started
    assert run.returncode != 0
    assert "python-shop-real" in run.stderr and "stop" in run.stderr, run.stderr[-2000:]
    # Within seconds, not the node's 5-minute start deadline (about a second here; 60 s is generous).
    assert elapsed < 60, f"took {elapsed:.0f}s"
    assert alive("kubelet"), "make up's node is untouched"


def test_make_preview_shows_no_changes_and_runs_the_policy_pack(machine):
    preview = make(machine, "preview")
    said = preview.stdout + preview.stderr
    assert preview.returncode == 0, said[-6000:]
    assert "python-shop-guardrails" in said
    assert "16 unchanged" in said
    for change in ("to create", "to update", "to delete", "to replace"):
        assert change not in said


def shop_url(machine) -> str:
    if "url" not in PRINTED:  # this test alone: `make up` again (idempotent) prints it last
        up = make(machine, "up")
        assert up.returncode == 0, (up.stdout + up.stderr)[-6000:]
        PRINTED["url"] = up.stdout.strip().splitlines()[-1].removeprefix("The shop: ")
    return PRINTED["url"]


def make_up_under_load(machine, url: str) -> tuple[subprocess.CompletedProcess, Load]:
    # Four clients for as long as `make up` takes (bounded by its own 900 s timeout).
    with Load(url, duration=900, concurrency=4, timeout=10) as load:
        up = make(machine, "up")
        load.stop()
    return up, load


def first_page(url: str) -> str:
    """The first page fetched after `make up` returns, on a fresh connection: make up's promise is
    that it already shows the edit (no old pod is left, and the page named the new builds)."""
    return requests.get(url, timeout=10, headers={"Connection": "close"}).text


def test_an_edit_to_each_app_shows_on_the_first_page_after_one_make_up_with_no_failed_request(machine):
    """A template edit in the frontend and a price edit in the backend, then one `make up`: both apps roll
    at once under load, and the first page fetched after it shows both edits."""
    repo, _ = machine
    url = shop_url(machine)
    template = repo / "frontend/shop_frontend/templates/base.html"
    template.write_text(template.read_text().replace("<h1>Python Shop</h1>", "<h1>Python Shop, edited</h1>"))
    # Same length (0.75 -> 0.57): nothing but the build tells the old page from the new one.
    inventory = repo / "backend/shop_backend/inventory.py"
    text = inventory.read_text()
    banana = '{"id": 2, "name": "Banana", "price": 0.75, "count": 41}'
    assert banana in text
    inventory.write_text(text.replace(banana, banana.replace("0.75", "0.57")))
    assert '<td class="number">0.75</td>' in requests.get(url, timeout=10).text
    up, load = make_up_under_load(machine, url)
    assert up.returncode == 0, (up.stdout + up.stderr)[-6000:]
    assert "2 updated" in up.stdout  # the two Deployments, nothing else
    page = first_page(url)
    assert "<h1>Python Shop, edited</h1>" in page
    assert '<td class="number">0.57</td>' in page and '<td class="number">0.75</td>' not in page
    failed = [o for o in load.snapshot() if o.status != 200]
    assert load.count(lambda o: True) > 20
    assert failed == [], failed[:3]


def test_make_up_with_nothing_changed_builds_nothing_and_changes_nothing(machine):
    up = make(machine, "up")
    assert up.returncode == 0, (up.stdout + up.stderr)[-6000:]
    assert "16 unchanged" in up.stdout
    for change in ("created", "updated", "deleted", "replaced"):
        assert f" {change} " not in up.stdout.split("Resources:")[-1]
    assert "loaded into the node" not in up.stderr
    assert "built from" not in up.stderr


class MakeLogs:
    """`make logs` started as in a terminal, its lines gathered as they come; Ctrl-C on leaving."""

    def __init__(self, machine):
        repo, env = machine
        # Its own process group for the Ctrl-C, and SIGINT at its default. A test run started in the
        # background of a non-interactive shell (CI's) has SIGINT ignored, and every child would
        # inherit that: no Ctrl-C could stop them (found so: `make logs` outlived the signal by 30 s).
        self.proc = subprocess.Popen(["make", "--no-print-directory", "logs"], cwd=repo, env=env,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     stdin=subprocess.DEVNULL, start_new_session=True,
                                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        self.seen: list[str] = []
        output = self.proc.stdout
        assert output is not None  # stdout=PIPE
        threading.Thread(target=lambda: self.seen.extend(iter(output.readline, "")), daemon=True).start()

    def __enter__(self) -> MakeLogs:
        return self

    def __exit__(self, *_: object) -> None:
        os.killpg(self.proc.pid, signal.SIGINT)
        self.proc.wait(timeout=30)


def test_make_logs_follows_both_apps_with_each_line_labelled(machine):
    url = shop_url(machine)
    with MakeLogs(machine) as logs:
        request_id = f"make-logs-{time.monotonic_ns()}"
        deadline = time.monotonic() + 60  # kubectl attaching to each pod takes a second or two
        wanted = {"frontend", "backend"}
        while wanted and time.monotonic() < deadline:
            requests.get(url, headers={"X-Request-ID": request_id}, timeout=10)
            for line in list(logs.seen):
                app = line.split(" ", 1)[0]
                if app in wanted and f'"request_id": "{request_id}"' in line and " | {" in line:
                    wanted.discard(app)
            time.sleep(0.5)
        assert not wanted, f"no line of {wanted} with request {request_id}; got {logs.seen[-10:]}"


def test_make_logs_goes_on_with_a_container_that_restarted(machine):
    """A backend container that exits is restarted by the kubelet in the same pod; its `kubectl logs
    --follow` ended with it, and `make logs` must pick the pod up again."""
    repo, env = machine
    shop_url(machine)
    found = subprocess.run([sys.executable, "-c", "from sandbox.targets import REAL_NODE_STACK, answering; "
                            "from tools.toolset import find_kubectl; "
                            "print(find_kubectl(install=False), answering(REAL_NODE_STACK))"],
                           cwd=repo, env=env, capture_output=True, text=True, check=True).stdout.split()
    kubectl = [found[0], "--kubeconfig", found[1], "--namespace", "python-shop"]

    def backend() -> dict:
        listed = subprocess.run([*kubectl, "get", "pods", "--selector", "app.kubernetes.io/component=backend",
                                 "--output", "json"], capture_output=True, text=True, check=True).stdout
        return min(json.loads(listed)["items"], key=lambda p: p["metadata"]["name"])

    def ask(pod: str, request_id: str) -> subprocess.CompletedProcess:
        # From inside the pod to its own port: the line can only come from this container.
        return subprocess.run([*kubectl, "exec", pod, "--", "python", "-c", "import os, urllib.request as u; "
                               "u.urlopen(u.Request(f'http://127.0.0.1:{os.environ[\"PORT\"]}/', "
                               f"headers={{'X-Request-ID': '{request_id}'}}), timeout=5)"],
                              capture_output=True, text=True)

    def logged(logs: MakeLogs, pod: str, request_id: str) -> bool:
        prefix = "backend  " + "-".join(pod.rsplit("-", 2)[-2:]) + " | "
        return any(line.startswith(prefix) and f'"request_id": "{request_id}"' in line for line in list(logs.seen))

    pod = backend()["metadata"]["name"]
    restarts = backend()["status"]["containerStatuses"][0]["restartCount"]
    with MakeLogs(machine) as logs:
        deadline = time.monotonic() + 60
        while not logged(logs, pod, "before-the-restart") and time.monotonic() < deadline:
            ask(pod, "before-the-restart")
            time.sleep(0.5)
        assert logged(logs, pod, "before-the-restart"), logs.seen[-10:]
        # granian is the container's PID 1 (the Dockerfile's exec): on SIGTERM it stops, the container ends.
        subprocess.run([*kubectl, "exec", pod, "--", "python", "-c", "import os, signal; os.kill(1, signal.SIGTERM)"],
                       capture_output=True, check=True)
        deadline = time.monotonic() + 120  # the kubelet's restart, then make logs' next poll (2 s)
        while time.monotonic() < deadline:
            status = backend()["status"]["containerStatuses"][0]
            if status["restartCount"] > restarts and status.get("ready"):
                ask(pod, "after-the-restart")
                if logged(logs, pod, "after-the-restart"):
                    break
            time.sleep(1)
        assert logged(logs, pod, "after-the-restart"), logs.seen[-10:]
        before = [line for line in logs.seen if '"request_id": "before-the-restart"' in line]
        assert len(before) == len({line for line in before}), "a line shown twice after the restart"


def test_make_down_leaves_nothing_behind(machine):
    repo, env = machine
    down = make(machine, "down")
    assert down.returncode == 0, (down.stdout + down.stderr)[-6000:]
    assert leftovers() == []
    status = subprocess.run([str(ROOT / "sandbox" / "cluster"), "status", "--real"], env=env, capture_output=True,
                            text=True, timeout=60)
    assert status.stdout.strip() == "cluster python-shop-real: absent"
    marks = ("clusters/python-shop-real/", str(node_dir()), "python-shop/images/docker")
    processes = subprocess.run(["ps", "-eo", "stat=,args="], capture_output=True, text=True).stdout.splitlines()
    assert [p for p in processes if any(m in p for m in marks) and not p.startswith("Z")] == []
