//! `velero.io/csi-volumesnapshotclass-restorer` ([actions §2.8](../../../docs/actions.md#28-volumesnapshotclass-restore-veleroiocsi-volumesnapshotclass-restorer)).
//!
//! Restores a VolumeSnapshotClass unchanged, bringing back first the snapshot-lister Secret
//! its annotations name. Skipped when the Restore explicitly disables PV restore.

use crate::adapter::imports::{Imports, Level};
use crate::bindings::exports::velero::csi::actions::RestoreOutput;
use crate::csi::secrets::referenced_secret;
use crate::model::error::ActionError;
use crate::registry::{RestoreItemAction, RestoreRequest, restore_output};
use csi_common::keys;

/// The VolumeSnapshotClass restore action.
pub struct VolumeSnapshotClassRestore;

impl RestoreItemAction for VolumeSnapshotClassRestore {
    fn execute(
        &self,
        host: &dyn Imports,
        request: RestoreRequest,
    ) -> Result<RestoreOutput, ActionError> {
        host.log(Level::Info, "Starting VolumeSnapshotClassRestoreItemAction");

        if request.restore.restore_pvs() == Some(false) {
            host.log(
                Level::Info,
                "Restore did not request for PVs to be restored, skipping the VolumeSnapshotClass",
            );
            return Ok(restore_output(request.item.into_json(), Vec::new(), true));
        }

        let additional_items: Vec<_> = referenced_secret(
            &request.item,
            keys::SNAPSHOTTER_LIST_SECRET_NAME,
            keys::SNAPSHOTTER_LIST_SECRET_NAMESPACE,
        )
        .into_iter()
        .collect();

        host.log(
            Level::Info,
            &format!(
                "Returning from VolumeSnapshotClassRestoreItemAction with {} additionalItems",
                additional_items.len()
            ),
        );
        Ok(restore_output(
            request.item.into_json(),
            additional_items,
            false,
        ))
    }
}

#[cfg(test)]
mod tests;
