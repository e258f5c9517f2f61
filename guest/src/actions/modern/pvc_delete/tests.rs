use serde_json::json;
use sim_cluster::{Gvr, Verb};

use super::*;
use crate::adapter::sim::SimImports;
use crate::fixtures::{backup, claim, imports_with, item};

fn contents() -> Gvr {
    Gvr::new("snapshot.storage.k8s.io", "v1", "volumesnapshotcontents")
}

/// A cluster whose driver holds storage snapshot `snapshot-1` (cut from a VolumeSnapshot
/// that is then released as the backup action does).
fn cluster_with_snapshot() -> SimImports {
    let host = imports_with([
        crate::fixtures::volume(json!({})),
        claim(json!({})),
        crate::fixtures::snapshot_class(json!({"deletionPolicy": "Retain"})),
    ]);
    let vs = Gvr::new("snapshot.storage.k8s.io", "v1", "volumesnapshots");
    host.cluster()
        .create(&vs, Some("app"), json!({"metadata": {"name": "s"}, "spec": {"source": {"persistentVolumeClaimName": "data"}, "volumeSnapshotClassName": "snap-default"}}))
        .unwrap();
    host.cluster().advance(Duration::from_secs(10));
    host.cluster().delete(&vs, Some("app"), "s").unwrap();
    for content in host.cluster().objects(&contents()) {
        host.cluster()
            .delete(
                &contents(),
                None,
                content["metadata"]["name"].as_str().unwrap(),
            )
            .unwrap();
    }
    assert_eq!(host.cluster().storage_snapshots(), ["snapshot-1"]);
    host.cluster().clear_calls();
    host
}

fn backed_up(annotations: Value) -> Item {
    item(&claim(json!({"metadata": {"annotations": annotations}})))
}

#[test]
fn deletes_the_storage_snapshot_through_a_temporary_content() {
    let host = cluster_with_snapshot();
    let claim = backed_up(
        json!({modern::SNAPSHOT_HANDLE: "snapshot-1", modern::DRIVER: "hostpath.csi.k8s.io", modern::DELETION_SECRET: "ns/s"}),
    );
    ModernPvcDelete
        .execute(&host, claim, &backup(json!({})))
        .unwrap();
    assert_eq!(host.cluster().deleted_snapshots(), ["snapshot-1"]);
    assert!(host.cluster().objects(&contents()).is_empty());
    let calls = host.cluster().calls();
    let verbs: Vec<_> = calls.iter().map(|c| c.verb).collect();
    assert_eq!(
        verbs,
        [
            Verb::Create,
            Verb::Watch,
            Verb::Watch,
            Verb::Delete,
            Verb::Watch
        ]
    );
    let body = calls[0].body.clone().unwrap();
    assert_eq!(body["spec"]["deletionPolicy"], "Delete");
    // Bound by UID (so the snapshot controller adds its finalizer) and marked as being
    // deleted (so the snapshotter calls the driver): without either, a real cluster drops the
    // content without deleting the storage snapshot.
    assert_eq!(
        body["spec"]["volumeSnapshotRef"]["uid"]
            .as_str()
            .map(|uid| uid.len()),
        Some(36)
    );
    assert_eq!(body["metadata"]["annotations"][BEING_DELETED], "yes");
    assert_eq!(body["metadata"]["annotations"][DELETION_SECRET_NAME], "s");
    assert_eq!(
        body["metadata"]["annotations"][DELETION_SECRET_NAMESPACE],
        "ns"
    );
    assert_eq!(
        body["metadata"]["labels"][modern::BACKUP_UID],
        "11111111-2222-3333-4444-555555555555"
    );
}

#[test]
fn a_snapshot_that_is_gone_does_not_block() {
    let host = imports_with([]);
    let claim =
        backed_up(json!({modern::SNAPSHOT_HANDLE: "gone", modern::DRIVER: "hostpath.csi.k8s.io"}));
    ModernPvcDelete
        .execute(&host, claim, &backup(json!({})))
        .unwrap();
    assert!(host.cluster().objects(&contents()).is_empty());
    assert!(
        host.logs()
            .iter()
            .any(|(_, m)| m.contains("may no longer exist"))
    );
}

#[test]
fn claims_without_a_snapshot_need_no_call() {
    let host = imports_with([]);
    ModernPvcDelete
        .execute(&host, backed_up(json!({})), &backup(json!({})))
        .unwrap();
    assert!(host.cluster().calls().is_empty());
}

#[test]
fn an_existing_temporary_content_is_reused() {
    let host = cluster_with_snapshot();
    let claim = backed_up(
        json!({modern::SNAPSHOT_HANDLE: "snapshot-1", modern::DRIVER: "hostpath.csi.k8s.io"}),
    );
    let recorded = Recorded::of(&claim).unwrap();
    let name = object_name(
        "delete",
        &["11111111-2222-3333-4444-555555555555", "app", "data"],
    );
    host.cluster()
        .create(
            &contents(),
            None,
            temporary_content(&name, &recorded, "app", &backup(json!({}))),
        )
        .unwrap();
    ModernPvcDelete
        .execute(&host, claim, &backup(json!({})))
        .unwrap();
    assert_eq!(host.cluster().deleted_snapshots(), ["snapshot-1"]);
}
