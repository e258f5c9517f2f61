//! DataDownloads and DataUploadResults: used by the PVC restore action in data-mover mode ([behaviour §3.11.4](../../../../docs/behaviour.md#3114-datauploadresult) to [behaviour §3.11.6](../../../../docs/behaviour.md#3116-datadownload-lookup-and-cancel)).
//!
//! * At restore, Velero core turns each backed-up DataUpload into a "DataUploadResult"
//!   ConfigMap in the Restore's namespace; [`data_upload_result`] reads it back.
//! * [`data_download`] builds the DataDownload that asks the node agent to write that data
//!   into the restored volume; [`create_data_download`] submits it.
//! * [`find_data_download`] and [`cancel_data_download`] serve Progress and Cancel.

use serde_json::{Map, Value, json};

use crate::adapter::imports::Imports;
use crate::model::error::ActionError;
use crate::model::json::{bool_at, str_at};
use crate::model::kube::{message, namespaced, resources};
use crate::model::labels::normalize;
use crate::model::velero::{Backup, Restore};
use csi_common::keys;

/// `velero.io/resource-usage` value of a DataUploadResult ConfigMap.
const RESOURCE_USAGE_DATA_UPLOAD: &str = "DataUpload";

/// Data-mover option key of the restore's sparse-file setting.
const WRITE_SPARSE_FILES: &str = "WriteSparseFiles";

/// What a DataUpload recorded about the data it moved (Velero's `DataUploadResult`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DataUploadResult {
    pub backup_storage_location: String,
    pub datamover: String,
    pub snapshot_id: String,
    pub source_namespace: String,
}

/// The label selector of the DataUploadResult ConfigMap of the claim `namespace/pvc`
/// (its namespace in the backup) in `restore_uid`, keys in the exact order v0.7.1 writes
/// them (they appear in error messages).
pub fn result_selector(namespace: &str, pvc: &str, restore_uid: &str) -> String {
    format!(
        "{}={},{}={},{}={}",
        keys::PVC_NAMESPACE_NAME,
        normalize(&format!("{namespace}.{pvc}")),
        keys::RESTORE_UID,
        normalize(restore_uid),
        keys::RESOURCE_USAGE,
        normalize(RESOURCE_USAGE_DATA_UPLOAD),
    )
}

/// Reads the DataUploadResult of the claim `namespace/pvc` (its **original** namespace and
/// name) from the ConfigMap in the Restore's namespace ([behaviour §3.11.4](../../../../docs/behaviour.md#3114-datauploadresult)).
pub fn data_upload_result(
    host: &dyn Imports,
    restore: &Restore,
    namespace: &str,
    pvc: &str,
) -> Result<DataUploadResult, ActionError> {
    let selector = result_selector(namespace, pvc, restore.uid());
    let config_maps = host
        .list(
            &resources::config_maps(),
            Some(restore.namespace()),
            Some(&selector),
        )
        .map_err(|e| {
            ActionError::kube(
                format!("error to get DataUpload result cm with labels {selector}"),
                e,
            )
        })?;
    let config_map = match config_maps.as_slice() {
        [] => {
            return Err(ActionError::Failed(format!(
                "no DataUpload result cm found with labels {selector}"
            )));
        }
        [one] => one,
        _ => {
            return Err(ActionError::Failed(format!(
                "multiple DataUpload result cms found with labels {selector}"
            )));
        }
    };
    let Some(text) = str_at(config_map, &["data", restore.uid()]) else {
        return Err(ActionError::Failed(format!(
            "no DataUpload result found with restore key {}, restore {}",
            restore.uid(),
            restore.name()
        )));
    };
    parse_result(text).ok_or_else(|| {
        ActionError::Failed(format!(
            "error to unmarshal DataUploadResult, restore UID {}, restore name {}",
            restore.uid(),
            restore.name()
        ))
    })
}

/// Decodes a DataUploadResult as Go's `encoding/json` would: `null` and missing fields give
/// empty values, a field of the wrong type fails. (Go also matches keys case-insensitively;
/// core writes them in their canonical spelling, which is all this accepts.)
fn parse_result(text: &str) -> Option<DataUploadResult> {
    let object = match serde_json::from_str::<Value>(text).ok()? {
        Value::Null => return Some(DataUploadResult::default()),
        Value::Object(object) => object,
        _ => return None,
    };
    let string = |key: &str| match object.get(key) {
        None | Some(Value::Null) => Some(String::new()),
        Some(Value::String(value)) => Some(value.clone()),
        Some(_) => None,
    };
    // Not copied into the DataDownload, but a malformed value fails the decode in Go.
    match object.get("dataMoverResult") {
        None | Some(Value::Null) => {}
        Some(Value::Object(map)) if map.values().all(|v| v.is_string() || v.is_null()) => {}
        Some(_) => return None,
    }
    Some(DataUploadResult {
        backup_storage_location: string("backupStorageLocation")?,
        datamover: string("datamover")?,
        snapshot_id: string("snapshotID")?,
        source_namespace: string("sourceNamespace")?,
    })
}

