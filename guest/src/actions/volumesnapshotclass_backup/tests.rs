use super::*;
use crate::adapter::sim::SimImports;
use crate::fixtures::{backup, snapshot_class};
use serde_json::{Value, json};
use std::sync::Arc;

fn run(class: Value) -> BackupOutput {
    let item = Item::parse("item", &class.to_string()).unwrap();
    VolumeSnapshotClassBackup
        .execute(&SimImports::new(Arc::default()), item, &backup(json!({})))
        .unwrap()
}

/// The `VSClass` fixture with these annotations and a field no version knows.
fn class(annotations: Value) -> Value {
    let mut class = snapshot_class(json!({"futureField": {"kept": true}}));
    class["metadata"]["annotations"] = annotations;
    class
}

/// [scenarios §5.6](../../../../docs/scenarios.md#56-volumesnapshotclass-backup), scenario 65.
#[test]
fn list_secret_becomes_an_additional_item() {
    let out = run(class(json!({
        "csi.storage.k8s.io/snapshotter-list-secret-name": "ls",
        "csi.storage.k8s.io/snapshotter-list-secret-namespace": "kube-system"
    })));
    assert_eq!(out.additional_items.len(), 1);
    let secret = &out.additional_items[0];
    assert_eq!(
        (
            secret.group.as_str(),
            secret.resource.as_str(),
            secret.namespace.as_str(),
            secret.name.as_str()
        ),
        ("", "secrets", "kube-system", "ls")
    );
    let item: Value = serde_json::from_str(&out.item).unwrap();
    assert_eq!(
        item["metadata"]["annotations"]["backup.velero.io/must-include-additional-items"],
        "true"
    );
    assert_eq!(item["futureField"], json!({"kept": true}));
    assert!(out.operation_id.is_empty() && out.post_operation_items.is_empty());
}

/// [scenarios §5.6](../../../../docs/scenarios.md#56-volumesnapshotclass-backup), scenario 66.
#[test]
fn no_complete_secret_pair_means_no_additional_items() {
    let cases = [
        Value::Null,
        json!({}),
        json!({"unrelated": "x"}),
        json!({"csi.storage.k8s.io/snapshotter-list-secret-name": "ls"}),
        json!({"csi.storage.k8s.io/snapshotter-list-secret-namespace": "kube-system"}),
    ];
    for annotations in cases {
        let input = class(annotations.clone()).to_string();
        let out = run(class(annotations));
        assert!(out.additional_items.is_empty());
        assert_eq!(out.item, input, "item must come back unchanged");
    }
}

/// [scenarios §5.6](../../../../docs/scenarios.md#56-volumesnapshotclass-backup), scenario 67.
#[test]
fn progress_and_cancel() {
    let host = SimImports::new(Arc::default());
    let backup = Backup::parse("{}").unwrap();
    let action = VolumeSnapshotClassBackup;
    assert!(matches!(
        action.progress(&host, "", &backup),
        Err(ActionError::InvalidOperationId(_))
    ));
    assert!(!action.progress(&host, "x", &backup).unwrap().completed);
    assert!(action.cancel(&host, "x", &backup).is_ok());
}

#[test]
fn logs_like_the_go_plugin() {
    let host = SimImports::new(Arc::default());
    let item = Item::parse("item", &class(Value::Null).to_string()).unwrap();
    VolumeSnapshotClassBackup
        .execute(&host, item, &Backup::parse("{}").unwrap())
        .unwrap();
    assert_eq!(
        host.logs(),
        vec![
            (
                Level::Info,
                "Executing VolumeSnapshotClassBackupItemAction".to_owned()
            ),
            (
                Level::Info,
                "Returning 0 additionalItems to backup".to_owned()
            ),
        ]
    );
}
