use crate::bindings::velero::csi::types::ResourceIdentifier;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::adapter::sim::SimImports;
use crate::fixtures;
use sim_cluster::{Cluster, Fault, Gvr, SimError, SnapshotPlan, Verb};

const VS_NAME: &str = "velero-data-abcde";
const OP: &str = "app/velero-data-abcde/2024-05-01T09:30:00Z";

fn snapshots() -> Gvr {
    Gvr::new("snapshot.storage.k8s.io", "v1", "volumesnapshots")
}

fn contents() -> Gvr {
    Gvr::new("snapshot.storage.k8s.io", "v1", "volumesnapshotcontents")
}

/// [scenarios §5.0](../../../../docs/scenarios.md#50-shared-fixtures) Backup B.
fn backup_b() -> Value {
    fixtures::backup_json(json!({}))
}

/// [scenarios §5.3](../../../../docs/scenarios.md#53-volumesnapshot-backup) fixture VS, with a field no Kubernetes version knows.
fn vs() -> Value {
    fixtures::volume_snapshot(json!({"spec": {"futureField": {"kept": true}}}))
}

/// [scenarios §5.3](../../../../docs/scenarios.md#53-volumesnapshot-backup) fixture VSC.
fn vsc() -> Value {
    fixtures::volume_snapshot_content(json!({}))
}

fn with(value: Value, patch: Value) -> Value {
    fixtures::merged(value, patch)
}

struct Run {
    cluster: Arc<Cluster>,
    host: SimImports,
}

impl Run {
    fn new(objects: Vec<Value>) -> Self {
        let cluster = Arc::new(Cluster::new());
        cluster.seed(objects);
        let host = SimImports::new(cluster.clone());
        Self { cluster, host }
    }

    fn execute(&self, item: &Value, backup: &Value) -> Result<BackupOutput, ActionError> {
        let item = Item::parse("item", &item.to_string()).unwrap();
        VolumeSnapshotBackup.execute(&self.host, item, &Backup::from_value(backup.clone()))
    }

    fn progress(&self, operation_id: &str) -> Result<OperationProgress, ActionError> {
        VolumeSnapshotBackup.progress(&self.host, operation_id, &Backup::from_value(backup_b()))
    }

    /// The calls as `verb resource[/namespace]/name`.
    fn calls(&self) -> Vec<String> {
        self.cluster
            .calls()
            .iter()
            .map(|c| {
                let resource = c.resource.split('.').next().unwrap_or_default();
                let namespace = c
                    .namespace
                    .as_deref()
                    .map(|n| format!("{n}/"))
                    .unwrap_or_default();
                format!("{:?} {resource} {namespace}{}", c.verb, c.name).to_lowercase()
            })
            .collect()
    }

    fn body(&self, index: usize) -> Value {
        self.cluster.calls()[index].body.clone().unwrap()
    }

    fn snapshot(&self) -> Option<Value> {
        self.cluster
            .objects(&snapshots())
            .into_iter()
            .find(|s| s["metadata"]["name"] == VS_NAME)
    }

    fn content(&self, name: &str) -> Option<Value> {
        self.cluster
            .objects(&contents())
            .into_iter()
            .find(|s| s["metadata"]["name"] == name)
    }
}

fn parsed(output: &BackupOutput) -> Value {
    serde_json::from_str(&output.item).unwrap()
}

fn ids(items: &[ResourceIdentifier]) -> Vec<String> {
    items
        .iter()
        .map(|i| format!("{} {}/{}", i.resource, i.namespace, i.name))
        .collect()
}

fn full_annotations(size: &str) -> Value {
    json!({
        "velero.io/csi-vsc-deletion-policy": "Delete",
        "velero.io/csi-volumesnapshot-handle": "h1",
        "velero.io/csi-driver-name": "hostpath.csi.k8s.io",
        "velero.io/vsi-volumesnapshot-restore-size": size
    })
}

