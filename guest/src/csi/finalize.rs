//! Finalize-time removal of a VolumeSnapshot and re-creation of its content ([behaviour §3.8](../../../docs/behaviour.md#38-finalize-pass)).
//!
//! In the backup's finalize pass the VolumeSnapshot BIA detaches the VolumeSnapshot from the
//! cluster while keeping the storage snapshot: a content with policy `Delete` is switched to
//! `Retain`, the VolumeSnapshot is deleted, and the content is deleted and re-created as a
//! statically bound `Retain` content (same name and labels, `spec.source.snapshotHandle`, a
//! `volumeSnapshotRef` to a VolumeSnapshot that never exists), so that deleting the backup
//! later can still find and delete the storage snapshot. Every failure here is only logged,
//! with v0.7.1's messages and levels.

use std::time::Duration;

use serde_json::{Map, Value, json};

use crate::adapter::imports::{Imports, Level};
use crate::csi::snapshots::{WAIT_TIMEOUT, content_ref, set_deletion_policy, snapshot_ref};
use crate::model::json::{self, str_at};
use crate::model::kube::{Condition, KubeError, message, resources};
use crate::model::time::parse_go_duration;
use crate::model::velero::Backup;

/// The Backup annotation holding the deletion wait budget (read through
/// [`Backup::resource_timeout`]; named here only to report an unparsable value).
const RESOURCE_TIMEOUT: &str = "velero.io/resource-timeout";

/// Metadata the API server owns; cleared before the content is created again. v0.7.1
/// clears only `resourceVersion`; the spec recommends clearing the rest too ([behaviour §3.8](../../../docs/behaviour.md#38-finalize-pass) step 4.4).
const SERVER_OWNED_METADATA: [&str; 8] = [
    "resourceVersion",
    "uid",
    "creationTimestamp",
    "managedFields",
    "generation",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
];

/// Removes `snapshot` (the VolumeSnapshot as Velero fetched it at finalize start) from the
/// cluster, keeping its storage snapshot ([behaviour §3.8](../../../docs/behaviour.md#38-finalize-pass)). `content` is its bound content as
/// the VolumeSnapshot BIA found it, if any.
///
/// Without a content (v0.7.1 crashes here, [actions §2.2](../../../docs/actions.md#22-volumesnapshot-backup-veleroiocsi-volumesnapshot-backupper) step 6 (defect)) only the
/// VolumeSnapshot is deleted, as Velero core v1.14 does.
pub fn remove_snapshot(
    host: &dyn Imports,
    snapshot: &Value,
    content: Option<&Value>,
    backup: &Backup,
) {
    let namespace = str_at(snapshot, &["metadata", "namespace"]).unwrap_or_default();
    let name = json::name(snapshot);
    let bound = str_at(snapshot, &["status", "boundVolumeSnapshotContentName"])
        .is_some_and(|n| !n.is_empty());
    if !bound {
        host.log(
            Level::Error,
            &format!("VolumeSnapshot {namespace}/{name} is not ready. This is not expected."),
        );
    } else if content.is_none() {
        host.log(
            Level::Info,
            &format!(
                "No VolumeSnapshotContent found for VolumeSnapshot {namespace}/{name}; deleting \
                 only the VolumeSnapshot"
            ),
        );
    }

    // Switch a `Delete` content to `Retain` first, so that deleting the VolumeSnapshot
    // leaves the content and the storage snapshot in place.
    let retained = match content {
        Some(content)
            if bound && str_at(content, &["spec", "deletionPolicy"]) == Some("Delete") =>
        {
            let content_name = json::name(content);
            host.log(
                Level::Debug,
                &format!("Patching VolumeSnapshotContent {content_name}"),
            );
            match set_deletion_policy(host, content_name, "Retain") {
                Ok(patched) => Some(patched),
                Err(e) => {
                    host.log(
                        Level::Error,
                        &format!(
                            "fail to modify VolumeSnapshotContent {content_name} DeletionPolicy \
                             to Retain: {}",
                            message(&e)
                        ),
                    );
                    return;
                }
            }
        }
        _ => None,
    };

    host.log(
        Level::Debug,
        &format!("Deleting VolumeSnapshot {namespace}/{name}"),
    );
    if let Err(e) = host.delete(&snapshot_ref(namespace, name)) {
        host.log(
            Level::Error,
            &format!(
                "fail to delete VolumeSnapshot {namespace}/{name}: {}",
                message(&e)
            ),
        );
    }

    // Only after the VolumeSnapshot is gone: re-create the content, statically bound.
    if let Some(patched) = retained {
        let content_name = json::name(&patched);
        host.log(
            Level::Debug,
            &format!("Start to recreate VolumeSnapshotContent {content_name}"),
        );
        if let Err(error) = recreate_content(host, &patched, backup) {
            host.log(
                Level::Error,
                &format!("fail to recreate VolumeSnapshotContent {content_name}: {error}"),
            );
        }
    }
}

