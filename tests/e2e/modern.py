#!/usr/bin/env python3
"""Scenarios for our plugin's modern name set on Velero v1.18.3, beside or instead of core CSI.

usage: modern.py LABEL PLUGIN_BINARY|none [SCENARIO,...]   (run by `tests/e2e/run --velero v1.18.3`)

The plugin runs with its default name set (`velero-csi-wasm.io/*`). Velero runs with
SERVER_FLAGS (parallel ItemBlocks, two concurrent backups) in every scenario, and with or
without EnableCSI as the scenario needs (the server is restarted in between). The PVCs are
routed by the label ROUTE through one resource-policy ConfigMap (POLICY) that every Backup
references:

  ROUTE=ours -> action custom {plugin: velero-csi-wasm.io}   (our plugin snapshots it)
  ROUTE=skip -> action skip;  ROUTE=fs -> action fs-backup
  no label   -> no policy: core's built-in CSI with EnableCSI, our plugin without it

Who snapshotted a volume is read from the backup tarball: our PVC annotations
(velero-csi-wasm.io/snapshot-handle...) or core's (velero.io/volume-snapshot-name, with the
VS/VSC it adds), and from the restored objects (our velero-csi-wasm.io/restore-uid label).
Snapshots are counted at the hostpath driver (<statedir>/<id>.snap). Every scenario ends by
deleting what it made (namespaces, backups, Retain PVs and the static VSCs of restores) and
asserts that nothing is left: no VS, VSC, PV, volume or snapshot at the driver, no backup in
the bucket, and no level=error line in the server's log. PLUGIN_BINARY `none` runs the same
scenarios with core alone: every scenario that needs us must then fail.
"""
import io
import json
import os
import re
import sys
import tarfile
import time
import traceback
from pathlib import Path

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, str(Path(__file__).resolve().parent))
from smoke import STARTUP_ERRORS  # noqa: E402
from stack import DRIVER, Stack  # noqa: E402
from suite import CACHE, NAMES_ENV, Failed, Suite, check, run_on_stack, tree  # noqa: E402

OURS = "velero-csi-wasm.io"
HANDLE_ANN = f"{OURS}/snapshot-handle"          # backed-up PVC: the storage snapshot
DRIVER_ANN = f"{OURS}/csi-driver"               # backed-up PVC: its driver
CLASS_ANN = f"{OURS}/snapshot-class"            # backed-up PVC: the VolumeSnapshotClass used
FROM_SNAPSHOT_ANN = f"{OURS}/restore-from-snapshot"  # backed-up PV: its claim was snapshotted
BACKUP_UID = f"{OURS}/backup-uid"               # label on our objects during backup/deletion
RESTORE_UID = f"{OURS}/restore-uid"             # label on our objects of a restore
CORE_VS_ANN = "velero.io/volume-snapshot-name"  # core's backed-up PVC annotation
ROUTE = "e2e-route"
POLICY = "e2e-volume-policy"
SERVER_FLAGS = ("--item-block-worker-count", "4", "--concurrent-backups", "2")
VS, VSC = "volumesnapshots.snapshot.storage.k8s.io", "volumesnapshotcontents.snapshot.storage.k8s.io"
# Logged at level=error by v1.18.3 whenever a Restore is deleted: the restore finalizer
# controller reconciles the delete event and cannot get the object
# (pkg/controller/restore_finalizer_controller.go:108). Deleting a backup deletes its restores.
KNOWN_ERRORS = STARTUP_ERRORS + ('msg="restore not found" error="Restore.velero.io',)

FIXTURES = f"""
apiVersion: v1
kind: ConfigMap
metadata: {{name: {POLICY}, namespace: velero}}
data:
  policy.yaml: |
    version: v1
    volumePolicies:
    - conditions: {{pvcLabels: {{{ROUTE}: ours}}}}
      action: {{type: custom, parameters: {{plugin: {OURS}}}}}
    - conditions: {{pvcLabels: {{{ROUTE}: skip}}}}
      action: {{type: skip}}
    - conditions: {{pvcLabels: {{{ROUTE}: fs}}}}
      action: {{type: fs-backup}}
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {{name: csi-hostpath-retain}}
provisioner: {DRIVER}
reclaimPolicy: Retain
volumeBindingMode: Immediate
"""


