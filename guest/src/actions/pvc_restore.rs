//! `velero.io/csi-pvc-restorer` ([actions §2.5](../../../docs/actions.md#25-pvc-restore-veleroiocsi-pvc-restorer)).
//!
//! Rewrites a PersistentVolumeClaim before Velero creates it:
//! * CSI snapshot restore: the claim is provisioned from the VolumeSnapshot restored just
//!   before it (`dataSource`/`dataSourceRef`), with its storage request raised to the
//!   snapshot's restore size;
//! * data-mover restore: a DataDownload is created and the claim is pinned, by a selector
//!   label, to the volume the data mover will populate (an asynchronous operation);
//! * PV restore disabled: the claim is plainly re-provisioned.
//!
//! API calls: GET persistentvolumeclaims (target namespace), GET backups.velero.io (Restore
//! namespace), GET volumesnapshots (target namespace), LIST configmaps (Restore namespace),
//! CREATE datadownloads.velero.io (Restore namespace); Progress and Cancel: LIST
//! datadownloads.velero.io (all namespaces, as v0.7.1), PATCH datadownloads.velero.io.

use serde_json::Value;

use crate::adapter::imports::{Imports, Level};
use crate::bindings::exports::velero::csi::actions::{OperationProgress, RestoreOutput};
use crate::csi::datamover::download::{
    cancel_data_download, create_data_download, data_download, data_upload_result,
    find_data_download,
};
use crate::csi::datamover::progress_of;
use crate::csi::restore_claim::{
    clear_volume_source, pin_to_restored_volume, raise_storage_request, remove_annotations,
    restore_size_annotation, use_snapshot_as_data_source,
};
use crate::csi::snapshots::snapshot_ref;
use crate::model::error::ActionError;
use crate::model::item::Item;
use crate::model::json::str_at;
use crate::model::kube::{KubeError, message, namespaced, resources};
use crate::model::labels::normalize;
use crate::model::quantity::parse_nanos;
use crate::model::velero::{Backup, Restore};
use crate::registry::{RestoreItemAction, RestoreRequest};
use csi_common::keys;

/// The PVC restore action.
pub struct PvcRestore;

impl RestoreItemAction for PvcRestore {
    fn execute(
        &self,
        host: &dyn Imports,
        request: RestoreRequest,
    ) -> Result<RestoreOutput, ActionError> {
        let RestoreRequest {
            item,
            item_from_backup,
            restore,
        } = request;
        let namespace = item.namespace().to_owned();
        let name = item.name().to_owned();
        host.log(
            Level::Info,
            &format!("Starting PVCRestoreItemAction for PVC {namespace}/{name}"),
        );

        // The claim is looked up where it will be created; the item itself keeps its
        // original namespace (core applies the mapping after the actions ran).
        let target = restore.target_namespace(&namespace).to_owned();
        if claim_exists(host, &target, &name) {
            host.log(Level::Warn, "PVC already exists. Skip restore this PVC.");
            return Ok(output(item.into_json(), String::new()));
        }

        // The working copy; `item` stays as received for the paths that return it unchanged.
        let mut claim = item.clone();
        remove_annotations(&mut claim, &keys::PVC_RESTORE_REMOVED_ANNOTATIONS);

        if restore.restore_pvs() == Some(false) {
            host.log(
                Level::Info,
                "Restore did not request for PVs to be restored from snapshot",
            );
            clear_volume_source(&mut claim);
            return Ok(finish(host, claim, String::new()));
        }

        let backup = host
            .get(&namespaced(
                resources::backups(),
                restore.namespace(),
                restore.backup_name(),
            ))
            .map(Backup::from_value)
            .map_err(|e| {
                host.log(Level::Error, "Fail to get backup for restore.");
                ActionError::kube("fail to get backup for restore", e)
            })?;

        if backup.snapshot_move_data() == Some(true) {
            host.log(Level::Info, "Start DataMover restore.");
            // Without a DataUpload the data mover has nothing to restore from: leave the
            // claim to Velero (which may fall back to a native snapshot).
            if !item_from_backup.has_annotation(keys::DATA_UPLOAD_NAME) {
                host.log(
                    Level::Warn,
                    "PVC doesn't have a DataUpload for data mover. Return.",
                );
                return Ok(output(item.into_json(), String::new()));
            }
            // The UID is read from the backed-up copy: core removed it from the item.
            let operation_id =
                normalize(&format!("dd-{}.{}", restore.uid(), item_from_backup.uid()));
            restore_from_data_upload_result(
                host,
                &restore,
                &backup,
                &mut claim,
                &item_from_backup,
                &target,
                &operation_id,
            )
            .inspect_err(|e| {
                host.log(
                    Level::Error,
                    &format!("Fail to restore from DataUploadResult: {e}"),
                );
            })?;
            return Ok(finish(host, claim, operation_id));
        }

        let Some(snapshot) = item_from_backup.annotation(keys::VOLUME_SNAPSHOT_NAME) else {
            host.log(
                Level::Info,
                "Skipping PVCRestoreItemAction for PVC , PVC does not have a CSI volumesnapshot.",
            );
            return Ok(output(item.into_json(), String::new()));
        };
        restore_from_volume_snapshot(host, &mut claim, &target, snapshot).inspect_err(|_| {
            host.log(Level::Error, "Failed to restore PVC from VolumeSnapshot.");
        })?;
        Ok(finish(host, claim, String::new()))
    }

