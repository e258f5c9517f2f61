//! Annotation and label keys the actions read or write ([keys §4](../../docs/keys.md#4-annotation-and-label-keys)).

/// Tells Velero to include an item's additional items even when filters exclude them.
pub const MUST_INCLUDE_ADDITIONAL_ITEMS: &str = "backup.velero.io/must-include-additional-items";
/// Tells Velero the PVC's volume is not a CSI volume (PVC backup action only).
pub const SKIPPED_NO_CSI_PV: &str = "backup.velero.io/skipped-no-csi-pv";
/// Pod annotation: volumes opted in to file-system backup.
pub const FS_BACKUP_VOLUMES: &str = "backup.velero.io/backup-volumes";
/// Pod annotation: volumes opted out of file-system backup.
pub const FS_BACKUP_VOLUMES_EXCLUDES: &str = "backup.velero.io/backup-volumes-excludes";

/// Name of the VolumeSnapshot created for a PVC (annotation and label on the PVC).
pub const VOLUME_SNAPSHOT_NAME: &str = "velero.io/volume-snapshot-name";
/// Normalised name of the backup that owns an object (label).
pub const BACKUP_NAME: &str = "velero.io/backup-name";
/// Backup UID (DataUpload label).
pub const BACKUP_UID: &str = "velero.io/backup-uid";
/// Source PVC UID (DataUpload label).
pub const PVC_UID: &str = "velero.io/pvc-uid";
/// Operation ID of a DataUpload or DataDownload (label).
pub const ASYNC_OPERATION_ID: &str = "velero.io/async-operation-id";
/// Normalised restore name (label of the static VSC and the DataDownload).
pub const RESTORE_NAME: &str = "velero.io/restore-name";
/// Restore UID (DataDownload label; DataUploadResult selector).
pub const RESTORE_UID: &str = "velero.io/restore-uid";
/// `N(<source ns>.<source pvc>)` on the DataUploadResult ConfigMap.
pub const PVC_NAMESPACE_NAME: &str = "velero.io/pvc-namespace-name";
/// `DataUpload` on the DataUploadResult ConfigMap.
pub const RESOURCE_USAGE: &str = "velero.io/resource-usage";
/// Selector label pinning a data-mover restored PVC to its volume.
pub const DYNAMIC_PV_RESTORE: &str = "velero.io/dynamic-pv-restore";
/// `<DU namespace>/<DU name>` on the backed-up PVC (annotation).
pub const DATA_UPLOAD_NAME: &str = "velero.io/data-upload-name";

/// Storage snapshot handle (VolumeSnapshot annotation).
pub const VOLUME_SNAPSHOT_HANDLE: &str = "velero.io/csi-volumesnapshot-handle";
/// CSI driver of the snapshot (VolumeSnapshot annotation).
pub const DRIVER_NAME: &str = "velero.io/csi-driver-name";
/// Restore size, v0.7.1 spelling (VolumeSnapshot annotation).
pub const VSI_RESTORE_SIZE: &str = "velero.io/vsi-volumesnapshot-restore-size";
/// Restore size, Velero core v1.14+ spelling (VolumeSnapshot annotation).
pub const CSI_RESTORE_SIZE: &str = "velero.io/csi-volumesnapshot-restore-size";
/// Deletion policy of the content (VolumeSnapshot annotation, informational).
pub const VSC_DELETION_POLICY: &str = "velero.io/csi-vsc-deletion-policy";
/// Legacy deletion-secret name (declared by v0.7.1, never written).
pub const DELETE_SNAPSHOT_SECRET_NAME: &str = "velero.io/csi-deletesnapshotsecret-name";
/// Legacy deletion-secret namespace (declared by v0.7.1, never written).
pub const DELETE_SNAPSHOT_SECRET_NAMESPACE: &str = "velero.io/csi-deletesnapshotsecret-namespace";