/// The DataDownload that restores the claim `pvc` into `target_namespace` ([behaviour §3.11.5](../../../../docs/behaviour.md#3115-datadownload)).
pub fn data_download(
    restore: &Restore,
    backup: &Backup,
    result: &DataUploadResult,
    pvc: &str,
    target_namespace: &str,
    operation_id: &str,
) -> Value {
    let mut spec = Map::new();
    spec.insert(
        "targetVolume".into(),
        json!({"pvc": pvc, "pv": "", "namespace": target_namespace}),
    );
    spec.insert(
        "backupStorageLocation".into(),
        json!(result.backup_storage_location),
    );
    if !result.datamover.is_empty() {
        spec.insert("datamover".into(), json!(result.datamover));
    }
    spec.insert("snapshotID".into(), json!(result.snapshot_id));
    spec.insert("sourceNamespace".into(), json!(result.source_namespace));
    if let Some(config) = restore.uploader_config() {
        let sparse = bool_at(config, &["writeSparseFiles"]) == Some(true);
        spec.insert(
            "dataMoverConfig".into(),
            json!({WRITE_SPARSE_FILES: sparse.to_string()}),
        );
    }
    spec.insert("operationTimeout".into(), backup.csi_snapshot_timeout_raw());
    json!({
        "apiVersion": "velero.io/v2alpha1",
        "kind": "DataDownload",
        "metadata": {
            "namespace": restore.namespace(),
            "generateName": format!("{}-", restore.name()),
            "ownerReferences": [{
                "apiVersion": "velero.io/v1",
                "kind": "Restore",
                "name": restore.name(),
                "uid": restore.uid(),
                "controller": true
            }],
            "labels": {
                keys::RESTORE_NAME: normalize(restore.name()),
                keys::RESTORE_UID: restore.uid(),
                keys::ASYNC_OPERATION_ID: operation_id
            }
        },
        "spec": spec
    })
}

/// Creates `data_download` in `namespace`; returns it with its generated name.
pub fn create_data_download(
    host: &dyn Imports,
    namespace: &str,
    data_download: &Value,
) -> Result<Value, ActionError> {
    host.create(&resources::data_downloads(), Some(namespace), data_download)
        .map_err(|e| ActionError::kube("fail to create DataDownload", e))
}

/// The DataDownload of an operation, by its `velero.io/async-operation-id` label (spec
/// [behaviour §3.11.6](../../../../docs/behaviour.md#3116-datadownload-lookup-and-cancel)). Like v0.7.1 this lists in all namespaces: the Restore's namespace is not used.
pub fn find_data_download(host: &dyn Imports, operation_id: &str) -> Result<Value, ActionError> {
    let selector = format!("{}={operation_id}", keys::ASYNC_OPERATION_ID);
    let mut found = host
        .list(&resources::data_downloads(), None, Some(&selector))
        .map_err(|e| ActionError::kube("fail to list DataDownload", e))?;
    match found.len() {
        0 => Err(ActionError::Failed("didn't find DataDownload".to_owned())),
        1 => Ok(found.remove(0)),
        _ => Err(ActionError::Failed(
            "find multiple DataDownloads".to_owned(),
        )),
    }
}

/// Asks the data mover to stop a DataDownload: a merge patch of `spec.cancel: true` (spec
/// [behaviour §3.11.6](../../../../docs/behaviour.md#3116-datadownload-lookup-and-cancel)). A patch error is returned with the API server's message alone, as v0.7.1
/// returns it unwrapped.
pub fn cancel_data_download(host: &dyn Imports, data_download: &Value) -> Result<(), ActionError> {
    let namespace = str_at(data_download, &["metadata", "namespace"]).unwrap_or_default();
    let name = crate::model::json::name(data_download);
    host.merge_patch(
        &namespaced(resources::data_downloads(), namespace, name),
        &json!({"spec": {"cancel": true}}),
    )
    .map(|_| ())
    .map_err(|e| ActionError::Failed(message(&e).to_owned()))
}

#[cfg(test)]
mod tests;
