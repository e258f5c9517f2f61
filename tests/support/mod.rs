//! Objects shared by the integration tests, shaped like what Velero sends (Go
//! `encoding/json` output: compact, keys sorted).

use serde_json::{Value, json};

pub const CLASS_BACKUPPER: &str = "velero.io/csi-volumesnapshotclass-backupper";
pub const CLASS_RESTORER: &str = "velero.io/csi-volumesnapshotclass-restorer";
pub const MUST_INCLUDE: &str = "backup.velero.io/must-include-additional-items";

/// A VolumeSnapshotClass, with a field no Kubernetes version knows and an integer beyond
/// float precision, which must both survive any action.
pub fn snapshot_class(annotations: Value) -> Value {
    json!({
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "deletionPolicy": "Delete",
        "driver": "hostpath.csi.k8s.io",
        "kind": "VolumeSnapshotClass",
        "metadata": {
            "annotations": annotations,
            "creationTimestamp": "2024-03-01T10:00:00Z",
            "labels": {"velero.io/csi-volumesnapshot-class": "true"},
            "name": "snap-default",
            "resourceVersion": "9007199254740993",
            "uid": "c1a55000-0000-0000-0000-000000000001"
        },
        "parameters": {"fromTheFuture": {"retries": 9_007_199_254_740_993_u64}}
    })
}

/// Annotations naming a snapshot-lister Secret `kube-system/ls`.
pub fn list_secret_annotations() -> Value {
    json!({
        "csi.storage.k8s.io/snapshotter-list-secret-name": "ls",
        "csi.storage.k8s.io/snapshotter-list-secret-namespace": "kube-system"
    })
}

/// A Backup as Velero v1.13 sends it: no type meta, null timestamps, Go durations, and a
/// field from a newer Velero.
pub fn backup() -> Value {
    json!({
        "metadata": {
            "annotations": {"velero.io/resource-timeout": "10m0s"},
            "creationTimestamp": null,
            "name": "b1",
            "namespace": "velero",
            "uid": "11111111-2222-3333-4444-555555555555"
        },
        "spec": {
            "csiSnapshotTimeout": "0s",
            "itemOperationTimeout": "4h0m0s",
            "storageLocation": "default",
            "ttl": "720h0m0s"
        },
        "status": {"phase": "InProgress", "startTimestamp": null, "someNewerField": {"x": 1}}
    })
}

/// A Restore of `b1`, with `spec.restorePVs` as given (`Value::Null` leaves it unset).
pub fn restore(restore_pvs: Value) -> Value {
    let mut spec = json!({"backupName": "b1", "itemOperationTimeout": "4h0m0s"});
    if !restore_pvs.is_null() {
        spec["restorePVs"] = restore_pvs;
    }
    json!({
        "apiVersion": "velero.io/v1",
        "kind": "Restore",
        "metadata": {"name": "r1", "namespace": "velero", "uid": "rrrrrrrr-0000-0000-0000-000000000001"},
        "spec": spec
    })
}
