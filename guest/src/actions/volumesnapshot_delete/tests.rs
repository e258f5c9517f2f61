use std::sync::Arc;

use serde_json::{Value, json};
use sim_cluster::{Cluster, Fault, Gvr, SimError, Verb};

use super::*;
use crate::adapter::sim::SimImports;
use crate::csi::snapshots::content_ref;
use crate::fixtures::{self, backup, volume_snapshot, volume_snapshot_content};
use crate::model::kube::Kube;

/// The `VS` fixture with exactly these labels and this status.
fn snapshot(labels: Value, status: Value) -> Value {
    let mut snapshot = volume_snapshot(json!({}));
    snapshot["metadata"]["labels"] = labels;
    snapshot["status"] = status;
    snapshot
}

/// The `VSC` fixture labelled for `b1`, policy `Retain`, with only a handle in its status.
fn content() -> Value {
    volume_snapshot_content(json!({
        "metadata": {"labels": {"velero.io/backup-name": "b1"}},
        "spec": {"deletionPolicy": "Retain", "volumeSnapshotClassName": null},
        "status": {"restoreSize": null, "readyToUse": null}
    }))
}

fn bound() -> Value {
    json!({"boundVolumeSnapshotContentName": "c1", "readyToUse": true})
}

fn labelled() -> Value {
    json!({"app": "web", "velero.io/backup-name": "b1"})
}

fn execute(cluster: &Arc<Cluster>, item: &Value, backup_name: &str) -> Result<(), ActionError> {
    VolumeSnapshotDelete.execute(
        &SimImports::new(cluster.clone()),
        fixtures::item(item),
        &backup(json!({"metadata": {"name": backup_name}})),
    )
}

fn calls(cluster: &Cluster) -> Vec<(Verb, String, String)> {
    cluster
        .calls()
        .into_iter()
        .map(|c| (c.verb, c.resource, c.name))
        .collect()
}

fn snapshots(cluster: &Cluster) -> Vec<Value> {
    cluster.objects(&Gvr::new(
        "snapshot.storage.k8s.io",
        "v1",
        "volumesnapshots",
    ))
}

/// [scenarios §5.11](../../../../docs/scenarios.md#511-volumesnapshot-delete), scenarios 107 and 112.
#[test]
fn foreign_snapshots_are_not_touched() {
    for (labels, backup_name) in [
        (Value::Null, "b1"),
        (json!({"app": "web"}), "b1"),
        (json!({"velero.io/backup-name": "other"}), "b1"),
        (json!({"velero.io/backup-name": "  "}), "  "),
        (json!({"velero.io/backup-name": ""}), ""),
    ] {
        let cluster = Arc::new(Cluster::new());
        cluster.seed([snapshot(labels.clone(), bound()), content()]);
        execute(&cluster, &snapshot(labels, bound()), backup_name).unwrap();
        assert!(cluster.calls().is_empty());
    }
}

/// [scenarios §5.11](../../../../docs/scenarios.md#511-volumesnapshot-delete), scenario 108: patch then delete; the storage snapshot goes too.
#[test]
fn deletes_the_snapshot_and_its_storage_snapshot() {
    let cluster = Arc::new(Cluster::new());
    let item = snapshot(labelled(), bound());
    cluster.seed([item.clone(), content()]);
    execute(&cluster, &item, "b1").unwrap();
    let calls = cluster.calls();
    assert_eq!(
        calls
            .iter()
            .map(|c| (c.verb, c.resource.as_str(), c.name.as_str()))
            .collect::<Vec<_>>(),
        vec![
            (
                Verb::Patch,
                "volumesnapshotcontents.snapshot.storage.k8s.io",
                "c1"
            ),
            (
                Verb::Delete,
                "volumesnapshots.snapshot.storage.k8s.io",
                "velero-data-abcde"
            ),
        ]
    );
    assert_eq!(
        calls[0].body,
        Some(json!({"spec": {"deletionPolicy": "Delete"}}))
    );
    assert_eq!(calls[1].namespace.as_deref(), Some("app"));
    assert!(snapshots(&cluster).is_empty());
    // The snapshot controller removed the content, now `Delete`, with the snapshot.
    let host = SimImports::new(cluster.clone());
    assert!(matches!(
        host.get(&content_ref("c1")),
        Err(KubeError::NotFound(_))
    ));

    // Deleting again: the snapshot is gone (NotFound is success).
    execute(&cluster, &item, "b1").unwrap();
}

