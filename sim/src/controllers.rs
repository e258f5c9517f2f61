//! The simulated CSI snapshot controller, CSI driver and provisioner.
//!
//! * A VolumeSnapshot of a claim gets a dynamic VolumeSnapshotContent
//!   (`snapcontent-<vs uid>`, driver and deletion policy from its class) after
//!   `bind_after`, a storage snapshot handle after `handle_after`, and `readyToUse` after
//!   `ready_after`, unless the plan injects a content error or never binds.
//! * A pre-provisioned VolumeSnapshotContent (`source.snapshotHandle`) and a VolumeSnapshot
//!   naming it are bound and ready at once when the storage snapshot exists.
//! * Deleting a VolumeSnapshot deletes its dynamic content when the policy is `Delete`;
//!   deleting a content with policy `Delete` deletes its storage snapshot.
//! * A claim gets a volume after `provision_after`; a claim whose `dataSource` is a ready
//!   VolumeSnapshot gets a volume restored from its storage snapshot.

use std::time::Duration;

use serde_json::{Value, json};

use crate::resources::Gvr;
use crate::store::{Key, State, str_at};

/// How the simulated snapshot controller and provisioner behave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotPlan {
    pub bind_after: Duration,
    pub handle_after: Duration,
    pub ready_after: Duration,
    /// Set on the content (`status.error.message`) instead of a handle.
    pub content_error: Option<String>,
    /// The snapshot is never bound to a content.
    pub never_bind: bool,
    pub provision_after: Duration,
}

