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

/// [behaviour §3.11.1](../../../../../docs/behaviour.md#3111-dataupload) and [scenarios §5.1](../../../../../docs/scenarios.md#51-pvc-backup) scenario 20.
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

/// [scenarios §5.1](../../../../../docs/scenarios.md#51-pvc-backup) scenario 21, and the optional fields.
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

/// [scenarios §5.2](../../../../../docs/scenarios.md#52-pvc-backup-progress-and-cancel) scenarios 28 and 29, [behaviour §3.11.2](../../../../../docs/behaviour.md#3112-dataupload-lookup).
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

/// [scenarios §5.2](../../../../../docs/scenarios.md#52-pvc-backup-progress-and-cancel) scenario 35, [behaviour §3.11.3](../../../../../docs/behaviour.md#3113-dataupload-cancel).
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
