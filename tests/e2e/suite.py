#!/usr/bin/env python3
"""End-to-end scenarios for a Velero CSI plugin on a real (one-machine) stack.

usage: suite.py LABEL PLUGIN_BINARY [SCENARIO,...]   (run by tests/e2e/run with the moto venv's python)
       suite.py --table LABEL...                     (side-by-side table of stored results)

Every scenario asserts on cluster state and on Velero's own result (`velero backup describe
--details`, `velero restore describe`, `velero backup logs`): the phase must be Completed and
no `level=error` line may reach the backup/restore log. Results (PASS/FAIL, seconds, the
snapshot classes seen, warnings) go to <cache>/results-LABEL.json and .md.
"""
import gzip
import hashlib
import json
import os
import re
import signal
import sys
import time
import traceback
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack import DRIVER, Stack, claim  # noqa: E402

CACHE = Path(os.environ.get("E2E_CACHE", Path.home() / ".cache" / "velero-csi-e2e"))
BACKUP_ANN = f"velero.io/csi-volumesnapshot-class_{DRIVER}"
# v0.7.1's PVC annotation key (internal/util/labels_annotations.go) is spelled like the
# label, "volumesnapshot" in one word; "velero.io/csi-volume-snapshot-class" is not read.
PVC_ANN = "velero.io/csi-volumesnapshot-class"
# Chooses our plugin's name set (v0.7.1 or modern) from the Velero server's environment.
NAMES_ENV = "VELERO_CSI_NAMES"


class Failed(AssertionError):
    pass


def check(cond, msg):
    if not cond:
        raise Failed(msg)


def tree(root: Path):
    """{relative path: sha256} of every regular file under root."""
    out = {}
    for p in sorted(root.rglob("*")):
        if p.is_file():
            out[str(p.relative_to(root))] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


