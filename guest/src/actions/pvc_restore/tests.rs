use std::sync::Arc;

use serde_json::json;
use sim_cluster::{Cluster, Fault, Gvr, SimError, Verb};

use super::*;
use crate::adapter::sim::SimImports;
use crate::fixtures::{self, merged};

const RESTORE_UID: &str = "rrrrrrrr-0000-0000-0000-000000000001";
const PVC_UID: &str = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee";

/// The `B` fixture reduced to what the restore reads, with `spec` merged in.
fn backup(spec: Value) -> Value {
    let reduced = json!({"metadata": {"annotations": null}, "spec": {"itemOperationTimeout": null, "ttl": null}, "status": null});
    fixtures::backup_json(merged(reduced, json!({"spec": spec})))
}

/// The `R` fixture without an item operation timeout, with `spec` merged in.
fn restore(spec: Value) -> Restore {
    fixtures::restore(merged(
        json!({"spec": {"itemOperationTimeout": null}}),
        json!({"spec": spec}),
    ))
}

/// The claim as backed up (with uid and status): the `P` fixture with these annotations
/// and a field this action does not know.
fn backed_up(annotations: Value) -> Value {
    fixtures::claim(json!({
        "metadata": {"annotations": annotations},
        "spec": {"volumeAttributesClassName": "gold"}
    }))
}

/// The claim as core hands it to the action (uid and status removed, [behaviour §0.4](../../../../docs/behaviour.md#04-contract-with-velero-core)/9).
fn stripped(mut claim: Value) -> Value {
    claim["metadata"].as_object_mut().unwrap().remove("uid");
    claim.as_object_mut().unwrap().remove("status");
    claim
}

fn request(item: &Value, from_backup: &Value, restore: Restore) -> RestoreRequest {
    RestoreRequest {
        item: Item::parse("item", &item.to_string()).unwrap(),
        item_from_backup: Item::parse("itemFromBackup", &from_backup.to_string()).unwrap(),
        restore,
    }
}

fn run(
    cluster: &Arc<Cluster>,
    annotations: Value,
    restore: Restore,
) -> (String, Result<RestoreOutput, ActionError>) {
    let from_backup = backed_up(annotations);
    let item = stripped(from_backup.clone());
    let host = SimImports::new(cluster.clone());
    let result = PvcRestore.execute(&host, request(&item, &from_backup, restore));
    (item.to_string(), result)
}

fn parsed(output: &RestoreOutput) -> Value {
    serde_json::from_str(&output.item).unwrap()
}

fn binding_annotations() -> Value {
    json!({
        "pv.kubernetes.io/bind-completed": "yes",
        "pv.kubernetes.io/bound-by-controller": "yes",
        "volume.kubernetes.io/storage-provisioner": "hostpath.csi.k8s.io",
        "volume.beta.kubernetes.io/storage-provisioner": "hostpath.csi.k8s.io",
        "volume.kubernetes.io/selected-node": "node1",
        "keep": "me"
    })
}

fn with(mut annotations: Value, extra: Value) -> Value {
    sim_cluster::store::merge(&mut annotations, &extra);
    annotations
}

fn snapshot(annotations: Value) -> Value {
    json!({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
           "metadata": {"namespace": "app", "name": "velero-data-abcde", "annotations": annotations},
           "spec": {"source": {"volumeSnapshotContentName": "velero-velero-data-abcde-abcde"}}})
}

fn verbs(cluster: &Cluster) -> Vec<(Verb, String, Option<String>, String)> {
    cluster
        .calls()
        .into_iter()
        .map(|c| (c.verb, c.resource, c.namespace, c.name))
        .collect()
}

/// [scenarios §5.7](../../../../docs/scenarios.md#57-pvc-restore), scenarios 68 and 69.
#[test]
fn an_existing_claim_is_left_alone() {
    let cluster = Arc::new(Cluster::new());
    cluster.seed([stripped(backed_up(json!({})))]);
    let (input, result) = run(&cluster, binding_annotations(), restore(json!({})));
    assert_eq!(result.unwrap().item, input);
    assert_eq!(
        verbs(&cluster),
        vec![(
            Verb::Get,
            "persistentvolumeclaims".into(),
            Some("app".into()),
            "data".into()
        )]
    );

    // Under a mapping the lookup is in the target namespace.
    let cluster = Arc::new(Cluster::new());
    let mut mapped = stripped(backed_up(json!({})));
    mapped["metadata"]["namespace"] = json!("app2");
    cluster.seed([mapped]);
    let (input, result) = run(
        &cluster,
        binding_annotations(),
        restore(json!({"namespaceMapping": {"app": "app2"}})),
    );
    assert_eq!(result.unwrap().item, input);
    assert_eq!(cluster.calls().len(), 1);
    assert_eq!(cluster.calls()[0].namespace.as_deref(), Some("app2"));
}

