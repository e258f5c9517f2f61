//! DataUploads: created by the PVC backup action in data-mover mode (spec §3.11.1 to §3.11.3).

use serde_json::{Map, Value, json};

use crate::adapter::imports::Imports;
use crate::model::error::ActionError;
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

/// The DataUpload to create (spec §3.11.1), in the Backup's namespace with a name generated
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
/// does (spec §3.11.2).
pub fn find_data_upload(host: &dyn Imports, operation_id: &str) -> Result<Value, ActionError> {
    let selector = format!("{}={operation_id}", keys::ASYNC_OPERATION_ID);
    let mut uploads = host
        .list(&resources::data_uploads(), None, Some(&selector))
        .map_err(|e| ActionError::kube("error to list DataUpload", e))?;
    match uploads.len() {
        0 => Err(ActionError::Failed(format!(
            "not found DataUpload for operationID {operation_id}"
        ))),
        1 => Ok(uploads.remove(0)),
        _ => Err(ActionError::Failed(format!(
            "more than one DataUpload found operationID {operation_id}"
        ))),
    }
}

/// Asks the data mover to cancel `upload` (spec §3.11.3): a merge patch of `spec.cancel`.
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
mod tests {
    use std::sync::Arc;

    use sim_cluster::{Cluster, Fault, Gvr, SimError, Verb};

    use super::*;
    use crate::adapter::sim::SimImports;
    use crate::fixtures;

    const OP: &str = "du-11111111-2222-3333-4444-555555555555.aaaaaaaa-bbbb-ccc2bab87";

    /// The `B` fixture reduced to what a DataUpload reads, with `spec` merged in.
    fn backup(spec: Value) -> Backup {
        let reduced = json!({"metadata": {"annotations": null}, "spec": {"itemOperationTimeout": null, "ttl": null}, "status": null});
        fixtures::backup(fixtures::merged(reduced, json!({"spec": spec})))
    }

