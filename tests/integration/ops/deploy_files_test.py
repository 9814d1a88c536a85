#!/usr/bin/env python3
"""The deployment files (deploy/) parse and hold what docs/OPERATIONS.md
promises, checked with the tools this machine has:

  - Grafana: valid JSON, the datasource a variable, every query valid PromQL
    (promtool, through a throw-away rule file) and naming metrics that exist;
  - alerts.yml names only metrics that exist;
  - docker-compose.yml and the Kubernetes manifests: YAML (PyYAML when
    installed, else skipped with a note), the services, host networking for
    SIP/RTP, /healthz probes, non-root; `kubectl kustomize` when kubectl is
    there, `docker compose config` when Docker Compose is there;
  - the TOML files shipped for compose and Kubernetes parse (tomllib), and the
    programs accept them (`sbc --check-config`, `sbc-admin --check-config`)
    when the binaries are given;
  - the shell scripts: `bash -n`, shellcheck when installed.

    deploy_files_test.py [--sbc BIN] [--admin BIN] [--promtool BIN]

Docker images are not built and nothing is deployed here: no Docker daemon
and no cluster on these machines.
"""
import argparse
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

try:
    import tomllib
except ImportError:  # Python < 3.11
    tomllib = None
try:
    import yaml
except ImportError:
    yaml = None

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", "..", ".."))
DEPLOY = os.path.join(REPO, "deploy")

failures = []


def check(cond, what):
    print(("   ok   " if cond else "   FAIL ") + what)
    if not cond:
        failures.append(what)


def note(what):
    print("   note " + what)


def read(path):
    with open(path) as f:
        return f.read()


# ---------------------------------------------------------------------------
# metric names


def declared_metrics():
    """Metric names declared in the sources (string literals that look like
    metric names in the metric tables), and process_* / http_* / up."""
    names = {"up", "ALERTS"}
    sources = (glob.glob(os.path.join(REPO, "sbc", "**", "*.cc"), recursive=True)
               + glob.glob(os.path.join(REPO, "common", "**", "*.cc"), recursive=True)
               + glob.glob(os.path.join(REPO, "media-relay", "**", "*.cc"), recursive=True)
               + glob.glob(os.path.join(REPO, "admin-ui", "**", "*.cc"), recursive=True))
    lit = re.compile(r'"((?:sbc|relay|http|process|admin|console)_[a-z0-9_]+)"')
    for path in sources:
        names.update(lit.findall(read(path)))
    return names


_NOT_METRICS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
                "or", "unless", "offset", "le", "sum", "max", "min", "avg", "count", "rate",
                "increase", "delta", "deriv", "histogram_quantile", "time", "label_values"}


