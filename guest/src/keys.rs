//! Annotation and label keys read or written by the actions (spec §4).

/// Tells Velero to include an item's additional items even when filters exclude them.
pub const MUST_INCLUDE_ADDITIONAL_ITEMS: &str = "backup.velero.io/must-include-additional-items";
/// Name of the snapshot-lister Secret of a VolumeSnapshotClass.
pub const SNAPSHOTTER_LIST_SECRET_NAME: &str = "csi.storage.k8s.io/snapshotter-list-secret-name";
/// Namespace of the snapshot-lister Secret of a VolumeSnapshotClass.
pub const SNAPSHOTTER_LIST_SECRET_NAMESPACE: &str =
    "csi.storage.k8s.io/snapshotter-list-secret-namespace";