impl Default for SnapshotPlan {
    fn default() -> Self {
        Self {
            bind_after: Duration::from_secs(1),
            handle_after: Duration::from_secs(2),
            ready_after: Duration::from_secs(4),
            content_error: None,
            never_bind: false,
            provision_after: Duration::from_secs(1),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) enum Event {
    Bind {
        snapshot: Key,
    },
    Handle {
        content: Key,
        snapshot: Key,
        size: i64,
    },
    Ready {
        content: Key,
        snapshot: Key,
    },
    Provision {
        claim: Key,
    },
}

fn snapshots() -> Gvr {
    Gvr::new("snapshot.storage.k8s.io", "v1", "volumesnapshots")
}
fn contents() -> Gvr {
    Gvr::new("snapshot.storage.k8s.io", "v1", "volumesnapshotcontents")
}
fn classes() -> Gvr {
    Gvr::new("snapshot.storage.k8s.io", "v1", "volumesnapshotclasses")
}
fn claims() -> Gvr {
    Gvr::new("", "v1", "persistentvolumeclaims")
}
fn volumes() -> Gvr {
    Gvr::new("", "v1", "persistentvolumes")
}
fn storage_classes() -> Gvr {
    Gvr::new("storage.k8s.io", "v1", "storageclasses")
}

fn schedule(state: &mut State, after: Duration, event: Event) {
    let at = state.clock.now() + after;
    state.events.push((at, event));
}

/// When the next controller event is due.
pub(crate) fn next_due(state: &State) -> Option<Duration> {
    state.events.iter().map(|(at, _)| *at).min()
}

/// Runs every event due at or before `until`, in time order.
pub(crate) fn run_due(state: &mut State, until: Duration) {
    loop {
        let Some(index) = state
            .events
            .iter()
            .enumerate()
            .filter(|(_, (at, _))| *at <= until)
            .min_by_key(|(_, (at, _))| *at)
            .map(|(i, _)| i)
        else {
            return;
        };
        let (at, event) = state.events.remove(index);
        state.clock.set(at);
        run(state, event);
    }
}

/// Reacts to an object created through the API.
pub(crate) fn on_create(state: &mut State, key: &Key) {
    let (gvr, ..) = key;
    let Some(object) = state.objects.get(key).cloned() else {
        return;
    };
    if *gvr == snapshots() {
        if !str_at(&object, "/spec/source/persistentVolumeClaimName").is_empty() {
            if !state.plan.never_bind {
                let after = state.plan.bind_after;
                schedule(
                    state,
                    after,
                    Event::Bind {
                        snapshot: key.clone(),
                    },
                );
            }
        } else if !str_at(&object, "/spec/source/volumeSnapshotContentName").is_empty() {
            bind_pre_provisioned(state, key);
        }
    } else if *gvr == contents() && !str_at(&object, "/spec/source/snapshotHandle").is_empty() {
        let handle = str_at(&object, "/spec/source/snapshotHandle").to_owned();
        let mut content = object;
        // The snapshot controller guards a content it considers bound (its reference has a
        // UID) with its finalizer; one merely pre-bound to a name gets none.
        if !str_at(&content, "/spec/volumeSnapshotRef/uid").is_empty() {
            content["metadata"]["finalizers"] = json!([CONTENT_FINALIZER]);
        }
        if let Some(size) = state.storage_snapshots.get(&handle).copied() {
            content["status"] =
                json!({"snapshotHandle": handle, "readyToUse": true, "restoreSize": size});
        }
        state.put(key.clone(), content);
    } else if *gvr == claims() {
        let after = state.plan.provision_after;
        schedule(state, after, Event::Provision { claim: key.clone() });
    }
}

/// The snapshot controller's finalizer on a bound content.
const CONTENT_FINALIZER: &str =
    "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection";

/// Whether deleting this content makes the snapshotter call the driver, as
/// external-snapshotter v8 decides for a pre-provisioned content bound by UID: only with the
/// finalizer (else the API server removes it at once) and the being-deleted annotation.
/// Every other content keeps the simulation's simple rule (policy `Delete` deletes).
fn reaches_the_driver(content: &Value) -> bool {
    if str_at(content, "/spec/source/snapshotHandle").is_empty()
        || str_at(content, "/spec/volumeSnapshotRef/uid").is_empty()
    {
        return true;
    }
    let finalized = content
        .pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_some_and(|f| f.iter().any(|f| f == CONTENT_FINALIZER));
    let being_deleted = content
        .pointer(
            "/metadata/annotations/snapshot.storage.kubernetes.io~1volumesnapshot-being-deleted",
        )
        .is_some();
    finalized && being_deleted
}

/// Reacts to an object deleted through the API.
pub(crate) fn on_delete(state: &mut State, key: &Key, object: &Value) {
    let (gvr, ..) = key;
    if *gvr == snapshots() {
        let bound = str_at(object, "/status/boundVolumeSnapshotContentName");
        let content_key = (contents(), String::new(), bound.to_owned());
        let dynamic_and_deletable = state.objects.get(&content_key).is_some_and(|content| {
            str_at(content, "/spec/deletionPolicy") == "Delete"
                && str_at(content, "/spec/volumeSnapshotRef/name")
                    == str_at(object, "/metadata/name")
                && str_at(content, "/spec/volumeSnapshotRef/namespace")
                    == str_at(object, "/metadata/namespace")
        });
        if let Some(content) = dynamic_and_deletable
            .then(|| state.remove(&content_key))
            .flatten()
        {
            on_delete(state, &content_key, &content);
        }
    } else if *gvr == contents()
        && str_at(object, "/spec/deletionPolicy") == "Delete"
        && reaches_the_driver(object)
    {
        let handle = str_at(object, "/status/snapshotHandle").to_owned();
        if state.storage_snapshots.remove(&handle).is_some() {
            state.deleted_snapshots.push(handle);
        }
    } else if gvr.resource == "namespaces" {
        let namespace = str_at(object, "/metadata/name").to_owned();
        let doomed: Vec<Key> = state
            .objects
            .keys()
            .filter(|(_, ns, _)| *ns == namespace)
            .cloned()
            .collect();
        for key in doomed {
            if let Some(object) = state.remove(&key) {
                on_delete(state, &key, &object);
            }
        }
    }
    state
        .events
        .retain(|(_, event)| !event_concerns(event, key));
}

fn event_concerns(event: &Event, key: &Key) -> bool {
    match event {
        Event::Bind { snapshot } => snapshot == key,
        Event::Handle {
            content, snapshot, ..
        }
        | Event::Ready { content, snapshot } => content == key || snapshot == key,
        Event::Provision { claim } => claim == key,
    }
}

fn run(state: &mut State, event: Event) {
    match event {
        Event::Bind { snapshot } => bind(state, &snapshot),
        Event::Handle {
            content,
            snapshot,
            size,
        } => cut_snapshot(state, &content, &snapshot, size),
        Event::Ready { content, snapshot } => make_ready(state, &content, &snapshot),
        Event::Provision { claim } => provision(state, &claim),
    }
}

fn bind(state: &mut State, snapshot_key: &Key) {
    let Some(snapshot) = state.objects.get(snapshot_key).cloned() else {
        return;
    };
    let (_, namespace, name) = snapshot_key;
    let claim_name = str_at(&snapshot, "/spec/source/persistentVolumeClaimName");
    let claim = state
        .objects
        .get(&(claims(), namespace.clone(), claim_name.to_owned()))
        .cloned();
    let volume = claim
        .as_ref()
        .map(|c| str_at(c, "/spec/volumeName").to_owned())
        .and_then(|pv| state.objects.get(&(volumes(), String::new(), pv)).cloned());
    let class_name = str_at(&snapshot, "/spec/volumeSnapshotClassName").to_owned();
    let class = state
        .objects
        .get(&(classes(), String::new(), class_name.clone()))
        .cloned();
    let driver = class
        .as_ref()
        .map(|c| str_at(c, "/driver").to_owned())
        .or_else(|| {
            volume
                .as_ref()
                .map(|v| str_at(v, "/spec/csi/driver").to_owned())
        })
        .unwrap_or_default();
    let policy = class
        .as_ref()
        .map(|c| str_at(c, "/deletionPolicy").to_owned())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| "Delete".to_owned());
    let uid = str_at(&snapshot, "/metadata/uid").to_owned();
    let content_name = format!("snapcontent-{uid}");
    let content = json!({
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshotContent",
        "metadata": {"name": content_name},
        "spec": {
            "deletionPolicy": policy,
            "driver": driver,
            "source": {"volumeHandle": volume.as_ref().map(|v| str_at(v, "/spec/csi/volumeHandle")).unwrap_or_default()},
            "volumeSnapshotClassName": class_name,
            "volumeSnapshotRef": {
                "apiVersion": "snapshot.storage.k8s.io/v1",
                "kind": "VolumeSnapshot",
                "name": name,
                "namespace": namespace,
                "uid": uid
            }
        }
    });
    let content_key = (contents(), String::new(), content_name.clone());
    let content = state.stamp(content, &contents());
    state.objects.insert(content_key.clone(), content);
    let mut snapshot = snapshot;
    snapshot["status"] =
        json!({"boundVolumeSnapshotContentName": content_name, "readyToUse": false});
    state.put(snapshot_key.clone(), snapshot);

    let size = claim
        .as_ref()
        .and_then(|c| parse_bytes(str_at(c, "/spec/resources/requests/storage")))
        .unwrap_or(1 << 30);
    let after = state
        .plan
        .handle_after
        .saturating_sub(state.plan.bind_after);
    schedule(
        state,
        after,
        Event::Handle {
            content: content_key,
            snapshot: snapshot_key.clone(),
            size,
        },
    );
}

fn cut_snapshot(state: &mut State, content_key: &Key, snapshot_key: &Key, size: i64) {
    let Some(mut content) = state.objects.get(content_key).cloned() else {
        return;
    };
    if let Some(message) = state.plan.content_error.clone() {
        content["status"] = json!({"readyToUse": false, "error": {"message": message, "time": state.clock.rfc3339()}});
        state.put(content_key.clone(), content);
        return;
    }
    let handle = format!("snapshot-{}", state.next_handle);
    state.next_handle += 1;
    state.storage_snapshots.insert(handle.clone(), size);
    content["status"] = json!({"snapshotHandle": handle, "restoreSize": size, "readyToUse": false});
    state.put(content_key.clone(), content);
    let after = state
        .plan
        .ready_after
        .saturating_sub(state.plan.handle_after);
    schedule(
        state,
        after,
        Event::Ready {
            content: content_key.clone(),
            snapshot: snapshot_key.clone(),
        },
    );
}

fn make_ready(state: &mut State, content_key: &Key, snapshot_key: &Key) {
    let now = state.clock.rfc3339();
    if let Some(mut content) = state.objects.get(content_key).cloned() {
        content["status"]["readyToUse"] = json!(true);
        content["status"]["creationTime"] = json!(now);
        let size = content["status"]["restoreSize"].clone();
        state.put(content_key.clone(), content);
        if let Some(mut snapshot) = state.objects.get(snapshot_key).cloned() {
            snapshot["status"]["readyToUse"] = json!(true);
            snapshot["status"]["creationTime"] = json!(now);
            snapshot["status"]["restoreSize"] =
                json!(size.as_i64().map(format_bytes).unwrap_or_default());
            state.put(snapshot_key.clone(), snapshot);
        }
    }
}

fn bind_pre_provisioned(state: &mut State, snapshot_key: &Key) {
    let Some(mut snapshot) = state.objects.get(snapshot_key).cloned() else {
        return;
    };
    let content_name = str_at(&snapshot, "/spec/source/volumeSnapshotContentName").to_owned();
    let content_key = (contents(), String::new(), content_name.clone());
    let Some(content) = state.objects.get(&content_key) else {
        return;
    };
    let handle = str_at(content, "/spec/source/snapshotHandle").to_owned();
    let Some(size) = state.storage_snapshots.get(&handle).copied() else {
        return;
    };
    snapshot["status"] = json!({
        "boundVolumeSnapshotContentName": content_name,
        "readyToUse": true,
        "restoreSize": format_bytes(size)
    });
    state.put(snapshot_key.clone(), snapshot);
}

fn provision(state: &mut State, claim_key: &Key) {
    let Some(mut claim) = state.objects.get(claim_key).cloned() else {
        return;
    };
    if !str_at(&claim, "/spec/volumeName").is_empty() {
        return;
    }
    let (_, namespace, name) = claim_key;
    let mut restored_from = None;
    if str_at(&claim, "/spec/dataSource/kind") == "VolumeSnapshot" {
        let snapshot_name = str_at(&claim, "/spec/dataSource/name").to_owned();
        let snapshot = state
            .objects
            .get(&(snapshots(), namespace.clone(), snapshot_name));
        let ready = snapshot.is_some_and(|s| s.pointer("/status/readyToUse") == Some(&json!(true)));
        if !ready {
            schedule(
                state,
                Duration::from_secs(1),
                Event::Provision {
                    claim: claim_key.clone(),
                },
            );
            return;
        }
        let content_name = snapshot
            .map(|s| str_at(s, "/status/boundVolumeSnapshotContentName").to_owned())
            .unwrap_or_default();
        restored_from = state
            .objects
            .get(&(contents(), String::new(), content_name))
            .map(|c| {
                let handle = str_at(c, "/status/snapshotHandle");
                if handle.is_empty() {
                    str_at(c, "/spec/source/snapshotHandle").to_owned()
                } else {
                    handle.to_owned()
                }
            });
    }
    let class_name = str_at(&claim, "/spec/storageClassName").to_owned();
    let provisioner = state
        .objects
        .get(&(storage_classes(), String::new(), class_name.clone()))
        .map(|c| str_at(c, "/provisioner").to_owned())
        .unwrap_or_default();
    let uid = str_at(&claim, "/metadata/uid").to_owned();
    let volume_name = format!("pvc-{uid}");
    let mut annotations = json!({"pv.kubernetes.io/provisioned-by": provisioner});
    if let Some(handle) = &restored_from {
        annotations["sim.velero.io/restored-from-snapshot"] = json!(handle);
    }
    let volume = json!({
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": volume_name, "annotations": annotations},
        "spec": {
            "accessModes": claim.pointer("/spec/accessModes").cloned().unwrap_or(json!(["ReadWriteOnce"])),
            "capacity": {"storage": str_at(&claim, "/spec/resources/requests/storage")},
            "claimRef": {"kind": "PersistentVolumeClaim", "namespace": namespace, "name": name, "uid": uid},
            "csi": {"driver": provisioner, "volumeHandle": format!("volume-{uid}")},
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": class_name
        },
        "status": {"phase": "Bound"}
    });
    let volume_key = (volumes(), String::new(), volume_name.clone());
    let volume = state.stamp(volume, &volumes());
    state.objects.insert(volume_key, volume);
    claim["spec"]["volumeName"] = json!(volume_name);
    claim["status"] = json!({"phase": "Bound"});
    state.put(claim_key.clone(), claim);
}

/// Bytes of a quantity with an optional binary suffix (enough for the simulation).
fn parse_bytes(text: &str) -> Option<i64> {
    let (digits, unit) = text.split_at(
        text.find(|c: char| !c.is_ascii_digit())
            .unwrap_or(text.len()),
    );
    let multiplier = match unit {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        _ => return None,
    };
    digits.parse::<i64>().ok()?.checked_mul(multiplier)
}

fn format_bytes(bytes: i64) -> String {
    for (suffix, unit) in [
        ("Ti", 1_i64 << 40),
        ("Gi", 1 << 30),
        ("Mi", 1 << 20),
        ("Ki", 1 << 10),
    ] {
        if bytes != 0 && bytes % unit == 0 {
            return format!("{}{suffix}", bytes / unit);
        }
    }
    bytes.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Cluster, Condition};