    fn source() -> UploadSource<'static> {
        UploadSource {
            claim_namespace: "app",
            claim_name: "data",
            claim_uid: "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            storage_class: "sc-csi",
            volume_snapshot: "velero-data-abcde",
            snapshot_class: "snap-default",
        }
    }

    fn upload(name: &str, op: &str, phase: &str) -> Value {
        json!({
            "apiVersion": "velero.io/v2alpha1",
            "kind": "DataUpload",
            "metadata": {"namespace": "velero", "name": name, "labels": {"velero.io/async-operation-id": op}},
            "spec": {"snapshotType": "CSI", "sourcePVC": "data"},
            "status": {"phase": phase}
        })
    }

    #[test]
    fn operation_ids_are_normalised() {
        assert_eq!(
            operation_id(
                "11111111-2222-3333-4444-555555555555",
                "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
            ),
            OP
        );
        assert_eq!(operation_id("", ""), "du-.");
    }

    /// Spec §3.11.1 and §5.1 scenario 20.
    #[test]
    fn data_upload_fields() {
        let upload = new_data_upload(&backup(json!({})), &source(), OP);
        assert_eq!(
            upload,
            json!({
                "apiVersion": "velero.io/v2alpha1",
                "kind": "DataUpload",
                "metadata": {
                    "namespace": "velero",
                    "generateName": "b1-",
                    "ownerReferences": [{"apiVersion": "velero.io/v1", "kind": "Backup", "name": "b1", "uid": "11111111-2222-3333-4444-555555555555", "controller": true}],
                    "labels": {
                        "velero.io/backup-name": "b1",
                        "velero.io/backup-uid": "11111111-2222-3333-4444-555555555555",
                        "velero.io/pvc-uid": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                        "velero.io/async-operation-id": OP
                    }
                },
                "spec": {
                    "snapshotType": "CSI",
                    "csiSnapshot": {"volumeSnapshot": "velero-data-abcde", "storageClass": "sc-csi", "snapshotClass": "snap-default"},
                    "sourcePVC": "data",
                    "sourceNamespace": "app",
                    "backupStorageLocation": "default",
                    "operationTimeout": "0s"
                }
            })
        );
    }

    /// Spec §5.1 scenario 21, and the optional fields.
    #[test]
    fn optional_fields() {
        let upload = new_data_upload(
            &backup(
                json!({"uploaderConfig": {"parallelFilesUpload": 4}, "datamover": "velero", "csiSnapshotTimeout": "12s"}),
            ),
            &source(),
            OP,
        );
        assert_eq!(
            upload["spec"]["dataMoverConfig"],
            json!({"ParallelFilesUpload": "4"})
        );
        assert_eq!(upload["spec"]["datamover"], "velero");
        assert_eq!(upload["spec"]["operationTimeout"], "12s");
        for config in [
            json!({"uploaderConfig": {"parallelFilesUpload": 0}}),
            json!({"uploaderConfig": {}}),
            json!({}),
        ] {
            let upload = new_data_upload(&backup(config), &source(), OP);
            assert!(upload["spec"].get("dataMoverConfig").is_none());
            assert!(upload["spec"].get("datamover").is_none());
        }
        let long = Backup::from_value(
            json!({"metadata": {"name": "nightly-backup-of-the-production-cluster-with-a-very-long-name-2024-01"}}),
        );
        let upload = new_data_upload(&long, &source(), OP);
        assert_eq!(
            upload["metadata"]["labels"]["velero.io/backup-name"],
            "nightly-backup-of-the-production-cluster-with-a-very-long9086ae"
        );
        assert_eq!(
            upload["metadata"]["ownerReferences"][0]["name"],
            "nightly-backup-of-the-production-cluster-with-a-very-long-name-2024-01"
        );
    }

    #[test]
    fn create_uses_the_backup_namespace_and_wraps_errors() {
        let host = SimImports::new(Arc::new(Cluster::new()));
        let created = create_data_upload(&host, &backup(json!({})), &source(), OP).unwrap();
        assert_eq!(created["metadata"]["name"], "b1-abcde");
        assert_eq!(created["metadata"]["namespace"], "velero");
        host.cluster().inject(Fault {
            verb: Verb::Create,
            resource: "datauploads".into(),
            name: None,
            error: SimError::Forbidden("datauploads.velero.io is forbidden".into()),
            times: None,
        });
        let error = create_data_upload(&host, &backup(json!({})), &source(), OP).unwrap_err();
        assert_eq!(
            error.to_string(),
            "fail to create DataUpload CR: datauploads.velero.io is forbidden"
        );
    }

    /// Spec §5.2 scenarios 28 and 29, §3.11.2.
    #[test]
    fn lookup_outcomes() {
        let cluster = Arc::new(Cluster::new());
        let host = SimImports::new(cluster.clone());
        let error = find_data_upload(&host, "testing").unwrap_err();
        assert_eq!(
            error.to_string(),
            "not found DataUpload for operationID testing"
        );
        let calls = cluster.calls();
        assert_eq!(calls.len(), 1);
        assert_eq!(
            (calls[0].verb, calls[0].namespace.as_deref()),
            (Verb::List, None)
        );
        assert_eq!(
            calls[0].selector.as_deref(),
            Some("velero.io/async-operation-id=testing")
        );

        cluster.seed([
            upload("testing", "testing", "InProgress"),
            upload("other", "other", "New"),
        ]);
        assert_eq!(
            find_data_upload(&host, "testing").unwrap()["metadata"]["name"],
            "testing"
        );

        let mut second = upload("testing-2", "testing", "New");
        second["metadata"]["namespace"] = json!("elsewhere");
        cluster.seed([second]);
        let error = find_data_upload(&host, "testing").unwrap_err();
        assert_eq!(
            error.to_string(),
            "more than one DataUpload found operationID testing"
        );

        cluster.inject(Fault {
            verb: Verb::List,
            resource: "datauploads".into(),
            name: None,
            error: SimError::Forbidden("forbidden".into()),
            times: None,
        });
        assert_eq!(
            find_data_upload(&host, "testing").unwrap_err().to_string(),
            "error to list DataUpload: forbidden"
        );
    }

    /// Spec §5.2 scenario 35, §3.11.3.
    #[test]
    fn cancel_patches_only_spec_cancel() {
        let cluster = Arc::new(Cluster::new());
        cluster.seed([upload("testing", "testing", "InProgress")]);
        let host = SimImports::new(cluster.clone());
        let found = find_data_upload(&host, "testing").unwrap();
        cancel_data_upload(&host, &found).unwrap();
        let stored = cluster
            .objects(&Gvr::new("velero.io", "v2alpha1", "datauploads"))
            .remove(0);
        assert_eq!(
            stored["spec"],
            json!({"snapshotType": "CSI", "sourcePVC": "data", "cancel": true})
        );
        assert_eq!(stored["status"], json!({"phase": "InProgress"}));
        let patch = cluster
            .calls()
            .into_iter()
            .find(|c| c.verb == Verb::Patch)
            .unwrap();
        assert_eq!(patch.body, Some(json!({"spec": {"cancel": true}})));
        assert_eq!(
            (patch.namespace.as_deref(), patch.name.as_str()),
            (Some("velero"), "testing")
        );

        cluster.inject(Fault {
            verb: Verb::Patch,
            resource: "datauploads".into(),
            name: None,
            error: SimError::Conflict("conflict".into()),
            times: None,
        });
        assert_eq!(
            cancel_data_upload(&host, &found).unwrap_err().to_string(),
            "error patch DataUpload: conflict"
        );
    }
}
