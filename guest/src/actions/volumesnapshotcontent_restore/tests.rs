use crate::model::velero::Restore;
use std::sync::Arc;

use serde_json::{Value, json};

use super::*;
use crate::adapter::sim::SimImports;
use crate::fixtures;
use crate::model::item::Item;

/// The `VSC` fixture labelled for `b1`, with these annotations and fields this action
/// does not know.
fn content(annotations: Value) -> String {
    let mut content = fixtures::volume_snapshot_content(json!({
        "metadata": {"labels": {"velero.io/backup-name": "b1"}},
        "spec": {"sourceVolumeMode": "Filesystem"},
        "status": {"volumeGroupSnapshotHandle": "g1"}
    }));
    content["metadata"]["annotations"] = annotations;
    content.to_string()
}

fn execute(item: &str, restore: Value) -> (SimImports, RestoreOutput) {
    let host = SimImports::new(Arc::default());
    let request = RestoreRequest {
        item: Item::parse("item", item).unwrap(),
        item_from_backup: Item::parse("itemFromBackup", item).unwrap(),
        restore: Restore::parse(&restore.to_string()).unwrap(),
    };
    let out = VolumeSnapshotContentRestore
        .execute(&host, request)
        .unwrap();
    (host, out)
}

fn names(out: &RestoreOutput) -> Vec<String> {
    out.additional_items
        .iter()
        .map(|i| format!("{}/{}/{}/{}", i.group, i.resource, i.namespace, i.name))
        .collect()
}

fn secret_annotations() -> Value {
    json!({
        "csi.storage.k8s.io/snapshotter-secret-name": "s1",
        "csi.storage.k8s.io/snapshotter-secret-namespace": "kube-system"
    })
}

/// [scenarios §5.10](../../../../docs/scenarios.md#510-volumesnapshotcontent-and-volumesnapshotclass-restore), scenario 103.
#[test]
fn skips_when_pv_restore_is_disabled() {
    let (host, out) = execute(
        &content(secret_annotations()),
        json!({"spec": {"restorePVs": false}}),
    );
    assert!(out.skip_restore);
    assert!(out.additional_items.is_empty());
    assert!(host.cluster().calls().is_empty());
}

/// [scenarios §5.10](../../../../docs/scenarios.md#510-volumesnapshotcontent-and-volumesnapshotclass-restore), scenario 104 (recommended expectation: the Secret named by the keys that
/// were tested).
#[test]
fn restores_the_snapshotter_secret_first() {
    for restore_pvs in [json!(null), json!(true)] {
        let item = content(secret_annotations());
        let (host, out) = execute(&item, json!({"spec": {"restorePVs": restore_pvs}}));
        assert!(!out.skip_restore);
        assert_eq!(out.item, item, "unchanged, unknown fields included");
        assert_eq!(names(&out), vec!["/secrets/kube-system/s1"]);
        assert!(out.operation_id.is_empty() && !out.wait_for_additional_items);
        assert!(host.cluster().calls().is_empty());
    }
}

/// [scenarios §5.10](../../../../docs/scenarios.md#510-volumesnapshotcontent-and-volumesnapshotclass-restore), scenario 105.
#[test]
fn no_secret_no_additional_items() {
    let item = content(json!({}));
    let (_, out) = execute(&item, json!({"spec": {}}));
    assert!(out.additional_items.is_empty());
    assert_eq!(out.item, item);
    // The legacy keys alone never name a Secret.
    let item = content(
        json!({"velero.io/csi-deletesnapshotsecret-name": "s1", "velero.io/csi-deletesnapshotsecret-namespace": "ns"}),
    );
    let (_, out) = execute(&item, json!({"spec": {}}));
    assert!(out.additional_items.is_empty());
}

#[test]
fn progress_cancel_and_readiness() {
    let host = SimImports::new(Arc::default());
    let restore = Restore::parse("{}").unwrap();
    let action = VolumeSnapshotContentRestore;
    assert!(action.progress(&host, "", &restore).is_err());
    assert!(action.progress(&host, "op", &restore).is_ok());
    assert!(action.cancel(&host, "op", &restore).is_ok());
    assert!(
        action
            .are_additional_items_ready(&host, &[], &restore)
            .unwrap()
    );
}
