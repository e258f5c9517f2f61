//! `velero-csi-wasm.io/pvc-restorer` ([behaviour §8.6](../../../../docs/behaviour.md#86-pvc-restore-velero-csi-wasmiopvc-restorer)).
//!
//! For a claim whose backup recorded a storage snapshot: creates a pre-provisioned
//! VolumeSnapshotContent (`Retain`: the backup keeps owning the storage snapshot) and a
//! VolumeSnapshot bound to it in the target namespace, and points the claim's data source
//! at the VolumeSnapshot. Both objects stay in the cluster after the restore, as core's do.

use serde_json::{Value, json};

use crate::adapter::imports::{Imports, Level};
use crate::bindings::exports::velero::csi::actions::RestoreOutput;
use crate::csi::modern::{PLUGIN_ANNOTATIONS, Recorded, object_name, static_content};
use crate::csi::restore_claim::raise_storage_request;
use crate::csi::snapshots::content_ref;
use crate::model::error::ActionError;
use crate::model::item::Item;
use crate::model::kube::{KubeError, message, resources};
use crate::model::labels::normalize;
use crate::model::quantity::parse_nanos;
use crate::registry::{RestoreItemAction, RestoreRequest, restore_output};
use csi_common::keys::modern;

/// The modern PVC restore action.
pub struct ModernPvcRestore;

/// Creates `object`; an object of that name left by an earlier try is reused.
fn create_or_reuse(
    host: &dyn Imports,
    api: &crate::model::kube::ApiResource,
    namespace: Option<&str>,
    object: &Value,
    what: &str,
) -> Result<(), ActionError> {
    match host.create(api, namespace, object) {
        Ok(_) => {
            host.log(Level::Info, &format!("Created {what}"));
            Ok(())
        }
        Err(KubeError::AlreadyExists(_)) => {
            host.log(Level::Info, &format!("Reusing {what} of an earlier try"));
            Ok(())
        }
        Err(e) => Err(ActionError::kube(format!("error creating {what}"), e)),
    }
}

/// Points the claim at the VolumeSnapshot: `dataSource` (and `dataSourceRef` when the claim
/// has one) replaced, `volumeName` removed.
fn use_snapshot(claim: &mut Item, snapshot: &str) {
    let source =
        json!({"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": snapshot});
    if claim
        .pointer("/spec/dataSourceRef")
        .is_some_and(|v| !v.is_null())
    {
        claim.set(&["spec", "dataSourceRef"], source.clone());
    }
    claim.set(&["spec", "dataSource"], source);
    claim.remove(&["spec", "volumeName"]);
}

impl RestoreItemAction for ModernPvcRestore {
    fn execute(
        &self,
        host: &dyn Imports,
        request: RestoreRequest,
    ) -> Result<RestoreOutput, ActionError> {
        let RestoreRequest {
            mut item,
            item_from_backup,
            restore,
        } = request;
        let recorded = Recorded::of(&item_from_backup);
        let had_annotations = PLUGIN_ANNOTATIONS.iter().any(|k| item.has_annotation(k));
        if had_annotations {
            for key in PLUGIN_ANNOTATIONS {
                item.remove_annotation(key);
            }
        }
        let Some(recorded) = recorded else {
            return Ok(restore_output(item.into_json(), Vec::new(), false));
        };
        let source_namespace = item_from_backup.namespace();
        let claim = item_from_backup.name();
        if restore.restore_pvs() == Some(false) {
            host.log(
                Level::Info,
                &format!(
                    "Modern mode: PVC {source_namespace}/{claim} is not restored from its snapshot: the restore sets restorePVs to false"
                ),
            );
            return Ok(restore_output(item.into_json(), Vec::new(), false));
        }
        let target = restore.target_namespace(source_namespace).to_owned();
        let name = object_name("restore", &[restore.uid(), &target, claim]);

        let content = static_content(
            &name,
            &recorded,
            "Retain",
            &target,
            &name,
            (modern::RESTORE_UID, restore.uid()),
        );
        let content_what = format!("VolumeSnapshotContent {name}");
        create_or_reuse(
            host,
            &resources::volume_snapshot_contents(),
            None,
            &content,
            &content_what,
        )?;

        let snapshot = json!({
            "apiVersion": "snapshot.storage.k8s.io/v1",
            "kind": "VolumeSnapshot",
            "metadata": {
                "name": name,
                "namespace": target,
                "labels": {modern::RESTORE_UID: normalize(restore.uid())},
            },
            "spec": {"source": {"volumeSnapshotContentName": name}},
        });
        if let Err(error) = create_or_reuse(
            host,
            &resources::volume_snapshots(),
            Some(&target),
            &snapshot,
            &format!("VolumeSnapshot {target}/{name}"),
        ) {
            // The content is `Retain`: deleting it leaves the storage snapshot to the backup.
            if let Err(e) = host.delete(&content_ref(&name)) {
                host.log(
                    Level::Warn,
                    &format!("clean-up: cannot delete {content_what}: {}", message(&e)),
                );
            }
            return Err(error);
        }

        use_snapshot(&mut item, &name);
        if let Some(size) = &recorded.restore_size {
            match parse_nanos(size) {
                Ok(nanos) => {
                    raise_storage_request(&mut item, size, nanos);
                }
                Err(why) => host.log(
                    Level::Warn,
                    &format!("Modern mode: restore size {size:?} of PVC {source_namespace}/{claim} is not a quantity ({why}); the storage request is kept"),
                ),
            }
        }
        host.log(
            Level::Info,
            &format!(
                "Modern mode: PVC {target}/{claim} is restored from snapshot {} through VolumeSnapshot {target}/{name}",
                recorded.handle
            ),
        );
        Ok(restore_output(item.into_json(), Vec::new(), false))
    }
}

#[cfg(test)]
mod tests;
