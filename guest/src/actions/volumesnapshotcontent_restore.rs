//! `velero.io/csi-volumesnapshotcontent-restorer` ([actions §2.7](../../../docs/actions.md#27-volumesnapshotcontent-restore-veleroiocsi-volumesnapshotcontent-restorer)).
//!
//! Restores a VolumeSnapshotContent unchanged, bringing back first the snapshotter Secret
//! its annotations name. Skipped when the Restore explicitly disables PV restore. Makes no
//! API call and starts no operation.
//!
//! Deviation from v0.7.1 ([actions §2.7](../../../docs/actions.md#27-volumesnapshotcontent-restore-veleroiocsi-volumesnapshotcontent-restorer) **(defect)**, [behaviour §7 L7](../../../docs/behaviour.md#l7-content-restore-reads-the-secret-from-the-wrong-keys), core v1.14 fix): v0.7.1 tests for
//! the `csi.storage.k8s.io/snapshotter-secret-name`/`-namespace` pair but then reads the
//! Secret's name and namespace from `velero.io/csi-deletesnapshotsecret-*`, keys nothing
//! writes, so it asks Velero for a Secret with an empty name. This action reads the name
//! and namespace from the same `csi.storage.k8s.io/snapshotter-secret-*` keys it tests.

use crate::adapter::imports::{Imports, Level};
use crate::bindings::exports::velero::csi::actions::RestoreOutput;
use crate::csi::secrets::referenced_secret;
use crate::model::error::ActionError;
use crate::registry::{RestoreItemAction, RestoreRequest, restore_output};
use csi_common::keys;

/// The VolumeSnapshotContent restore action.
pub struct VolumeSnapshotContentRestore;

impl RestoreItemAction for VolumeSnapshotContentRestore {
    fn execute(
        &self,
        host: &dyn Imports,
        request: RestoreRequest,
    ) -> Result<RestoreOutput, ActionError> {
        host.log(
            Level::Info,
            "Starting VolumeSnapshotContentRestoreItemAction",
        );
        let RestoreRequest { item, restore, .. } = request;

        if restore.restore_pvs() == Some(false) {
            host.log(
                Level::Info,
                &format!(
                    "Restore did not request for PVs to be restored {}/{}",
                    restore.namespace(),
                    restore.name()
                ),
            );
            return Ok(restore_output(item.into_json(), Vec::new(), true));
        }

        // Presence test and values from the same pair of keys: the recommended fix of the
        // v0.7.1 defect (see the module documentation).
        let additional_items: Vec<_> = referenced_secret(
            &item,
            keys::SNAPSHOTTER_SECRET_NAME,
            keys::SNAPSHOTTER_SECRET_NAMESPACE,
        )
        .into_iter()
        .collect();

        host.log(
            Level::Info,
            &format!(
                "Returning from VolumeSnapshotContentRestoreItemAction with {} additionalItems",
                additional_items.len()
            ),
        );
        Ok(restore_output(item.into_json(), additional_items, false))
    }
}

#[cfg(test)]
mod tests;
