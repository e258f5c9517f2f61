use std::sync::Arc;

use sim_cluster::{Cluster, Fault, Gvr, SimError, Verb};

use super::*;
use crate::adapter::sim::SimImports;
use crate::fixtures;
use crate::model::item::Item;

/// The `VS` fixture as backed up (no status), with these annotations and a field no
/// Kubernetes version knows.
fn snapshot(annotations: Value) -> Value {
    let mut snapshot = fixtures::volume_snapshot(json!({
        "metadata": {"labels": {"app": null}},
        "status": null,
        "futureField": {"x": 1}
    }));
    snapshot["metadata"]["annotations"] = annotations;
    snapshot
}

fn annotations() -> Value {
    json!({
        "velero.io/csi-volumesnapshot-handle": "h1",
        "velero.io/csi-driver-name": "hostpath.csi.k8s.io",
        "velero.io/vsi-volumesnapshot-restore-size": "10Gi"
    })
}

/// The `R` fixture (uid `u`), with `spec` merged in.
fn restore(spec: Value) -> Restore {
    fixtures::restore(json!({"metadata": {"uid": "u"}, "spec": spec}))
}

fn execute(
    cluster: &Arc<Cluster>,
    item: &Value,
    restore: Restore,
) -> Result<RestoreOutput, ActionError> {
    let text = item.to_string();
    let request = RestoreRequest {
        item: Item::parse("item", &text).unwrap(),
        item_from_backup: Item::parse("itemFromBackup", &text).unwrap(),
        restore,
    };
    VolumeSnapshotRestore.execute(&SimImports::new(cluster.clone()), request)
}

fn contents(cluster: &Cluster) -> Vec<Value> {
    cluster.objects(&Gvr::new(
        "snapshot.storage.k8s.io",
        "v1",
        "volumesnapshotcontents",
    ))
}

/// [scenarios §5.9](../../../../docs/scenarios.md#59-volumesnapshot-restore), scenario 95.
#[test]
fn skips_when_pv_restore_is_disabled() {
    let cluster = Arc::new(Cluster::new());
    let out = execute(
        &cluster,
        &snapshot(annotations()),
        restore(json!({"restorePVs": false})),
    )
    .unwrap();
    assert!(out.skip_restore);
    assert!(cluster.calls().is_empty());
}

/// [scenarios §5.9](../../../../docs/scenarios.md#59-volumesnapshot-restore), scenario 96.
#[test]
fn binds_the_snapshot_to_a_static_content() {
    let cluster = Arc::new(Cluster::new());
    let out = execute(&cluster, &snapshot(annotations()), restore(json!({}))).unwrap();
    assert!(!out.skip_restore && out.additional_items.is_empty() && out.operation_id.is_empty());

    let calls = cluster.calls();
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (
            calls[0].verb,
            calls[0].namespace.as_deref(),
            calls[0].name.as_str()
        ),
        (Verb::Get, Some("app"), "velero-data-abcde")
    );
    assert_eq!(calls[1].verb, Verb::Create);
    assert_eq!(
        calls[1].body.as_ref().unwrap(),
        &json!({
            "apiVersion": "snapshot.storage.k8s.io/v1",
            "kind": "VolumeSnapshotContent",
            "metadata": {"generateName": "velero-velero-data-abcde-", "labels": {"velero.io/restore-name": "r1"}},
            "spec": {
                "deletionPolicy": "Retain",
                "driver": "hostpath.csi.k8s.io",
                "source": {"snapshotHandle": "h1"},
                "volumeSnapshotRef": {"kind": "VolumeSnapshot", "namespace": "app", "name": "velero-data-abcde"}
            }
        })
    );
    assert_eq!(contents(&cluster).len(), 1);

    let result: Value = serde_json::from_str(&out.item).unwrap();
    let mut expected = snapshot(annotations());
    expected["spec"]["source"] =
        json!({"volumeSnapshotContentName": "velero-velero-data-abcde-abcde"});
    expected["metadata"]["annotations"]["velero.io/csi-vsc-deletion-policy"] = json!("Retain");
    assert_eq!(result, expected);
}

/// [scenarios §5.9](../../../../docs/scenarios.md#59-volumesnapshot-restore), scenarios 97 and 98.
#[test]
fn requires_the_handle_and_driver_annotations() {
    let cluster = Arc::new(Cluster::new());
    let mut without_handle = annotations();
    without_handle
        .as_object_mut()
        .unwrap()
        .remove("velero.io/csi-volumesnapshot-handle");
    let error = execute(&cluster, &snapshot(without_handle), restore(json!({}))).unwrap_err();
    assert_eq!(
        error.to_string(),
        "Volumesnapshot app/velero-data-abcde does not have a velero.io/csi-volumesnapshot-handle annotation"
    );

    let mut without_driver = annotations();
    without_driver
        .as_object_mut()
        .unwrap()
        .remove("velero.io/csi-driver-name");
    let error = execute(&cluster, &snapshot(without_driver), restore(json!({}))).unwrap_err();
    assert_eq!(
        error.to_string(),
        "Volumesnapshot app/velero-data-abcde does not have a velero.io/csi-driver-name annotation"
    );
    let error = execute(&cluster, &snapshot(Value::Null), restore(json!({}))).unwrap_err();
    assert!(
        error
            .to_string()
            .ends_with("does not have a velero.io/csi-volumesnapshot-handle annotation")
    );
    assert!(contents(&cluster).is_empty());
}