/// [scenarios §5.3](../../../../docs/scenarios.md#53-volumesnapshot-backup), scenario 37.
#[test]
fn created_by_this_backup_with_a_handle() {
    let run = Run::new(vec![vs(), vsc()]);
    let out = run.execute(&vs(), &backup_b()).unwrap();
    assert_eq!(
        run.calls(),
        [
            "watch volumesnapshots app/velero-data-abcde",
            "watch volumesnapshotcontents c1",
            "patch volumesnapshotcontents c1",
            "patch volumesnapshots app/velero-data-abcde",
        ]
    );
    assert_eq!(
        run.body(2),
        json!({"metadata": {"labels": {"velero.io/backup-name": "b1"}}})
    );
    assert_eq!(
        run.body(3),
        json!({"metadata": {"annotations": full_annotations("10Gi")}})
    );

    let mut expected = vs();
    let mut annotations = full_annotations("10Gi");
    annotations["backup.velero.io/must-include-additional-items"] = json!("true");
    expected["metadata"]["annotations"] = annotations;
    assert_eq!(parsed(&out), expected);
    assert_eq!(
        ids(&out.additional_items),
        [
            "volumesnapshotclasses /snap-default",
            "volumesnapshotcontents /c1"
        ]
    );
    assert!(
        out.additional_items
            .iter()
            .all(|i| i.group == "snapshot.storage.k8s.io")
    );
    assert_eq!(out.operation_id, OP);
    assert_eq!(
        ids(&out.post_operation_items),
        ["volumesnapshots app/velero-data-abcde"]
    );

    assert_eq!(
        run.content("c1").unwrap()["metadata"]["labels"]["velero.io/backup-name"],
        "b1"
    );
    assert_eq!(
        run.snapshot().unwrap()["metadata"]["annotations"],
        full_annotations("10Gi")
    );
    let logs = run.host.logs();
    assert_eq!(
        logs[0],
        (
            Level::Info,
            "Executing VolumeSnapshotBackupItemAction".to_owned()
        )
    );
    assert!(logs.contains(&(
        Level::Info,
        "Returning from VolumeSnapshotBackupItemAction with 2 additionalItems to backup".to_owned()
    )));
    assert!(logs.contains(&(
        Level::Debug,
        "volumesnapshotcontents.snapshot.storage.k8s.io: c1".to_owned()
    )));
    assert!(
        logs.iter()
            .all(|(level, _)| *level != Level::Error && *level != Level::Warn)
    );
}

/// [scenarios §5.3](../../../../docs/scenarios.md#53-volumesnapshot-backup), scenario 38.
#[test]
fn no_restore_size_no_size_annotation() {
    let content = with(vsc(), json!({"status": {"restoreSize": null}}));
    let run = Run::new(vec![vs(), content]);
    let out = run.execute(&vs(), &backup_b()).unwrap();
    let item = parsed(&out);
    let annotations = item["metadata"]["annotations"].as_object().unwrap();
    assert!(!annotations.contains_key("velero.io/vsi-volumesnapshot-restore-size"));
    assert_eq!(annotations["velero.io/csi-volumesnapshot-handle"], "h1");
    assert_eq!(annotations["velero.io/csi-vsc-deletion-policy"], "Delete");
}

/// [scenarios §5.3](../../../../docs/scenarios.md#53-volumesnapshot-backup), scenario 39.
#[test]
fn restore_size_formatting() {
    for (bytes, expected) in [(13_156_352_i64, "12848Ki"), (1536, "1536"), (1000, "1k")] {
        let content = with(vsc(), json!({"status": {"restoreSize": bytes}}));
        let run = Run::new(vec![vs(), content]);
        let out = run.execute(&vs(), &backup_b()).unwrap();
        assert_eq!(
            parsed(&out)["metadata"]["annotations"]["velero.io/vsi-volumesnapshot-restore-size"],
            expected
        );
    }
}