    fn seeded() -> Cluster {
        let cluster = Cluster::new();
        cluster.seed([
            json!({"kind": "StorageClass", "metadata": {"name": "sc-csi"}, "provisioner": "hostpath.csi.k8s.io"}),
            json!({"kind": "VolumeSnapshotClass", "metadata": {"name": "snap-default"}, "driver": "hostpath.csi.k8s.io", "deletionPolicy": "Delete"}),
            json!({"kind": "PersistentVolume", "metadata": {"name": "pv-1"}, "spec": {"csi": {"driver": "hostpath.csi.k8s.io", "volumeHandle": "vol-1"}}}),
            json!({"kind": "PersistentVolumeClaim", "metadata": {"name": "data", "namespace": "app"},
                   "spec": {"volumeName": "pv-1", "storageClassName": "sc-csi", "resources": {"requests": {"storage": "5Gi"}}},
                   "status": {"phase": "Bound"}}),
        ]);
        cluster
    }

    fn snapshot_of_data(cluster: &Cluster) -> Value {
        cluster
            .create(
                &snapshots(),
                Some("app"),
                json!({"metadata": {"generateName": "velero-data-"}, "spec": {"source": {"persistentVolumeClaimName": "data"}, "volumeSnapshotClassName": "snap-default"}}),
            )
            .unwrap()
    }

