//! DataDownloads and DataUploadResults: used by the PVC restore action in data-mover mode (spec §3.11.4 to §3.11.6).
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
/// name) from the ConfigMap in the Restore's namespace (spec §3.11.4).
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

/// The DataDownload that restores the claim `pvc` into `target_namespace` (spec §3.11.5).
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
/// §3.11.6). Like v0.7.1 this lists in all namespaces: the Restore's namespace is not used.
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
/// §3.11.6). A patch error is returned with the API server's message alone, as v0.7.1
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
mod tests {
    use std::sync::Arc;

    use sim_cluster::{Cluster, Fault, SimError, Verb};

    use super::*;
    use crate::adapter::sim::SimImports;
    use crate::fixtures;
    use crate::model::kube::Kube;

    const UID: &str = "rrrrrrrr-0000-0000-0000-000000000001";

    /// The `R` fixture without an item operation timeout, with `extra` merged in.
    fn restore(extra: Value) -> Restore {
        let reduced = json!({"spec": {"itemOperationTimeout": null}});
        fixtures::restore(fixtures::merged(reduced, extra))
    }

    fn result_config_map(name: &str, labels: Value, data: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"namespace": "velero", "name": name, "labels": labels}, "data": data})
    }

    fn labels() -> Value {
        json!({"velero.io/pvc-namespace-name": "app.data", "velero.io/restore-uid": UID, "velero.io/resource-usage": "DataUpload"})
    }

    fn host() -> SimImports {
        SimImports::new(Arc::new(Cluster::new()))
    }

    /// Spec §3.11.4: the selector's keys in v0.7.1's order, values normalised.
    #[test]
    fn selector_matches_v071() {
        assert_eq!(
            result_selector("velero", "testPVC", ""),
            "velero.io/pvc-namespace-name=velero.testPVC,velero.io/restore-uid=,velero.io/resource-usage=DataUpload"
        );
        assert_eq!(
            result_selector(
                "migre209d0da-49c7-45ba-8d5a-3e59fd591ec1",
                "kibishii-data-kibishii-deployment-0",
                "uid"
            ),
            "velero.io/pvc-namespace-name=migre209d0da-49c7-45ba-8d5a-3e59fd591ec1.kibishii-data-ki152333,velero.io/restore-uid=uid,velero.io/resource-usage=DataUpload"
        );
    }

    /// Spec §5.7, scenarios 81, 84 and 85.
    #[test]
    fn reads_the_data_upload_result() {
        let host = host();
        let restore = restore(json!({}));
        let error = data_upload_result(&host, &restore, "app", "data").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "no DataUpload result cm found with labels velero.io/pvc-namespace-name=app.data,velero.io/restore-uid={UID},velero.io/resource-usage=DataUpload"
            )
        );
        let calls = host.cluster().calls();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].namespace.as_deref(), Some("velero"));
        assert_eq!(calls[0].resource, "configmaps");

        let payload = r#"{"backupStorageLocation":"bsl2","datamover":"velero","snapshotID":"s-1","sourceNamespace":"app","dataMoverResult":{"k":"v"}}"#;
        host.cluster().seed([
            result_config_map("cm-1", labels(), json!({UID: payload})),
            // Another claim, and the same claim in another restore: not selected.
            result_config_map("cm-2", json!({"velero.io/pvc-namespace-name": "app.other", "velero.io/restore-uid": UID, "velero.io/resource-usage": "DataUpload"}), json!({UID: "{}"})),
            result_config_map("cm-3", json!({"velero.io/pvc-namespace-name": "app.data", "velero.io/restore-uid": "other", "velero.io/resource-usage": "DataUpload"}), json!({"other": "{}"})),
        ]);
        let result = data_upload_result(&host, &restore, "app", "data").unwrap();
        assert_eq!(
            result,
            DataUploadResult {
                backup_storage_location: "bsl2".into(),
                datamover: "velero".into(),
                snapshot_id: "s-1".into(),
                source_namespace: "app".into(),
            }
        );

        // Two ConfigMaps for the same claim and restore.
        host.cluster()
            .seed([result_config_map("cm-4", labels(), json!({UID: "{}"}))]);
        let error = data_upload_result(&host, &restore, "app", "data").unwrap_err();
        assert!(error.to_string().starts_with("multiple DataUpload result cms found with labels velero.io/pvc-namespace-name=app.data,"), "{error}");
    }

    /// Spec §5.7, scenario 84: a missing key and a malformed value.
    #[test]
    fn missing_and_malformed_results() {
        let restore = restore(json!({}));
        for (data, expected) in [
            (
                json!({"other": "{}"}),
                format!("no DataUpload result found with restore key {UID}, restore r1"),
            ),
            (
                json!({UID: "not-json"}),
                format!("error to unmarshal DataUploadResult, restore UID {UID}, restore name r1"),
            ),
            (
                json!({UID: "[1]"}),
                format!("error to unmarshal DataUploadResult, restore UID {UID}, restore name r1"),
            ),
            (
                json!({UID: r#"{"snapshotID":5}"#}),
                format!("error to unmarshal DataUploadResult, restore UID {UID}, restore name r1"),
            ),
        ] {
            let host = host();
            host.cluster()
                .seed([result_config_map("cm", labels(), data)]);
            let error = data_upload_result(&host, &restore, "app", "data").unwrap_err();
            assert_eq!(error.to_string(), expected);
        }
        assert_eq!(parse_result("null"), Some(DataUploadResult::default()));
        assert_eq!(parse_result("{}"), Some(DataUploadResult::default()));
        assert_eq!(parse_result(r#"{"dataMoverResult":[1]}"#), None);
    }

    #[test]
    fn listing_failures_are_wrapped() {
        let host = host();
        host.cluster().inject(Fault {
            verb: Verb::List,
            resource: "configmaps".into(),
            name: None,
            error: SimError::Forbidden("configmaps is forbidden".into()),
            times: None,
        });
        let error = data_upload_result(&host, &restore(json!({})), "app", "data").unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "error to get DataUpload result cm with labels velero.io/pvc-namespace-name=app.data,velero.io/restore-uid={UID},velero.io/resource-usage=DataUpload: configmaps is forbidden"
            )
        );
    }

    /// Spec §5.7, scenarios 82, 85 and 86: the DataDownload's fields.
    #[test]
    fn builds_the_data_download() {
        let backup = Backup::parse(r#"{"spec":{"csiSnapshotTimeout":"30m0s"}}"#).unwrap();
        let result = DataUploadResult {
            backup_storage_location: "bsl2".into(),
            datamover: "velero".into(),
            snapshot_id: "s-1".into(),
            source_namespace: "app".into(),
        };
        let dd = data_download(
            &restore(json!({})),
            &backup,
            &result,
            "data",
            "app2",
            "dd-op",
        );
        assert_eq!(
            dd,
            json!({
                "apiVersion": "velero.io/v2alpha1",
                "kind": "DataDownload",
                "metadata": {
                    "namespace": "velero",
                    "generateName": "r1-",
                    "ownerReferences": [{"apiVersion": "velero.io/v1", "kind": "Restore", "name": "r1", "uid": UID, "controller": true}],
                    "labels": {"velero.io/restore-name": "r1", "velero.io/restore-uid": UID, "velero.io/async-operation-id": "dd-op"}
                },
                "spec": {
                    "targetVolume": {"pvc": "data", "pv": "", "namespace": "app2"},
                    "backupStorageLocation": "bsl2",
                    "datamover": "velero",
                    "snapshotID": "s-1",
                    "sourceNamespace": "app",
                    "operationTimeout": "30m0s"
                }
            })
        );

        // No datamover: the field is omitted, as Go's `omitempty` does.
        let dd = data_download(
            &restore(json!({})),
            &backup,
            &DataUploadResult::default(),
            "data",
            "app",
            "op",
        );
        assert!(dd["spec"].get("datamover").is_none());

        // Sparse-file option (scenario 86).
        for (config, expected) in [
            (
                json!({"spec": {"uploaderConfig": {"writeSparseFiles": true}}}),
                Some("true"),
            ),
            (
                json!({"spec": {"uploaderConfig": {"writeSparseFiles": false}}}),
                Some("false"),
            ),
            (json!({"spec": {"uploaderConfig": {}}}), Some("false")),
            (json!({"spec": {"uploaderConfig": null}}), None),
            (json!({}), None),
        ] {
            let dd = data_download(
                &restore(config.clone()),
                &backup,
                &result,
                "data",
                "app",
                "op",
            );
            assert_eq!(
                dd["spec"]
                    .get("dataMoverConfig")
                    .map(|c| c["WriteSparseFiles"].as_str().unwrap()),
                expected,
                "{config}"
            );
        }
    }

    /// Spec §5.8, scenarios 90 and 93.
    #[test]
    fn finds_and_cancels_data_downloads() {
        let host = host();
        assert_eq!(
            find_data_download(&host, "dd-1").unwrap_err().to_string(),
            "didn't find DataDownload"
        );
        let calls = host.cluster().calls();
        assert_eq!(calls[0].namespace, None, "v0.7.1 lists in all namespaces");
        assert_eq!(
            calls[0].selector.as_deref(),
            Some("velero.io/async-operation-id=dd-1")
        );

        let dd = |ns: &str, name: &str, op: &str| json!({"apiVersion": "velero.io/v2alpha1", "kind": "DataDownload", "metadata": {"namespace": ns, "name": name, "labels": {"velero.io/async-operation-id": op}}, "spec": {}});
        host.cluster().seed([
            dd("velero", "r1-abcde", "dd-1"),
            dd("velero", "r1-bcdfg", "dd-2"),
        ]);
        let found = find_data_download(&host, "dd-1").unwrap();
        assert_eq!(crate::model::json::name(&found), "r1-abcde");
        cancel_data_download(&host, &found).unwrap();
        let patched = host
            .get(&namespaced(
                resources::data_downloads(),
                "velero",
                "r1-abcde",
            ))
            .unwrap();
        assert_eq!(patched["spec"]["cancel"], true);

        host.cluster().seed([dd("other", "r2-abcde", "dd-1")]);
        assert_eq!(
            find_data_download(&host, "dd-1").unwrap_err().to_string(),
            "find multiple DataDownloads"
        );

        host.cluster().inject(Fault {
            verb: Verb::Patch,
            resource: "datadownloads".into(),
            name: None,
            error: SimError::Forbidden("datadownloads is forbidden".into()),
            times: None,
        });
        assert_eq!(
            cancel_data_download(&host, &found).unwrap_err().to_string(),
            "datadownloads is forbidden"
        );

        host.cluster().inject(Fault {
            verb: Verb::List,
            resource: "datadownloads".into(),
            name: None,
            error: SimError::Unavailable("etcd is down".into()),
            times: None,
        });
        assert_eq!(
            find_data_download(&host, "dd-1").unwrap_err().to_string(),
            "fail to list DataDownload: etcd is down"
        );
    }

    #[test]
    fn create_failures_are_wrapped() {
        let host = host();
        host.cluster().inject(Fault {
            verb: Verb::Create,
            resource: "datadownloads".into(),
            name: None,
            error: SimError::Forbidden("no".into()),
            times: None,
        });
        let error = create_data_download(
            &host,
            "velero",
            &json!({"metadata": {"generateName": "r1-"}}),
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "fail to create DataDownload: no");
    }
}
