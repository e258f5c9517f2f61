use std::cell::RefCell;
use std::sync::Arc;

use super::*;
use crate::adapter::sim::SimImports;
use crate::model::kube::{ApiResource, Kube, ObjectRef};
use sim_cluster::{Cluster, Fault, Gvr, SimError, Verb};

fn contents() -> Gvr {
    Gvr::new("snapshot.storage.k8s.io", "v1", "volumesnapshotcontents")
}

fn snapshots() -> Gvr {
    Gvr::new("snapshot.storage.k8s.io", "v1", "volumesnapshots")
}

fn backup(annotations: Value) -> Backup {
    Backup::from_value(json!({
        "metadata": {"namespace": "velero", "name": "b1", "annotations": annotations},
        "status": {"phase": "Finalizing"}
    }))
}

/// The upstream "DeleteVolumeSnapshots" fixtures: VS `velero/vs1` bound to `vsc1`.
fn vs1(status: Value) -> Value {
    json!({
        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
        "metadata": {"namespace": "velero", "name": "vs1"},
        "spec": {"source": {"persistentVolumeClaimName": "pvc1"}},
        "status": status
    })
}

fn vsc1(uid: &str) -> Value {
    json!({
        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotContent",
        "metadata": {"name": "vsc1", "uid": uid},
        "spec": {
            "deletionPolicy": "Delete",
            "volumeSnapshotRef": {"namespace": "velero", "name": "vs1"}
        },
        "status": {}
    })
}

fn seeded(snapshot: &Value, content: &Value) -> (Arc<Cluster>, SimImports) {
    let cluster = Arc::new(Cluster::new());
    cluster.seed([snapshot.clone(), content.clone()]);
    let host = SimImports::new(cluster.clone());
    (cluster, host)
}

fn verbs(cluster: &Cluster) -> Vec<(Verb, String)> {
    cluster
        .calls()
        .into_iter()
        .map(|c| {
            (
                c.verb,
                format!(
                    "{}/{}",
                    c.resource.split('.').next().unwrap_or_default(),
                    c.name
                ),
            )
        })
        .collect()
}

