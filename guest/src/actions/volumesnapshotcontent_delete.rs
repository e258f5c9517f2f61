//! `velero.io/csi-volumesnapshotcontent-delete` ([actions §2.10](../../../docs/actions.md#210-volumesnapshotcontent-delete-veleroiocsi-volumesnapshotcontent-delete)).
//!
//! When a backup is deleted, deletes the VolumeSnapshotContents that backup labelled,
//! switching each to `Delete` first so that the CSI driver also deletes the storage
//! snapshot. Contents not labelled with the backup are never touched.
//!
//! Deviation from v0.7.1 ([actions §2.10](../../../docs/actions.md#210-volumesnapshotcontent-delete-veleroiocsi-volumesnapshotcontent-delete) **(defect)**, [behaviour §7 L6](../../../docs/behaviour.md#l6-crashes-on-absent-optional-fields)): when the content is already gone,
//! v0.7.1 dereferences the backed-up copy's `status.snapshotHandle` for its warning and
//! crashes on a copy without status. Here the handle is optional: the warning says that it
//! is unknown.
//!
//! API calls: PATCH and DELETE volumesnapshotcontents (cluster).

use crate::actions::volumesnapshot_delete::has_backup_label;
use crate::adapter::imports::{Imports, Level};
use crate::csi::snapshots::{content_ref, set_deletion_policy};
use crate::model::error::ActionError;
use crate::model::item::Item;
use crate::model::kube::{KubeError, message};
use crate::model::velero::Backup;
use crate::registry::DeleteItemAction;

/// The VolumeSnapshotContent delete action.
pub struct VolumeSnapshotContentDelete;

impl DeleteItemAction for VolumeSnapshotContentDelete {
    fn execute(&self, host: &dyn Imports, item: Item, backup: &Backup) -> Result<(), ActionError> {
        host.log(
            Level::Info,
            "Starting VolumeSnapshotContentDeleteItemAction",
        );
        let name = item.name();

        // Contents of snapshots taken outside of this backup are not ours to delete.
        if !has_backup_label(&item, backup.name()) {
            host.log(
                Level::Info,
                &format!(
                    "VolumeSnapshotContent {name} was not taken by backup {}, skipping deletion",
                    backup.name()
                ),
            );
            return Ok(());
        }

        host.log(
            Level::Info,
            &format!("Deleting VolumeSnapshotContent {name}"),
        );
        match set_deletion_policy(host, name, "Delete") {
            Ok(_) => {}
            // Someone deleted the content by hand (velero#4764). Restoring it would not help:
            // the snapshot controller may fail to delete a storage snapshot that is already
            // gone. Leave a warning instead.
            Err(KubeError::NotFound(_)) => {
                let handle = item
                    .pointer("/status/snapshotHandle")
                    .and_then(|v| v.as_str());
                let orphan = match handle {
                    Some(handle) => format!("May leave orphan snapshot {handle} on cloud provider."),
                    None => "May leave an orphan snapshot on cloud provider (the backed-up copy records no snapshot handle).".to_owned(),
                };
                host.log(
                    Level::Warn,
                    &format!(
                        "VolumeSnapshotContent {name} of backup {} cannot be found. {orphan}",
                        backup.name()
                    ),
                );
                return Ok(());
            }
            Err(e) => {
                return Err(ActionError::kube(
                    format!(
                        "failed to set DeletionPolicy on volumesnapshotcontent {name}. Skipping deletion"
                    ),
                    e,
                ));
            }
        }

        match host.delete(&content_ref(name)) {
            Ok(()) | Err(KubeError::NotFound(_)) => Ok(()),
            // Returned as the API server worded it, as v0.7.1 does.
            Err(e) => {
                host.log(
                    Level::Info,
                    &format!(
                        "Failed to delete VolumeSnapshotContent {name}: {}",
                        message(&e)
                    ),
                );
                Err(ActionError::Failed(message(&e).to_owned()))
            }
        }
    }
}

#[cfg(test)]
mod tests;