class Suite:
    def __init__(self, stack: Stack, label: str):
        self.s = stack
        self.label = label
        self.results = []
        self.info = {}  # per-scenario observations, reported with the result

    # ------------------------------------------------------------ cluster helpers
    def pvc(self, ns, name, annotations=None, storage_class="csi-hostpath-sc", volume_name=None, labels=None):
        ann = "".join(f"\n    {k}: {v}" for k, v in (annotations or {}).items())
        lab = "".join(f", {k}: {v}" for k, v in (labels or {}).items())
        vol = f"\n  volumeName: {volume_name}" if volume_name else ""
        self.s.apply(f"""
apiVersion: v1
kind: Namespace
metadata: {{name: {ns}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: {name}
  namespace: {ns}
  labels: {{app: e2e{lab}}}
  annotations: {{e2e: "1"}}{ann}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: {storage_class}
  resources: {{requests: {{storage: 1Mi}}}}{vol}
""")
        return self.bound(ns, name)

    def bound(self, ns, name, timeout=90):
        claim = self.s.wait(f"PVC {ns}/{name} Bound", lambda: (
            lambda c: c if c.get("status", {}).get("phase") == "Bound" else None)(
            self.s.kget("-n", ns, "pvc", name)), timeout=timeout)
        pv = self.s.kget("pv", claim["spec"]["volumeName"])
        return claim, pv

    def voldir(self, pv):
        return self.s.statedir / pv["spec"]["csi"]["volumeHandle"]

    def seed(self, pv, tag):
        d = self.voldir(pv)
        check(d.is_dir(), f"hostpath volume dir {d} missing")
        (d / "hello.txt").write_text(f"hello from {tag}\n")
        (d / "sub").mkdir(exist_ok=True)
        (d / "sub" / "random.bin").write_bytes(os.urandom(64 * 1024))
        return tree(d)

    def snap_files(self):
        return {p.stem for p in self.s.statedir.glob("*.snap")}

    def vscs(self):
        return self.s.kget("volumesnapshotcontents")["items"]

    # ------------------------------------------------------------ velero helpers
    def backup(self, name, ns, annotations=None):
        if annotations:
            ann = "".join(f"\n    {k}: {v}" for k, v in annotations.items())
            self.s.apply(f"""
apiVersion: velero.io/v1
kind: Backup
metadata:
  name: {name}
  namespace: velero
  annotations:{ann}
spec:
  includedNamespaces: [{ns}]
  storageLocation: default
""")
        else:
            self.s.velero("backup", "create", name, "--include-namespaces", ns, "--wait", timeout=300)
        b = self.s.wait(f"backup {name} finished", lambda: (
            lambda o: o if o.get("status", {}).get("phase") in
            ("Completed", "PartiallyFailed", "Failed", "FailedValidation") else None)(
            self.s.kget("-n", "velero", "backup", name)), timeout=300, interval=1)
        return b

    def object_json(self, key):
        body = self.s.s3().get_object(Bucket="velero", Key=f"e2e/backups/{key}")["Body"].read()
        return json.loads(gzip.decompress(body))

    def assert_backup(self, name, b, pvcs):
        """Velero's own view of a backup: Completed, no errors, one CSI snapshot per PVC."""
        st = b.get("status", {})
        desc = self.s.velero("backup", "describe", name, "--details", "--features=EnableCSI", "--colorized=false")
        logs = self.s.velero("backup", "logs", name)
        (self.s.E / "logs" / f"backup-{name}.log").write_text(logs)
        (self.s.E / "logs" / f"backup-{name}.describe").write_text(desc)
        errors = [ln for ln in logs.splitlines() if "level=error" in ln]
        warnings = [ln for ln in logs.splitlines() if "level=warning" in ln]
        self.info.setdefault("warnings", []).extend(w[:300] for w in warnings)
        self.info.setdefault("backup_seconds", []).append(self.duration(st))
        self.save_backup_files(name)
        check(st.get("phase") == "Completed",
              f"backup {name} phase {st.get('phase')} (errors={st.get('errors')}); "
              f"error lines: {errors[:5]}; failureReason={st.get('failureReason')}")
        check(re.search(r"^Phase:\s+Completed$", desc, re.M), f"describe of {name} does not say Completed:\n{desc}")
        check(not errors, f"backup {name} log has errors:\n" + "\n".join(errors[:10]))
        check(st.get("csiVolumeSnapshotsAttempted", 0) == len(pvcs),
              f"csiVolumeSnapshotsAttempted={st.get('csiVolumeSnapshotsAttempted')} want {len(pvcs)}")
        check(st.get("csiVolumeSnapshotsCompleted", 0) == len(pvcs),
              f"csiVolumeSnapshotsCompleted={st.get('csiVolumeSnapshotsCompleted')} want {len(pvcs)}")
        check(st.get("backupItemOperationsCompleted", 0) == st.get("backupItemOperationsAttempted", 0),
              f"async operations not all completed: {st}")
        if pvcs:
            check(st.get("backupItemOperationsAttempted", 0) >= len(pvcs),
                  f"expected an async operation per CSI PVC: {st}")
            check("CSI Snapshots:" in desc and "CSI Snapshots: <none" not in desc,
                  f"describe lists no CSI snapshots:\n{desc}")
            for p in pvcs:
                check(f"{p}:" in desc, f"describe has no CSI snapshot for {p}:\n{desc}")
            check(f"CSI Driver: {DRIVER}" in desc, f"describe has no CSI driver line:\n{desc}")
            vss = self.object_json(f"{name}/{name}-csi-volumesnapshots.json.gz")
            vscs = self.object_json(f"{name}/{name}-csi-volumesnapshotcontents.json.gz")
            check(len(vss) == len(pvcs), f"{len(vss)} VolumeSnapshots in the backup, want {len(pvcs)}")
            handles = [c["status"]["snapshotHandle"] for c in vscs]
            for h in handles:
                check(f"Storage Snapshot ID: {h}" in desc, f"describe lacks snapshot id {h}")
            return desc, vss, vscs, handles
        check("CSI Snapshots: <none" in desc, f"describe lists CSI snapshots unexpectedly:\n{desc}")
        return desc, [], [], []

    @staticmethod
    def duration(st):
        """Seconds from Velero's start to completion timestamps (second resolution)."""
        f = "%Y-%m-%dT%H:%M:%SZ"
        try:
            return int(time.mktime(time.strptime(st["completionTimestamp"], f)) -
                       time.mktime(time.strptime(st["startTimestamp"], f)))
        except (KeyError, ValueError):
            return None

    def save_backup_files(self, name):
        """Keep what Velero stored for the backup (tarball, VS/VSC lists...) for later diffs."""
        s3 = self.s.s3()
        d = self.s.E / "logs" / "bucket" / name
        d.mkdir(parents=True, exist_ok=True)
        for o in s3.list_objects_v2(Bucket="velero", Prefix=f"e2e/backups/{name}/").get("Contents", []):
            (d / o["Key"].rsplit("/", 1)[1]).write_bytes(
                s3.get_object(Bucket="velero", Key=o["Key"])["Body"].read())

    def restore(self, name, backup, *extra):
        self.s.velero("restore", "create", name, "--from-backup", backup, "--wait", *extra, timeout=300)
        r = self.s.kget("-n", "velero", "restore", name)
        desc = self.s.velero("restore", "describe", name, "--details", "--colorized=false")
        logs = self.s.velero("restore", "logs", name)
        (self.s.E / "logs" / f"restore-{name}.log").write_text(logs)
        errors = [ln for ln in logs.splitlines() if "level=error" in ln]
        st = r.get("status", {})
        self.info.setdefault("restore_seconds", []).append(self.duration(st))
        check(st.get("phase") == "Completed", f"restore {name} phase {st.get('phase')}: {st}; errors {errors[:5]}")
        check(re.search(r"^Phase:\s+Completed$", desc, re.M), f"restore describe does not say Completed:\n{desc}")
        check(not errors, f"restore {name} log has errors:\n" + "\n".join(errors[:10]))
        return r

    def assert_restored(self, ns, pvc_name, vs_name, handle, want_tree):
        claim, pv = self.bound(ns, pvc_name, timeout=120)
        ds = claim["spec"].get("dataSource") or {}
        check(ds.get("kind") == "VolumeSnapshot" and ds.get("name") == vs_name,
              f"restored PVC dataSource {ds}, want VolumeSnapshot {vs_name}")
        vs = self.s.kget("-n", ns, "volumesnapshot", vs_name)
        check(vs.get("status", {}).get("readyToUse") is True, f"restored VS not ready: {vs.get('status')}")
        vsc = self.s.kget("volumesnapshotcontent", vs["status"]["boundVolumeSnapshotContentName"])
        check(vsc["spec"]["source"].get("snapshotHandle") == handle,
              f"restored VSC source {vsc['spec']['source']}, want snapshotHandle {handle}")
        got = tree(self.voldir(pv))
        check(got == want_tree, f"restored bytes differ: got {got}, want {want_tree}")
        return claim, pv

    # ------------------------------------------------------------ scenarios
    def sc_backup_restore(self):
        _, pv = self.pvc("demo", "data")
        want = self.seed(pv, "demo")
        self.demo_tree = want
        b = self.backup("b-demo", "demo")
        _, vss, vscs, handles = self.assert_backup("b-demo", b, ["demo/data"])
        check(len(handles) == 1 and handles[0] in self.snap_files(),
              f"driver snapshot {handles} not in {self.s.statedir}/*.snap")
        left = self.s.kget("-n", "demo", "volumesnapshots")["items"]
        check(not left, f"VolumeSnapshots left in demo after backup: {[v['metadata']['name'] for v in left]}")
        self.demo_vs, self.demo_handle = vss[0]["metadata"]["name"], handles[0]
        self.info["class"] = vss[0]["spec"].get("volumeSnapshotClassName")
        old_dir = self.voldir(pv)
        self.s.kubectl("delete", "namespace", "demo", "--wait", "--timeout=120s", timeout=150)
        self.s.wait("old PV deleted", lambda: pv["metadata"]["name"] not in
                    {p["metadata"]["name"] for p in self.s.kget("pv")["items"]}, timeout=60)
        self.s.wait("old volume dir removed", lambda: not old_dir.exists(), timeout=30)
        self.restore("r-demo", "b-demo")
        _, pv2 = self.assert_restored("demo", "data", self.demo_vs, self.demo_handle, want)
        check(pv2["metadata"]["name"] != pv["metadata"]["name"], "restored PV is the old PV")

    def _class_backup(self, bname, ns, annotations, want):
        b = self.backup(bname, ns, annotations)
        _, vss, vscs, _ = self.assert_backup(bname, b, [f"{ns}/data"])
        got = vss[0]["spec"].get("volumeSnapshotClassName")
        got_vsc = vscs[0]["spec"].get("volumeSnapshotClassName")
        self.info["class"] = got
        check(got == want, f"VolumeSnapshot used class {got}, want {want}")
        check(got_vsc == want, f"VolumeSnapshotContent used class {got_vsc}, want {want}")
        live = [c for c in self.vscs() if c["metadata"].get("labels", {}).get("velero.io/backup-name") == bname]
        check(len(live) == 1 and live[0]["spec"].get("volumeSnapshotClassName") == want,
              f"live VSC of {bname}: {[(c['metadata']['name'], c['spec'].get('volumeSnapshotClassName')) for c in live]}")

    def sc_class_label(self):
        _, pv = self.pvc("cls", "data")
        self.seed(pv, "cls")
        self._class_backup("b-cls-label", "cls", None, "snapclass-label")

    def sc_class_backup_annotation(self):
        self.bound("cls", "data")
        self._class_backup("b-cls-bann", "cls", {BACKUP_ANN: "snapclass-backup-annotation"},
                           "snapclass-backup-annotation")

    def sc_class_pvc_annotation(self):
        # The PVC annotation wins over the backup annotation (v0.7.1 GetVolumeSnapshotClass order).
        self.s.kubectl("annotate", "-n", "cls", "pvc", "data", f"{PVC_ANN}=snapclass-pvc-annotation")
        self._class_backup("b-cls-pann", "cls", {BACKUP_ANN: "snapclass-backup-annotation"},
                           "snapclass-pvc-annotation")

    def sc_non_csi_skipped(self):
        hp = self.s.E / "hostpath-pv" / "static"
        hp.mkdir(parents=True, exist_ok=True)
        (hp / "file.txt").write_text("not csi\n")
        self.s.apply(f"""
apiVersion: v1
kind: PersistentVolume
metadata: {{name: static-pv}}
spec:
  capacity: {{storage: 1Mi}}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: manual
  hostPath: {{path: {hp}}}
  claimRef: {{namespace: static, name: data}}
""")
        before_snaps, before_vscs = self.snap_files(), {c["metadata"]["name"] for c in self.vscs()}
        claim, pv = self.pvc("static", "data", storage_class="manual", volume_name="static-pv")
        check("csi" not in pv["spec"], "static PV unexpectedly CSI")
        b = self.backup("b-static", "static")
        self.assert_backup("b-static", b, [])
        check(not self.s.kget("-n", "static", "volumesnapshots")["items"], "VolumeSnapshot created for non-CSI PVC")
        check(self.snap_files() == before_snaps, "driver snapshot created for non-CSI PVC")
        check({c["metadata"]["name"] for c in self.vscs()} == before_vscs, "VSC created for non-CSI PVC")
        items = self.s.velero("backup", "describe", "b-static", "--details", "--colorized=false")
        check("v1/PersistentVolumeClaim" in items and "static/data" in items,
              "the non-CSI PVC itself is not in the backup")

    def sc_backup_delete(self):
        _, pv = self.pvc("del", "data")
        self.seed(pv, "del")
        b = self.backup("b-del", "del")
        _, vss, vscs, handles = self.assert_backup("b-del", b, ["del/data"])
        h = handles[0]
        check(h in self.snap_files(), f"{h}.snap missing after backup")
        s3 = self.s.s3()
        check(s3.list_objects_v2(Bucket="velero", Prefix="e2e/backups/b-del/").get("KeyCount", 0) > 0,
              "backup not in object store")
        self.s.velero("backup", "delete", "b-del", "--confirm")
        self.s.wait("backup b-del gone", lambda: "b-del" not in {
            x["metadata"]["name"] for x in self.s.kget("-n", "velero", "backups")["items"]}, timeout=120, interval=1)
        dbr = self.s.kget("-n", "velero", "deletebackuprequests")["items"]
        mine = [d for d in dbr if d["spec"]["backupName"] == "b-del"]
        for d in mine:
            check(not d.get("status", {}).get("errors"), f"delete request errors: {d.get('status')}")

        def clean():
            refs = [c["metadata"]["name"] for c in self.vscs()
                    if c["metadata"].get("labels", {}).get("velero.io/backup-name") == "b-del"
                    or (c.get("status") or {}).get("snapshotHandle") == h
                    or c["spec"]["source"].get("snapshotHandle") == h]
            return not refs and h not in self.snap_files()
        try:
            self.s.wait("VSC and driver snapshot deleted", clean, timeout=60)
        except TimeoutError:
            raise Failed(f"orphans after delete: VSCs {[c['metadata']['name'] for c in self.vscs()]}, "
                         f"snap files {sorted(self.snap_files())} (handle {h})")
        check(s3.list_objects_v2(Bucket="velero", Prefix="e2e/backups/b-del/").get("KeyCount", 0) == 0,
              "backup files left in object store")
        state = json.loads((self.s.statedir / "state.json").read_text())
        check(h not in json.dumps(state.get("snapshots", state)), f"snapshot {h} still in driver state.json")

    def sc_namespace_mapping(self):
        check(hasattr(self, "demo_vs"), "needs backup-restore to have produced b-demo")
        self.restore("r-demo2", "b-demo", "--namespace-mappings", "demo:demo2")
        self.assert_restored("demo2", "data", self.demo_vs, self.demo_handle, self.demo_tree)
        claim = self.s.kget("-n", "demo", "pvc", "data")
        check(claim["status"]["phase"] == "Bound", "original demo PVC disturbed")

    SCENARIOS = [
        ("backup-restore", "sc_backup_restore"),
        ("class-by-label", "sc_class_label"),
        ("class-by-backup-annotation", "sc_class_backup_annotation"),
        ("class-by-pvc-annotation", "sc_class_pvc_annotation"),
        ("non-csi-pvc-skipped", "sc_non_csi_skipped"),
        ("backup-delete", "sc_backup_delete"),
        ("namespace-mapping", "sc_namespace_mapping"),
    ]

    def run(self, only=None):
        for name, meth in self.SCENARIOS:
            if only and name not in only:
                continue
            self.info = {}
            t0 = time.time()
            try:
                getattr(self, meth)()
                status, err = "PASS", ""
            except Exception as e:  # noqa: BLE001 -- reported per scenario
                status, err = "FAIL", f"{type(e).__name__}: {e}"
                traceback.print_exc()
            dt = time.time() - t0
            self.results.append(dict(scenario=name, status=status, seconds=round(dt, 1), error=err, **self.info))
            print(f"  {status}  {name:30s} {dt:6.1f}s  {err[:300]}", flush=True)


