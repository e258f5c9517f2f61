//! `velero.io/csi-volumesnapshot-delete` (spec §2.9).
//!
//! When a backup is deleted, deletes the VolumeSnapshots that backup created, together with
//! their storage snapshots: the bound content is switched to `Delete` first, then the
//! snapshot is deleted by name. Snapshots not labelled with the backup are never touched.
//!
//! API calls: PATCH volumesnapshotcontents (cluster), DELETE volumesnapshots (the
//! snapshot's namespace).

use crate::adapter::imports::{Imports, Level};
use crate::csi::snapshots::{set_deletion_policy, snapshot_ref};
use crate::model::error::ActionError;
use crate::model::item::Item;
use crate::model::kube::{KubeError, message};
use crate::model::labels::normalize;
use crate::model::velero::Backup;
use crate::registry::DeleteItemAction;
use csi_common::keys;

/// The VolumeSnapshot delete action.
pub struct VolumeSnapshotDelete;

impl DeleteItemAction for VolumeSnapshotDelete {
    fn execute(&self, host: &dyn Imports, item: Item, backup: &Backup) -> Result<(), ActionError> {
        host.log(
            Level::Info,
            "Starting VolumeSnapshotDeleteItemAction for volumeSnapshot",
        );
        let (namespace, name) = (item.namespace(), item.name());

        // Snapshots taken outside of this backup are not ours to delete.
        if !has_backup_label(&item, backup.name()) {
            host.log(
                Level::Info,
                &format!(
                    "VolumeSnapshot {namespace}/{name} was not taken by backup {}, skipping deletion",
                    backup.name()
                ),
            );
            return Ok(());
        }

        host.log(
            Level::Info,
            &format!("Deleting Volumesnapshot {namespace}/{name}"),
        );
        // The backed-up copy names the content. An empty name (which the snapshot controller
        // never writes) is treated like an absent one rather than sent as a nameless PATCH.
        if let Some(content) = item
            .pointer("/status/boundVolumeSnapshotContentName")
            .and_then(|v| v.as_str())
            .filter(|c| !c.is_empty())
        {
            // `Delete` makes the snapshot controller remove the storage snapshot as well.
            match set_deletion_policy(host, content, "Delete") {
                Ok(_) => {}
                // As in v0.7.1, a missing content ends the deletion here: the snapshot
                // itself is left in place (spec §2.9 step 4, §7 L14).
                Err(KubeError::NotFound(_)) => {
                    host.log(
                        Level::Info,
                        &format!(
                            "VolumeSnapshotContent {content} not found, leaving Volumesnapshot {namespace}/{name} in place"
                        ),
                    );
                    return Ok(());
                }
                Err(e) => {
                    return Err(ActionError::kube(
                        format!(
                            "failed to patch DeletionPolicy of volume snapshot {namespace}/{name}"
                        ),
                        e,
                    ));
                }
            }
        }

        match host.delete(&snapshot_ref(namespace, name)) {
            Ok(()) | Err(KubeError::NotFound(_)) => Ok(()),
            // Returned as the API server worded it, as v0.7.1 does.
            Err(e) => Err(ActionError::Failed(message(&e).to_owned())),
        }
    }
}

