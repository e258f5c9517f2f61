use serde_json::json;
use sim_cluster::{Fault, Gvr, SimError, Verb};

use super::*;
use crate::fixtures::{claim, imports_with, item, restore};
use crate::registry::RestoreRequest;

fn snapshots() -> Gvr {
    Gvr::new("snapshot.storage.k8s.io", "v1", "volumesnapshots")
}
fn contents() -> Gvr {
    Gvr::new("snapshot.storage.k8s.io", "v1", "volumesnapshotcontents")
}

fn recorded() -> Value {
    json!({
        modern::SNAPSHOT_HANDLE: "h1", modern::DRIVER: "hostpath.csi.k8s.io",
        modern::SNAPSHOT_CLASS: "snap-default", modern::RESTORE_SIZE: "10Gi",
        "keep": "me"
    })
}

fn request(annotations: Value, restore_spec: Value) -> RestoreRequest {
    let backed_up = claim(json!({"metadata": {"annotations": annotations}}));
    RestoreRequest {
        item: item(&backed_up),
        item_from_backup: item(&backed_up),
        restore: restore(json!({"spec": restore_spec})),
    }
}

#[test]
fn restores_from_the_recorded_snapshot_into_the_mapped_namespace() {
    let host = imports_with([]);
    host.cluster().seed([]);
    let output = ModernPvcRestore
        .execute(
            &host,
            request(recorded(), json!({"namespaceMapping": {"app": "app-copy"}})),
        )
        .unwrap();
    let out: Value = serde_json::from_str(&output.item).unwrap();
    let name = object_name(
        "restore",
        &["rrrrrrrr-0000-0000-0000-000000000001", "app-copy", "data"],
    );
    assert_eq!(
        out["spec"]["dataSource"],
        json!({"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": name})
    );
    assert!(out["spec"].get("dataSourceRef").is_none());
    assert!(out["spec"].get("volumeName").is_none());
    assert_eq!(out["spec"]["resources"]["requests"]["storage"], "10Gi");
    assert_eq!(out["metadata"]["annotations"], json!({"keep": "me"}));
    assert!(!output.skip_restore && output.additional_items.is_empty());

    let content = host.cluster().object(&contents(), None, &name).unwrap();
    assert_eq!(content["spec"]["deletionPolicy"], "Retain");
    assert_eq!(content["spec"]["source"], json!({"snapshotHandle": "h1"}));
    assert_eq!(
        content["spec"]["volumeSnapshotRef"]["namespace"],
        "app-copy"
    );
    assert_eq!(content["spec"].get("volumeSnapshotClassName"), None);
    assert_eq!(
        content["metadata"]["labels"][modern::RESTORE_UID],
        "rrrrrrrr-0000-0000-0000-000000000001"
    );
    let snapshot = host
        .cluster()
        .object(&snapshots(), Some("app-copy"), &name)
        .unwrap();
    assert_eq!(
        snapshot["spec"]["source"],
        json!({"volumeSnapshotContentName": name})
    );

    // A retry reuses both objects.
    let again = ModernPvcRestore
        .execute(
            &host,
            request(recorded(), json!({"namespaceMapping": {"app": "app-copy"}})),
        )
        .unwrap();
    assert_eq!(again.item, output.item);
}

#[test]
fn a_data_source_ref_is_replaced_too() {
    let host = imports_with([]);
    let mut req = request(recorded(), json!({}));
    let with_ref = claim(
        json!({"metadata": {"annotations": recorded()}, "spec": {"dataSourceRef": {"kind": "Other", "name": "x"}}}),
    );
    req.item = item(&with_ref);
    let out: Value =
        serde_json::from_str(&ModernPvcRestore.execute(&host, req).unwrap().item).unwrap();
    assert_eq!(out["spec"]["dataSourceRef"], out["spec"]["dataSource"]);
}

#[test]
fn without_a_recorded_snapshot_only_the_annotations_go() {
    let host = imports_with([]);
    let output = ModernPvcRestore
        .execute(&host, request(json!({"keep": "me"}), json!({})))
        .unwrap();
    assert_eq!(
        output.item,
        claim(json!({"metadata": {"annotations": {"keep": "me"}}})).to_string()
    );
    let output = ModernPvcRestore
        .execute(&host, request(recorded(), json!({"restorePVs": false})))
        .unwrap();
    let out: Value = serde_json::from_str(&output.item).unwrap();
    assert_eq!(out["metadata"]["annotations"], json!({"keep": "me"}));
    assert_eq!(out["spec"]["volumeName"], "pv-1");
    assert!(host.cluster().calls().is_empty());
}

#[test]
fn a_failed_snapshot_create_removes_the_content() {
    let host = imports_with([]);
    host.cluster().inject(Fault {
        verb: Verb::Create,
        resource: "volumesnapshots".into(),
        name: None,
        error: SimError::Forbidden("no".into()),
        times: None,
    });
    let error = ModernPvcRestore
        .execute(&host, request(recorded(), json!({})))
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("error creating VolumeSnapshot app/velero-csi-wasm-"),
        "{error}"
    );
    assert!(host.cluster().objects(&contents()).is_empty());
}