    fn progress(
        &self,
        host: &dyn Imports,
        operation_id: &str,
        _restore: &Restore,
    ) -> Result<OperationProgress, ActionError> {
        if operation_id.is_empty() {
            return Err(ActionError::InvalidOperationId(String::new()));
        }
        let data_download = find(host, operation_id)?;
        if matches!(
            str_at(&data_download, &["status", "phase"]).unwrap_or_default(),
            "" | "New"
        ) {
            host.log(
                Level::Debug,
                "DataDownload is still not processed yet. Skip progress update.",
            );
        }
        Ok(progress_of(&data_download, "DataDownload"))
    }

    fn cancel(
        &self,
        host: &dyn Imports,
        operation_id: &str,
        _restore: &Restore,
    ) -> Result<(), ActionError> {
        if operation_id.is_empty() {
            return Err(ActionError::InvalidOperationId(String::new()));
        }
        let data_download = find(host, operation_id)?;
        cancel_data_download(host, &data_download).inspect_err(|e| {
            host.log(
                Level::Error,
                &format!(
                    "fail to cancel DataDownload {}: {e}",
                    crate::model::json::name(&data_download)
                ),
            );
        })
    }
}

/// Whether the claim already exists where it would be restored. As in v0.7.1, any error
/// (not only NotFound) counts as "does not exist" ([actions §2.5](../../../docs/actions.md#25-pvc-restore-veleroiocsi-pvc-restorer) step 3; [behaviour §7 L22](../../../docs/behaviour.md#l22-any-error-means-absent) discusses the
/// stricter alternative).
fn claim_exists(host: &dyn Imports, namespace: &str, name: &str) -> bool {
    match host.get(&namespaced(
        resources::persistent_volume_claims(),
        namespace,
        name,
    )) {
        Ok(_) => true,
        Err(KubeError::NotFound(_)) => false,
        Err(e) => {
            host.log(
                Level::Debug,
                &format!(
                    "Cannot check whether PVC {namespace}/{name} exists, treating it as absent: {}",
                    message(&e)
                ),
            );
            false
        }
    }
}

/// The data-mover path ([actions §2.5](../../../docs/actions.md#25-pvc-restore-veleroiocsi-pvc-restorer) step 7): reads the DataUploadResult, pins the claim to
/// the volume the data mover prepares and creates the DataDownload.
fn restore_from_data_upload_result(
    host: &dyn Imports,
    restore: &Restore,
    backup: &Backup,
    claim: &mut Item,
    from_backup: &Item,
    target: &str,
    operation_id: &str,
) -> Result<(), ActionError> {
    // The result is filed under the claim's namespace in the backup, not the target one.
    let result =
        data_upload_result(host, restore, claim.namespace(), claim.name()).map_err(|e| {
            e.wrap(&format!(
                "fail get DataUploadResult for restore: {}",
                restore.name()
            ))
        })?;
    let seed = format!(
        "{}/{}/{target}/{}",
        restore.uid(),
        from_backup.uid(),
        claim.name()
    );
    pin_to_restored_volume(claim, target, &seed);
    let object = data_download(restore, backup, &result, claim.name(), target, operation_id);
    let created = create_data_download(host, restore.namespace(), &object)?;
    host.log(
        Level::Info,
        &format!(
            "DataDownload {}/{} is created successfully.",
            str_at(&created, &["metadata", "namespace"]).unwrap_or(restore.namespace()),
            crate::model::json::name(&created)
        ),
    );
    Ok(())
}

/// The CSI path ([actions §2.5](../../../docs/actions.md#25-pvc-restore-veleroiocsi-pvc-restorer) step 8): sizes the claim from the in-cluster VolumeSnapshot and
/// makes it its data source.
fn restore_from_volume_snapshot(
    host: &dyn Imports,
    claim: &mut Item,
    target: &str,
    snapshot: &str,
) -> Result<(), ActionError> {
    let volume_snapshot: Value = host.get(&snapshot_ref(target, snapshot)).map_err(|e| {
        ActionError::kube(
            format!(
                "Failed to get Volumesnapshot {target}/{snapshot} to restore PVC {target}/{}",
                claim.name()
            ),
            e,
        )
    })?;
    if let Some(size) = restore_size_annotation(&volume_snapshot) {
        let nanos = parse_nanos(size).map_err(|cause| {
            ActionError::Failed(format!(
                "Failed to parse {size} from annotation on Volumesnapshot {}/{} into restore size: {cause}",
                str_at(&volume_snapshot, &["metadata", "namespace"]).unwrap_or(target),
                str_at(&volume_snapshot, &["metadata", "name"]).unwrap_or(snapshot),
            ))
        })?;
        // The provider may have allocated more than the claim asked for; a claim smaller
        // than its snapshot could never be provisioned from it.
        if raise_storage_request(claim, size, nanos) {
            host.log(
                Level::Info,
                &format!(
                    "Resetting storage requests for PVC {}/{} to {size}",
                    claim.namespace(),
                    claim.name()
                ),
            );
        }
    }
    use_snapshot_as_data_source(claim, snapshot);
    Ok(())
}

/// Looks up the DataDownload of an operation, logging a failure as v0.7.1 does.
fn find(host: &dyn Imports, operation_id: &str) -> Result<Value, ActionError> {
    find_data_download(host, operation_id).inspect_err(|e| {
        host.log(Level::Error, &format!("fail to get DataDownload: {e}"));
    })
}

fn finish(host: &dyn Imports, claim: Item, operation_id: String) -> RestoreOutput {
    host.log(Level::Info, "Returning from PVCRestoreItemAction for PVC");
    output(claim.into_json(), operation_id)
}

fn output(item: String, operation_id: String) -> RestoreOutput {
    RestoreOutput {
        item,
        additional_items: Vec::new(),
        skip_restore: false,
        operation_id,
        wait_for_additional_items: false,
        additional_items_ready_timeout_ms: None,
    }
}

#[cfg(test)]
mod tests;