def metrics_in(expr):
    """Metric names an expression reads (identifiers with our prefixes)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # label values out
    names = set(re.findall(r"\b((?:sbc|relay|http|process)_[a-zA-Z0-9_]+)\b", expr))
    out = set()
    for n in names:
        for suffix in ("_bucket", "_count", "_sum"):
            if n.endswith(suffix) and n.startswith(("sbc_call_setup", "http_request_duration",
                                                    "relay_leg_")):
                n = n[: -len(suffix)]
        out.add(n)
    return out


def check_metric_names(exprs, declared, what):
    missing = {}
    for e in exprs:
        for n in metrics_in(e):
            if n not in declared:
                missing.setdefault(n.split("_")[0], set()).add(n)
    sbc_missing = sorted(missing.pop("sbc", set()) | missing.pop("http", set())
                         | missing.pop("process", set()))
    check(not sbc_missing, f"{what}: every sbc_/http_/process_ metric exists ({sbc_missing})")
    relay_declared = any(n.startswith("relay_") for n in declared)
    relay_missing = sorted(missing.pop("relay", set()))
    if relay_declared:
        check(not relay_missing,
              f"{what}: every relay_ metric exists in media-relay ({relay_missing})")
    elif relay_missing:
        note(f"{what}: media-relay declares no metric yet; not checked: {relay_missing}")


def promql_valid(exprs, promtool, what):
    """Valid PromQL: promtool checks a rule file of recording rules."""
    if not promtool:
        note(f"{what}: promtool not found, PromQL not checked")
        return
    work = tempfile.mkdtemp(prefix="sbc-promql-")
    try:
        path = os.path.join(work, "exprs.yml")
        with open(path, "w") as f:
            f.write("groups:\n  - name: exprs\n    rules:\n")
            for i, e in enumerate(exprs):
                f.write(f"      - record: expr_{i}\n        expr: {json.dumps(e)}\n")
        r = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True,
                           timeout=60)
        check(r.returncode == 0, f"{what}: all {len(exprs)} queries are valid PromQL"
              + ("" if r.returncode == 0 else f"\n{r.stdout}{r.stderr}"))
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---------------------------------------------------------------------------


def grafana(promtool, declared):
    print("== deploy/grafana")
    files = glob.glob(os.path.join(DEPLOY, "grafana", "*.json"))
    check(files != [], "deploy/grafana has a dashboard")
    for path in files:
        name = os.path.relpath(path, REPO)
        try:
            d = json.loads(read(path))
        except json.JSONDecodeError as e:
            check(False, f"{name}: valid JSON ({e})")
            continue
        check(d.get("uid") and d.get("title") and isinstance(d.get("panels"), list),
              f"{name}: uid, title and panels")
        variables = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
        ds = variables.get("datasource", {})
        check(ds.get("type") == "datasource" and ds.get("query") == "prometheus",
              f"{name}: the datasource is a variable (type datasource, prometheus)")
        panels = [p for p in d["panels"] if p.get("type") != "row"]
        ids = [p.get("id") for p in d["panels"]]
        check(len(ids) == len(set(ids)), f"{name}: panel ids unique")
        exprs = []
        bad_ds = []
        for p in panels:
            g = p.get("gridPos", {})
            if g.get("x", 0) + g.get("w", 0) > 24:
                check(False, f"{name}: panel {p.get('title')!r} fits the 24-column grid")
            if p.get("datasource", {}).get("uid") != "${datasource}":
                bad_ds.append(p.get("title"))
            for t in p.get("targets", []):
                if t.get("datasource", {}).get("uid") != "${datasource}":
                    bad_ds.append(f"{p.get('title')}/{t.get('refId')}")
                exprs.append(t["expr"])
        check(not bad_ds, f"{name}: every panel and query uses ${{datasource}} ({bad_ds})")
        check(len(exprs) >= 20, f"{name}: {len(exprs)} queries")
        wanted = ["sbc_calls_active", "sbc_calls_total", "sbc_call_setup_seconds",
                  "sbc_rejections_total", "sbc_trunk_channels_in_use", "sbc_trunk_channel_limit",
                  "sbc_gateway_up", "relay_packets_total", "http_requests_total"]
        used = set().union(*(metrics_in(e) for e in exprs))
        check(all(w in used for w in wanted),
              f"{name}: draws {', '.join(wanted)} ({sorted(set(wanted) - used)} missing)")
        # Grafana's variables, replaced by what they expand to.
        concrete = [e.replace("$__rate_interval", "1m").replace("$node", ".*")
                    .replace("$trunk", ".*") for e in exprs]
        promql_valid(concrete, promtool, name)
        check_metric_names(exprs, declared, name)


def alerts(declared):
    print("== deploy/prometheus/alerts.yml")
    text = read(os.path.join(DEPLOY, "prometheus", "alerts.yml"))
    if yaml is None:
        exprs = re.findall(r"expr:\s*(.+)", text)
        note("PyYAML missing: alert expressions read line by line")
    else:
        doc = yaml.safe_load(text)
        exprs = [r["expr"] for g in doc["groups"] for r in g["rules"]]
    check_metric_names(exprs, declared, "alerts.yml")
    ops = read(os.path.join(REPO, "docs", "OPERATIONS.md"))
    names = re.findall(r"^\s*- alert:\s*(\w+)", text, re.M)
    undocumented = [n for n in names if n not in ops]
    check(not undocumented, f"docs/OPERATIONS.md explains every alert ({undocumented})")


def compose():
    print("== deploy/docker")
    d = os.path.join(DEPLOY, "docker")
    dockerfile = read(os.path.join(d, "Dockerfile"))
    froms = re.findall(r"^FROM\s+(\S+)", dockerfile, re.M)
    check(len(froms) >= 2 and all(f.startswith("debian:12") for f in froms),
          f"Dockerfile: multi-stage on Debian 12 ({froms})")
    check("deploy/install-deps.sh" in dockerfile, "Dockerfile: the build stage uses install-deps.sh")
    last_user = re.findall(r"^USER\s+(\S+)", dockerfile, re.M)
    check(last_user and not last_user[-1].startswith(("root", "0")),
          f"Dockerfile: the runtime runs as a non-root user ({last_user})")
    path = os.path.join(d, "docker-compose.yml")
    if yaml is None:
        note("PyYAML missing: docker-compose.yml checked for its services by text only")
        text = read(path)
        for s in ("postgres", "media-relay", "sbc", "sbc-admin", "prometheus"):
            check(re.search(rf"^  {s}:", text, re.M) is not None, f"compose: service {s}")
        return
    c = yaml.safe_load(read(path))
    services = c.get("services", {})
    for s in ("postgres", "migrate", "media-relay", "sbc", "sbc-admin", "prometheus"):
        check(s in services, f"compose: service {s}")
    for s in ("sbc", "media-relay"):
        check(services.get(s, {}).get("network_mode") == "host",
              f"compose: {s} on the host network (SIP/RTP without NAT)")
    missing = []
    for name, svc in services.items():
        for v in svc.get("volumes", []):
            src = v.split(":")[0]
            if src.startswith("."):
                if not os.path.exists(os.path.normpath(os.path.join(d, src))):
                    missing.append(f"{name}: {src}")
    check(not missing, f"compose: every bound file exists ({missing})")
    for name, sec in c.get("secrets", {}).items():
        check(sec.get("file", "").startswith("./secrets/"), f"compose: secret {name} from secrets/")
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True,
                                 timeout=30).returncode == 0:
        r = subprocess.run([docker, "compose", "-f", path, "config", "-q"], capture_output=True,
                           text=True, timeout=60)
        check(r.returncode == 0, f"docker compose config ({r.stderr.strip()})")
    else:
        note("docker compose not available: the compose file was not run through it")


def k8s(checkers):
    print("== deploy/k8s")
    d = os.path.join(DEPLOY, "k8s")
    files = sorted(glob.glob(os.path.join(d, "*.yaml")))
    kubectl = shutil.which("kubectl")
    if kubectl:
        # Client-side only: kustomize needs no cluster (kubectl apply --dry-run does).
        r = subprocess.run([kubectl, "kustomize", d], capture_output=True, text=True, timeout=120)
        check(r.returncode == 0, f"kubectl kustomize deploy/k8s ({r.stderr.strip()[:300]})")
    else:
        note("kubectl not found: kustomization not rendered")
    if yaml is None:
        note("PyYAML missing: Kubernetes manifests not parsed")
        return
    docs = []
    for path in files:
        for doc in yaml.safe_load_all(read(path)):
            if doc:
                docs.append((os.path.basename(path), doc))
    kust = next(doc for f, doc in docs if f == "kustomization.yaml")
    listed = set(kust.get("resources", []))
    on_disk = {os.path.basename(f) for f in files} - {"kustomization.yaml"}
    check(listed == on_disk, f"kustomization lists every manifest ({sorted(listed ^ on_disk)})")
    objs = {}
    for f, doc in docs:
        if f == "kustomization.yaml":
            continue
        ok = doc.get("apiVersion") and doc.get("kind") and doc.get("metadata", {}).get("name")
        check(bool(ok), f"{f}: apiVersion, kind, metadata.name")
        objs[(doc["kind"], doc["metadata"]["name"])] = doc
    for kind, name in (("DaemonSet", "sbc"), ("DaemonSet", "media-relay"),
                       ("Deployment", "sbc-admin"), ("Service", "sbc-admin"),
                       ("ConfigMap", "edge-sbc-config"), ("Secret", "edge-sbc-secrets")):
        check((kind, name) in objs, f"k8s: {kind} {name}")
    check(any(k == "PodDisruptionBudget" for k, _ in objs), "k8s: a PodDisruptionBudget")
    for kind, name in (("DaemonSet", "sbc"), ("DaemonSet", "media-relay")):
        spec = objs.get((kind, name), {}).get("spec", {}).get("template", {}).get("spec", {})
        check(spec.get("hostNetwork") is True, f"k8s: {name} on the host network")
    for kind, name in (("DaemonSet", "sbc"), ("DaemonSet", "media-relay"),
                       ("Deployment", "sbc-admin")):
        spec = objs.get((kind, name), {}).get("spec", {}).get("template", {}).get("spec", {})
        check(spec.get("securityContext", {}).get("runAsNonRoot") is True,
              f"k8s: {name} runs as non-root")
        for c in spec.get("containers", []):
            for probe in ("readinessProbe", "livenessProbe"):
                path = c.get(probe, {}).get("httpGet", {}).get("path")
                # The sbc's /healthz fails while it drains: its liveness is /livez.
                want = "/livez" if (name, probe) == ("sbc", "livenessProbe") else "/healthz"
                check(path == want, f"k8s: {name}/{c['name']} {probe} on {want}")
    sbc_spec = objs.get(("DaemonSet", "sbc"), {}).get("spec", {}).get("template", {}).get("spec", {})
    pre = [c.get("lifecycle", {}).get("preStop") for c in sbc_spec.get("containers", [])]
    check(any(pre), "k8s: the sbc has a pre-stop drain")
    pre_cmd = " ".join(" ".join(p.get("exec", {}).get("command", [])) for p in pre if p)
    check("sbc-drain" in pre_cmd, f"k8s: the pre-stop hook runs sbc-drain ({pre_cmd})")
    grace = sbc_spec.get("terminationGracePeriodSeconds", 30)
    drain_s = [int(e.get("value", "0")) for c in sbc_spec.get("containers", [])
               for e in c.get("env", []) if e.get("name") == "DRAIN_SECONDS"]
    check(drain_s and grace > max(drain_s),
          f"k8s: terminationGracePeriodSeconds ({grace}) covers DRAIN_SECONDS ({drain_s})")
    with open(os.path.join(DEPLOY, "docker", "Dockerfile")) as f:
        check("deploy/sbc-drain.sh /usr/local/bin/sbc-drain" in f.read(),
              "the image carries sbc-drain (the pre-stop hook's command)")
    drain_script = os.path.join(DEPLOY, "sbc-drain.sh")
    check(os.access(drain_script, os.X_OK), "deploy/sbc-drain.sh is executable")
    r = subprocess.run(["sh", "-n", drain_script], capture_output=True, text=True, timeout=10)
    check(r.returncode == 0, f"deploy/sbc-drain.sh parses (sh -n) {r.stderr.strip()}")
    cm = objs.get(("ConfigMap", "edge-sbc-config"), {}).get("data", {})
    values = {"NODE_NAME": "node-a", "HOST_IP": "192.0.2.10", "DB_HOST": "db", "DB_USER": "sbc",
              "DB_PASSWORD": "secret"}
    for key in ("sbc.toml", "relay.toml", "admin.toml"):
        text = cm.get(key)
        check(text is not None, f"k8s ConfigMap: {key}")
        if text is None:
            continue
        for k, v in values.items():
            text = text.replace(f"@{k}@", v)
        check("@" not in re.sub(r"#.*", "", text), f"k8s ConfigMap {key}: every @PLACEHOLDER@ rendered")
        check_toml(f"k8s ConfigMap {key}", text, checkers.get(key))


def check_toml(what, text, program):
    """Valid TOML, and accepted by `program --check-config` when given."""
    if tomllib is not None:
        try:
            tomllib.loads(text)
            check(True, f"{what}: valid TOML")
        except tomllib.TOMLDecodeError as e:
            check(False, f"{what}: valid TOML ({e})")
    if program:
        work = tempfile.mkdtemp(prefix="sbc-toml-")
        try:
            path = os.path.join(work, "node.toml")
            with open(path, "w") as f:
                f.write(text)
            r = subprocess.run([program, "--check-config", "--config", path], capture_output=True,
                               text=True, timeout=30)
            check(r.returncode == 0, f"{what}: {os.path.basename(program)} --check-config "
                  f"accepts it ({(r.stdout + r.stderr).strip()})")
        finally:
            shutil.rmtree(work, ignore_errors=True)


def tomls(checkers):
    print("== TOML files shipped for compose")
    for path in sorted(glob.glob(os.path.join(DEPLOY, "docker", "config", "*.toml"))):
        check_toml(os.path.relpath(path, REPO), read(path), checkers.get(os.path.basename(path)))


def scripts():
    print("== shell scripts")
    paths = [os.path.join(DEPLOY, "quickstart.sh"), os.path.join(DEPLOY, "docker", "entrypoint.sh")]
    for p in paths:
        r = subprocess.run(["bash", "-n", p], capture_output=True, text=True, timeout=30)
        check(r.returncode == 0, f"bash -n {os.path.relpath(p, REPO)} {r.stderr.strip()}")
    sc = shutil.which("shellcheck")
    if sc:
        r = subprocess.run([sc, "-S", "warning", *paths], capture_output=True, text=True,
                           timeout=60)
        check(r.returncode == 0, "shellcheck (warnings and errors)\n" + r.stdout[-2000:])
    else:
        note("shellcheck not installed")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sbc")
    ap.add_argument("--admin", help="sbc-admin, to --check-config the console's files")
    ap.add_argument("--promtool", default=shutil.which("promtool"))
    a = ap.parse_args()
    if yaml is None:
        note("PyYAML (python3-yaml) not installed: YAML structure checks skipped")
    declared = declared_metrics()
    grafana(a.promtool, declared)
    alerts(declared)
    compose()
    # media-relay has no --check-config: its files are checked as TOML only.
    checkers = {}
    for name, program in (("sbc.toml", a.sbc), ("admin.toml", a.admin)):
        if program and not os.access(program, os.X_OK):
            note(f"{program} is not built: {name} files checked as TOML only")
        elif program:
            checkers[name] = program
    k8s(checkers)
    tomls(checkers)
    scripts()
    if failures:
        print(f"FAIL {len(failures)} check(s):")
        for f in failures:
            print("  - " + f.splitlines()[0])
        return 1
    print("passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
