use super::*;
use crate::adapter::sim::SimImports;
use crate::fixtures;
use crate::model::item::Item;
use crate::model::velero::Restore;
use serde_json::{Value, json};
use std::sync::Arc;

fn request(annotations: Value, restore: Value) -> (String, RestoreRequest) {
    let mut class = fixtures::snapshot_class(json!({"parametersFromTheFuture": {"a": 1}}));
    class["metadata"]["annotations"] = annotations;
    let class = class.to_string();
    let request = RestoreRequest {
        item: Item::parse("item", &class).unwrap(),
        item_from_backup: Item::parse("itemFromBackup", &class).unwrap(),
        restore: Restore::parse(&restore.to_string()).unwrap(),
    };
    (class, request)
}

fn secret_annotations() -> Value {
    json!({
        "csi.storage.k8s.io/snapshotter-list-secret-name": "ls",
        "csi.storage.k8s.io/snapshotter-list-secret-namespace": "kube-system"
    })
}

/// [scenarios §5.10](../../../../docs/scenarios.md#510-volumesnapshotcontent-and-volumesnapshotclass-restore), scenario 106: restorePVs explicitly false.
#[test]
fn skips_when_pv_restore_is_disabled() {
    let (_, req) = request(secret_annotations(), json!({"spec": {"restorePVs": false}}));
    let out = VolumeSnapshotClassRestore
        .execute(&SimImports::new(Arc::default()), req)
        .unwrap();
    assert!(out.skip_restore);
    assert!(out.additional_items.is_empty());
}

/// [scenarios §5.10](../../../../docs/scenarios.md#510-volumesnapshotcontent-and-volumesnapshotclass-restore), scenario 106: secret annotations present, item unchanged.
#[test]
fn restores_the_list_secret_first() {
    for restore_pvs in [json!(null), json!(true)] {
        let (input, req) = request(
            secret_annotations(),
            json!({"spec": {"restorePVs": restore_pvs}}),
        );
        let out = VolumeSnapshotClassRestore
            .execute(&SimImports::new(Arc::default()), req)
            .unwrap();
        assert!(!out.skip_restore);
        assert_eq!(out.item, input);
        let names: Vec<_> = out
            .additional_items
            .iter()
            .map(|i| format!("{}/{}/{}", i.resource, i.namespace, i.name))
            .collect();
        assert_eq!(names, vec!["secrets/kube-system/ls"]);
        assert!(out.operation_id.is_empty() && !out.wait_for_additional_items);
    }
}

/// [scenarios §5.10](../../../../docs/scenarios.md#510-volumesnapshotcontent-and-volumesnapshotclass-restore), scenario 106: no annotations.
#[test]
fn no_secret_no_additional_items() {
    let (input, req) = request(json!({}), json!({"spec": {}}));
    let out = VolumeSnapshotClassRestore
        .execute(&SimImports::new(Arc::default()), req)
        .unwrap();
    assert!(out.additional_items.is_empty());
    assert_eq!(out.item, input);
}

#[test]
fn progress_cancel_and_readiness() {
    let host = SimImports::new(Arc::default());
    let restore = Restore::parse("{}").unwrap();
    let action = VolumeSnapshotClassRestore;
    assert!(action.progress(&host, "", &restore).is_err());
    assert!(action.progress(&host, "op", &restore).is_ok());
    assert!(action.cancel(&host, "op", &restore).is_ok());
    assert!(
        action
            .are_additional_items_ready(&host, &[], &restore)
            .unwrap()
    );
}