class Tarball:
    """The items of a backup tarball by (resource, namespace or None, name)."""

    def __init__(self, raw: bytes):
        self.items = {}
        with tarfile.open(fileobj=io.BytesIO(raw), mode="r:gz") as tf:
            for m in tf.getmembers():
                # resources/<res>/namespaces/<ns>/<name>.json or resources/<res>/cluster/<name>.json;
                # the same items under <res>/v1-preferredversion/... are left out.
                p = m.name.split("/")
                if not m.isfile() or p[0] != "resources" or not p[-1].endswith(".json"):
                    continue
                if len(p) == 5 and p[2] == "namespaces":
                    key = (p[1], p[3], p[4][:-5])
                elif len(p) == 4 and p[2] == "cluster":
                    key = (p[1], None, p[3][:-5])
                else:
                    continue
                self.items[key] = json.loads(tf.extractfile(m).read())

    def get(self, resource, ns, name):
        item = self.items.get((resource, ns, name))
        check(item is not None, f"{resource} {ns}/{name} is not in the backup")
        return item

    def all(self, resource):
        return [v for (r, _, _), v in self.items.items() if r == resource]


def annotations(obj):
    """The object's annotations, without kubectl's last-applied copy (for shorter messages)."""
    ann = obj["metadata"].get("annotations") or {}
    return {k: v for k, v in ann.items() if k != "kubectl.kubernetes.io/last-applied-configuration"}


def labels(obj):
    return obj["metadata"].get("labels") or {}