def write_results(label, plugin, results, stack_seconds, total):
    out = dict(plugin=label, binary=str(plugin), stack_startup_seconds=round(stack_seconds, 1),
               total_seconds=round(total, 1), date=time.strftime("%FT%TZ", time.gmtime()), scenarios=results)
    (CACHE / f"results-{label}.json").write_text(json.dumps(out, indent=2) + "\n")
    md = [f"# e2e results: {label}", "", f"binary: `{plugin}`, stack start {stack_seconds:.1f}s, total {total:.1f}s",
          "", "| scenario | result | seconds | Velero backup s | Velero restore s | class used |",
          "|---|---|---:|---:|---:|---|"]
    def secs(v):
        return ", ".join(str(x) for x in v or [])
    md += [f"| {r['scenario']} | {r['status']} | {r['seconds']} | {secs(r.get('backup_seconds'))} | "
           f"{secs(r.get('restore_seconds'))} | {r.get('class', '')} |" for r in results]
    md += [""] + [f"- {r['scenario']}: {r['error']}" for r in results if r["error"]]
    (CACHE / f"results-{label}.md").write_text("\n".join(md) + "\n")


def table(labels):
    res = {}
    for lb in labels:
        f = CACHE / f"results-{lb}.json"
        if f.exists():
            res[lb] = json.loads(f.read_text())
    labels = list(res)
    names = []
    for lb in labels:
        names += [r["scenario"] for r in res[lb]["scenarios"] if r["scenario"] not in names]
    head = f"{'scenario':30s}" + "".join(f" {lb:>16s}" for lb in labels)
    lines = [head, "-" * len(head)]
    for n in names:
        row = f"{n:30s}"
        for lb in labels:
            r = next((r for r in res[lb]["scenarios"] if r["scenario"] == n), None)
            row += f" {(r['status'] + ' ' + format(r['seconds'], '.1f') + 's') if r else '-':>16s}"
        lines.append(row)
    lines.append(f"{'(stack startup)':30s}" + "".join(f" {format(res[lb]['stack_startup_seconds'], '.1f') + 's':>16s}" for lb in labels))
    lines.append(f"{'(total incl. teardown)':30s}" + "".join(f" {format(res[lb]['total_seconds'], '.1f') + 's':>16s}" for lb in labels))
    text = "\n".join(lines)
    print(text)
    (CACHE / "results.md").write_text("# e2e results\n\n```\n" + text + "\n```\n")