/// [scenarios §5.9](../../../../docs/scenarios.md#59-volumesnapshot-restore), scenario 99.
#[test]
fn an_existing_snapshot_is_kept() {
    let cluster = Arc::new(Cluster::new());
    cluster.seed([snapshot(annotations())]);
    let item = snapshot(annotations());
    let out = execute(&cluster, &item, restore(json!({}))).unwrap();
    assert_eq!(out.item, item.to_string());
    assert!(contents(&cluster).is_empty());
}

/// [scenarios §5.9](../../../../docs/scenarios.md#59-volumesnapshot-restore), scenario 100.
#[test]
fn namespace_mapping() {
    let cluster = Arc::new(Cluster::new());
    // A snapshot of that name in the original namespace does not count.
    cluster.seed([snapshot(annotations())]);
    let out = execute(
        &cluster,
        &snapshot(annotations()),
        restore(json!({"namespaceMapping": {"app": "app2"}})),
    )
    .unwrap();
    let calls = cluster.calls();
    assert_eq!(calls[0].namespace.as_deref(), Some("app2"));
    assert_eq!(
        contents(&cluster)[0]["spec"]["volumeSnapshotRef"]["namespace"],
        "app2"
    );
    let result: Value = serde_json::from_str(&out.item).unwrap();
    assert_eq!(result["metadata"]["namespace"], "app");
}

/// [actions §2.6](../../../../docs/actions.md#26-volumesnapshot-restore-veleroiocsi-volumesnapshot-restorer) step 4: any lookup error counts as "does not exist" (v0.7.1).
#[test]
fn any_lookup_error_counts_as_absent() {
    let cluster = Arc::new(Cluster::new());
    cluster.seed([snapshot(annotations())]);
    cluster.inject(Fault {
        verb: Verb::Get,
        resource: "volumesnapshots".into(),
        name: None,
        error: SimError::Forbidden("volumesnapshots is forbidden".into()),
        times: None,
    });
    execute(&cluster, &snapshot(annotations()), restore(json!({}))).unwrap();
    assert_eq!(contents(&cluster).len(), 1);
}

/// [scenarios §5.9](../../../../docs/scenarios.md#59-volumesnapshot-restore), scenario 101.
#[test]
fn content_creation_failure() {
    let cluster = Arc::new(Cluster::new());
    cluster.inject(Fault {
        verb: Verb::Create,
        resource: "volumesnapshotcontents".into(),
        name: None,
        error: SimError::Forbidden("volumesnapshotcontents is forbidden".into()),
        times: None,
    });
    let error = execute(&cluster, &snapshot(annotations()), restore(json!({}))).unwrap_err();
    assert_eq!(
        error.to_string(),
        "failed to create volumesnapshotcontents velero-velero-data-abcde-: volumesnapshotcontents is forbidden"
    );
}

/// [scenarios §5.9](../../../../docs/scenarios.md#59-volumesnapshot-restore), scenario 102: the spec reset, on either kind of source.
#[test]
fn spec_reset() {
    for source in [
        json!({"persistentVolumeClaimName": "test-pvc"}),
        json!({"volumeSnapshotContentName": "DEADFEED"}),
    ] {
        let cluster = Arc::new(Cluster::new());
        let mut item = snapshot(annotations());
        item["spec"]["source"] = source;
        item.as_object_mut().unwrap().remove("futureField");
        let out = execute(&cluster, &item, restore(json!({}))).unwrap();
        let result: Value = serde_json::from_str(&out.item).unwrap();
        assert_eq!(result["metadata"]["name"], "velero-data-abcde");
        assert_eq!(result["metadata"]["namespace"], "app");
        assert_eq!(
            result["spec"],
            json!({"source": {"volumeSnapshotContentName": "velero-velero-data-abcde-abcde"}, "volumeSnapshotClassName": "snap-default"})
        );
        assert!(result.get("status").is_none());
    }
}

#[test]
fn progress_cancel_and_readiness() {
    let host = SimImports::new(Arc::default());
    let restore = restore(json!({}));
    assert!(VolumeSnapshotRestore.progress(&host, "", &restore).is_err());
    assert!(
        !VolumeSnapshotRestore
            .progress(&host, "op", &restore)
            .unwrap()
            .completed
    );
    assert!(VolumeSnapshotRestore.cancel(&host, "op", &restore).is_ok());
    assert!(
        VolumeSnapshotRestore
            .are_additional_items_ready(&host, &[], &restore)
            .unwrap()
    );
}