/// [scenarios §5.3](../../../../docs/scenarios.md#53-volumesnapshot-backup), scenario 40.
#[test]
fn foreign_unreconciled_snapshot() {
    let snapshot = with(
        vs(),
        json!({"metadata": {"labels": {"velero.io/backup-name": null}}, "status": null}),
    );
    let run = Run::new(vec![snapshot.clone(), vsc()]);
    let out = run.execute(&snapshot, &backup_b()).unwrap();
    assert_eq!(run.calls(), ["patch volumesnapshots app/velero-data-abcde"]);
    assert_eq!(run.body(0), json!({"metadata": {"annotations": {}}}));
    let mut expected = snapshot;
    expected["metadata"]["annotations"] =
        json!({"backup.velero.io/must-include-additional-items": "true"});
    assert_eq!(parsed(&out), expected);
    assert_eq!(
        ids(&out.additional_items),
        ["volumesnapshotclasses /snap-default"]
    );
    assert!(out.operation_id.is_empty() && out.post_operation_items.is_empty());
}

/// [scenarios §5.3](../../../../docs/scenarios.md#53-volumesnapshot-backup), scenario 41.
#[test]
fn foreign_reconciled_snapshot() {
    let snapshot = with(
        vs(),
        json!({"metadata": {"labels": {"velero.io/backup-name": null}}}),
    );
    let run = Run::new(vec![snapshot.clone(), vsc()]);
    let out = run.execute(&snapshot, &backup_b()).unwrap();
    assert_eq!(
        run.calls(),
        [
            "get volumesnapshotcontents c1",
            "patch volumesnapshots app/velero-data-abcde"
        ]
    );
    assert_eq!(
        run.body(1),
        json!({"metadata": {"annotations": full_annotations("10Gi")}})
    );
    assert_eq!(
        ids(&out.additional_items),
        [
            "volumesnapshotclasses /snap-default",
            "volumesnapshotcontents /c1"
        ]
    );
    assert!(out.operation_id.is_empty());
    assert!(
        run.content("c1").unwrap()["metadata"]
            .get("labels")
            .is_none()
    );
}

/// A snapshot labelled for another backup is foreign too.
#[test]
fn snapshot_of_another_backup_is_foreign() {
    let snapshot = with(
        vs(),
        json!({"metadata": {"labels": {"velero.io/backup-name": "other"}}}),
    );
    let run = Run::new(vec![snapshot.clone(), vsc()]);
    let out = run.execute(&snapshot, &backup_b()).unwrap();
    assert_eq!(run.calls()[0], "get volumesnapshotcontents c1");
    assert!(out.operation_id.is_empty());
}

/// [scenarios §5.3](../../../../docs/scenarios.md#53-volumesnapshot-backup), scenario 42 (*recommended*): the user's VolumeSnapshot is left alone.
#[test]
fn foreign_snapshot_with_missing_content_is_not_deleted() {
    let snapshot = with(
        vs(),
        json!({"metadata": {"labels": {"velero.io/backup-name": null}}, "status": {"boundVolumeSnapshotContentName": "gone"}}),
    );
    let run = Run::new(vec![snapshot.clone()]);
    let error = run.execute(&snapshot, &backup_b()).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("error getting volume snapshot content from API: "),
        "{error}"
    );
    assert_eq!(run.calls(), ["get volumesnapshotcontents gone"]);
    assert!(run.snapshot().is_some());
}

/// [scenarios §5.3](../../../../docs/scenarios.md#53-volumesnapshot-backup), scenario 43: never bound within `csiSnapshotTimeout` → clean-up.
#[test]
fn created_snapshot_never_bound_is_cleaned_up() {
    let snapshot = with(vs(), json!({"status": null}));
    let run = Run::new(vec![snapshot.clone()]);
    let backup = with(backup_b(), json!({"spec": {"csiSnapshotTimeout": "6s"}}));
    let error = run.execute(&snapshot, &backup).unwrap_err();
    assert_eq!(error.to_string(), "timed out waiting for the condition");
    assert_eq!(
        run.calls(),
        [
            "watch volumesnapshots app/velero-data-abcde",
            "get volumesnapshots app/velero-data-abcde",
            "delete volumesnapshots app/velero-data-abcde",
        ]
    );
    assert_eq!(run.cluster.elapsed(), Duration::from_secs(6));
    assert!(run.snapshot().is_none());
}

