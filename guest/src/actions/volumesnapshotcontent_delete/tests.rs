use std::sync::Arc;

use serde_json::{Value, json};
use sim_cluster::{Cluster, Fault, Gvr, SimError, Verb};

use super::*;
use crate::adapter::sim::SimImports;
use crate::fixtures::{self, backup, volume_snapshot_content};
use crate::model::kube::Kube;

/// The `VSC` fixture as backed up statically (policy `Retain`, source the handle, a
/// reference to a VolumeSnapshot that does not exist), with these labels and status.
fn content(labels: Value, status: Value) -> Value {
    let mut content = volume_snapshot_content(json!({
        "spec": {
            "deletionPolicy": "Retain",
            "source": {"volumeHandle": null, "snapshotHandle": "h1"},
            "volumeSnapshotClassName": null,
            "volumeSnapshotRef": {"apiVersion": null, "namespace": "ns-u", "name": "name-u"}
        }
    }));
    content["metadata"]["labels"] = labels;
    content["status"] = status;
    content
}

fn labelled() -> Value {
    json!({"velero.io/backup-name": "b1"})
}

fn with_handle() -> Value {
    json!({"snapshotHandle": "h1", "readyToUse": true})
}

fn execute(
    cluster: &Arc<Cluster>,
    item: &Value,
    backup_name: &str,
) -> (SimImports, Result<(), ActionError>) {
    let host = SimImports::new(cluster.clone());
    let backup = backup(json!({"metadata": {"name": backup_name}}));
    let result = VolumeSnapshotContentDelete.execute(&host, fixtures::item(item), &backup);
    (host, result)
}

fn fault(verb: Verb, error: SimError) -> Fault {
    Fault {
        verb,
        resource: "volumesnapshotcontents".into(),
        name: None,
        error,
        times: None,
    }
}

fn contents(cluster: &Cluster) -> Vec<Value> {
    cluster.objects(&Gvr::new(
        "snapshot.storage.k8s.io",
        "v1",
        "volumesnapshotcontents",
    ))
}

/// [scenarios §5.12](../../../../docs/scenarios.md#512-volumesnapshotcontent-delete), scenario 113.
#[test]
fn foreign_contents_are_not_touched() {
    for (labels, backup_name) in [
        (Value::Null, "b1"),
        (json!({"velero.io/backup-name": "other"}), "b1"),
        (labelled(), " "),
    ] {
        let cluster = Arc::new(Cluster::new());
        cluster.seed([content(labels.clone(), with_handle())]);
        let (_, result) = execute(&cluster, &content(labels, with_handle()), backup_name);
        result.unwrap();
        assert!(cluster.calls().is_empty());
    }
}

/// [scenarios §5.12](../../../../docs/scenarios.md#512-volumesnapshotcontent-delete), scenario 114.
#[test]
fn patches_then_deletes() {
    let cluster = Arc::new(Cluster::new());
    let item = content(labelled(), with_handle());
    cluster.seed([item.clone()]);
    execute(&cluster, &item, "b1").1.unwrap();
    let calls = cluster.calls();
    assert_eq!(
        calls
            .iter()
            .map(|c| (c.verb, c.namespace.as_deref(), c.name.as_str()))
            .collect::<Vec<_>>(),
        vec![(Verb::Patch, None, "c1"), (Verb::Delete, None, "c1")]
    );
    assert_eq!(
        calls[0].body,
        Some(json!({"spec": {"deletionPolicy": "Delete"}}))
    );
    assert!(contents(&cluster).is_empty());

    // DELETE NotFound → success.
    let cluster = Arc::new(Cluster::new());
    cluster.seed([item.clone()]);
    cluster.inject(fault(
        Verb::Delete,
        SimError::NotFound(
            "volumesnapshotcontents.snapshot.storage.k8s.io \"c1\" not found".into(),
        ),
    ));
    execute(&cluster, &item, "b1").1.unwrap();

    // DELETE other error → that error.
    let cluster = Arc::new(Cluster::new());
    cluster.seed([item.clone()]);
    cluster.inject(fault(Verb::Delete, SimError::Conflict("conflict".into())));
    assert_eq!(
        execute(&cluster, &item, "b1").1.unwrap_err().to_string(),
        "conflict"
    );
}