def main():
    if sys.argv[1] == "--table":
        return table(sys.argv[2:])
    label, plugin = sys.argv[1], Path(sys.argv[2]).resolve()
    only = sys.argv[3].split(",") if len(sys.argv) > 3 and sys.argv[3] else None
    # These scenarios run on Velero v1.13.2, where our plugin must register the v0.7.1 names
    # (its default is the modern set); the Go plugin v0.7.1 has only those.
    server_env = {} if label == "go" else {NAMES_ENV: "v0.7.1"}
    stack = Stack(Path(os.environ.get("E2E_STATE_ROOT", "/tmp")) / f"e2e-{label}", CACHE, plugin,
                  server_env=server_env)

    run_on_stack(stack, Suite(stack, label), label, plugin, only, f"== {label}: starting stack in {stack.E}")


def run_on_stack(stack, suite, label, plugin, only, banner):
    """Brings the stack up, runs the suite's scenarios (`only`: a subset), tears it down, writes
    the results of `label` and exits 0 only if every scenario passed."""
    lock = claim(stack)  # noqa: F841 (held until exit)

    t0 = time.time()
    stack_seconds = 0.0
    try:
        print(banner, flush=True)
        stack.up()
        stack_seconds = time.time() - t0
        suite.run(only)
    except BaseException as e:  # noqa: BLE001
        print(f"== {label}: stack error: {type(e).__name__}: {e}", flush=True)
        if not isinstance(e, Exception):
            suite.results.append(dict(scenario="(interrupted)", status="FAIL", seconds=0, error=str(e)))
        else:
            traceback.print_exc()
            suite.results.append(dict(scenario="(stack)", status="FAIL", seconds=0, error=str(e)))
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # let the teardown finish
        stack.down()
        left = stack.leftovers()
        if left:
            print(f"== {label}: WARNING processes left behind: {left}", flush=True)
    total = time.time() - t0
    write_results(label, plugin, suite.results, stack_seconds, total)
    print(f"== {label}: logs in {stack.E}/logs, results in {CACHE}/results-{label}.json", flush=True)
    sys.exit(0 if suite.results and all(r["status"] == "PASS" for r in suite.results) else 1)


if __name__ == "__main__":
    main()