/// VolumeSnapshotClass label marking the default class of its driver; PVC annotation
/// naming the class to use.
pub const VOLUME_SNAPSHOT_CLASS: &str = "velero.io/csi-volumesnapshot-class";
/// Backup annotation prefix: `…_<driver in lowercase>` names the class for that driver.
pub const VOLUME_SNAPSHOT_CLASS_FOR_DRIVER: &str = "velero.io/csi-volumesnapshot-class_";

/// Name of the snapshot-lister Secret of a VolumeSnapshotClass.
pub const SNAPSHOTTER_LIST_SECRET_NAME: &str = "csi.storage.k8s.io/snapshotter-list-secret-name";
/// Namespace of the snapshot-lister Secret of a VolumeSnapshotClass.
pub const SNAPSHOTTER_LIST_SECRET_NAMESPACE: &str =
    "csi.storage.k8s.io/snapshotter-list-secret-namespace";
/// Name of the snapshotter Secret of a VolumeSnapshotContent.
pub const SNAPSHOTTER_SECRET_NAME: &str = "csi.storage.k8s.io/snapshotter-secret-name";
/// Namespace of the snapshotter Secret of a VolumeSnapshotContent.
pub const SNAPSHOTTER_SECRET_NAMESPACE: &str = "csi.storage.k8s.io/snapshotter-secret-namespace";

/// PVC annotations removed on restore: binding and scheduling state that must not carry
/// over, and the plugin's own backup-time annotations.
pub const PVC_RESTORE_REMOVED_ANNOTATIONS: [&str; 7] = [
    "pv.kubernetes.io/bind-completed",
    "pv.kubernetes.io/bound-by-controller",
    "volume.kubernetes.io/storage-provisioner",
    "volume.beta.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/selected-node",
    VOLUME_SNAPSHOT_NAME,
    DATA_UPLOAD_NAME,
];

/// Keys of the modern name set ([keys §4](../../docs/keys.md#4-annotation-and-label-keys)):
/// all in the project's own namespace, so that none of Velero core's built-in CSI actions
/// (which read `velero.io/…` keys) ever acts on what the plugin writes.
pub mod modern {
    /// The volume-policy `custom` action parameter that routes a volume to the plugin, and
    /// its value: `action: {type: custom, parameters: {plugin: velero-csi-wasm.io}}`.
    pub const POLICY_PARAMETER: (&str, &str) = ("plugin", "velero-csi-wasm.io");

    /// Backed-up PVC: the storage snapshot's handle.
    pub const SNAPSHOT_HANDLE: &str = "velero-csi-wasm.io/snapshot-handle";
    /// Backed-up PVC: the CSI driver that owns the snapshot.
    pub const DRIVER: &str = "velero-csi-wasm.io/csi-driver";
    /// Backed-up PVC: the VolumeSnapshotClass the snapshot was taken with (for the operator;
    /// restore and deletion do not need it).
    pub const SNAPSHOT_CLASS: &str = "velero-csi-wasm.io/snapshot-class";
    /// Backed-up PVC: the snapshot's restore size (a Kubernetes quantity).
    pub const RESTORE_SIZE: &str = "velero-csi-wasm.io/restore-size";
    /// Backed-up PVC: the Secret the driver needs to delete the snapshot (`<ns>/<name>`).
    pub const DELETION_SECRET: &str = "velero-csi-wasm.io/deletion-secret";
    /// Backed-up PV: `true` when its claim was snapshotted by the plugin.
    pub const FROM_SNAPSHOT: &str = "velero-csi-wasm.io/restore-from-snapshot";

    /// Label on every object the plugin creates during a backup or a backup deletion: the
    /// Backup's UID.
    pub const BACKUP_UID: &str = "velero-csi-wasm.io/backup-uid";
    /// Label on every object the plugin creates during a restore: the Restore's UID.
    pub const RESTORE_UID: &str = "velero-csi-wasm.io/restore-uid";
}
