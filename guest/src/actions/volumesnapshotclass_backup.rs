//! `velero.io/csi-volumesnapshotclass-backupper` ([actions §2.4](../../../docs/actions.md#24-volumesnapshotclass-backup-veleroiocsi-volumesnapshotclass-backupper)).
//!
//! Backs up a VolumeSnapshotClass together with the snapshot-lister Secret its annotations
//! name. Makes no API call and starts no operation.

use crate::adapter::imports::{Imports, Level};
use crate::bindings::exports::velero::csi::actions::BackupOutput;
use crate::csi::secrets::referenced_secret;
use crate::model::error::ActionError;
use crate::model::item::Item;
use crate::model::velero::Backup;
use crate::registry::BackupItemAction;
use csi_common::keys;

/// The VolumeSnapshotClass backup action.
pub struct VolumeSnapshotClassBackup;

impl BackupItemAction for VolumeSnapshotClassBackup {
    fn execute(
        &self,
        host: &dyn Imports,
        mut item: Item,
        _backup: &Backup,
    ) -> Result<BackupOutput, ActionError> {
        host.log(Level::Info, "Executing VolumeSnapshotClassBackupItemAction");

        let additional_items: Vec<_> = referenced_secret(
            &item,
            keys::SNAPSHOTTER_LIST_SECRET_NAME,
            keys::SNAPSHOTTER_LIST_SECRET_NAMESPACE,
        )
        .into_iter()
        .collect();
        if !additional_items.is_empty() {
            item.set_annotation(keys::MUST_INCLUDE_ADDITIONAL_ITEMS, "true");
        }

        host.log(
            Level::Info,
            &format!(
                "Returning {} additionalItems to backup",
                additional_items.len()
            ),
        );
        Ok(BackupOutput {
            item: item.into_json(),
            additional_items,
            operation_id: String::new(),
            post_operation_items: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests;