/// [actions §2.5](../../../../docs/actions.md#25-pvc-restore-veleroiocsi-pvc-restorer) step 3: any lookup error counts as "does not exist" (v0.7.1).
#[test]
fn any_lookup_error_counts_as_absent() {
    let cluster = Arc::new(Cluster::new());
    cluster.inject(Fault {
        verb: Verb::Get,
        resource: "persistentvolumeclaims".into(),
        name: None,
        error: SimError::Forbidden("forbidden".into()),
        times: None,
    });
    let (_, result) = run(&cluster, json!({}), restore(json!({"restorePVs": false})));
    assert!(result.is_ok());
}

/// [scenarios §5.7](../../../../docs/scenarios.md#57-pvc-restore), scenario 70.
#[test]
fn pv_restore_disabled() {
    let cluster = Arc::new(Cluster::new());
    let annotations = with(
        binding_annotations(),
        json!({"velero.io/volume-snapshot-name": "vs", "velero.io/data-upload-name": "velero/du"}),
    );
    let from_backup = backed_up(annotations);
    let mut item = stripped(from_backup.clone());
    item["spec"]["dataSource"] =
        json!({"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "old"});
    item["spec"]["dataSourceRef"] = json!({"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "old", "namespace": "x"});
    let host = SimImports::new(cluster.clone());
    let out = PvcRestore
        .execute(
            &host,
            request(&item, &from_backup, restore(json!({"restorePVs": false}))),
        )
        .unwrap();
    let claim = parsed(&out);
    assert_eq!(claim["metadata"]["annotations"], json!({"keep": "me"}));
    assert_eq!(claim["spec"]["volumeName"], "");
    assert!(
        claim["spec"].get("dataSource").is_none() && claim["spec"].get("dataSourceRef").is_none()
    );
    assert_eq!(claim["spec"]["volumeAttributesClassName"], "gold");
    assert_eq!(claim["metadata"]["labels"], json!({"app": "web"}));
    assert!(out.operation_id.is_empty() && !out.skip_restore && out.additional_items.is_empty());
    assert_eq!(cluster.calls().len(), 1, "no Backup GET");
}

/// [scenarios §5.7](../../../../docs/scenarios.md#57-pvc-restore), scenario 71.
#[test]
fn the_backup_must_exist() {
    let cluster = Arc::new(Cluster::new());
    let (_, result) = run(
        &cluster,
        json!({}),
        restore(json!({"backupName": "testBackup"})),
    );
    assert_eq!(
        result.unwrap_err().to_string(),
        r#"fail to get backup for restore: backups.velero.io "testBackup" not found"#
    );
}

/// [scenarios §5.7](../../../../docs/scenarios.md#57-pvc-restore), scenario 72.
#[test]
fn csi_claim_without_snapshot_is_unchanged() {
    let cluster = Arc::new(Cluster::new());
    cluster.seed([backup(json!({}))]);
    let (input, result) = run(
        &cluster,
        json!({"volume.kubernetes.io/selected-node": "node1"}),
        restore(json!({})),
    );
    let out = result.unwrap();
    assert_eq!(out.item, input);
    assert!(out.operation_id.is_empty());
}

/// [scenarios §5.7](../../../../docs/scenarios.md#57-pvc-restore), scenario 73.
#[test]
fn csi_snapshot_must_exist() {
    let cluster = Arc::new(Cluster::new());
    cluster.seed([backup(json!({}))]);
    let (_, result) = run(
        &cluster,
        json!({"velero.io/volume-snapshot-name": "velero-data-abcde"}),
        restore(json!({})),
    );
    assert_eq!(
        result.unwrap_err().to_string(),
        r#"Failed to get Volumesnapshot app/velero-data-abcde to restore PVC app/data: volumesnapshots.snapshot.storage.k8s.io "velero-data-abcde" not found"#
    );
}

/// [scenarios §5.7](../../../../docs/scenarios.md#57-pvc-restore), scenarios 74 and 75 (and the v1.14+ annotation spelling).
#[test]
fn csi_restore_from_snapshot() {
    for key in [keys::VSI_RESTORE_SIZE, keys::CSI_RESTORE_SIZE] {
        let cluster = Arc::new(Cluster::new());
        cluster.seed([backup(json!({})), snapshot(json!({key: "10Gi"}))]);
        let annotations = with(
            binding_annotations(),
            json!({"velero.io/volume-snapshot-name": "velero-data-abcde"}),
        );
        let from_backup = backed_up(annotations);
        let mut item = stripped(from_backup.clone());
        item["spec"]["dataSource"] =
            json!({"apiGroup": "example.com", "kind": "Stale", "name": "old"});
        item["spec"]["dataSourceRef"] =
            json!({"apiGroup": "example.com", "kind": "Stale", "name": "old", "namespace": "x"});
        let host = SimImports::new(cluster.clone());
        let out = PvcRestore
            .execute(&host, request(&item, &from_backup, restore(json!({}))))
            .unwrap();
        let claim = parsed(&out);
        let source = json!({"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "velero-data-abcde"});
        assert_eq!(claim["spec"]["dataSource"], source);
        assert_eq!(claim["spec"]["dataSourceRef"], source);
        assert_eq!(claim["spec"]["volumeName"], "");
        assert_eq!(
            claim["spec"]["resources"]["requests"]["storage"], "10Gi",
            "{key}"
        );
        assert_eq!(claim["spec"]["volumeAttributesClassName"], "gold");
        assert_eq!(claim["metadata"]["annotations"], json!({"keep": "me"}));
        assert_eq!(claim["metadata"]["namespace"], "app");
        assert!(out.operation_id.is_empty());
        assert_eq!(
            verbs(&cluster),
            vec![
                (
                    Verb::Get,
                    "persistentvolumeclaims".into(),
                    Some("app".into()),
                    "data".into()
                ),
                (
                    Verb::Get,
                    "backups.velero.io".into(),
                    Some("velero".into()),
                    "b1".into()
                ),
                (
                    Verb::Get,
                    "volumesnapshots.snapshot.storage.k8s.io".into(),
                    Some("app".into()),
                    "velero-data-abcde".into()
                ),
            ]
        );
        assert!(host.logs().iter().any(|(l, m)| *l == Level::Info
            && m == "Resetting storage requests for PVC app/data to 10Gi"));
    }
}

/// [scenarios §5.7](../../../../docs/scenarios.md#57-pvc-restore), scenarios 76 and 77.
#[test]
fn csi_size_annotation_edge_cases() {
    let cluster = Arc::new(Cluster::new());
    cluster.seed([
        backup(json!({})),
        snapshot(json!({keys::VSI_RESTORE_SIZE: "abc"})),
    ]);
    let (_, result) = run(
        &cluster,
        json!({"velero.io/volume-snapshot-name": "velero-data-abcde"}),
        restore(json!({})),
    );
    let error = result.unwrap_err().to_string();
    assert!(error.starts_with("Failed to parse abc from annotation on Volumesnapshot app/velero-data-abcde into restore size"), "{error}");

    let cluster = Arc::new(Cluster::new());
    cluster.seed([backup(json!({})), snapshot(json!({}))]);
    let (_, result) = run(
        &cluster,
        json!({"velero.io/volume-snapshot-name": "velero-data-abcde"}),
        restore(json!({})),
    );
    let claim = parsed(&result.unwrap());
    assert_eq!(
        claim["spec"]["resources"]["requests"],
        json!({"storage": "5Gi"})
    );
    assert_eq!(claim["spec"]["dataSource"]["name"], "velero-data-abcde");
}

/// [scenarios §5.7](../../../../docs/scenarios.md#57-pvc-restore), scenarios 78 and 79.
#[test]
fn csi_namespace_mapping_and_annotation_source() {
    let cluster = Arc::new(Cluster::new());
    let mut vs = snapshot(json!({}));
    vs["metadata"]["namespace"] = json!("app2");
    cluster.seed([backup(json!({})), vs]);
    let from_backup = backed_up(json!({"velero.io/volume-snapshot-name": "velero-data-abcde"}));
    // The item copy lacks the annotation; it is read from the backed-up copy.
    let item = stripped(backed_up(json!({})));
    let host = SimImports::new(cluster.clone());
    let out = PvcRestore
        .execute(
            &host,
            request(
                &item,
                &from_backup,
                restore(json!({"namespaceMapping": {"app": "app2"}})),
            ),
        )
        .unwrap();
    let claim = parsed(&out);
    assert_eq!(claim["metadata"]["namespace"], "app");
    assert_eq!(claim["spec"]["dataSource"]["name"], "velero-data-abcde");
    let calls = cluster.calls();
    assert_eq!(calls[0].namespace.as_deref(), Some("app2"));
    assert_eq!(calls[2].namespace.as_deref(), Some("app2"));
}

fn result_config_map(data: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"namespace": "velero", "name": "du-result", "labels": {
               "velero.io/pvc-namespace-name": "app.data", "velero.io/restore-uid": RESTORE_UID, "velero.io/resource-usage": "DataUpload"}},
           "data": data})
}

/// [scenarios §5.7](../../../../docs/scenarios.md#57-pvc-restore), scenario 80.
#[test]
fn data_mover_claim_without_upload_is_unchanged() {
    let cluster = Arc::new(Cluster::new());
    cluster.seed([backup(json!({"snapshotMoveData": true}))]);
    let (input, result) = run(&cluster, binding_annotations(), restore(json!({})));
    let out = result.unwrap();
    assert_eq!(out.item, input);
    assert!(out.operation_id.is_empty());
    assert_eq!(cluster.calls().len(), 2, "no ConfigMap list");
}

/// [scenarios §5.7](../../../../docs/scenarios.md#57-pvc-restore), scenarios 81 and 89.
#[test]
fn data_mover_failures() {
    let cluster = Arc::new(Cluster::new());
    cluster.seed([backup(json!({"snapshotMoveData": true}))]);
    let (_, result) = run(
        &cluster,
        json!({"velero.io/data-upload-name": "velero/b1-abcde"}),
        restore(json!({})),
    );
    assert_eq!(
        result.unwrap_err().to_string(),
        format!(
            "fail get DataUploadResult for restore: r1: no DataUpload result cm found with labels velero.io/pvc-namespace-name=app.data,velero.io/restore-uid={RESTORE_UID},velero.io/resource-usage=DataUpload"
        )
    );

    cluster.seed([result_config_map(json!({RESTORE_UID: "{}"}))]);
    cluster.inject(Fault {
        verb: Verb::Create,
        resource: "datadownloads".into(),
        name: None,
        error: SimError::Forbidden("datadownloads.velero.io is forbidden".into()),
        times: None,
    });
    let (_, result) = run(
        &cluster,
        json!({"velero.io/data-upload-name": "velero/b1-abcde"}),
        restore(json!({})),
    );
    assert_eq!(
        result.unwrap_err().to_string(),
        "fail to create DataDownload: datadownloads.velero.io is forbidden"
    );
}

/// [scenarios §5.7](../../../../docs/scenarios.md#57-pvc-restore), scenarios 82, 85, 87 and 88.
#[test]
fn data_mover_restore() {
    let cluster = Arc::new(Cluster::new());
    let payload = r#"{"backupStorageLocation":"bsl2","datamover":"velero","snapshotID":"s-1","sourceNamespace":"app","dataMoverResult":{"k":"v"}}"#;
    cluster.seed([
        backup(json!({"snapshotMoveData": true, "csiSnapshotTimeout": "30m0s"})),
        result_config_map(json!({RESTORE_UID: payload})),
    ]);
    let annotations = with(
        binding_annotations(),
        json!({"velero.io/data-upload-name": "velero/b1-abcde", keys::VSI_RESTORE_SIZE: "5Gi"}),
    );
    let from_backup = backed_up(annotations);
    let mut item = stripped(from_backup.clone());
    item["spec"]["dataSource"] = json!({"kind": "Stale", "name": "old"});
    let host = SimImports::new(cluster.clone());
    let out = PvcRestore
        .execute(
            &host,
            request(
                &item,
                &from_backup,
                restore(json!({"namespaceMapping": {"app": "app2"}})),
            ),
        )
        .unwrap();
    let operation_id = normalize(&format!("dd-{RESTORE_UID}.{PVC_UID}"));
    assert_eq!(out.operation_id, operation_id);

    let claim = parsed(&out);
    assert_eq!(
        claim["metadata"]["annotations"],
        json!({"keep": "me", keys::VSI_RESTORE_SIZE: "5Gi"})
    );
    assert_eq!(claim["metadata"]["namespace"], "app");
    assert_eq!(claim["spec"]["volumeName"], "");
    assert_eq!(
        claim["spec"]["dataSource"],
        json!({"kind": "Stale", "name": "old"}),
        "left untouched"
    );
    let pin = claim["spec"]["selector"]["matchLabels"]["velero.io/dynamic-pv-restore"]
        .as_str()
        .unwrap();
    assert!(
        pin.starts_with("app2.data.") && pin.len() == "app2.data.".len() + 5,
        "{pin}"
    );

    // The ConfigMap is looked up under the original namespace, the DataDownload targets
    // the mapped one.
    let calls = cluster.calls();
    assert_eq!(calls[2].resource, "configmaps");
    assert_eq!(calls[2].selector.as_deref(), Some(format!("velero.io/pvc-namespace-name=app.data,velero.io/restore-uid={RESTORE_UID},velero.io/resource-usage=DataUpload").as_str()));
    let dds = cluster.objects(&Gvr::new("velero.io", "v2alpha1", "datadownloads"));
    assert_eq!(dds.len(), 1);
    let dd = &dds[0];
    assert_eq!(dd["metadata"]["name"], "r1-abcde");
    assert_eq!(dd["metadata"]["namespace"], "velero");
    assert_eq!(
        dd["metadata"]["labels"]["velero.io/async-operation-id"],
        operation_id.as_str()
    );
    assert_eq!(
        dd["spec"]["targetVolume"],
        json!({"pvc": "data", "pv": "", "namespace": "app2"})
    );
    assert_eq!(dd["spec"]["operationTimeout"], "30m0s");
    assert_eq!(dd["spec"]["snapshotID"], "s-1");
    assert!(dd["spec"].get("dataMoverResult").is_none());

    // Scenario 88: the operation ID vector.
    assert_eq!(
        normalize("dd-3f2504e0-4f89-11d3-9a0c-0305e82c3301.9b2e7c1a-0d4e-4a55-8f7e-2a1c3b4d5e6f"),
        "dd-3f2504e0-4f89-11d3-9a0c-0305e82c3301.9b2e7c1a-0d4e-4a59b213e"
    );
}

fn data_download_object(phase: &str) -> Value {
    json!({"apiVersion": "velero.io/v2alpha1", "kind": "DataDownload",
           "metadata": {"namespace": "velero", "name": "r1-abcde", "labels": {"velero.io/async-operation-id": "dd-1"}},
           "spec": {}, "status": {"phase": phase, "message": "Testing error", "progress": {"bytesDone": 1000, "totalBytes": 1000}}})
}

/// [scenarios §5.8](../../../../docs/scenarios.md#58-pvc-restore-progress-and-cancel), scenarios 90 to 92.
#[test]
fn progress_follows_the_data_download() {
    let restore = restore(json!({}));
    let host = SimImports::new(Arc::new(Cluster::new()));
    assert_eq!(
        PvcRestore
            .progress(&host, "", &restore)
            .unwrap_err()
            .to_string(),
        "operation ID  is invalid"
    );
    assert_eq!(
        PvcRestore
            .progress(&host, "dd-1", &restore)
            .unwrap_err()
            .to_string(),
        "didn't find DataDownload"
    );

    host.cluster().seed([data_download_object("Failed")]);
    let progress = PvcRestore.progress(&host, "dd-1", &restore).unwrap();
    assert!(progress.completed);
    assert_eq!(progress.err, "Testing error");
    assert_eq!((progress.n_completed, progress.n_total), (1000, 1000));
    assert_eq!(
        (
            progress.operation_units.as_str(),
            progress.description.as_str()
        ),
        ("Bytes", "Failed")
    );

    host.cluster().seed([data_download_object("Canceled")]);
    assert_eq!(
        PvcRestore.progress(&host, "dd-1", &restore).unwrap().err,
        "DataDownload is canceled"
    );
    host.cluster().seed([data_download_object("New")]);
    assert_eq!(
        PvcRestore.progress(&host, "dd-1", &restore).unwrap(),
        crate::csi::datamover::no_progress()
    );
    host.cluster().seed([data_download_object("Completed")]);
    let done = PvcRestore.progress(&host, "dd-1", &restore).unwrap();
    assert!(done.completed && done.err.is_empty());
}

/// [scenarios §5.8](../../../../docs/scenarios.md#58-pvc-restore-progress-and-cancel), scenarios 93 and 94.
#[test]
fn cancel_and_readiness() {
    let restore = restore(json!({}));
    let host = SimImports::new(Arc::new(Cluster::new()));
    assert_eq!(
        PvcRestore
            .cancel(&host, "", &restore)
            .unwrap_err()
            .to_string(),
        "operation ID  is invalid"
    );
    assert_eq!(
        PvcRestore
            .cancel(&host, "dd-1", &restore)
            .unwrap_err()
            .to_string(),
        "didn't find DataDownload"
    );
    host.cluster().seed([data_download_object("InProgress")]);
    PvcRestore.cancel(&host, "dd-1", &restore).unwrap();
    let dd = &host
        .cluster()
        .objects(&Gvr::new("velero.io", "v2alpha1", "datadownloads"))[0];
    assert_eq!(dd["spec"]["cancel"], true);
    assert!(
        PvcRestore
            .are_additional_items_ready(&host, &[], &restore)
            .unwrap()
    );
}