/// [scenarios §5.11](../../../../docs/scenarios.md#511-volumesnapshot-delete), scenario 109.
#[test]
fn a_missing_content_ends_the_deletion() {
    let cluster = Arc::new(Cluster::new());
    let item = snapshot(labelled(), bound());
    cluster.seed([item.clone()]);
    execute(&cluster, &item, "b1").unwrap();
    assert_eq!(
        calls(&cluster),
        vec![(
            Verb::Patch,
            "volumesnapshotcontents.snapshot.storage.k8s.io".into(),
            "c1".into()
        )]
    );
    assert_eq!(snapshots(&cluster).len(), 1, "v0.7.1 leaves the snapshot");
}

/// [scenarios §5.11](../../../../docs/scenarios.md#511-volumesnapshot-delete), scenario 110.
#[test]
fn patch_errors_stop_the_deletion() {
    let cluster = Arc::new(Cluster::new());
    let item = snapshot(labelled(), bound());
    cluster.seed([item.clone(), content()]);
    cluster.inject(Fault {
        verb: Verb::Patch,
        resource: "volumesnapshotcontents".into(),
        name: None,
        error: SimError::Forbidden("volumesnapshotcontents \"c1\" is forbidden".into()),
        times: None,
    });
    let error = execute(&cluster, &item, "b1").unwrap_err();
    assert_eq!(
        error.to_string(),
        "failed to patch DeletionPolicy of volume snapshot app/velero-data-abcde: volumesnapshotcontents \"c1\" is forbidden"
    );
    assert_eq!(cluster.calls().len(), 1, "no DELETE");
}

/// [scenarios §5.11](../../../../docs/scenarios.md#511-volumesnapshot-delete), scenario 111, and a bound name that is null or empty.
#[test]
fn without_a_bound_content_only_the_snapshot_is_deleted() {
    for status in [
        Value::Null,
        json!({}),
        json!({"boundVolumeSnapshotContentName": null}),
        json!({"boundVolumeSnapshotContentName": ""}),
    ] {
        let cluster = Arc::new(Cluster::new());
        let item = snapshot(labelled(), status);
        cluster.seed([item.clone()]);
        execute(&cluster, &item, "b1").unwrap();
        assert_eq!(
            calls(&cluster),
            vec![(
                Verb::Delete,
                "volumesnapshots.snapshot.storage.k8s.io".into(),
                "velero-data-abcde".into()
            )]
        );
    }
}

#[test]
fn delete_errors_are_returned() {
    let cluster = Arc::new(Cluster::new());
    let item = snapshot(labelled(), Value::Null);
    cluster.inject(Fault {
        verb: Verb::Delete,
        resource: "volumesnapshots".into(),
        name: None,
        error: SimError::Unavailable("the server is currently unable to handle the request".into()),
        times: None,
    });
    let error = execute(&cluster, &item, "b1").unwrap_err();
    assert_eq!(
        error.to_string(),
        "the server is currently unable to handle the request"
    );
}

/// Long backup names are compared normalised.
#[test]
fn long_backup_names() {
    let long = "nightly-backup-of-the-production-cluster-with-a-very-long-name-2024-01";
    let cluster = Arc::new(Cluster::new());
    let item = snapshot(
        json!({"velero.io/backup-name": normalize(long)}),
        Value::Null,
    );
    execute(&cluster, &item, long).unwrap();
    assert_eq!(cluster.calls().len(), 1);
}
