#!/usr/bin/env python3
"""Checks deploy/ as far as a machine without Docker, Kubernetes or Helm allows:

- the Helm chart renders (helm_render.go: Go templates + Sprig, as Helm does) with the
  default values and with overrides, the manifests are valid YAML (yamllint), and they
  say what the chart promises (ports, probes on /healthz, storage, a config tern-server
  accepts with -t);
- the systemd unit passes `systemd-analyze verify` (with ExecStart pointed at the built
  binary) and its config file passes `tern-server -t`;
- the Containerfile copies only what exists, and its runtime stage installs the Debian
  package of every shared library the built tern-server links.

Usage: check.py TERN_SERVER_BINARY
"""
import os
import re
import subprocess
import sys
import tempfile

import yaml

DEPLOY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROOT = os.path.dirname(DEPLOY)
failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print("FAIL:", what)


def run(args, **kwargs):
    return subprocess.run(args, capture_output=True, text=True, **kwargs)


def render(overrides=None, expect_failure=False):
    args = ["go", "run", os.path.join(DEPLOY, "check", "helm_render.go"),
            os.path.join(DEPLOY, "helm", "tern")]
    env = dict(os.environ, GOPATH="/usr/share/gocode", GO111MODULE="off", GOFLAGS="",
               GOCACHE=os.path.join(tempfile.gettempdir(), "tern-deploy-gocache"))
    with tempfile.TemporaryDirectory() as tmp:
        if overrides is not None:
            path = os.path.join(tmp, "override.yaml")
            with open(path, "w") as f:
                yaml.safe_dump(overrides, f)
            args += ["-f", path]
        result = run(args, env=env, cwd=tmp)
    if expect_failure:
        return result.returncode != 0, result.stderr
    if result.returncode != 0:
        check(False, "helm chart renders: " + result.stderr.strip())
        return "", []
    docs = [d for d in yaml.safe_load_all(result.stdout) if d]
    return result.stdout, docs


def find(docs, kind, name_suffix=""):
    for d in docs:
        if d["kind"] == kind and d["metadata"]["name"].endswith(name_suffix):
            return d
    return None


def config_passes(binary, text, label, env=None):
    with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
        f.write(text)
    result = run([binary, "-t", "-c", f.name], env=dict(os.environ, **(env or {})))
    os.unlink(f.name)
    check(result.returncode == 0, label + " passes tern-server -t: " + result.stdout +
          result.stderr)