/// Whether an object belongs to the backup `backup_name` (spec §3.14.3): its
/// `velero.io/backup-name` label equals N(`backup_name`), and the backup name is not blank.
pub(super) fn has_backup_label(item: &Item, backup_name: &str) -> bool {
    if backup_name.trim().is_empty() {
        return false;
    }
    item.label(keys::BACKUP_NAME) == Some(normalize(backup_name).as_str())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::{Value, json};
    use sim_cluster::{Cluster, Fault, Gvr, SimError, Verb};

    use super::*;
    use crate::adapter::sim::SimImports;
    use crate::csi::snapshots::content_ref;
    use crate::fixtures::{self, backup, volume_snapshot, volume_snapshot_content};
    use crate::model::kube::Kube;

    /// The `VS` fixture with exactly these labels and this status.
    fn snapshot(labels: Value, status: Value) -> Value {
        let mut snapshot = volume_snapshot(json!({}));
        snapshot["metadata"]["labels"] = labels;
        snapshot["status"] = status;
        snapshot
    }

    /// The `VSC` fixture labelled for `b1`, policy `Retain`, with only a handle in its status.
    fn content() -> Value {
        volume_snapshot_content(json!({
            "metadata": {"labels": {"velero.io/backup-name": "b1"}},
            "spec": {"deletionPolicy": "Retain", "volumeSnapshotClassName": null},
            "status": {"restoreSize": null, "readyToUse": null}
        }))
    }

    fn bound() -> Value {
        json!({"boundVolumeSnapshotContentName": "c1", "readyToUse": true})
    }

    fn labelled() -> Value {
        json!({"app": "web", "velero.io/backup-name": "b1"})
    }

    fn execute(cluster: &Arc<Cluster>, item: &Value, backup_name: &str) -> Result<(), ActionError> {
        VolumeSnapshotDelete.execute(
            &SimImports::new(cluster.clone()),
            fixtures::item(item),
            &backup(json!({"metadata": {"name": backup_name}})),
        )
    }

    fn calls(cluster: &Cluster) -> Vec<(Verb, String, String)> {
        cluster
            .calls()
            .into_iter()
            .map(|c| (c.verb, c.resource, c.name))
            .collect()
    }

    fn snapshots(cluster: &Cluster) -> Vec<Value> {
        cluster.objects(&Gvr::new(
            "snapshot.storage.k8s.io",
            "v1",
            "volumesnapshots",
        ))
    }

    /// Spec §5.11, scenarios 107 and 112.
    #[test]
    fn foreign_snapshots_are_not_touched() {
        for (labels, backup_name) in [
            (Value::Null, "b1"),
            (json!({"app": "web"}), "b1"),
            (json!({"velero.io/backup-name": "other"}), "b1"),
            (json!({"velero.io/backup-name": "  "}), "  "),
            (json!({"velero.io/backup-name": ""}), ""),
        ] {
            let cluster = Arc::new(Cluster::new());
            cluster.seed([snapshot(labels.clone(), bound()), content()]);
            execute(&cluster, &snapshot(labels, bound()), backup_name).unwrap();
            assert!(cluster.calls().is_empty());
        }
    }

    /// Spec §5.11, scenario 108: patch then delete; the storage snapshot goes too.
    #[test]
    fn deletes_the_snapshot_and_its_storage_snapshot() {
        let cluster = Arc::new(Cluster::new());
        let item = snapshot(labelled(), bound());
        cluster.seed([item.clone(), content()]);
        execute(&cluster, &item, "b1").unwrap();
        let calls = cluster.calls();
        assert_eq!(
            calls
                .iter()
                .map(|c| (c.verb, c.resource.as_str(), c.name.as_str()))
                .collect::<Vec<_>>(),
            vec![
                (
                    Verb::Patch,
                    "volumesnapshotcontents.snapshot.storage.k8s.io",
                    "c1"
                ),
                (
                    Verb::Delete,
                    "volumesnapshots.snapshot.storage.k8s.io",
                    "velero-data-abcde"
                ),
            ]
        );
        assert_eq!(
            calls[0].body,
            Some(json!({"spec": {"deletionPolicy": "Delete"}}))
        );
        assert_eq!(calls[1].namespace.as_deref(), Some("app"));
        assert!(snapshots(&cluster).is_empty());
        // The snapshot controller removed the content, now `Delete`, with the snapshot.
        let host = SimImports::new(cluster.clone());
        assert!(matches!(
            host.get(&content_ref("c1")),
            Err(KubeError::NotFound(_))
        ));

        // Deleting again: the snapshot is gone (NotFound is success).
        execute(&cluster, &item, "b1").unwrap();
    }

    /// Spec §5.11, scenario 109.
    #[test]
    fn a_missing_content_ends_the_deletion() {
        let cluster = Arc::new(Cluster::new());
        let item = snapshot(labelled(), bound());
        cluster.seed([item.clone()]);
        execute(&cluster, &item, "b1").unwrap();
        assert_eq!(
            calls(&cluster),
            vec![(
                Verb::Patch,
                "volumesnapshotcontents.snapshot.storage.k8s.io".into(),
                "c1".into()
            )]
        );
        assert_eq!(snapshots(&cluster).len(), 1, "v0.7.1 leaves the snapshot");
    }

    /// Spec §5.11, scenario 110.
    #[test]
    fn patch_errors_stop_the_deletion() {
        let cluster = Arc::new(Cluster::new());
        let item = snapshot(labelled(), bound());
        cluster.seed([item.clone(), content()]);
        cluster.inject(Fault {
            verb: Verb::Patch,
            resource: "volumesnapshotcontents".into(),
            name: None,
            error: SimError::Forbidden("volumesnapshotcontents \"c1\" is forbidden".into()),
            times: None,
        });
        let error = execute(&cluster, &item, "b1").unwrap_err();
        assert_eq!(
            error.to_string(),
            "failed to patch DeletionPolicy of volume snapshot app/velero-data-abcde: volumesnapshotcontents \"c1\" is forbidden"
        );
        assert_eq!(cluster.calls().len(), 1, "no DELETE");
    }

    /// Spec §5.11, scenario 111, and a bound name that is null or empty.
    #[test]
    fn without_a_bound_content_only_the_snapshot_is_deleted() {
        for status in [
            Value::Null,
            json!({}),
            json!({"boundVolumeSnapshotContentName": null}),
            json!({"boundVolumeSnapshotContentName": ""}),
        ] {
            let cluster = Arc::new(Cluster::new());
            let item = snapshot(labelled(), status);
            cluster.seed([item.clone()]);
            execute(&cluster, &item, "b1").unwrap();
            assert_eq!(
                calls(&cluster),
                vec![(
                    Verb::Delete,
                    "volumesnapshots.snapshot.storage.k8s.io".into(),
                    "velero-data-abcde".into()
                )]
            );
        }
    }

    #[test]
    fn delete_errors_are_returned() {
        let cluster = Arc::new(Cluster::new());
        let item = snapshot(labelled(), Value::Null);
        cluster.inject(Fault {
            verb: Verb::Delete,
            resource: "volumesnapshots".into(),
            name: None,
            error: SimError::Unavailable(
                "the server is currently unable to handle the request".into(),
            ),
            times: None,
        });
        let error = execute(&cluster, &item, "b1").unwrap_err();
        assert_eq!(
            error.to_string(),
            "the server is currently unable to handle the request"
        );
    }

    /// Long backup names are compared normalised.
    #[test]
    fn long_backup_names() {
        let long = "nightly-backup-of-the-production-cluster-with-a-very-long-name-2024-01";
        let cluster = Arc::new(Cluster::new());
        let item = snapshot(
            json!({"velero.io/backup-name": normalize(long)}),
            Value::Null,
        );
        execute(&cluster, &item, long).unwrap();
        assert_eq!(cluster.calls().len(), 1);
    }
}