    #[test]
    fn snapshot_binds_gets_a_handle_then_becomes_ready() {
        let cluster = seeded();
        let vs = snapshot_of_data(&cluster);
        let name = vs["metadata"]["name"].as_str().unwrap().to_owned();
        let bound = cluster
            .wait_until(
                &snapshots(),
                Some("app"),
                &name,
                &Condition::FieldPresent("/status/boundVolumeSnapshotContentName".into()),
                Duration::from_secs(60),
            )
            .unwrap()
            .unwrap();
        assert_eq!(cluster.elapsed(), Duration::from_secs(1));
        let content_name = bound["status"]["boundVolumeSnapshotContentName"]
            .as_str()
            .unwrap()
            .to_owned();
        let content = cluster
            .wait_until(
                &contents(),
                None,
                &content_name,
                &Condition::FieldPresent("/status/snapshotHandle".into()),
                Duration::from_secs(60),
            )
            .unwrap()
            .unwrap();
        assert_eq!(content["status"]["restoreSize"], 5_i64 << 30);
        assert_eq!(content["spec"]["driver"], "hostpath.csi.k8s.io");
        assert_eq!(content["spec"]["deletionPolicy"], "Delete");
        let ready = cluster
            .wait_until(
                &snapshots(),
                Some("app"),
                &name,
                &Condition::FieldEquals("/status/readyToUse".into(), json!(true)),
                Duration::from_secs(60),
            )
            .unwrap()
            .unwrap();
        assert_eq!(ready["status"]["restoreSize"], "5Gi");
        assert_eq!(cluster.elapsed(), Duration::from_secs(4));
        assert_eq!(cluster.storage_snapshots(), ["snapshot-1"]);
    }