class ModernSuite(Suite):
    def __init__(self, stack: Stack, label: str):
        super().__init__(stack, label)
        self.namespaces = set()  # made by the current scenario, deleted at its end
        self.log_marks = {}      # server log file -> size at the scenario's start

    # ------------------------------------------------------------ fixtures
    def volume(self, ns, name, route=None, storage_class="csi-hostpath-sc"):
        """A bound CSI PVC (routed by ROUTE=route) holding distinct data: (claim, pv, tree)."""
        self.namespaces.add(ns)
        claim_, pv = self.pvc(ns, name, storage_class=storage_class, labels={ROUTE: route} if route else None)
        return claim_, pv, self.seed(pv, f"{ns}/{name}")

    def backup_start(self, name, *namespaces):
        self.s.velero("backup", "create", name, "--include-namespaces", ",".join(namespaces),
                      "--resource-policies-configmap", POLICY, timeout=60)

    def backup_done(self, name):
        """Waits for a backup; checks Completed, describe and logs; returns (object, tarball)."""
        b = self.s.wait(f"backup {name} finished", lambda: (
            lambda o: o if o.get("status", {}).get("phase") in
            ("Completed", "PartiallyFailed", "Failed", "FailedValidation") else None)(
            self.s.kget("-n", "velero", "backup", name)), timeout=300, interval=1)
        st = b.get("status", {})
        desc = self.s.velero("backup", "describe", name, "--details", "--colorized=false")
        logs = self.s.velero("backup", "logs", name)
        (self.s.E / "logs" / f"backup-{name}.log").write_text(logs)
        (self.s.E / "logs" / f"backup-{name}.describe").write_text(desc)
        errors = [ln for ln in logs.splitlines() if "level=error" in ln]
        self.info.setdefault("warnings", []).extend(
            ln[:300] for ln in logs.splitlines() if "level=warning" in ln)
        self.info.setdefault("backup_seconds", []).append(self.duration(st))
        self.save_backup_files(name)
        check(st.get("phase") == "Completed",
              f"backup {name} phase {st.get('phase')} (errors={st.get('errors')}, "
              f"failureReason={st.get('failureReason')}); error lines: {errors[:5]}")
        check(re.search(r"^Phase:\s+Completed$", desc, re.M), f"describe of {name} does not say Completed:\n{desc}")
        check(not errors, f"backup {name} log has errors:\n" + "\n".join(errors[:10]))
        check(st.get("backupItemOperationsCompleted", 0) == st.get("backupItemOperationsAttempted", 0),
              f"async operations of {name} not all completed: {st}")
        self.note_volume_info(name)
        return b, self.tarball(name)

    def backup(self, name, *namespaces):
        self.backup_start(name, *namespaces)
        return self.backup_done(name)

    def tarball(self, name):
        body = self.s.s3().get_object(Bucket="velero", Key=f"e2e/backups/{name}/{name}.tar.gz")["Body"].read()
        return Tarball(body)

    def note_volume_info(self, name):
        """Records how Velero's VolumeInfo lists each PVC (BackupMethod, or why skipped)."""
        try:
            infos = self.object_json(f"{name}/{name}-volumeinfo.json.gz")
        except Exception as e:  # noqa: BLE001 -- an observation, not a check
            self.info.setdefault("volume_info", []).append(f"{name}: none ({type(e).__name__})")
            return
        for v in infos or []:
            how = v.get("backupMethod") or f"skipped: {v.get('skippedReason', '?')}"
            self.info.setdefault("volume_info", []).append(f"{v.get('pvcNamespace')}/{v.get('pvcName')}: {how}")

    def destroy_namespace(self, ns, *pvs):
        """Deletes a namespace and waits for its PVs: gone (Delete) or Released (Retain)."""
        self.s.kubectl("delete", "namespace", ns, "--wait", "--timeout=120s", timeout=150)
        for pv in pvs:
            name = pv["metadata"]["name"]
            if pv["spec"].get("persistentVolumeReclaimPolicy") == "Retain":
                self.s.wait(f"PV {name} Released", lambda: self.s.kget("pv", name)["status"]["phase"] == "Released",
                            timeout=60)
            else:
                self.s.wait(f"PV {name} deleted", lambda: name not in self.pv_names(), timeout=60)
                self.s.wait(f"volume dir of {name} removed", lambda: not self.voldir(pv).exists(), timeout=30)

    def pv_names(self):
        return {p["metadata"]["name"] for p in self.s.kget("pv")["items"]}

    def driver_snapshots(self):
        """Snapshot ids the driver holds: its .snap files, checked against its state.json."""
        files = self.snap_files()
        state = json.loads((self.s.statedir / "state.json").read_text()).get("Snapshots") or {}
        check(files == set(state), f"driver .snap files {sorted(files)} differ from state.json {sorted(state)}")
        return files

    # ------------------------------------------------------------ who did what
    def ours_in_backup(self, tb, ns, pvc_name, pv_name):
        """Our plugin snapshotted ns/pvc_name: returns the handle recorded in the backed-up PVC."""
        pvc = tb.get("persistentvolumeclaims", ns, pvc_name)
        ann = annotations(pvc)
        check(ann.get(HANDLE_ANN), f"backed-up PVC {ns}/{pvc_name} has no {HANDLE_ANN}: {ann}")
        check(ann.get(DRIVER_ANN) == DRIVER, f"backed-up PVC {ns}/{pvc_name}: {DRIVER_ANN}={ann.get(DRIVER_ANN)}")
        self.info["class"] = ann.get(CLASS_ANN, "")
        check(CORE_VS_ANN not in ann, f"backed-up PVC {ns}/{pvc_name} also has core's {CORE_VS_ANN}")
        check(annotations(tb.get("persistentvolumes", None, pv_name)).get(FROM_SNAPSHOT_ANN) == "true",
              f"backed-up PV {pv_name} lacks {FROM_SNAPSHOT_ANN}=true")
        for vs in tb.all(VS):
            check(vs["spec"]["source"].get("persistentVolumeClaimName") != pvc_name or vs["metadata"]["namespace"] != ns,
                  f"the backup has a VolumeSnapshot of {ns}/{pvc_name}, which our plugin snapshotted")
        return ann[HANDLE_ANN]

    def core_in_backup(self, tb, ns, pvc_name, pv_name):
        """Core snapshotted ns/pvc_name: returns the handle of the VSC it put in the backup."""
        pvc = tb.get("persistentvolumeclaims", ns, pvc_name)
        ann = annotations(pvc)
        check(not any(k.startswith(OURS + "/") for k in ann), f"backed-up PVC {ns}/{pvc_name} has our keys: {ann}")
        check(FROM_SNAPSHOT_ANN not in annotations(tb.get("persistentvolumes", None, pv_name)),
              f"backed-up PV {pv_name} has our {FROM_SNAPSHOT_ANN}")
        vs_name = ann.get(CORE_VS_ANN)
        check(vs_name, f"backed-up PVC {ns}/{pvc_name} has no {CORE_VS_ANN}: {ann}")
        vs = tb.get(VS, ns, vs_name)
        check(not any(k.startswith(OURS + "/") for k in labels(vs)), f"core's VS {vs_name} has our labels")
        vsc = tb.get(VSC, None, vs["status"]["boundVolumeSnapshotContentName"])
        return vsc["status"]["snapshotHandle"]

    def untouched_in_backup(self, tb, ns, pvc_name):
        """Nobody snapshotted ns/pvc_name, but the PVC itself is in the backup."""
        ann = annotations(tb.get("persistentvolumeclaims", ns, pvc_name))
        check(HANDLE_ANN not in ann and CORE_VS_ANN not in ann,
              f"backed-up PVC {ns}/{pvc_name} was snapshotted: {ann}")

    def no_snapshot_objects(self, when):
        """No VolumeSnapshot or VolumeSnapshotContent in the cluster (ours or core's)."""
        vss = self.s.kget("volumesnapshots", "-A")["items"]
        vscs = self.vscs()
        check(not vss and not vscs, f"{when}: VS {[(v['metadata']['namespace'], v['metadata']['name']) for v in vss]}"
              f", VSC {[c['metadata']['name'] for c in vscs]} in the cluster")

    def restored_from(self, ns, pvc_name, handle, want_tree, restore_uid, ours):
        """The restored PVC is bound, provisioned from a VS whose static VSC has `handle`, holds
        `want_tree`; the VS and VSC carry our restore-uid label exactly when `ours`."""
        claim_, pv = self.bound(ns, pvc_name, timeout=120)
        ds = claim_["spec"].get("dataSource") or {}
        check(ds.get("kind") == "VolumeSnapshot", f"restored PVC {ns}/{pvc_name} dataSource {ds}")
        vs = self.s.kget("-n", ns, "volumesnapshot", ds["name"])
        vsc = self.s.kget("volumesnapshotcontent", vs["status"]["boundVolumeSnapshotContentName"])
        check(vsc["spec"]["source"].get("snapshotHandle") == handle,
              f"restored VSC source {vsc['spec']['source']}, want snapshotHandle {handle}")
        check(vsc["spec"].get("deletionPolicy") == "Retain", f"restored VSC policy {vsc['spec'].get('deletionPolicy')}")
        for obj in (vs, vsc):
            uid = labels(obj).get(RESTORE_UID)
            if ours:
                check(uid == restore_uid, f"restored {obj['kind']} {obj['metadata']['name']}: {RESTORE_UID}={uid}, "
                                          f"want {restore_uid}")
            else:
                check(uid is None, f"core's restored {obj['kind']} {obj['metadata']['name']} has our label")
        got = tree(self.voldir(pv))
        check(got == want_tree, f"restored bytes of {ns}/{pvc_name} differ: got {got}, want {want_tree}")
        return claim_, pv

    # ------------------------------------------------------------ leave nothing behind
    def leave_nothing(self):
        """Deletes what the scenario made, through Velero where it owns it, and asserts that
        nothing is left in the cluster, at the driver or in the bucket."""
        if self.namespaces:
            self.s.kubectl("delete", "namespace", *sorted(self.namespaces), "--ignore-not-found", "--wait",
                           "--timeout=120s", timeout=150)
            self.namespaces.clear()
        # Restores leave static Retain VSCs once their namespace is gone (ours and core's
        # alike); deleting them keeps the storage snapshot, which the backup deletion removes.
        left_vscs = [c["metadata"]["name"] for c in self.vscs()]
        if left_vscs:
            self.info["restore_vscs_deleted"] = len(left_vscs)
            self.s.kubectl("delete", "volumesnapshotcontent", *left_vscs, "--wait", "--timeout=60s", timeout=90)
        backups = [b["metadata"]["name"] for b in self.s.kget("-n", "velero", "backups")["items"]]
        for b in backups:
            self.s.velero("backup", "delete", b, "--confirm", timeout=60)
        self.s.wait("backups deleted", lambda: not self.s.kget("-n", "velero", "backups")["items"],
                    timeout=180, interval=1)
        for d in self.s.kget("-n", "velero", "deletebackuprequests")["items"]:
            check(not d.get("status", {}).get("errors"), f"delete request errors: {d.get('status')}")
        self.s.kubectl("delete", "-n", "velero", "deletebackuprequests", "--all", timeout=60)
        # Retain PVs (released) are reclaimed by switching them to Delete.
        for pv in self.s.kget("pv")["items"]:
            if pv["spec"].get("persistentVolumeReclaimPolicy") == "Retain":
                self.s.kubectl("patch", "pv", pv["metadata"]["name"], "-p",
                               '{"spec":{"persistentVolumeReclaimPolicy":"Delete"}}')
        self.s.wait("no PV left", lambda: not self.pv_names(), timeout=90)
        self.no_snapshot_objects("after the clean-up")
        restores = [r["metadata"]["name"] for r in self.s.kget("-n", "velero", "restores")["items"]]
        check(not restores, f"restores left after their backups were deleted: {restores}")
        self.s.wait("driver holds no snapshot", lambda: not self.driver_snapshots(), timeout=60)
        vols = [p.name for p in self.s.statedir.iterdir() if p.is_dir()]
        check(not vols, f"volume dirs left at the driver: {vols}")
        s3 = self.s.s3()
        for prefix in ("e2e/backups/", "e2e/restores/"):
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket="velero", Prefix=prefix).get("Contents", [])]
            check(not keys, f"left in the bucket: {keys[:10]}")
        self.server_log_clean()

    def server_log_clean(self):
        """No level=error line in the server's log since the scenario started (KNOWN_ERRORS excepted)."""
        bad = []
        for f in self.s.velero_logs:
            with open(f, errors="replace") as fh:
                fh.seek(self.log_marks.get(f, 0))
                bad += [ln for ln in fh.read().splitlines() if re.search(r"level=(error|fatal|panic)", ln)
                        and not any(m in ln for m in KNOWN_ERRORS)]
        check(not bad, f"{len(bad)} error lines in Velero's log:\n" + "\n".join(ln[:400] for ln in bad[:5]))

    # ------------------------------------------------------------ scenarios
    def sc_mixed(self):
        """EnableCSI: the policy routes one PVC to us, core snapshots the other."""
        _, pv_a, tree_a = self.volume("mixed", "ours", route="ours")
        _, pv_b, tree_b = self.volume("mixed", "core")
        before = self.driver_snapshots()
        _, tb = self.backup("b-mixed", "mixed")
        h_ours = self.ours_in_backup(tb, "mixed", "ours", pv_a["metadata"]["name"])
        h_core = self.core_in_backup(tb, "mixed", "core", pv_b["metadata"]["name"])
        new = self.driver_snapshots() - before
        check(new == {h_ours, h_core} and h_ours != h_core,
              f"driver snapshots taken {sorted(new)}, want ours {h_ours} and core's {h_core}, one each")
        check(len(tb.all(VS)) == 1 and len(tb.all(VSC)) == 1,
              f"the backup has {len(tb.all(VS))} VS and {len(tb.all(VSC))} VSC, want core's one each")
        self.no_snapshot_objects("after the backup")
        self.destroy_namespace("mixed", pv_a, pv_b)
        uid = self.restore("r-mixed", "b-mixed")["metadata"]["uid"]
        self.restored_from("mixed", "ours", h_ours, tree_a, uid, ours=True)
        self.restored_from("mixed", "core", h_core, tree_b, uid, ours=False)

    def sc_csi_off(self):
        """No EnableCSI: our plugin snapshots both PVCs (no policy matches them)."""
        _, pv_a, tree_a = self.volume("csioff", "one")
        _, pv_b, tree_b = self.volume("csioff", "two", route="ours")
        before = self.driver_snapshots()
        _, tb = self.backup("b-csioff", "csioff")
        h_a = self.ours_in_backup(tb, "csioff", "one", pv_a["metadata"]["name"])
        h_b = self.ours_in_backup(tb, "csioff", "two", pv_b["metadata"]["name"])
        check(self.driver_snapshots() - before == {h_a, h_b} and h_a != h_b,
              f"driver snapshots taken {sorted(self.driver_snapshots() - before)}, want {h_a} and {h_b}")
        check(not tb.all(VS) and not tb.all(VSC), "the backup has VolumeSnapshots or contents")
        self.no_snapshot_objects("after the backup")
        self.destroy_namespace("csioff", pv_a, pv_b)
        uid = self.restore("r-csioff", "b-csioff")["metadata"]["uid"]
        self.restored_from("csioff", "one", h_a, tree_a, uid, ours=True)
        self.restored_from("csioff", "two", h_b, tree_b, uid, ours=True)
        # The same backup into another namespace, beside the first restore.
        self.namespaces.add("csioff-mapped")
        uid = self.restore("r-csioff-mapped", "b-csioff", "--namespace-mappings", "csioff:csioff-mapped")["metadata"]["uid"]
        self.restored_from("csioff-mapped", "one", h_a, tree_a, uid, ours=True)

    def sc_retain(self):
        """A Retain PV routed to us: restore provisions a new PV, the old one stays Released."""
        _, pv, want = self.volume("retain", "data", route="ours", storage_class="csi-hostpath-retain")
        check(pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain", "PV is not Retain")
        _, tb = self.backup("b-retain", "retain")
        h = self.ours_in_backup(tb, "retain", "data", pv["metadata"]["name"])
        check(h in self.driver_snapshots(), f"driver has no snapshot {h}")
        self.destroy_namespace("retain", pv)
        uid = self.restore("r-retain", "b-retain")["metadata"]["uid"]
        _, pv2 = self.restored_from("retain", "data", h, want, uid, ours=True)
        check(pv2["metadata"]["name"] != pv["metadata"]["name"], f"restored PVC bound to the old PV {pv2['metadata']['name']}")
        still = self.s.kget("pv", pv["metadata"]["name"])
        check(still["status"]["phase"] == "Released", f"old PV {pv['metadata']['name']} is {still['status']['phase']}")
        check(self.voldir(still).is_dir(), "the old Retain volume's data is gone")

    def sc_delete(self):
        """`velero backup delete` leaves no VS, VSC, driver snapshot or bucket object (ours and core's)."""
        _, pv_a, _ = self.volume("del", "ours", route="ours")
        _, pv_b, _ = self.volume("del", "core")
        before = self.driver_snapshots()
        b, tb = self.backup("b-del", "del")
        uid = b["metadata"]["uid"]
        h_ours = self.ours_in_backup(tb, "del", "ours", pv_a["metadata"]["name"])
        h_core = self.core_in_backup(tb, "del", "core", pv_b["metadata"]["name"])
        check(self.driver_snapshots() - before == {h_ours, h_core}, "not one driver snapshot per PVC")
        s3 = self.s.s3()
        self.s.velero("backup", "delete", "b-del", "--confirm", timeout=60)
        self.s.wait("backup b-del gone", lambda: "b-del" not in {
            x["metadata"]["name"] for x in self.s.kget("-n", "velero", "backups")["items"]}, timeout=120, interval=1)
        for d in self.s.kget("-n", "velero", "deletebackuprequests")["items"]:
            check(not d.get("status", {}).get("errors"), f"delete request errors: {d.get('status')}")

        def mine(obj):
            lb = labels(obj)
            st = obj.get("status") or {}
            src = obj.get("spec", {}).get("source") or {}
            return (lb.get(BACKUP_UID) == uid or lb.get("velero.io/backup-name") == "b-del"
                    or {st.get("snapshotHandle"), src.get("snapshotHandle")} & {h_ours, h_core})
        try:
            self.s.wait("snapshots of b-del deleted", lambda: not ({h_ours, h_core} & self.driver_snapshots())
                        and not [o for o in self.vscs() + self.s.kget("volumesnapshots", "-A")["items"] if mine(o)],
                        timeout=60)
        except TimeoutError:
            raise Failed(f"left after delete: driver snapshots {sorted(self.driver_snapshots() & {h_ours, h_core})}, "
                         f"VSCs {[c['metadata']['name'] for c in self.vscs()]}")
        keys = s3.list_objects_v2(Bucket="velero", Prefix="e2e/backups/b-del/").get("KeyCount", 0)
        check(keys == 0, f"{keys} files of b-del left in the bucket")

    def sc_policy(self):
        """No EnableCSI: policy skip and fs-backup are respected (only we could snapshot)."""
        _, pv_s, _ = self.volume("policy", "skipped", route="skip")
        _, pv_f, _ = self.volume("policy", "fs", route="fs")
        _, pv_c, _ = self.volume("policy", "control")
        before = self.driver_snapshots()
        _, tb = self.backup("b-policy", "policy")
        self.untouched_in_backup(tb, "policy", "skipped")
        self.untouched_in_backup(tb, "policy", "fs")
        h = self.ours_in_backup(tb, "policy", "control", pv_c["metadata"]["name"])
        check(self.driver_snapshots() - before == {h},
              f"driver snapshots taken {sorted(self.driver_snapshots() - before)}, want only {h} (control)")
        pvbs = self.s.kget("-n", "velero", "podvolumebackups")["items"]
        self.info["fs_backup"] = f"{len(pvbs)} PodVolumeBackups (no pod mounts the volume, no node-agent)"
        self.no_snapshot_objects("after the backup")

    def sc_concurrent(self):
        """Two backups of two namespaces at once (--concurrent-backups 2), both routed to us."""
        vols = {ns: self.volume(ns, "data", route="ours") for ns in ("conc-a", "conc-b")}
        before = self.driver_snapshots()
        for ns in vols:
            self.backup_start(f"b-{ns}", ns)
        done = {ns: self.backup_done(f"b-{ns}") for ns in vols}
        handles = {ns: self.ours_in_backup(tb, ns, "data", vols[ns][1]["metadata"]["name"])
                   for ns, (_, tb) in done.items()}
        check(self.driver_snapshots() - before == set(handles.values()) and len(set(handles.values())) == 2,
              f"driver snapshots taken {sorted(self.driver_snapshots() - before)}, want {handles}")
        st = {ns: b["status"] for ns, (b, _) in done.items()}
        self.info["overlapped"] = (st["conc-a"]["startTimestamp"] <= st["conc-b"]["completionTimestamp"] and
                                   st["conc-b"]["startTimestamp"] <= st["conc-a"]["completionTimestamp"])
        self.no_snapshot_objects("after the backups")
        for ns, (_, pv, _) in vols.items():
            self.destroy_namespace(ns, pv)
        for ns, (_, _, want) in vols.items():
            uid = self.restore(f"r-{ns}", f"b-{ns}")["metadata"]["uid"]
            self.restored_from(ns, "data", handles[ns], want, uid, ours=True)

    # (name, method, EnableCSI on the server)
    SCENARIOS = [
        ("mixed", "sc_mixed", True),
        ("retain", "sc_retain", True),
        ("delete", "sc_delete", True),
        ("concurrent", "sc_concurrent", True),
        ("csi-off", "sc_csi_off", False),
        ("policy", "sc_policy", False),
    ]

    def run(self, only=None):
        self.s.apply(FIXTURES)
        for name, meth, csi in self.SCENARIOS:
            if only and name not in only:
                continue
            self.info = {}
            t0 = time.time()
            try:
                features = "EnableCSI" if csi else ""
                if self.s.features != features:
                    self.s.restart_velero(features)
                self.log_marks = {f: f.stat().st_size for f in self.s.velero_logs}
                try:
                    getattr(self, meth)()
                finally:
                    cleaned = False
                    try:
                        self.leave_nothing()
                        cleaned = True
                    finally:
                        if not cleaned:
                            traceback.print_exc()
                status, err = "PASS", ""
            except Exception as e:  # noqa: BLE001 -- reported per scenario
                status, err = "FAIL", f"{type(e).__name__}: {e}"
                traceback.print_exc()
            dt = time.time() - t0
            self.results.append(dict(scenario=name, status=status, seconds=round(dt, 1), error=err,
                                     enable_csi=csi, **self.info))
            print(f"  {status}  {name:30s} {dt:6.1f}s  {err[:300]}", flush=True)


def main():
    label, plugin = sys.argv[1], sys.argv[2]
    plugin = None if plugin == "none" else Path(plugin).resolve()
    only = sys.argv[3].split(",") if len(sys.argv) > 3 and sys.argv[3] else None
    version = os.environ.get("E2E_VELERO_VERSION", "v1.18.3")
    stack = Stack(Path(os.environ.get("E2E_STATE_ROOT", "/tmp")) / f"e2e-{label}", CACHE, plugin,
                  velero_version=version, server_flags=SERVER_FLAGS)
    stack.env.pop(NAMES_ENV, None)  # the plugin's default name set (modern) is under test

    run_on_stack(stack, ModernSuite(stack, label), label, plugin or "none (core only)", only,
                 f"== {label}: Velero {version}, starting stack in {stack.E}")


if __name__ == "__main__":
    main()
