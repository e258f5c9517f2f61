use crate::bindings::velero::csi::types::ResourceIdentifier;
use std::sync::Arc;

use serde_json::json;

use super::*;
use crate::adapter::sim::{FROZEN_NOW, SimImports};
use crate::fixtures;
use sim_cluster::Cluster;

/// [scenarios §5.0](../../../../docs/scenarios.md#50-shared-fixtures) Backup B in `phase`.
fn backup(phase: &str) -> Backup {
    fixtures::backup(json!({"status": {"phase": phase}}))
}

/// [scenarios §5.0](../../../../docs/scenarios.md#50-shared-fixtures) fixture VSC, with the given labels and annotations and fields this action
/// does not know.
fn vsc(labels: Value, annotations: Value) -> Value {
    let mut content = fixtures::volume_snapshot_content(json!({
        "spec": {"sourceVolumeMode": "Filesystem"},
        "status": {"volumeGroupSnapshotHandle": "future"}
    }));
    content["metadata"]["labels"] = labels;
    content["metadata"]["annotations"] = annotations;
    content
}

fn host() -> (Arc<Cluster>, SimImports) {
    let cluster = Arc::new(Cluster::new());
    (cluster.clone(), SimImports::new(cluster))
}

fn execute(host: &SimImports, content: &Value, phase: &str) -> BackupOutput {
    let item = Item::parse("item", &content.to_string()).unwrap();
    VolumeSnapshotContentBackup
        .execute(host, item, &backup(phase))
        .unwrap()
}

/// [scenarios §5.5](../../../../docs/scenarios.md#55-volumesnapshotcontent-backup), scenario 58.
#[test]
fn finalize_is_skipped() {
    let (cluster, host) = host();
    let secret = json!({"csi.storage.k8s.io/snapshotter-secret-name": "s1", "csi.storage.k8s.io/snapshotter-secret-namespace": "kube-system"});
    let content = vsc(json!({"velero.io/backup-name": "b1"}), secret);
    for phase in ["Finalizing", "FinalizingPartiallyFailed"] {
        let out = execute(&host, &content, phase);
        assert_eq!(out.item, content.to_string());
        assert!(
            out.additional_items.is_empty()
                && out.operation_id.is_empty()
                && out.post_operation_items.is_empty()
        );
    }
    assert!(cluster.calls().is_empty());
}

/// [scenarios §5.5](../../../../docs/scenarios.md#55-volumesnapshotcontent-backup), scenario 59.
#[test]
fn snapshotter_secret_is_an_additional_item() {
    let (cluster, host) = host();
    let annotations = json!({"csi.storage.k8s.io/snapshotter-secret-name": "s1", "csi.storage.k8s.io/snapshotter-secret-namespace": "kube-system"});
    let out = execute(&host, &vsc(Value::Null, annotations.clone()), "InProgress");
    assert_eq!(
        out.additional_items,
        [ResourceIdentifier {
            group: String::new(),
            resource: "secrets".into(),
            namespace: "kube-system".into(),
            name: "s1".into()
        }]
    );
    let item: Value = serde_json::from_str(&out.item).unwrap();
    let mut expected = vsc(Value::Null, annotations);
    expected["metadata"]["annotations"]["backup.velero.io/must-include-additional-items"] =
        json!("true");
    assert_eq!(
        item, expected,
        "only the annotation is added; unknown fields survive"
    );
    assert!(out.operation_id.is_empty());
    assert!(cluster.calls().is_empty());
}

/// [scenarios §5.5](../../../../docs/scenarios.md#55-volumesnapshotcontent-backup), scenario 60.
#[test]
fn half_a_secret_pair_is_ignored() {
    let (_, host) = host();
    for annotations in [
        json!({"csi.storage.k8s.io/snapshotter-secret-name": "s1"}),
        json!({"csi.storage.k8s.io/snapshotter-secret-namespace": "kube-system"}),
        Value::Null,
    ] {
        let content = vsc(Value::Null, annotations);
        let out = execute(&host, &content, "InProgress");
        assert!(out.additional_items.is_empty());
        assert_eq!(out.item, content.to_string());
    }
}