/// Deletes `content` (the `Retain` content as returned by the policy patch), waits until
/// it is gone, and creates it again from [`static_content`] ([behaviour §3.8](../../../docs/behaviour.md#38-finalize-pass) step 4). The error
/// texts are v0.7.1's.
fn recreate_content(host: &dyn Imports, content: &Value, backup: &Backup) -> Result<(), String> {
    let timeout = deletion_timeout(host, backup);
    let name = json::name(content);
    host.delete(&content_ref(name)).map_err(|e| {
        format!(
            "fail to delete VolumeSnapshotContent: {name}: {}",
            message(&e)
        )
    })?;
    // v0.7.1 polls GET every second until NotFound; a watch sees the deletion at once.
    match host.wait_until(&content_ref(name), &Condition::Deleted, timeout) {
        Ok(_) => {}
        Err(KubeError::Timeout(_)) => {
            return Err(format!(
                "fail to retrieve VolumeSnapshotContent {name} info: {WAIT_TIMEOUT}"
            ));
        }
        Err(e) => {
            return Err(format!(
                "fail to retrieve VolumeSnapshotContent {name} info: failed to get \
                 VolumeSnapshotContent {name}: {}",
                message(&e)
            ));
        }
    }
    host.create(
        &resources::volume_snapshot_contents(),
        None,
        &static_content(content),
    )
    .map_err(|e| {
        format!(
            "fail to create VolumeSnapshotContent {name}: {}",
            message(&e)
        )
    })?;
    Ok(())
}

/// The wait budget for the content's deletion: the Backup's `velero.io/resource-timeout`,
/// 10 minutes when missing or unparsable (with v0.7.1's warning).
fn deletion_timeout(host: &dyn Imports, backup: &Backup) -> Duration {
    let raw = backup.annotation(RESOURCE_TIMEOUT).unwrap_or_default();
    if parse_go_duration(raw).is_none() {
        host.log(
            Level::Warn,
            &format!(
                "fail to parse resource timeout annotation {raw}: time: invalid duration \"{raw}\""
            ),
        );
    }
    let timeout = backup.resource_timeout();
    host.log(
        Level::Debug,
        &format!("resource timeout is set to {}", go_duration(timeout)),
    );
    timeout
}

/// The statically bound `Retain` content that replaces `content` ([behaviour §3.8](../../../docs/behaviour.md#38-finalize-pass) step 4.4).
/// Name, labels (including `velero.io/backup-name`), annotations, finalizers and every
/// other field are kept; server-owned metadata and `status` are dropped (the API server
/// ignores a status in a create, and the snapshot controller fills it in).
pub fn static_content(content: &Value) -> Value {
    let uid = str_at(content, &["metadata", "uid"])
        .unwrap_or_default()
        .to_owned();
    let source = match str_at(content, &["status", "snapshotHandle"]) {
        Some(handle) => json!({ "snapshotHandle": handle }),
        // v0.7.1 crashes on a content without status; one without a handle gets an empty
        // source (upstream test "DeleteVolumeSnapshots", [scenarios §5.13](../../../docs/scenarios.md#513-helper-scenarios) scenario 149).
        None => json!({}),
    };
    let mut object = match content {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    object.remove("status");
    if let Some(Value::Object(metadata)) = object.get_mut("metadata") {
        for key in SERVER_OWNED_METADATA {
            metadata.remove(key);
        }
    }
    let spec = object.entry("spec").or_insert_with(|| json!({}));
    if !spec.is_object() {
        *spec = json!({});
    }
    spec["deletionPolicy"] = json!("Retain");
    spec["source"] = source;
    spec["volumeSnapshotRef"] = json!({
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshot",
        "namespace": format!("ns-{uid}"),
        "name": format!("name-{uid}"),
    });
    Value::Object(object)
}

/// A duration as Go's `time.Duration.String` writes it (`10m0s`, `1h0m0s`, `1.5s`, `500ms`).
fn go_duration(duration: Duration) -> String {
    let nanos = duration.as_nanos();
    if nanos == 0 {
        return "0s".to_owned();
    }
    let fraction = |value: u128, unit: u128, suffix: &str| {
        let whole = value / unit;
        let rest = value % unit;
        if rest == 0 {
            return format!("{whole}{suffix}");
        }
        let width = (unit.ilog10()) as usize;
        let digits = format!("{rest:0width$}");
        format!("{whole}.{}{suffix}", digits.trim_end_matches('0'))
    };
    if nanos < 1_000 {
        return format!("{nanos}ns");
    }
    if nanos < 1_000_000 {
        return fraction(nanos, 1_000, "µs");
    }
    if nanos < 1_000_000_000 {
        return fraction(nanos, 1_000_000, "ms");
    }
    let total_seconds = duration.as_secs();
    let (hours, minutes) = (total_seconds / 3600, total_seconds % 3600 / 60);
    let seconds = fraction(
        u128::from(total_seconds % 60) * 1_000_000_000 + u128::from(duration.subsec_nanos()),
        1_000_000_000,
        "s",
    );
    match (hours, minutes) {
        (0, 0) => seconds,
        (0, m) => format!("{m}m{seconds}"),
        (h, m) => format!("{h}h{m}m{seconds}"),
    }
}

#[cfg(test)]
mod tests;