/// [scenarios §5.12](../../../../docs/scenarios.md#512-volumesnapshotcontent-delete), scenario 115.
#[test]
fn a_missing_content_is_a_warning() {
    let cluster = Arc::new(Cluster::new());
    let (host, result) = execute(&cluster, &content(labelled(), with_handle()), "b1");
    result.unwrap();
    assert_eq!(cluster.calls().len(), 1, "no DELETE");
    assert!(host.logs().iter().any(|(level, m)| *level == Level::Warn
        && m == "VolumeSnapshotContent c1 of backup b1 cannot be found. May leave orphan snapshot h1 on cloud provider."));
}

/// [scenarios §5.12](../../../../docs/scenarios.md#512-volumesnapshotcontent-delete), scenario 116 (recommended expectation: no crash on a copy without status).
#[test]
fn a_missing_content_without_status_is_a_warning() {
    for status in [Value::Null, json!({}), json!({"snapshotHandle": null})] {
        let cluster = Arc::new(Cluster::new());
        let mut item = content(labelled(), Value::Null);
        if status.is_null() {
            item.as_object_mut().unwrap().remove("status");
        } else {
            item["status"] = status;
        }
        let (host, result) = execute(&cluster, &item, "b1");
        result.unwrap();
        assert_eq!(cluster.calls().len(), 1);
        assert!(
            host.logs()
                .iter()
                .any(|(level, m)| *level == Level::Warn && m.contains("cannot be found"))
        );
    }
}

/// [scenarios §5.12](../../../../docs/scenarios.md#512-volumesnapshotcontent-delete), scenario 117.
#[test]
fn patch_errors_stop_the_deletion() {
    let cluster = Arc::new(Cluster::new());
    let item = content(labelled(), with_handle());
    cluster.seed([item.clone()]);
    cluster.inject(fault(Verb::Patch, SimError::Forbidden("forbidden".into())));
    let error = execute(&cluster, &item, "b1").1.unwrap_err();
    assert_eq!(
        error.to_string(),
        "failed to set DeletionPolicy on volumesnapshotcontent c1. Skipping deletion: forbidden"
    );
    assert_eq!(cluster.calls().len(), 1);
    assert_eq!(contents(&cluster).len(), 1);
}

/// The storage snapshot goes with a `Delete` content ([behaviour §3.9](../../../../docs/behaviour.md#39-deletionpolicy-lifecycle), last row).
#[test]
fn the_storage_snapshot_is_deleted() {
    let cluster = Arc::new(Cluster::new());
    // A snapshot cut by the simulated driver, then re-created statically with Retain.
    cluster.seed([
        json!({"kind": "PersistentVolumeClaim", "metadata": {"namespace": "app", "name": "data"},
        "spec": {"resources": {"requests": {"storage": "1Gi"}}}}),
    ]);
    let host = SimImports::new(cluster.clone());
    host.create(
        &crate::model::kube::resources::volume_snapshots(),
        Some("app"),
        &json!({"metadata": {"name": "vs"}, "spec": {"source": {"persistentVolumeClaimName": "data"}}}),
    )
    .unwrap();
    let bound = crate::csi::snapshots::wait_for_handle(
        &host,
        "app",
        "vs",
        std::time::Duration::from_secs(60),
    )
    .unwrap();
    let name = crate::model::json::name(&bound).to_owned();
    host.merge_patch(&content_ref(&name), &json!({"metadata": {"labels": {"velero.io/backup-name": "b1"}}, "spec": {"deletionPolicy": "Retain"}}))
        .unwrap();
    let item = host.get(&content_ref(&name)).unwrap();
    let handle = item["status"]["snapshotHandle"]
        .as_str()
        .unwrap()
        .to_owned();
    execute(&cluster, &item, "b1").1.unwrap();
    assert_eq!(cluster.deleted_snapshots(), vec![handle]);
}
