//! `velero-csi-wasm.io/pvc-delete` ([behaviour §8.7](../../../../docs/behaviour.md#87-pvc-delete-velero-csi-wasmiopvc-delete)).
//!
//! Deletes the storage snapshot a backed-up claim records: creates a temporary
//! pre-provisioned VolumeSnapshotContent (`Delete`) for it, waits until the snapshotter has
//! seen it, deletes it and waits until it is gone (the driver has then deleted the storage
//! snapshot). Needs nothing of the backup to exist in the cluster.

use std::time::Duration;

use serde_json::{Value, json};

use crate::adapter::imports::{Imports, Level};
use crate::csi::modern::{
    DELETION_SECRET_NAME, DELETION_SECRET_NAMESPACE, Recorded, object_name, static_content,
};
use crate::csi::snapshots::content_ref;
use crate::model::error::ActionError;
use crate::model::item::Item;
use crate::model::json::str_at;
use crate::model::kube::{Condition, KubeError, resources};
use crate::model::velero::Backup;
use crate::registry::DeleteItemAction;
use csi_common::keys::modern;

/// How long each wait on the temporary content lasts.
pub const WAIT: Duration = Duration::from_secs(60);

/// The modern PVC delete action.
pub struct ModernPvcDelete;

/// The temporary content for `recorded`, bound to a VolumeSnapshot that does not exist.
fn temporary_content(name: &str, recorded: &Recorded, namespace: &str, backup: &Backup) -> Value {
    let absent = format!("{name}-absent");
    let mut content = static_content(
        name,
        recorded,
        "Delete",
        namespace,
        &absent,
        (modern::BACKUP_UID, backup.uid()),
    );
    if let Some((secret_namespace, secret_name)) = &recorded.deletion_secret {
        content["metadata"]["annotations"] = json!({
            DELETION_SECRET_NAME: secret_name,
            DELETION_SECRET_NAMESPACE: secret_namespace,
        });
    }
    content
}

impl DeleteItemAction for ModernPvcDelete {
    fn execute(&self, host: &dyn Imports, item: Item, backup: &Backup) -> Result<(), ActionError> {
        let Some(recorded) = Recorded::of(&item) else {
            return Ok(());
        };
        let namespace = item.namespace();
        let claim = item.name();
        let name = object_name("delete", &[backup.uid(), namespace, claim]);
        let what = format!("VolumeSnapshotContent {name}");
        host.log(
            Level::Info,
            &format!(
                "Modern mode: deleting snapshot {} of PVC {namespace}/{claim} through temporary {what}",
                recorded.handle
            ),
        );
        match host.create(
            &resources::volume_snapshot_contents(),
            None,
            &temporary_content(&name, &recorded, namespace, backup),
        ) {
            Ok(_) => {}
            Err(KubeError::AlreadyExists(_)) => {
                host.log(Level::Info, &format!("Reusing {what} of an earlier try"));
            }
            Err(e) => return Err(ActionError::kube(format!("error creating {what}"), e)),
        }

        let target = content_ref(&name);
        match host.wait_until(&target, &Condition::FieldPresent("/status".into()), WAIT) {
            Ok(content) => {
                if let Some(error) = content
                    .as_ref()
                    .and_then(|c| str_at(c, &["status", "error", "message"]))
                {
                    host.log(
                        Level::Info,
                        &format!("{what} reports: {error}; deleting it anyway"),
                    );
                }
            }
            Err(KubeError::NotFound(_)) => {
                host.log(Level::Info, &format!("{what} is already gone"));
                return Ok(());
            }
            Err(KubeError::Timeout(_)) => host.log(
                Level::Info,
                &format!(
                    "{what} has no status after {WAIT:?}: snapshot {} may no longer exist; deleting it anyway",
                    recorded.handle
                ),
            ),
            Err(e) => return Err(ActionError::kube(format!("error waiting for {what}"), e)),
        }

        match host.delete(&target) {
            Ok(()) | Err(KubeError::NotFound(_)) => {}
            Err(e) => return Err(ActionError::kube(format!("error deleting {what}"), e)),
        }
        match host.wait_until(&target, &Condition::Deleted, WAIT) {
            Ok(_) | Err(KubeError::NotFound(_)) => {
                host.log(
                    Level::Info,
                    &format!("Modern mode: snapshot {} is deleted", recorded.handle),
                );
                Ok(())
            }
            Err(KubeError::Timeout(m)) => Err(ActionError::Failed(format!(
                "{what} is still there {WAIT:?} after its deletion ({m}): the driver has not deleted snapshot {}",
                recorded.handle
            ))),
            Err(e) => Err(ActionError::kube(
                format!("error waiting for the deletion of {what}"),
                e,
            )),
        }
    }
}

#[cfg(test)]
mod tests;