def check_chart(binary):
    text, docs = render()
    if not docs:
        return
    lint = run(["yamllint", "-d", "{extends: relaxed, rules: {line-length: {max: 120}}}", "-"],
               input=text)
    check(lint.returncode == 0, "rendered chart passes yamllint:\n" + lint.stdout)
    sts = find(docs, "StatefulSet")
    check(sts is not None, "chart has a StatefulSet")
    if sts is None:
        return
    pod = sts["spec"]["template"]["spec"]
    container = pod["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    check(ports == {"nats": 4222, "monitor": 8222}, "container ports nats 4222, monitor 8222")
    for probe in ("livenessProbe", "readinessProbe"):
        get = container[probe]["httpGet"]
        check(get["path"] == "/healthz" and get["port"] == "monitor", probe + " on /healthz")
    check(container["args"] == ["-c", "/etc/tern/tern.conf"], "server started with the config")
    claims = sts["spec"].get("volumeClaimTemplates", [])
    check(len(claims) == 1 and
          claims[0]["spec"]["resources"]["requests"]["storage"] == "10Gi",
          "JetStream store on a 10Gi volume claim")
    mounts = {m["name"]: m["mountPath"] for m in container["volumeMounts"]}
    check(mounts.get("data") == "/data", "store volume mounted at /data")
    conf = find(docs, "ConfigMap")["data"]["tern.conf"]
    check('store_dir: "/data"' in conf, "config puts the store on the volume")
    config_passes(binary, conf, "chart's tern.conf")
    service = find(docs, "Service")
    check({p["port"] for p in service["spec"]["ports"]} == {4222, 8222}, "service ports")
    check(find(docs, "Service", "-headless")["spec"]["clusterIP"] == "None", "headless service")
    annotations = sts["spec"]["template"]["metadata"]["annotations"]
    check(annotations.get("prometheus.io/path") == "/metrics", "Prometheus scrape annotations")
    pre_stop = " ".join(container["lifecycle"]["preStop"]["exec"]["command"])
    check("--signal ldm=1" in pre_stop and "sleep 30s" in pre_stop, "lame duck before stop")

    # Overrides: no persistence -> emptyDir; JetStream off -> no store at all; shards flag.
    _, docs = render({"persistence": {"enabled": False}, "config": {"shards": "4"}})
    sts = find(docs, "StatefulSet")
    check("volumeClaimTemplates" not in sts["spec"], "no claim without persistence")
    volumes = {v["name"]: v for v in sts["spec"]["template"]["spec"]["volumes"]}
    check("emptyDir" in volumes.get("data", {}), "emptyDir store without persistence")
    check(sts["spec"]["template"]["spec"]["containers"][0]["args"][-2:] == ["--shards", "4"],
          "shards value reaches the command line")
    _, docs = render({"config": {"jetstream": {"enabled": False}}})
    sts = find(docs, "StatefulSet")
    conf = find(docs, "ConfigMap")["data"]["tern.conf"]
    check("jetstream" not in conf and "volumeClaimTemplates" not in sts["spec"],
          "JetStream off: no store")
    config_passes(binary, conf, "chart's tern.conf without JetStream")
    check_cluster_chart(binary)


def check_cluster_chart(binary):
    # Three pods in one cluster: routes to every pod through the headless service.
    cluster = {"replicas": 3, "cluster": {"enabled": True, "user": "ruser", "password": "rpass"},
               "config": {"jetstream": {"enabled": False}}}
    _, docs = render(cluster)
    if not docs:
        return
    sts = find(docs, "StatefulSet")
    container = sts["spec"]["template"]["spec"]["containers"][0]
    check(sts["spec"]["replicas"] == 3, "cluster: three replicas")
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    check(ports.get("cluster") == 6222, "cluster: container port 6222")
    env = {e["name"]: e for e in container.get("env", [])}
    check(env.get("POD_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") ==
          "metadata.name", "cluster: each pod's name is its server name")
    headless = find(docs, "Service", "-headless")
    check(6222 in {p["port"] for p in headless["spec"]["ports"]}, "cluster: headless route port")
    conf = find(docs, "ConfigMap")["data"]["tern.conf"]
    routes = re.findall(r"nats://ruser:rpass@(release-tern-\d)\.release-tern-headless\."
                        r"default\.svc:6222", conf)
    check(routes == ["release-tern-0", "release-tern-1", "release-tern-2"],
          "cluster: a route to every pod, with the route credentials:\n" + conf)
    config_passes(binary, conf, "chart's clustered tern.conf", env={"POD_NAME": "release-tern-0"})
    failed, error = render({"cluster": {"enabled": True}}, expect_failure=True)
    check(failed and "JetStream" in error, "cluster with JetStream on is refused: " + error)


def check_systemd(binary):
    config_passes(binary, open(os.path.join(DEPLOY, "tern.conf")).read(), "deploy/tern.conf")
    config_passes(binary, open(os.path.join(DEPLOY, "tern-cluster.conf")).read(),
                  "deploy/tern-cluster.conf", env={"TERN_NODE": "host-a"})
    unit = open(os.path.join(DEPLOY, "systemd", "tern-server.service")).read()
    check("ExecStart=/usr/local/bin/tern-server -c /etc/tern/tern.conf" in unit, "unit ExecStart")
    check("KillSignal=SIGUSR2" in unit and "ExecReload=/bin/kill -s HUP" in unit,
          "unit stops with lame duck and reloads with SIGHUP")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "tern-server.service")
        with open(path, "w") as f:
            f.write(unit.replace("/usr/local/bin/tern-server", os.path.abspath(binary)))
        result = run(["systemd-analyze", "verify", path])
        # Without a running systemd, verify may warn about the machine; fail on the unit.
        problems = [l for l in (result.stdout + result.stderr).splitlines()
                    if "tern-server.service" in l]
        check(not problems, "systemd-analyze verify:\n" + "\n".join(problems))


def check_containerfile(binary):
    text = open(os.path.join(DEPLOY, "container", "Containerfile")).read()
    lines = re.sub(r"\\\n", " ", text).splitlines()
    stages = [l for l in lines if l.startswith("FROM ")]
    check(len(stages) == 2, "a build stage and a runtime stage")
    runtime = text[text.rindex("\nFROM "):]
    for line in lines:
        if line.startswith("COPY ") and "--from=" not in line:
            for source in line.split()[1:-1]:
                check(os.path.exists(os.path.join(ROOT, source)), "COPY source exists: " + source)
    installed = set(re.findall(r"[a-z0-9][a-z0-9.+-]+", runtime.split("apt-get install")[1]
                               .split("&&")[0]))
    ldd = run(["ldd", binary]).stdout
    for lib in re.findall(r"=> (/\S+)", ldd):
        owner = run(["dpkg", "-S", os.path.realpath(lib)]).stdout.split(":")[0]
        if not owner or owner in ("libc6", "libgcc-s1", "libstdc++6"):
            continue  # in every Debian image
        check(owner in installed, "runtime stage installs %s (for %s)" % (owner, lib))
    # The build stage copies every folder the top CMakeLists builds outside tests and bench.
    cmake = open(os.path.join(ROOT, "CMakeLists.txt")).read()
    copied = {line.split()[1] for line in lines if line.startswith("COPY ") and "--from=" not in line}
    for folder in re.findall(r"^add_subdirectory\((\w+)\)", cmake, re.M):
        check(folder in copied, "build stage copies " + folder + "/")
    check("EXPOSE 4222 8222" in text, "container exposes the client and monitoring ports")
    check('ENTRYPOINT ["/usr/local/bin/tern-server"]' in text, "container entrypoint")


def main():
    binary = sys.argv[1]
    check_chart(binary)
    check_systemd(binary)
    check_containerfile(binary)
    if failures:
        print("%d deployment check(s) failed" % len(failures))
        return 1
    print("deploy/: chart, systemd unit, config and Containerfile checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