    #[test]
    fn waits_time_out_and_report_missing_objects() {
        let cluster = seeded();
        cluster.set_snapshot_plan(SnapshotPlan {
            never_bind: true,
            ..SnapshotPlan::default()
        });
        let vs = snapshot_of_data(&cluster);
        let name = vs["metadata"]["name"].as_str().unwrap();
        let condition = Condition::FieldPresent("/status/boundVolumeSnapshotContentName".into());
        let timeout = cluster.wait_until(
            &snapshots(),
            Some("app"),
            name,
            &condition,
            Duration::from_secs(12),
        );
        assert!(matches!(timeout, Err(crate::SimError::Timeout(_))));
        assert_eq!(cluster.elapsed(), Duration::from_secs(12));
        let missing = cluster.wait_until(
            &snapshots(),
            Some("app"),
            "nope",
            &condition,
            Duration::from_secs(12),
        );
        assert!(matches!(missing, Err(crate::SimError::NotFound(_))));
    }

    #[test]
    fn content_errors_replace_the_handle() {
        let cluster = seeded();
        cluster.set_snapshot_plan(SnapshotPlan {
            content_error: Some("quota exceeded".into()),
            ..SnapshotPlan::default()
        });
        snapshot_of_data(&cluster);
        cluster.advance(Duration::from_secs(10));
        let content = &cluster.objects(&contents())[0];
        assert_eq!(content["status"]["error"]["message"], "quota exceeded");
        assert!(content["status"].get("snapshotHandle").is_none());
    }

