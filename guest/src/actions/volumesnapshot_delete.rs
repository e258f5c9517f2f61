//! `velero.io/csi-volumesnapshot-delete` ([actions §2.9](../../../docs/actions.md#29-volumesnapshot-delete-veleroiocsi-volumesnapshot-delete)).
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
                // itself is left in place ([actions §2.9](../../../docs/actions.md#29-volumesnapshot-delete-veleroiocsi-volumesnapshot-delete) step 4, [behaviour §7 L14](../../../docs/behaviour.md#l14-deletion-acts-by-name)).
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

/// Whether an object belongs to the backup `backup_name` ([behaviour §3.14.3](../../../docs/behaviour.md#3143-belonging-to-a-backup)): its
/// `velero.io/backup-name` label equals N(`backup_name`), and the backup name is not blank.
pub(super) fn has_backup_label(item: &Item, backup_name: &str) -> bool {
    if backup_name.trim().is_empty() {
        return false;
    }
    item.label(keys::BACKUP_NAME) == Some(normalize(backup_name).as_str())
}

#[cfg(test)]
mod tests;
