//! What the demo cluster starts with: a namespace holding one bound CSI claim, its storage
//! class and CSI driver's snapshot class, and the Backup object `velero backup create` made.

use serde_json::{Value, json};

/// The application namespace.
pub const NAMESPACE: &str = "demo-app";
/// The claim backed up and restored.
pub const CLAIM: &str = "data";
/// The CSI driver.
pub const DRIVER: &str = "hostpath.csi.k8s.io";
/// The backup.
pub const BACKUP: &str = "demo-backup";
pub const BACKUP_UID: &str = "6f1c2a3b-0d4e-4f5a-8b6c-7d8e9f0a1b2c";
/// The restore.
pub const RESTORE: &str = "demo-restore";
pub const RESTORE_UID: &str = "0a9b8c7d-6e5f-4a3b-9c2d-1e0f2a3b4c5d";

/// The objects to seed.
pub fn objects() -> Vec<Value> {
    vec![
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}}),
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "velero"}}),
        json!({
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": "csi-hostpath-sc"},
            "provisioner": DRIVER, "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"
        }),
        json!({
            "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
            "metadata": {"name": "csi-hostpath-snapclass",
                         "labels": {"velero.io/csi-volumesnapshot-class": "true"}},
            "driver": DRIVER, "deletionPolicy": "Delete"
        }),
        json!({
            "apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": "pv-demo-data"},
            "spec": {
                "capacity": {"storage": "1Gi"},
                "accessModes": ["ReadWriteOnce"],
                "persistentVolumeReclaimPolicy": "Delete",
                "storageClassName": "csi-hostpath-sc",
                "claimRef": {"kind": "PersistentVolumeClaim", "namespace": NAMESPACE, "name": CLAIM},
                "csi": {"driver": DRIVER, "volumeHandle": "vol-demo-data"}
            },
            "status": {"phase": "Bound"}
        }),
        json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": CLAIM, "namespace": NAMESPACE, "labels": {"app": "demo"}},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "resources": {"requests": {"storage": "1Gi"}},
                "storageClassName": "csi-hostpath-sc",
                "volumeName": "pv-demo-data"
            },
            "status": {"phase": "Bound", "capacity": {"storage": "1Gi"}}
        }),
        json!({
            "apiVersion": "velero.io/v1", "kind": "Backup",
            "metadata": {"name": BACKUP, "namespace": "velero", "uid": BACKUP_UID},
            "spec": {"includedNamespaces": [NAMESPACE], "storageLocation": "default"}
        }),
    ]
}