/// [scenarios §5.5](../../../../docs/scenarios.md#55-volumesnapshotcontent-backup), scenario 61.
#[test]
fn operation_only_for_contents_labelled_for_this_backup() {
    let (cluster, host) = host();
    let out = execute(
        &host,
        &vsc(json!({"velero.io/backup-name": "b1"}), Value::Null),
        "InProgress",
    );
    assert_eq!(out.operation_id, "c1/2024-05-01T09:30:00Z");
    assert_eq!(
        out.post_operation_items,
        [ResourceIdentifier {
            group: "snapshot.storage.k8s.io".into(),
            resource: "volumesnapshotcontents".into(),
            namespace: String::new(),
            name: "c1".into()
        }]
    );
    for labels in [
        Value::Null,
        json!({"velero.io/backup-name": "other"}),
        json!({"app": "web"}),
    ] {
        let out = execute(&host, &vsc(labels, Value::Null), "InProgress");
        assert!(out.operation_id.is_empty() && out.post_operation_items.is_empty());
    }
    assert!(cluster.calls().is_empty());
    assert_eq!(
        host.logs().last().unwrap(),
        &(
            Level::Info,
            "Returning from VolumeSnapshotContentBackupItemAction with 0 additionalItems to \
             backup"
                .to_owned()
        )
    );
}

fn progress_of(
    status: Option<Value>,
    operation_id: &str,
) -> (Result<OperationProgress, ActionError>, Arc<Cluster>) {
    let (cluster, host) = host();
    let mut content = vsc(Value::Null, Value::Null);
    match status {
        Some(status) => content["status"] = status,
        None => {
            content.as_object_mut().unwrap().remove("status");
        }
    }
    cluster.seed([content]);
    let result = VolumeSnapshotContentBackup.progress(&host, operation_id, &backup("InProgress"));
    (result, cluster)
}

/// [scenarios §5.5](../../../../docs/scenarios.md#55-volumesnapshotcontent-backup), scenario 62.
#[test]
fn progress_follows_the_content_status() {
    let op = "c1/2024-05-01T09:30:00Z";
    let (ready, cluster) = progress_of(Some(json!({"readyToUse": true})), op);
    let ready = ready.unwrap();
    assert!(ready.completed && ready.err.is_empty());
    assert_eq!(ready.started.unwrap().seconds, FROZEN_NOW);
    assert_eq!(cluster.calls().len(), 1);

    let failed = progress_of(
        Some(json!({"readyToUse": false, "error": {"message": "boom"}})),
        op,
    )
    .0
    .unwrap();
    assert_eq!((failed.completed, failed.err.as_str()), (true, "boom"));

    let pending = progress_of(None, op).0.unwrap();
    assert!(!pending.completed && pending.err.is_empty() && pending.started.is_some());

    let cutting = progress_of(Some(json!({"readyToUse": false})), op)
        .0
        .unwrap();
    assert!(!cutting.completed);
}

/// [scenarios §5.5](../../../../docs/scenarios.md#55-volumesnapshotcontent-backup), scenario 63 (*recommended*): an error without a message fails the
/// operation with a generic message instead of counting as success.
#[test]
fn error_without_message_is_a_failure() {
    let op = "c1/2024-05-01T09:30:00Z";
    let progress = progress_of(Some(json!({"readyToUse": false, "error": {}})), op)
        .0
        .unwrap();
    assert!(progress.completed);
    assert_eq!(
        progress.err,
        "VolumeSnapshotContent c1 reported an error without a message"
    );
    let progress = progress_of(Some(json!({"error": {"time": "2024-05-01T09:31:00Z"}})), op)
        .0
        .unwrap();
    assert_eq!(
        progress.err,
        "VolumeSnapshotContent c1 reported an error without a message at 2024-05-01T09:31:00Z"
    );
}

/// [scenarios §5.5](../../../../docs/scenarios.md#55-volumesnapshotcontent-backup), scenario 64.
#[test]
fn progress_rejects_malformed_ids() {
    let (cluster, host) = host();
    let backup = backup("InProgress");
    let action = VolumeSnapshotContentBackup;
    assert_eq!(
        action.progress(&host, "", &backup).unwrap_err().to_string(),
        "operation ID  is invalid"
    );
    for id in ["c1", "c1/a/b"] {
        let error = action.progress(&host, id, &backup).unwrap_err();
        assert!(matches!(error, ActionError::InvalidOperationId(_)));
        assert_eq!(error.to_string(), format!("operation ID {id} is invalid"));
    }
    let error = action.progress(&host, "c1/notatime", &backup).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("fail to parse StartedTime: parsing time \"notatime\""),
        "{error}"
    );
    assert!(cluster.calls().is_empty());
}

/// A content that no longer exists fails the operation.
#[test]
fn progress_of_a_missing_content_fails() {
    let (_, host) = host();
    let error = VolumeSnapshotContentBackup
        .progress(&host, "gone/2024-05-01T09:30:00Z", &backup("InProgress"))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "error getting volumesnapshotcontent gone: \
         volumesnapshotcontents.snapshot.storage.k8s.io \"gone\" not found"
    );
}

#[test]
fn cancel_does_nothing() {
    let (cluster, host) = host();
    VolumeSnapshotContentBackup
        .cancel(&host, "c1/2024-05-01T09:30:00Z", &backup("InProgress"))
        .unwrap();
    assert!(cluster.calls().is_empty());
}