/// [behaviour §3.7.1](../../../../docs/behaviour.md#371-delete-a-volumesnapshot-with-its-storage-snapshot): a created snapshot whose content is missing is deleted with the content
/// switched to `Delete` first.
#[test]
fn created_snapshot_with_missing_content_is_cleaned_up() {
    let snapshot = with(
        vs(),
        json!({"status": {"boundVolumeSnapshotContentName": "gone"}}),
    );
    let run = Run::new(vec![snapshot.clone()]);
    let error = run.execute(&snapshot, &backup_b()).unwrap_err();
    assert!(
        error.to_string().starts_with(
            "failed to get volumesnapshotcontent gone for volumesnapshot \
             app/velero-data-abcde: "
        ),
        "{error}"
    );
    assert_eq!(
        run.calls(),
        [
            "watch volumesnapshots app/velero-data-abcde",
            "watch volumesnapshotcontents gone",
            "get volumesnapshots app/velero-data-abcde",
            "patch volumesnapshotcontents gone",
            "delete volumesnapshots app/velero-data-abcde",
        ]
    );
    assert!(run.snapshot().is_none());
}

/// [scenarios §5.3](../../../../docs/scenarios.md#53-volumesnapshot-backup), scenario 44.
#[test]
fn failed_annotation_patch_is_an_error() {
    let run = Run::new(vec![vs(), vsc()]);
    run.cluster.inject(Fault {
        verb: Verb::Patch,
        resource: "volumesnapshots".into(),
        name: None,
        error: SimError::Conflict("the object has been modified".into()),
        times: None,
    });
    let error = run.execute(&vs(), &backup_b()).unwrap_err();
    assert_eq!(
        error.to_string(),
        "failed to patch volumesnapshot app/velero-data-abcde: the object has been modified"
    );
    assert!(matches!(
        error,
        ActionError::Kube {
            error: crate::model::kube::KubeError::Conflict(_),
            ..
        }
    ));
    assert!(
        run.host
            .logs()
            .iter()
            .any(|(level, m)| *level == Level::Error
                && m.starts_with(
                    "Fail to patch volumesnapshot with content \
                     {\"metadata\":{\"annotations\":{"
                ))
    );
}

/// [scenarios §5.3](../../../../docs/scenarios.md#53-volumesnapshot-backup), scenario 45.
#[test]
fn failed_content_label_patch_is_only_a_warning() {
    let run = Run::new(vec![vs(), vsc()]);
    run.cluster.inject(Fault {
        verb: Verb::Patch,
        resource: "volumesnapshotcontents".into(),
        name: Some("c1".into()),
        error: SimError::Forbidden("forbidden".into()),
        times: None,
    });
    let out = run.execute(&vs(), &backup_b()).unwrap();
    assert_eq!(out.operation_id, OP);
    assert_eq!(out.additional_items.len(), 2);
    assert!(run.host.logs().contains(&(
        Level::Warn,
        "Failed to patch volumesnapshotcontent c1: forbidden".to_owned()
    )));
    assert_eq!(
        run.snapshot().unwrap()["metadata"]["annotations"],
        full_annotations("10Gi")
    );
}

/// [scenarios §5.3](../../../../docs/scenarios.md#53-volumesnapshot-backup), scenario 46 (*recommended*): no class name, no class item.
#[test]
fn missing_class_name_backs_up_no_class() {
    for class in [Value::Null, json!("")] {
        let snapshot = with(vs(), json!({"spec": {"volumeSnapshotClassName": null}}));
        let mut snapshot = snapshot;
        if !class.is_null() {
            snapshot["spec"]["volumeSnapshotClassName"] = class;
        }
        let run = Run::new(vec![snapshot.clone(), vsc()]);
        let out = run.execute(&snapshot, &backup_b()).unwrap();
        assert_eq!(ids(&out.additional_items), ["volumesnapshotcontents /c1"]);
        assert_eq!(out.operation_id, OP);
    }
}

fn finalizing(timeout: Option<&str>) -> Value {
    let mut backup = with(backup_b(), json!({"status": {"phase": "Finalizing"}}));
    backup["metadata"]["annotations"] = match timeout {
        Some(t) => json!({"velero.io/resource-timeout": t}),
        None => json!({}),
    };
    backup
}

