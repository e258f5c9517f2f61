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

/// The snapshotter's finalizer on a content: while it is there, deleting the content goes
/// through the CSI driver.
pub const CONTENT_FINALIZER: &str =
    "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection";
/// Tells the snapshotter that the content's VolumeSnapshot is being deleted, so deleting the
/// content deletes the storage snapshot (its deletion policy permitting).
pub const BEING_DELETED: &str = "snapshot.storage.kubernetes.io/volumesnapshot-being-deleted";

/// The temporary content for `recorded`, bound to a VolumeSnapshot that does not exist.
///
/// The reference carries a UID (made up, like the name) so that the snapshot controller
/// treats the content as bound and puts its finalizer on it: a pre-provisioned content
/// without one is deleted by the API server at once, and the driver never hears of it. The
/// being-deleted annotation then makes the snapshotter delete the storage snapshot when the
/// content is deleted.
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
    content["spec"]["volumeSnapshotRef"]["uid"] = json!(made_up_uid(name));
    let mut annotations = json!({BEING_DELETED: "yes"});
    if let Some((secret_namespace, secret_name)) = &recorded.deletion_secret {
        annotations[DELETION_SECRET_NAME] = json!(secret_name);
        annotations[DELETION_SECRET_NAMESPACE] = json!(secret_namespace);
    }
    content["metadata"]["annotations"] = annotations;
    content
}

/// A UID in Kubernetes' form, made of the hex digits at the end of `name` (an
/// [`object_name`]), so that a retried call writes the same content.
fn made_up_uid(name: &str) -> String {
    let hex: String = name
        .chars()
        .rev()
        .take(32)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    let hex = format!("{hex:0>32}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
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

        // Without the finalizer the deletion would bypass the driver and leak the snapshot.
        match host.wait_until(
            &target,
            &Condition::FieldEquals(crate::model::kube::FieldValue {
                pointer: "/metadata/finalizers/0".into(),
                value: json!(CONTENT_FINALIZER).to_string(),
            }),
            WAIT,
        ) {
            Ok(_) => {}
            Err(KubeError::NotFound(_)) => {
                return Err(ActionError::Failed(format!(
                    "{what} disappeared before the snapshotter took it over: snapshot {} is not deleted",
                    recorded.handle
                )));
            }
            Err(e) => {
                // Leave nothing behind, then say what happened.
                let _ = host.delete(&target);
                return Err(ActionError::kube(
                    format!(
                        "error waiting for the snapshot controller's finalizer on {what} (snapshot {} is not deleted)",
                        recorded.handle
                    ),
                    e,
                ));
            }
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
