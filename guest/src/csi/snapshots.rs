//! VolumeSnapshot helpers shared by the actions: finding the bound content and waiting for
//! its snapshot handle ([behaviour §3.6](../../../docs/behaviour.md#36-waiting-for-the-snapshot-handle)), and the clean-up routines ([behaviour §3.7](../../../docs/behaviour.md#37-failure-clean-up)).

use std::time::Duration;

use serde_json::{Value, json};

use crate::adapter::imports::{Datetime, Imports, Level};
use crate::model::error::ActionError;
use crate::model::json::str_at;
use crate::model::kube::{Condition, KubeError, cluster_scoped, message, namespaced, resources};

/// The generic wait timeout message (Go's `wait.ErrWaitTimeout`).
pub const WAIT_TIMEOUT: &str = "timed out waiting for the condition";

/// A VolumeSnapshotContent by name.
pub fn content_ref(name: &str) -> crate::model::kube::ObjectRef {
    cluster_scoped(resources::volume_snapshot_contents(), name)
}

/// A VolumeSnapshot by namespace and name.
pub fn snapshot_ref(namespace: &str, name: &str) -> crate::model::kube::ObjectRef {
    namespaced(resources::volume_snapshots(), namespace, name)
}

/// The content bound to `snapshot` as it is known, without waiting ([behaviour §3.6](../../../docs/behaviour.md#36-waiting-for-the-snapshot-handle),
/// non-waiting mode): none when the snapshot has no bound content name; the content even
/// when it has no status or handle yet.
pub fn bound_content(host: &dyn Imports, snapshot: &Value) -> Result<Option<Value>, ActionError> {
    let Some(name) =
        str_at(snapshot, &["status", "boundVolumeSnapshotContentName"]).filter(|n| !n.is_empty())
    else {
        return Ok(None);
    };
    host.get(&content_ref(name))
        .map(Some)
        .map_err(|e| ActionError::kube("error getting volume snapshot content from API", e))
}

/// Waits up to `timeout` until the snapshot `namespace/name` is bound to a content that has
/// a storage snapshot handle, and returns that content ([behaviour §3.6](../../../docs/behaviour.md#36-waiting-for-the-snapshot-handle), waiting mode). A missing
/// snapshot or content ends the wait at once. Only the handle is awaited, not readiness.
pub fn wait_for_handle(
    host: &dyn Imports,
    namespace: &str,
    name: &str,
    timeout: Duration,
) -> Result<Value, ActionError> {
    let started = host.now();
    let bound = host
        .wait_until(
            &snapshot_ref(namespace, name),
            &Condition::FieldPresent("/status/boundVolumeSnapshotContentName".into()),
            timeout,
        )
        .map_err(|e| match e {
            KubeError::Timeout(_) => ActionError::Failed(WAIT_TIMEOUT.to_owned()),
            e => ActionError::kube(
                format!("failed to get volumesnapshot {namespace}/{name}"),
                e,
            ),
        })?
        .unwrap_or_default();
    let content_name = str_at(&bound, &["status", "boundVolumeSnapshotContentName"])
        .unwrap_or_default()
        .to_owned();
    let remaining = timeout.saturating_sub(elapsed(&started, &host.now()));
    let content_error = |e| {
        ActionError::kube(
            format!(
                "failed to get volumesnapshotcontent {content_name} for volumesnapshot {namespace}/{name}"
            ),
            e,
        )
    };
    match host.wait_until(
        &content_ref(&content_name),
        &Condition::FieldPresent("/status/snapshotHandle".into()),
        remaining,
    ) {
        Ok(content) => Ok(content.unwrap_or_default()),
        Err(KubeError::Timeout(_)) => {
            let content = host
                .get(&content_ref(&content_name))
                .map_err(content_error)?;
            match str_at(&content, &["status", "error", "message"]) {
                Some(error) => {
                    host.log(
                        Level::Warn,
                        &format!("VolumeSnapshotContent {content_name} has error: {error}"),
                    );
                    Err(ActionError::Failed(format!(
                        "CSI got timed out with error: {error}"
                    )))
                }
                None => Err(ActionError::Failed(WAIT_TIMEOUT.to_owned())),
            }
        }
        Err(e) => Err(content_error(e)),
    }
}

