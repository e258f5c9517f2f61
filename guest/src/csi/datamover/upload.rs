//! DataUploads: created by the PVC backup action in data-mover mode ([behaviour §3.11.1](../../../../docs/behaviour.md#3111-dataupload) to [behaviour §3.11.3](../../../../docs/behaviour.md#3113-dataupload-cancel)).

use serde_json::{Map, Value, json};

use crate::adapter::imports::Imports;
use crate::model::error::{ActionError, clipped};
use crate::model::json::str_at;
use crate::model::kube::{namespaced, resources};
use crate::model::labels::normalize;
use crate::model::velero::Backup;
use csi_common::keys;

/// The Velero data mover's configuration key for parallel file uploads.
const PARALLEL_FILES_UPLOAD: &str = "ParallelFilesUpload";

/// The operation ID of the upload of a claim: N(`du-<backup uid>.<claim uid>`).
pub fn operation_id(backup_uid: &str, claim_uid: &str) -> String {
    normalize(&format!("du-{backup_uid}.{claim_uid}"))
}

/// What a DataUpload is made from.
#[derive(Debug, Clone, Copy)]
pub struct UploadSource<'a> {
    /// The claim's namespace, name, UID and storage class.
    pub claim_namespace: &'a str,
    pub claim_name: &'a str,
    pub claim_uid: &'a str,
    pub storage_class: &'a str,
    /// The VolumeSnapshot created for the claim.
    pub volume_snapshot: &'a str,
    /// The VolumeSnapshotClass it was created with.
    pub snapshot_class: &'a str,
}

/// The DataUpload to create ([behaviour §3.11.1](../../../../docs/behaviour.md#3111-dataupload)), in the Backup's namespace with a name generated
/// from the Backup's.
pub fn new_data_upload(backup: &Backup, source: &UploadSource<'_>, operation_id: &str) -> Value {
    let mut spec = Map::new();
    spec.insert("snapshotType".into(), json!("CSI"));
    spec.insert(
        "csiSnapshot".into(),
        json!({
            "volumeSnapshot": source.volume_snapshot,
            "storageClass": source.storage_class,
            "snapshotClass": source.snapshot_class,
        }),
    );
    spec.insert("sourcePVC".into(), json!(source.claim_name));
    // `datamover` is `omitempty` in Velero's type.
    if !backup.datamover().is_empty() {
        spec.insert("datamover".into(), json!(backup.datamover()));
    }
    spec.insert(
        "backupStorageLocation".into(),
        json!(backup.storage_location()),
    );
    spec.insert("sourceNamespace".into(), json!(source.claim_namespace));
    spec.insert("operationTimeout".into(), backup.csi_snapshot_timeout_raw());
    if let Some(parallel) = backup.parallel_files_upload().filter(|n| *n > 0) {
        spec.insert(
            "dataMoverConfig".into(),
            json!({ PARALLEL_FILES_UPLOAD: parallel.to_string() }),
        );
    }
    json!({
        "apiVersion": "velero.io/v2alpha1",
        "kind": "DataUpload",
        "metadata": {
            "namespace": backup.namespace(),
            "generateName": format!("{}-", backup.name()),
            "ownerReferences": [{
                "apiVersion": "velero.io/v1",
                "kind": "Backup",
                "name": backup.name(),
                "uid": backup.uid(),
                "controller": true,
            }],
            "labels": {
                keys::BACKUP_NAME: normalize(backup.name()),
                keys::BACKUP_UID: backup.uid(),
                keys::PVC_UID: source.claim_uid,
                keys::ASYNC_OPERATION_ID: operation_id,
            },
        },
        "spec": spec,
    })
}

/// Creates the DataUpload of a claim; returns it as created (with its generated name).
pub fn create_data_upload(
    host: &dyn Imports,
    backup: &Backup,
    source: &UploadSource<'_>,
    operation_id: &str,
) -> Result<Value, ActionError> {
    let upload = new_data_upload(backup, source, operation_id);
    host.create(
        &resources::data_uploads(),
        Some(backup.namespace()),
        &upload,
    )
    .map_err(|e| ActionError::kube("fail to create DataUpload CR", e))
}

/// The one DataUpload labelled with `operation_id`, looked up in every namespace as v0.7.1
/// does ([behaviour §3.11.2](../../../../docs/behaviour.md#3112-dataupload-lookup)).
pub fn find_data_upload(host: &dyn Imports, operation_id: &str) -> Result<Value, ActionError> {
    let selector = format!("{}={operation_id}", keys::ASYNC_OPERATION_ID);
    let mut uploads = host
        .list(&resources::data_uploads(), None, Some(&selector))
        .map_err(|e| ActionError::kube("error to list DataUpload", e))?;
    match uploads.len() {
        0 => Err(ActionError::Failed(format!(
            "not found DataUpload for operationID {}",
            clipped(operation_id)
        ))),
        1 => Ok(uploads.remove(0)),
        _ => Err(ActionError::Failed(format!(
            "more than one DataUpload found operationID {}",
            clipped(operation_id)
        ))),
    }
}

/// Asks the data mover to cancel `upload` ([behaviour §3.11.3](../../../../docs/behaviour.md#3113-dataupload-cancel)): a merge patch of `spec.cancel`.
pub fn cancel_data_upload(host: &dyn Imports, upload: &Value) -> Result<(), ActionError> {
    let target = namespaced(
        resources::data_uploads(),
        str_at(upload, &["metadata", "namespace"]).unwrap_or_default(),
        str_at(upload, &["metadata", "name"]).unwrap_or_default(),
    );
    host.merge_patch(&target, &json!({"spec": {"cancel": true}}))
        .map(drop)
        .map_err(|e| ActionError::kube("error patch DataUpload", e))
}

#[cfg(test)]
mod tests;