    #[test]
    fn deleting_a_snapshot_with_policy_delete_removes_content_and_storage() {
        let cluster = seeded();
        let vs = snapshot_of_data(&cluster);
        cluster.advance(Duration::from_secs(5));
        cluster
            .delete(
                &snapshots(),
                Some("app"),
                vs["metadata"]["name"].as_str().unwrap(),
            )
            .unwrap();
        assert!(cluster.objects(&contents()).is_empty());
        assert_eq!(cluster.deleted_snapshots(), ["snapshot-1"]);
    }

    #[test]
    fn a_content_bound_by_uid_reaches_the_driver_only_when_marked_as_being_deleted() {
        for (annotations, deleted) in [
            (json!({}), false),
            (
                json!({"snapshot.storage.kubernetes.io/volumesnapshot-being-deleted": "yes"}),
                true,
            ),
        ] {
            let cluster = seeded();
            snapshot_of_data(&cluster);
            cluster.advance(Duration::from_secs(5));
            let handle = cluster.storage_snapshots()[0].clone();
            let content = json!({"metadata": {"name": "temp", "annotations": annotations},
                "spec": {"deletionPolicy": "Delete", "driver": "hostpath.csi.k8s.io",
                         "source": {"snapshotHandle": handle},
                         "volumeSnapshotRef": {"namespace": "x", "name": "absent", "uid": "u-1"}}});
            let created = cluster.create(&contents(), None, content).unwrap();
            assert_eq!(
                created["metadata"]["finalizers"],
                json!([CONTENT_FINALIZER]),
                "{created}"
            );
            cluster.delete(&contents(), None, "temp").unwrap();
            assert_eq!(cluster.deleted_snapshots() == [handle.clone()], deleted);
        }
    }

    #[test]
    fn claims_restore_from_a_ready_snapshot() {
        let cluster = seeded();
        let vs = snapshot_of_data(&cluster);
        cluster.advance(Duration::from_secs(5));
        let claim = json!({"metadata": {"name": "restored", "namespace": "app"},
            "spec": {"storageClassName": "sc-csi", "resources": {"requests": {"storage": "5Gi"}},
                     "dataSource": {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": vs["metadata"]["name"]}}});
        cluster.create(&claims(), Some("app"), claim).unwrap();
        let bound = cluster
            .wait_until(
                &claims(),
                Some("app"),
                "restored",
                &Condition::FieldEquals("/status/phase".into(), json!("Bound")),
                Duration::from_secs(30),
            )
            .unwrap()
            .unwrap();
        let volume = cluster
            .get(
                &volumes(),
                None,
                bound["spec"]["volumeName"].as_str().unwrap(),
            )
            .unwrap();
        assert_eq!(
            volume["metadata"]["annotations"]["sim.velero.io/restored-from-snapshot"],
            "snapshot-1"
        );
    }
}