fn elapsed(from: &Datetime, to: &Datetime) -> Duration {
    let nanos = (i128::from(to.seconds) - i128::from(from.seconds)) * 1_000_000_000
        + i128::from(to.nanos)
        - i128::from(from.nanos);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

/// Sets a content's `spec.deletionPolicy` by merge patch.
pub fn set_deletion_policy(
    host: &dyn Imports,
    content: &str,
    policy: &str,
) -> Result<Value, KubeError> {
    host.merge_patch(
        &content_ref(content),
        &json!({"spec": {"deletionPolicy": policy}}),
    )
}

/// Deletes a snapshot together with its storage snapshot ([behaviour §3.7.1](../../../docs/behaviour.md#371-delete-a-volumesnapshot-with-its-storage-snapshot)): the bound content
/// is switched to `Delete` first. Every failure is only logged: this runs on error paths.
pub fn delete_with_snapshot(host: &dyn Imports, namespace: &str, name: &str) {
    let Ok(snapshot) = host.get(&snapshot_ref(namespace, name)) else {
        return;
    };
    let content =
        str_at(&snapshot, &["status", "boundVolumeSnapshotContentName"]).filter(|n| !n.is_empty());
    if let Some(Err(e)) = content.map(|content| set_deletion_policy(host, content, "Delete")) {
        host.log(
            Level::Debug,
            &format!(
                "failed to set DeletionPolicy on volumesnapshotcontent {}: {}",
                content.unwrap_or_default(),
                message(&e)
            ),
        );
    }
    delete_snapshot_only(host, namespace, name);
}

/// Deletes a snapshot by name only, leaving its content's deletion policy as it is (spec
/// [behaviour §3.7.2](../../../docs/behaviour.md#372-delete-a-volumesnapshot-only)). A failure is only logged.
pub fn delete_snapshot_only(host: &dyn Imports, namespace: &str, name: &str) {
    host.log(
        Level::Info,
        &format!("Deleting Volumesnapshot {namespace}/{name}"),
    );
    if let Err(e) = host.delete(&snapshot_ref(namespace, name)) {
        host.log(
            Level::Info,
            &format!(
                "failed to delete volumesnapshot {namespace}/{name}: {}",
                message(&e)
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::adapter::sim::SimImports;
    use crate::fixtures;
    use crate::model::kube::Kube;
    use sim_cluster::{Cluster, SnapshotPlan};

    fn cluster() -> Arc<Cluster> {
        let cluster = Arc::new(Cluster::new());
        cluster.seed([
            fixtures::snapshot_class(json!({"deletionPolicy": "Retain"})),
            fixtures::volume(json!({})),
            fixtures::claim(json!({"spec": {"resources": {"requests": {"storage": "1Gi"}}}})),
        ]);
        cluster
    }

    fn create_snapshot(host: &SimImports) -> String {
        let vs = host
            .create(
                &resources::volume_snapshots(),
                Some("app"),
                &json!({"metadata": {"generateName": "velero-data-"}, "spec": {"source": {"persistentVolumeClaimName": "data"}, "volumeSnapshotClassName": "snap-default"}}),
            )
            .unwrap();
        crate::model::json::name(&vs).to_owned()
    }

    /// [scenarios §5.13](../../../docs/scenarios.md#513-helper-scenarios), scenario 140.
    #[test]
    fn waits_for_the_handle() {
        let host = SimImports::new(cluster());
        let name = create_snapshot(&host);
        let content = wait_for_handle(&host, "app", &name, Duration::from_secs(600)).unwrap();
        assert!(str_at(&content, &["status", "snapshotHandle"]).is_some());
    }

    /// [scenarios §5.13](../../../docs/scenarios.md#513-helper-scenarios), scenario 141.
    #[test]
    fn a_missing_snapshot_or_content_ends_the_wait() {
        let host = SimImports::new(cluster());
        let error = wait_for_handle(&host, "app", "nope", Duration::from_secs(600)).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("failed to get volumesnapshot app/nope: "),
            "{error}"
        );
        host.cluster().seed([json!({"kind": "VolumeSnapshot", "metadata": {"name": "vs", "namespace": "app"}, "status": {"boundVolumeSnapshotContentName": "c1"}})]);
        let error = wait_for_handle(&host, "app", "vs", Duration::from_secs(600)).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("failed to get volumesnapshotcontent c1 for volumesnapshot app/vs: "),
            "{error}"
        );
    }

    /// [scenarios §5.1](../../../docs/scenarios.md#51-pvc-backup), scenarios 22 and 23.
    #[test]
    fn timeouts_report_the_content_error() {
        let cluster = cluster();
        cluster.set_snapshot_plan(SnapshotPlan {
            never_bind: true,
            ..SnapshotPlan::default()
        });
        let host = SimImports::new(cluster.clone());
        let name = create_snapshot(&host);
        let error = wait_for_handle(&host, "app", &name, Duration::from_secs(12)).unwrap_err();
        assert_eq!(error.to_string(), WAIT_TIMEOUT);

        cluster.set_snapshot_plan(SnapshotPlan {
            content_error: Some("quota exceeded".into()),
            ..SnapshotPlan::default()
        });
        let name = create_snapshot(&host);
        let error = wait_for_handle(&host, "app", &name, Duration::from_secs(12)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "CSI got timed out with error: quota exceeded"
        );
    }

    /// [scenarios §5.13](../../../docs/scenarios.md#513-helper-scenarios), scenarios 142 to 144.
    #[test]
    fn bound_content_without_waiting() {
        let host = SimImports::new(cluster());
        assert!(bound_content(&host, &json!({})).unwrap().is_none());
        assert!(
            bound_content(&host, &json!({"status": {}}))
                .unwrap()
                .is_none()
        );
        let error = bound_content(
            &host,
            &json!({"status": {"boundVolumeSnapshotContentName": "c1"}}),
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("error getting volume snapshot content from API: ")
        );
        host.cluster()
            .seed([json!({"kind": "VolumeSnapshotContent", "metadata": {"name": "c1"}})]);
        let content = bound_content(
            &host,
            &json!({"status": {"boundVolumeSnapshotContentName": "c1"}}),
        )
        .unwrap();
        assert_eq!(content.unwrap()["metadata"]["name"], "c1");
    }

    /// [behaviour §3.7.1](../../../docs/behaviour.md#371-delete-a-volumesnapshot-with-its-storage-snapshot): the storage snapshot goes even with a `Retain` class.
    #[test]
    fn delete_with_snapshot_switches_the_policy_first() {
        let cluster = cluster();
        let host = SimImports::new(cluster.clone());
        let name = create_snapshot(&host);
        wait_for_handle(&host, "app", &name, Duration::from_secs(600)).unwrap();
        delete_with_snapshot(&host, "app", &name);
        assert!(
            cluster
                .objects(&sim_cluster::Gvr::new(
                    "snapshot.storage.k8s.io",
                    "v1",
                    "volumesnapshots"
                ))
                .is_empty()
        );
        assert_eq!(cluster.deleted_snapshots().len(), 1);
    }
}