/// [scenarios §5.3](../../../../docs/scenarios.md#53-volumesnapshot-backup), scenario 47.
#[test]
fn finalize_recreates_a_delete_content() {
    let content = with(
        vsc(),
        json!({"metadata": {"uid": "u-1", "labels": {"velero.io/backup-name": "b1"}}}),
    );
    let run = Run::new(vec![vs(), content]);
    let input = vs().to_string();
    let item = Item::parse("item", &input).unwrap();
    let out = VolumeSnapshotBackup
        .execute(&run.host, item, &Backup::from_value(finalizing(Some("1m"))))
        .unwrap();
    assert_eq!(out.item, input, "item must come back unchanged");
    assert!(
        out.additional_items.is_empty()
            && out.operation_id.is_empty()
            && out.post_operation_items.is_empty()
    );
    assert_eq!(
        run.calls(),
        [
            "watch volumesnapshots app/velero-data-abcde",
            "watch volumesnapshotcontents c1",
            "patch volumesnapshotcontents c1",
            "delete volumesnapshots app/velero-data-abcde",
            "delete volumesnapshotcontents c1",
            "watch volumesnapshotcontents c1",
            "create volumesnapshotcontents ",
        ]
    );
    assert_eq!(run.body(2), json!({"spec": {"deletionPolicy": "Retain"}}));
    let created = run.body(6);
    assert_eq!(created["metadata"]["name"], "c1");
    assert_eq!(
        created["metadata"]["labels"],
        json!({"velero.io/backup-name": "b1"})
    );
    assert!(created["metadata"].get("resourceVersion").is_none());
    assert_eq!(created["spec"]["source"], json!({"snapshotHandle": "h1"}));
    assert_eq!(created["spec"]["deletionPolicy"], "Retain");
    assert_eq!(
        created["spec"]["volumeSnapshotRef"],
        json!({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot", "namespace": "ns-u-1", "name": "name-u-1"})
    );
    assert!(run.snapshot().is_none());
    assert_eq!(
        run.content("c1").unwrap()["spec"]["source"],
        json!({"snapshotHandle": "h1"})
    );
    assert!(
        run.host
            .logs()
            .iter()
            .all(|(level, _)| *level != Level::Error && *level != Level::Warn)
    );
}

/// [scenarios §5.3](../../../../docs/scenarios.md#53-volumesnapshot-backup), scenario 48.
#[test]
fn finalize_keeps_a_retain_content() {
    let content = with(vsc(), json!({"spec": {"deletionPolicy": "Retain"}}));
    let run = Run::new(vec![vs(), content.clone()]);
    let out = run.execute(&vs(), &finalizing(Some("10m0s"))).unwrap();
    assert_eq!(out.item, vs().to_string());
    assert_eq!(
        run.calls(),
        [
            "watch volumesnapshots app/velero-data-abcde",
            "watch volumesnapshotcontents c1",
            "delete volumesnapshots app/velero-data-abcde",
        ]
    );
    let kept = run.content("c1").unwrap();
    assert_eq!(kept["spec"], content["spec"]);
}

/// [scenarios §5.3](../../../../docs/scenarios.md#53-volumesnapshot-backup), scenario 49 (*recommended*): no wait, only the VolumeSnapshot goes.
#[test]
fn finalize_of_an_unbound_snapshot_deletes_it_without_waiting() {
    let snapshot = with(
        vs(),
        json!({"status": {"boundVolumeSnapshotContentName": null}}),
    );
    let run = Run::new(vec![snapshot.clone(), vsc()]);
    let out = run.execute(&snapshot, &finalizing(Some("10m0s"))).unwrap();
    assert_eq!(out.item, snapshot.to_string());
    assert_eq!(
        run.calls(),
        ["delete volumesnapshots app/velero-data-abcde"]
    );
    assert_eq!(run.cluster.elapsed(), Duration::ZERO);
    assert!(run.content("c1").is_some());
    assert!(run.host.logs().contains(&(
        Level::Error,
        "VolumeSnapshot app/velero-data-abcde is not ready. This is not expected.".to_owned()
    )));
}

/// [actions §2.2](../../../../docs/actions.md#22-volumesnapshot-backup-veleroiocsi-volumesnapshot-backupper) step 6 (defect): a foreign VolumeSnapshot in finalize without a content.
#[test]
fn finalize_of_a_foreign_unbound_snapshot_does_not_crash() {
    let snapshot = with(
        vs(),
        json!({"metadata": {"labels": {"velero.io/backup-name": null}}, "status": null}),
    );
    let run = Run::new(vec![snapshot.clone()]);
    let out = run.execute(&snapshot, &finalizing(None)).unwrap();
    assert_eq!(out.item, snapshot.to_string());
    assert_eq!(
        run.calls(),
        ["delete volumesnapshots app/velero-data-abcde"]
    );
}

/// [scenarios §5.3](../../../../docs/scenarios.md#53-volumesnapshot-backup), scenario 51.
#[test]
fn long_backup_names_match_normalised() {
    let long = "nightly-backup-of-the-production-cluster-with-a-very-long-name-2024-01";
    let normalised = "nightly-backup-of-the-production-cluster-with-a-very-long9086ae";
    let snapshot = with(
        vs(),
        json!({"metadata": {"labels": {"velero.io/backup-name": normalised}}}),
    );
    let backup = with(backup_b(), json!({"metadata": {"name": long}}));
    let run = Run::new(vec![snapshot.clone(), vsc()]);
    let out = run.execute(&snapshot, &backup).unwrap();
    assert_eq!(out.operation_id, OP);
    assert_eq!(
        run.body(2),
        json!({"metadata": {"labels": {"velero.io/backup-name": normalised}}})
    );
}

/// End to end with the simulated snapshot controller: the wait follows virtual time.
#[test]
fn waits_for_the_controller_to_cut_the_snapshot() {
    let cluster = Arc::new(Cluster::new());
    cluster.seed([
        json!({"kind": "VolumeSnapshotClass", "metadata": {"name": "snap-default"}, "driver": "hostpath.csi.k8s.io", "deletionPolicy": "Delete"}),
        json!({"kind": "PersistentVolume", "metadata": {"name": "pv-1"}, "spec": {"csi": {"driver": "hostpath.csi.k8s.io", "volumeHandle": "v1"}}}),
        json!({"kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "app"},
               "spec": {"volumeName": "pv-1", "resources": {"requests": {"storage": "5Gi"}}}, "status": {"phase": "Bound"}}),
    ]);
    cluster.set_snapshot_plan(SnapshotPlan::default());
    let host = SimImports::new(cluster.clone());
    let created = crate::model::kube::Kube::create(
        &host,
        &crate::model::kube::resources::volume_snapshots(),
        Some("app"),
        &json!({"metadata": {"generateName": "velero-data-", "labels": {"velero.io/backup-name": "b1"}},
                "spec": {"source": {"persistentVolumeClaimName": "data"}, "volumeSnapshotClassName": "snap-default"}}),
    )
    .unwrap();
    let item = Item::parse("item", &created.to_string()).unwrap();
    let out = VolumeSnapshotBackup
        .execute(&host, item, &Backup::from_value(backup_b()))
        .unwrap();
    let annotations = &parsed(&out)["metadata"]["annotations"];
    assert_eq!(
        annotations["velero.io/vsi-volumesnapshot-restore-size"],
        "5Gi"
    );
    assert_eq!(
        annotations["velero.io/csi-volumesnapshot-handle"],
        "snapshot-1"
    );
    assert_eq!(cluster.elapsed(), Duration::from_secs(2));

    // Not ready yet; then ready once the controller says so.
    let progress = VolumeSnapshotBackup
        .progress(&host, &out.operation_id, &Backup::from_value(backup_b()))
        .unwrap();
    assert!(!progress.completed);
    cluster.advance(Duration::from_secs(5));
    let progress = VolumeSnapshotBackup
        .progress(&host, &out.operation_id, &Backup::from_value(backup_b()))
        .unwrap();
    assert!(progress.completed && progress.err.is_empty());
}

/// Unknown fields survive; the input is edited in place.
#[test]
fn unknown_fields_survive() {
    let run = Run::new(vec![vs(), vsc()]);
    let out = run.execute(&vs(), &backup_b()).unwrap();
    assert_eq!(parsed(&out)["spec"]["futureField"], json!({"kept": true}));
}

/// The fixture VS with another status (`Null`: no status at all).
fn ready_vs(status: Value) -> Value {
    let mut snapshot = vs();
    let object = snapshot.as_object_mut().unwrap();
    object.remove("status");
    if !status.is_null() {
        object.insert("status".into(), status);
    }
    snapshot
}

/// [scenarios §5.4](../../../../docs/scenarios.md#54-volumesnapshot-backup-progress-and-cancel), scenario 52.
#[test]
fn progress_ready() {
    let run = Run::new(vec![ready_vs(
        json!({"boundVolumeSnapshotContentName": "c1", "readyToUse": true}),
    )]);
    let progress = run.progress(OP).unwrap();
    assert!(progress.completed && progress.err.is_empty());
    assert_eq!(
        progress.started.unwrap().seconds,
        crate::adapter::sim::FROZEN_NOW
    );
    assert!(progress.updated.is_none());
    assert_eq!(run.calls(), ["get volumesnapshots app/velero-data-abcde"]);
}

/// [scenarios §5.4](../../../../docs/scenarios.md#54-volumesnapshot-backup-progress-and-cancel), scenarios 53 and 54.
#[test]
fn progress_not_ready() {
    let run = Run::new(vec![ready_vs(
        json!({"readyToUse": false, "error": {"message": "temporary"}}),
    )]);
    let progress = run.progress(OP).unwrap();
    assert!(!progress.completed && progress.err.is_empty());
    assert!(progress.started.is_some());
    assert!(
        run.host.logs().contains(&(
            Level::Warn,
            "VolumeSnapshot has a temporary error temporary. Snapshot controller will retry \
             later."
                .to_owned()
        ))
    );

    let run = Run::new(vec![ready_vs(Value::Null)]);
    let progress = run.progress(OP).unwrap();
    assert!(!progress.completed && progress.err.is_empty() && progress.started.is_some());
}

/// [scenarios §5.4](../../../../docs/scenarios.md#54-volumesnapshot-backup-progress-and-cancel), scenario 55.
#[test]
fn progress_of_a_missing_snapshot_fails() {
    let run = Run::new(vec![]);
    let error = run.progress(OP).unwrap_err();
    assert_eq!(
        error.to_string(),
        "error getting volumesnapshot app/velero-data-abcde: \
         volumesnapshots.snapshot.storage.k8s.io \"velero-data-abcde\" not found"
    );
}

/// [scenarios §5.4](../../../../docs/scenarios.md#54-volumesnapshot-backup-progress-and-cancel), scenario 56.
#[test]
fn progress_rejects_malformed_ids() {
    let run = Run::new(vec![]);
    assert_eq!(
        run.progress("").unwrap_err().to_string(),
        "operation ID  is invalid"
    );
    for id in ["app/vs", "a/b/c/d"] {
        let error = run.progress(id).unwrap_err();
        assert!(matches!(error, ActionError::InvalidOperationId(_)));
        assert_eq!(error.to_string(), format!("operation ID {id} is invalid"));
    }
    let error = run.progress("app/vs/yesterday").unwrap_err();
    assert!(
        error.to_string().starts_with("parsing time \"yesterday\""),
        "{error}"
    );
    assert!(run.cluster.calls().is_empty());
    // Offsets are accepted.
    let run = Run::new(vec![ready_vs(json!({"readyToUse": true}))]);
    let progress = run
        .progress("app/velero-data-abcde/2024-05-01T17:30:00+08:00")
        .unwrap();
    assert_eq!(
        progress.started.unwrap().seconds,
        crate::adapter::sim::FROZEN_NOW
    );
}

/// [scenarios §5.4](../../../../docs/scenarios.md#54-volumesnapshot-backup-progress-and-cancel), scenario 57.
#[test]
fn cancel_does_nothing() {
    let run = Run::new(vec![]);
    VolumeSnapshotBackup
        .cancel(&run.host, OP, &Backup::from_value(backup_b()))
        .unwrap();
    assert!(run.cluster.calls().is_empty());
}