/// [scenarios §5.13](../../../../docs/scenarios.md#513-helper-scenarios), scenario 149.
#[test]
fn delete_policy_content_is_recreated_static() {
    let snapshot = vs1(json!({"boundVolumeSnapshotContentName": "vsc1"}));
    let content = vsc1("");
    let (cluster, host) = seeded(&snapshot, &content);
    remove_snapshot(
        &host,
        &snapshot,
        Some(&content),
        &backup(json!({"velero.io/resource-timeout": "10m0s"})),
    );

    assert!(cluster.objects(&snapshots()).is_empty());
    let remaining = cluster.objects(&contents());
    assert_eq!(remaining.len(), 1);
    assert_eq!(
        remaining[0]["spec"],
        json!({
            "deletionPolicy": "Retain",
            "volumeSnapshotRef": {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot", "namespace": "ns-", "name": "name-"},
            "source": {}
        })
    );
    assert_eq!(
        verbs(&cluster),
        [
            (Verb::Patch, "volumesnapshotcontents/vsc1".to_owned()),
            (Verb::Delete, "volumesnapshots/vs1".to_owned()),
            (Verb::Delete, "volumesnapshotcontents/vsc1".to_owned()),
            (Verb::Watch, "volumesnapshotcontents/vsc1".to_owned()),
            (Verb::Create, "volumesnapshotcontents/".to_owned()),
        ]
    );
    let calls = cluster.calls();
    assert_eq!(
        calls[0].body,
        Some(json!({"spec": {"deletionPolicy": "Retain"}}))
    );
    assert!(
        host.logs().iter().all(|(level, _)| *level != Level::Error),
        "{:?}",
        host.logs()
    );
}

/// [scenarios §5.13](../../../../docs/scenarios.md#513-helper-scenarios), scenario 150: running the removal twice ends in the same state. (The
/// simulated API server gives the re-created content a fresh uid, which the second run
/// then writes into the reference; upstream's fake keeps the empty uid.)
#[test]
fn running_twice_ends_in_the_same_state() {
    let snapshot = vs1(json!({"boundVolumeSnapshotContentName": "vsc1"}));
    let content = vsc1("");
    let (cluster, host) = seeded(&snapshot, &content);
    let backup = backup(json!({"velero.io/resource-timeout": "10m0s"}));
    remove_snapshot(&host, &snapshot, Some(&content), &backup);
    remove_snapshot(&host, &snapshot, Some(&content), &backup);

    assert!(cluster.objects(&snapshots()).is_empty());
    let remaining = cluster.objects(&contents());
    assert_eq!(remaining.len(), 1);
    let spec = &remaining[0]["spec"];
    assert_eq!(spec["deletionPolicy"], "Retain");
    assert_eq!(spec["source"], json!({}));
    assert_eq!(spec["volumeSnapshotRef"]["kind"], "VolumeSnapshot");
    let ref_namespace = spec["volumeSnapshotRef"]["namespace"].as_str().unwrap();
    assert!(ref_namespace.starts_with("ns-"), "{ref_namespace}");
    // The second run finds no VolumeSnapshot to delete: logged, nothing else.
    assert!(host.logs().iter().any(|(level, m)| *level == Level::Error
        && m.starts_with("fail to delete VolumeSnapshot velero/vs1: ")));
}

/// [scenarios §5.13](../../../../docs/scenarios.md#513-helper-scenarios), scenario 151.
#[test]
fn snapshot_without_status_deletes_only_the_snapshot() {
    let snapshot = vs1(Value::Null);
    let snapshot = {
        let mut s = snapshot;
        s.as_object_mut().unwrap().remove("status");
        s
    };
    let content = vsc1("u-1");
    let (cluster, host) = seeded(&snapshot, &content);
    remove_snapshot(&host, &snapshot, Some(&content), &backup(json!({})));

    assert!(cluster.objects(&snapshots()).is_empty());
    let remaining = cluster.objects(&contents());
    assert_eq!(remaining.len(), 1);
    assert_eq!(remaining[0]["spec"]["deletionPolicy"], "Delete");
    assert_eq!(
        remaining[0]["spec"]["volumeSnapshotRef"],
        json!({"namespace": "velero", "name": "vs1"})
    );
    assert_eq!(
        verbs(&cluster),
        [(Verb::Delete, "volumesnapshots/vs1".to_owned())]
    );
    assert!(host.logs().contains(&(
        Level::Error,
        "VolumeSnapshot velero/vs1 is not ready. This is not expected.".to_owned()
    )));
}

/// [behaviour §3.8](../../../../docs/behaviour.md#38-finalize-pass): a `Retain` content is left as it is; only the VolumeSnapshot goes.
#[test]
fn retain_policy_content_is_untouched() {
    let snapshot = vs1(json!({"boundVolumeSnapshotContentName": "vsc1"}));
    let mut content = vsc1("u-1");
    content["spec"]["deletionPolicy"] = json!("Retain");
    let (cluster, host) = seeded(&snapshot, &content);
    remove_snapshot(&host, &snapshot, Some(&content), &backup(json!({})));
    assert_eq!(
        verbs(&cluster),
        [(Verb::Delete, "volumesnapshots/vs1".to_owned())]
    );
    assert_eq!(
        cluster.objects(&contents())[0]["spec"]["deletionPolicy"],
        "Retain"
    );
}

/// [actions §2.2](../../../../docs/actions.md#22-volumesnapshot-backup-veleroiocsi-volumesnapshot-backupper) step 6 (defect): no content → only the VolumeSnapshot is deleted.
#[test]
fn missing_content_deletes_only_the_snapshot() {
    let snapshot = vs1(json!({"boundVolumeSnapshotContentName": "vsc1"}));
    let (cluster, host) = seeded(&snapshot, &vsc1("u-1"));
    remove_snapshot(&host, &snapshot, None, &backup(json!({})));
    assert_eq!(
        verbs(&cluster),
        [(Verb::Delete, "volumesnapshots/vs1".to_owned())]
    );
    assert!(host.logs().iter().all(|(level, _)| *level != Level::Error));
}

/// [behaviour §3.8](../../../../docs/behaviour.md#38-finalize-pass) step 2: a failed policy patch stops everything.
#[test]
fn failed_retain_patch_deletes_nothing() {
    let snapshot = vs1(json!({"boundVolumeSnapshotContentName": "vsc1"}));
    let content = vsc1("u-1");
    let (cluster, host) = seeded(&snapshot, &content);
    cluster.inject(Fault {
        verb: Verb::Patch,
        resource: "volumesnapshotcontents".into(),
        name: None,
        error: SimError::Forbidden("forbidden".into()),
        times: None,
    });
    remove_snapshot(&host, &snapshot, Some(&content), &backup(json!({})));
    assert_eq!(
        verbs(&cluster),
        [(Verb::Patch, "volumesnapshotcontents/vsc1".to_owned())]
    );
    assert_eq!(cluster.objects(&snapshots()).len(), 1);
    assert!(host.logs().contains(&(
        Level::Error,
        "fail to modify VolumeSnapshotContent vsc1 DeletionPolicy to Retain: forbidden".to_owned()
    )));
}

/// [behaviour §3.8](../../../../docs/behaviour.md#38-finalize-pass) step 4.2: a failed content deletion is logged and nothing is created.
#[test]
fn failed_content_delete_is_logged() {
    let snapshot = vs1(json!({"boundVolumeSnapshotContentName": "vsc1"}));
    let content = vsc1("u-1");
    let (cluster, host) = seeded(&snapshot, &content);
    cluster.inject(Fault {
        verb: Verb::Delete,
        resource: "volumesnapshotcontents".into(),
        name: None,
        error: SimError::Forbidden("no".into()),
        times: None,
    });
    remove_snapshot(&host, &snapshot, Some(&content), &backup(json!({})));
    assert!(
        host.logs().contains(&(
            Level::Error,
            "fail to recreate VolumeSnapshotContent vsc1: fail to delete \
             VolumeSnapshotContent: vsc1: no"
                .to_owned()
        ))
    );
    assert!(!cluster.calls().iter().any(|c| c.verb == Verb::Create));
    // The content stays, now `Retain`: the storage snapshot is kept.
    assert_eq!(
        cluster.objects(&contents())[0]["spec"]["deletionPolicy"],
        "Retain"
    );
}

/// The re-created content keeps what it had, drops server-owned metadata and status.
#[test]
fn static_content_keeps_labels_and_unknown_fields() {
    let content = json!({
        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotContent",
        "metadata": {"name": "c1", "uid": "u-1", "resourceVersion": "7", "generation": 2,
                     "creationTimestamp": "2024-05-01T09:30:00Z", "managedFields": [],
                     "labels": {"velero.io/backup-name": "b1"}, "annotations": {"a": "b"},
                     "finalizers": ["snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection"]},
        "spec": {"deletionPolicy": "Retain", "driver": "hostpath.csi.k8s.io",
                 "source": {"volumeHandle": "volume-1"}, "sourceVolumeMode": "Filesystem",
                 "volumeSnapshotClassName": "snap-default",
                 "volumeSnapshotRef": {"kind": "VolumeSnapshot", "namespace": "app", "name": "vs", "uid": "x", "resourceVersion": "3"}},
        "status": {"snapshotHandle": "h1", "restoreSize": 10}
    });
    let created = static_content(&content);
    assert_eq!(
        created,
        json!({
            "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotContent",
            "metadata": {"name": "c1", "labels": {"velero.io/backup-name": "b1"}, "annotations": {"a": "b"},
                         "finalizers": ["snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection"]},
            "spec": {"deletionPolicy": "Retain", "driver": "hostpath.csi.k8s.io",
                     "source": {"snapshotHandle": "h1"}, "sourceVolumeMode": "Filesystem",
                     "volumeSnapshotClassName": "snap-default",
                     "volumeSnapshotRef": {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot", "namespace": "ns-u-1", "name": "name-u-1"}}
        })
    );
}

/// A host that records the budget of every wait, over the simulated cluster.
struct RecordingHost {
    inner: SimImports,
    waits: RefCell<Vec<Duration>>,
}

impl Kube for RecordingHost {
    fn get(&self, target: &ObjectRef) -> Result<Value, KubeError> {
        self.inner.get(target)
    }
    fn list(
        &self,
        api: &ApiResource,
        namespace: Option<&str>,
        selector: Option<&str>,
    ) -> Result<Vec<Value>, KubeError> {
        self.inner.list(api, namespace, selector)
    }
    fn create(
        &self,
        api: &ApiResource,
        namespace: Option<&str>,
        object: &Value,
    ) -> Result<Value, KubeError> {
        self.inner.create(api, namespace, object)
    }
    fn merge_patch(&self, target: &ObjectRef, patch: &Value) -> Result<Value, KubeError> {
        self.inner.merge_patch(target, patch)
    }
    fn delete(&self, target: &ObjectRef) -> Result<(), KubeError> {
        self.inner.delete(target)
    }
    fn wait_until(
        &self,
        target: &ObjectRef,
        condition: &Condition,
        timeout: Duration,
    ) -> Result<Option<Value>, KubeError> {
        assert_eq!(*condition, Condition::Deleted);
        self.waits.borrow_mut().push(timeout);
        self.inner.wait_until(target, condition, timeout)
    }
}

impl Imports for RecordingHost {
    fn log(&self, level: Level, message: &str) {
        self.inner.log(level, message);
    }
    fn now(&self) -> crate::adapter::imports::Datetime {
        self.inner.now()
    }
    fn settings(&self) -> crate::adapter::imports::ServerSettings {
        self.inner.settings()
    }
}

fn wait_budget(annotations: Value) -> (Duration, Vec<(Level, String)>) {
    let snapshot = vs1(json!({"boundVolumeSnapshotContentName": "vsc1"}));
    let content = vsc1("u-1");
    let (_, inner) = seeded(&snapshot, &content);
    let host = RecordingHost {
        inner,
        waits: RefCell::new(Vec::new()),
    };
    remove_snapshot(&host, &snapshot, Some(&content), &backup(annotations));
    let waits = host.waits.borrow().clone();
    assert_eq!(waits.len(), 1);
    (waits[0], host.inner.logs())
}

/// [scenarios §5.3](../../../../docs/scenarios.md#53-volumesnapshot-backup), scenarios 47 and 50: the deletion wait budget.
#[test]
fn deletion_wait_budget_comes_from_the_resource_timeout() {
    let (budget, logs) = wait_budget(json!({"velero.io/resource-timeout": "1m"}));
    assert_eq!(budget, Duration::from_secs(60));
    assert!(logs.contains(&(Level::Debug, "resource timeout is set to 1m0s".to_owned())));
    assert!(logs.iter().all(|(level, _)| *level != Level::Warn));

    let (budget, logs) = wait_budget(json!({}));
    assert_eq!(budget, Duration::from_secs(600));
    assert!(logs.contains(&(
        Level::Warn,
        "fail to parse resource timeout annotation : time: invalid duration \"\"".to_owned()
    )));

    let (budget, logs) = wait_budget(json!({"velero.io/resource-timeout": "abc"}));
    assert_eq!(budget, Duration::from_secs(600));
    assert!(logs.contains(&(
        Level::Warn,
        "fail to parse resource timeout annotation abc: time: invalid duration \"abc\"".to_owned()
    )));
    assert!(logs.contains(&(Level::Debug, "resource timeout is set to 10m0s".to_owned())));
}

#[test]
fn go_duration_strings() {
    for (duration, expected) in [
        (Duration::ZERO, "0s"),
        (Duration::from_secs(600), "10m0s"),
        (Duration::from_secs(3600), "1h0m0s"),
        (Duration::from_secs(3723), "1h2m3s"),
        (Duration::from_millis(1500), "1.5s"),
        (Duration::from_millis(500), "500ms"),
        (Duration::from_micros(1500), "1.5ms"),
        (Duration::from_nanos(1500), "1.5µs"),
        (Duration::from_nanos(15), "15ns"),
        (Duration::from_secs(30), "30s"),
    ] {
        assert_eq!(go_duration(duration), expected);
    }
}
