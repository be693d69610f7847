#!/usr/bin/env python3
"""Side-by-side cost of a remote-write agent: gnomon-agent against vmagent (Debian
`victoria-metrics` ships /usr/bin/vmagent), both writing into one real VictoriaMetrics.

For each agent, in turn, on 127.0.0.1 with ports picked at run time:
  1. start a fresh VictoriaMetrics (the receiver) and the agent with
     -remoteWrite.url=<VM>/api/v1/write, a -remoteWrite.label and a global relabel file
     (drop go_gc_.*, labelmap) -- what a typical agent runs;
  2. push HOSTS x ROUNDS copies of one node_exporter scrape
     (shared/bench/node_exporter_template.prom), each host with its own `instance`, each
     round 15 s later, to the agent's /api/v1/import/prometheus with UPLOADERS threads;
  3. wait until VictoriaMetrics has every sample (its vm_rows_inserted_total for remote
     write), then read the agent's CPU seconds (utime + stime) and peak RSS (VmHWM).

Prints samples per agent CPU-second, the wall time until everything was delivered and
the peak RSS, per agent, and the ratios.

  python3 benches/scripts/agentbench.py --gnomon-agent target/release/gnomon-agent
"""

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

RELABEL = """- action: drop
  source_labels: [__name__]
  regex: go_gc_.*
- action: labelmap
  regex: ^(instance)$
  replacement: host_${1}
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def get(url, timeout=10):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


def wait(what, cond, limit):
    deadline = time.time() + limit
    while True:
        try:
            if cond():
                return
        except OSError:
            pass
        if time.time() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.05)


def proc_cpu_and_hwm(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(rest[11]) + int(rest[12])) / ticks
    hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) * 1024
    return cpu, hwm


def metric_sum(text, prefix):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(prefix):
            total += float(line.rsplit(" ", 1)[1])
    return total


def payloads(template, hosts, rounds):
    """One body per (round, host): the scrape with instance and timestamp set."""
    lines = [l for l in template.splitlines() if l and not l.startswith("#")]
    base = (int(time.time()) - rounds * 15 - 60) * 1000
    bodies = []
    for r in range(rounds):
        ts = base + r * 15_000
        for h in range(hosts):
            inst = f'instance="host-{h:04d}:9100",job="node"'
            out = []
            for l in lines:
                m = re.match(r"^([^{\s]+)(\{[^}]*\})?\s+(\S+)", l)
                if not m:
                    continue
                name, labels, value = m.group(1), m.group(2), m.group(3)
                inner = labels[1:-1] + "," if labels and labels != "{}" else ""
                out.append(f"{name}{{{inner}{inst}}} {value} {ts}")
            bodies.append(("\n".join(out) + "\n").encode())
    return bodies


def run(kind, binary, bodies, kept, uploaders, keep):
    work = tempfile.mkdtemp(prefix=f"agentbench-{kind}-")
    vm_port, agent_port = free_port(), free_port()
    vm = subprocess.Popen(
        ["/usr/bin/victoria-metrics", f"-storageDataPath={work}/vm",
         f"-httpListenAddr=127.0.0.1:{vm_port}", "-retentionPeriod=100y"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    relabel = os.path.join(work, "relabel.yml")
    with open(relabel, "w") as f:
        f.write(RELABEL)
    agent = subprocess.Popen(
        [binary, f"-httpListenAddr=127.0.0.1:{agent_port}",
         f"-remoteWrite.url=http://127.0.0.1:{vm_port}/api/v1/write",
         f"-remoteWrite.tmpDataPath={work}/queue",
         f"-remoteWrite.relabelConfig={relabel}",
         "-remoteWrite.label=dc=eu-west-1",
         "-loggerLevel=ERROR"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait("VictoriaMetrics", lambda: get(f"http://127.0.0.1:{vm_port}/health") == "OK", 30)
        wait(kind, lambda: "OK" in get(f"http://127.0.0.1:{agent_port}/health"), 30)
        todo = list(bodies)
        lock = threading.Lock()

        def upload():
            while True:
                with lock:
                    if not todo:
                        return
                    body = todo.pop()
                req = urllib.request.Request(
                    f"http://127.0.0.1:{agent_port}/api/v1/import/prometheus", data=body)
                with urllib.request.urlopen(req, timeout=60) as r:
                    r.read()

        start = time.time()
        threads = [threading.Thread(target=upload) for _ in range(uploaders)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        pushed = time.time() - start

        def delivered():
            m = get(f"http://127.0.0.1:{vm_port}/metrics")
            return metric_sum(m, 'vm_rows_inserted_total{type="promremotewrite"}') >= kept

        wait("every sample in VictoriaMetrics", delivered, 600)
        done = time.time() - start
        cpu, hwm = proc_cpu_and_hwm(agent.pid)
        return {"kind": kind, "push_s": pushed, "delivered_s": done, "cpu_s": cpu, "rss": hwm}
    finally:
        for p in (agent, vm):
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
        if not keep:
            shutil.rmtree(work, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gnomon-agent", required=True)
    ap.add_argument("--vmagent", default="/usr/bin/vmagent")
    ap.add_argument("--template", default=os.path.join(os.path.dirname(__file__), "../../../shared/bench/node_exporter_template.prom"))
    ap.add_argument("--hosts", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=40)
    ap.add_argument("--uploaders", type=int, default=2)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--only-gnomon", action="store_true", help="skip vmagent (for profiling)")
    a = ap.parse_args()
    with open(a.template) as f:
        template = f.read()
    bodies = payloads(template, a.hosts, a.rounds)
    samples = sum(b.count(b"\n") for b in bodies)
    # The relabel file drops go_gc_*: the receiver gets the rest.
    kept = samples - sum(b.count(b"\ngo_gc_") + b.startswith(b"go_gc_") for b in bodies)
    print(f"{samples} samples in {len(bodies)} pushes of one scrape each ({a.hosts} hosts x {a.rounds} rounds)")
    results = [] if a.only_gnomon else [run("vmagent", a.vmagent, bodies, kept, a.uploaders, a.keep)]
    results.append(run("gnomon-agent", a.gnomon_agent, bodies, kept, a.uploaders, a.keep))
    print(f"{'agent':14} {'samples/cpu-s':>14} {'cpu s':>8} {'pushed in s':>12} {'delivered in s':>15} {'peak RSS MiB':>13}")
    for r in results:
        print(f"{r['kind']:14} {samples / r['cpu_s']:14,.0f} {r['cpu_s']:8.2f} {r['push_s']:12.2f} {r['delivered_s']:15.2f} {r['rss'] / 2**20:13.1f}")
    if len(results) < 2:
        return
    vm, g = results
    print(f"ratio gnomon/vmagent: samples per CPU-second {vm['cpu_s'] / g['cpu_s']:.2f}, "
          f"delivery time {g['delivered_s'] / vm['delivered_s']:.2f}, peak RSS {g['rss'] / vm['rss']:.2f}")


if __name__ == "__main__":
    main()
