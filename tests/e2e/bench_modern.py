#!/usr/bin/env python3
"""Our plugin's modern mode against Velero v1.18.3's built-in CSI, side by side in one run.

usage: bench_modern.py PLUGIN_BINARY [ROUNDS] [PVCS]   (default 5 rounds of 4 PVCs each)

One stack (Velero v1.18.3, EnableCSI, the modern suite's server flags and policy ConfigMap),
two namespaces of PVCS claims with data each: `bench-ours` routed to our plugin by the
`custom` volume policy, `bench-core` left to core. Each round backs up both namespaces (the
order alternating between rounds), restores each into a new namespace, and deletes both
backups, timing each step by the wall clock from the CLI call until Velero reports it done
(backup phase, `restore create --wait`, the Backup object gone). It prints min/median/max per
step and who, and the ratio ours/core of the medians, and writes them to
`~/.cache/velero-csi-e2e/bench-modern.json`. It checks what it needs to stay meaningful (each
backup Completed, each volume snapshotted by the one it is routed to) but no timing.
"""
import json
import statistics
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))
from modern import FIXTURES, SERVER_FLAGS, VS, VSC, ModernSuite  # noqa: E402
from stack import Stack, claim  # noqa: E402
from suite import CACHE, NAMES_ENV, check  # noqa: E402

WHO = ("ours", "core")


def timed(fn):
    t0 = time.time()
    fn()
    return time.time() - t0


def main():
    plugin = Path(sys.argv[1]).resolve()
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    pvcs = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    stack = Stack(Path("/tmp/e2e-bench-modern"), CACHE, plugin, velero_version="v1.18.3",
                  features="EnableCSI", server_flags=SERVER_FLAGS)
    stack.env.pop(NAMES_ENV, None)
    lock = claim(stack)  # noqa: F841 (held until exit)
    suite = ModernSuite(stack, "bench-modern")
    suite.info = {}
    times = {(step, who): [] for step in ("backup", "restore", "delete") for who in WHO}
    try:
        stack.up()
        stack.apply(FIXTURES)
        suite.log_marks = {f: f.stat().st_size for f in stack.velero_logs}
        for who in WHO:
            for i in range(pvcs):
                suite.volume(f"bench-{who}", f"data-{i}", route="ours" if who == "ours" else None)
        for r in range(rounds):
            order = WHO if r % 2 == 0 else tuple(reversed(WHO))
            for who in order:
                name = f"b-{who}-{r}"
                times["backup", who].append(timed(lambda: suite.backup(name, f"bench-{who}")))
                tb = suite.tarball(name)
                ours_annotated = [p for p in tb.all("persistentvolumeclaims")
                                  if "velero-csi-wasm.io/snapshot-handle" in p["metadata"].get("annotations", {})]
                check(len(ours_annotated) == (pvcs if who == "ours" else 0),
                      f"{name}: {len(ours_annotated)} claims snapshotted by us")
                check(len(tb.all(VS)) == (0 if who == "ours" else pvcs), f"{name}: {len(tb.all(VS))} VS")
            for who in order:
                target = f"bench-{who}-r{r}"
                suite.namespaces.add(target)
                times["restore", who].append(timed(lambda: suite.restore(
                    f"r-{who}-{r}", f"b-{who}-{r}", "--namespace-mappings", f"bench-{who}:{target}")))
            for who in order:
                name = f"b-{who}-{r}"
                times["delete", who].append(timed(lambda: (
                    stack.velero("backup", "delete", name, "--confirm", timeout=60),
                    stack.wait(f"backup {name} gone", lambda: name not in {
                        b["metadata"]["name"] for b in stack.kget("-n", "velero", "backups")["items"]},
                        timeout=300, interval=0.2))))
            # The restored namespaces and the static contents of the restores.
            for who in order:
                stack.kubectl("delete", "namespace", f"bench-{who}-r{r}", "--wait", "--timeout=120s", timeout=150)
            for vsc in suite.vscs():
                stack.kubectl("delete", VSC, vsc["metadata"]["name"], "--wait=false", timeout=60)
        suite.leave_nothing()
    finally:
        stack.down()
    rows, out = [], {"rounds": rounds, "pvcs": pvcs, "plugin": str(plugin), "steps": {}}
    for step in ("backup", "restore", "delete"):
        med = {who: statistics.median(times[step, who]) for who in WHO}
        out["steps"][step] = {who: sorted(round(t, 2) for t in times[step, who]) for who in WHO}
        out["steps"][step]["ratio_ours_core_median"] = round(med["ours"] / med["core"], 2)
        for who in WHO:
            t = times[step, who]
            rows.append(f"| {step} | {who} | {min(t):.2f} | {med[who]:.2f} | {max(t):.2f} |")
        rows.append(f"| {step} | ours/core | | {med['ours'] / med['core']:.2f}x | |")
    print(f"{rounds} rounds, {pvcs} PVCs per namespace, seconds (wall clock):")
    print("| step | who | min | median | max |\n|---|---|---:|---:|---:|")
    print("\n".join(rows))
    (CACHE / "bench-modern.json").write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
