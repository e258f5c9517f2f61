//! `velero-csi-wasm.io/pvc-backupper` ([behaviour §8.3](../../../../docs/behaviour.md#83-pvc-backup-velero-csi-wasmiopvc-backupper)).
//!
//! For a bound claim of a CSI volume that [`routing::decide`] gives to the plugin: takes a
//! CSI snapshot through a VolumeSnapshot with a deterministic name, waits until it is ready,
//! records the storage snapshot in the claim's annotations, and removes the VolumeSnapshot
//! and its content again while keeping the storage snapshot (`Retain`), so that nothing but
//! the storage snapshot outlives the call. Any failure after the VolumeSnapshot exists
//! deletes the storage snapshot too.

use std::time::Duration;

use serde_json::{Value, json};

use crate::actions::item_only;
use crate::adapter::imports::{Datetime, Imports, Level};
use crate::bindings::exports::velero::csi::actions::BackupOutput;
use crate::csi::modern::{DELETION_SECRET_NAME, DELETION_SECRET_NAMESPACE, object_name};
use crate::csi::routing;
use crate::csi::snapshot_class;
use crate::csi::snapshots::{content_ref, set_deletion_policy, snapshot_ref};
use crate::csi::volumes;
use crate::model::error::{ActionError, quoted};
use crate::model::item::Item;
use crate::model::json::{annotation, name, str_at};
use crate::model::kube::{Condition, FieldValue, KubeError, ObjectRef, message, resources};
use crate::model::labels::normalize;
use crate::model::velero::Backup;
use crate::registry::BackupItemAction;
use csi_common::keys::modern;

/// How long the clean-up waits for each deleted object to be gone.
pub const DELETION_TIMEOUT: Duration = Duration::from_secs(60);

/// The modern PVC backup action.
pub struct ModernPvcBackup;

/// The VolumeSnapshot the action creates for the claim.
fn new_snapshot(item: &Item, backup: &Backup, name: &str, class: &str) -> Value {
    json!({
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshot",
        "metadata": {
            "name": name,
            "namespace": item.namespace(),
            "labels": {modern::BACKUP_UID: normalize(backup.uid())},
        },
        "spec": {
            "source": {"persistentVolumeClaimName": item.name()},
            "volumeSnapshotClassName": class,
        },
    })
}

fn elapsed(from: &Datetime, to: &Datetime) -> Duration {
    let nanos = (i128::from(to.seconds) - i128::from(from.seconds)) * 1_000_000_000
        + i128::from(to.nanos)
        - i128::from(from.nanos);
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(0))
}

/// Why a snapshot or content is not ready, from its `status.error.message`.
fn status_error(object: &Value) -> Option<&str> {
    str_at(object, &["status", "error", "message"]).filter(|m| !m.is_empty())
}

/// Waits up to `timeout` until the VolumeSnapshot is ready to use and bound to a content with
/// a storage snapshot handle; returns the snapshot and the content.
fn wait_ready(
    host: &dyn Imports,
    namespace: &str,
    name: &str,
    timeout: Duration,
) -> Result<(Value, Value), ActionError> {
    let started = host.now();
    let what = format!("VolumeSnapshot {namespace}/{name}");
    let ready = Condition::FieldEquals(FieldValue {
        pointer: "/status/readyToUse".into(),
        value: "true".into(),
    });
    let snapshot = match host.wait_until(&snapshot_ref(namespace, name), &ready, timeout) {
        Ok(snapshot) => snapshot.unwrap_or_default(),
        Err(KubeError::Timeout(_)) => {
            return Err(ActionError::Failed(format!(
                "timed out after {timeout:?} waiting for {what} to be ready{}",
                not_ready_detail(host, namespace, name)
            )));
        }
        Err(e) => return Err(ActionError::kube(format!("error waiting for {what}"), e)),
    };
    let content_name = str_at(&snapshot, &["status", "boundVolumeSnapshotContentName"])
        .filter(|n| !n.is_empty())
        .ok_or_else(|| {
            ActionError::Failed(format!(
                "{what} is ready but names no VolumeSnapshotContent"
            ))
        })?
        .to_owned();
    let remaining = timeout.saturating_sub(elapsed(&started, &host.now()));
    let handle = Condition::FieldPresent("/status/snapshotHandle".into());
    let content = match host.wait_until(&content_ref(&content_name), &handle, remaining) {
        Ok(content) => content.unwrap_or_default(),
        Err(KubeError::Timeout(_)) => {
            return Err(ActionError::Failed(format!(
                "timed out after {timeout:?} waiting for the snapshot handle of VolumeSnapshotContent {content_name} of {what}"
            )));
        }
        Err(e) => {
            return Err(ActionError::kube(
                format!("error waiting for VolumeSnapshotContent {content_name} of {what}"),
                e,
            ));
        }
    };
    Ok((snapshot, content))
}

/// What the snapshot and its content report after a timed-out wait (`""` when nothing).
fn not_ready_detail(host: &dyn Imports, namespace: &str, name: &str) -> String {
    let Ok(snapshot) = host.get(&snapshot_ref(namespace, name)) else {
        return String::new();
    };
    if let Some(error) = status_error(&snapshot) {
        return format!(": {error}");
    }
    str_at(&snapshot, &["status", "boundVolumeSnapshotContentName"])
        .filter(|n| !n.is_empty())
        .and_then(|content| host.get(&content_ref(content)).ok())
        .and_then(|content| status_error(&content).map(|e| format!(": {e}")))
        .unwrap_or_default()
}

/// Deletes `target` (already gone is fine) and waits until it is gone.
fn delete_and_wait(host: &dyn Imports, target: &ObjectRef, what: &str) -> Result<(), ActionError> {
    match host.delete(target) {
        Ok(()) | Err(KubeError::NotFound(_)) => {}
        Err(e) => return Err(ActionError::kube(format!("error deleting {what}"), e)),
    }
    match host.wait_until(target, &Condition::Deleted, DELETION_TIMEOUT) {
        Ok(_) | Err(KubeError::NotFound(_)) => Ok(()),
        Err(KubeError::Timeout(_)) => Err(ActionError::Failed(format!(
            "{what} is still there {DELETION_TIMEOUT:?} after its deletion"
        ))),
        Err(e) => Err(ActionError::kube(
            format!("error waiting for the deletion of {what}"),
            e,
        )),
    }
}

/// Removes the snapshot objects and keeps the storage snapshot: content to `Retain`, delete
/// the VolumeSnapshot and wait, delete the content and wait.
fn release(
    host: &dyn Imports,
    namespace: &str,
    name: &str,
    content: &str,
) -> Result<(), ActionError> {
    set_deletion_policy(host, content, "Retain").map_err(|e| {
        ActionError::kube(
            format!("error setting deletionPolicy Retain on VolumeSnapshotContent {content}"),
            e,
        )
    })?;
    delete_and_wait(
        host,
        &snapshot_ref(namespace, name),
        &format!("VolumeSnapshot {namespace}/{name}"),
    )?;
    delete_and_wait(
        host,
        &content_ref(content),
        &format!("VolumeSnapshotContent {content}"),
    )
}

/// Error path: deletes the snapshot, its content and the storage snapshot (content to
/// `Delete` first). Failures are logged, not returned.
fn clean_up(host: &dyn Imports, namespace: &str, name: &str, known_content: Option<&str>) {
    let bound = host
        .get(&snapshot_ref(namespace, name))
        .ok()
        .and_then(|vs| {
            str_at(&vs, &["status", "boundVolumeSnapshotContentName"])
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
        });
    let content = bound.or_else(|| known_content.map(str::to_owned));
    let warn = |what: String, error: &KubeError| {
        if !matches!(error, KubeError::NotFound(_)) {
            host.log(
                Level::Warn,
                &format!("clean-up: {what}: {}", message(error)),
            );
        }
    };
    if let Some(content) = &content
        && let Err(e) = set_deletion_policy(host, content, "Delete")
    {
        warn(
            format!("cannot set deletionPolicy Delete on VolumeSnapshotContent {content}"),
            &e,
        );
    }
    if let Err(e) = host.delete(&snapshot_ref(namespace, name)) {
        warn(
            format!("cannot delete VolumeSnapshot {namespace}/{name}"),
            &e,
        );
    }
    if let Some(content) = &content
        && let Err(e) = host.delete(&content_ref(content))
    {
        warn(format!("cannot delete VolumeSnapshotContent {content}"), &e);
    }
    host.log(
        Level::Info,
        &format!(
            "Deleted VolumeSnapshot {namespace}/{name}{} and its storage snapshot after a failure",
            content
                .as_deref()
                .map(|c| format!(" and VolumeSnapshotContent {c}"))
                .unwrap_or_default()
        ),
    );
}

/// What the action records from a ready snapshot.
struct Snapshot {
    handle: String,
    driver: String,
    restore_size: Option<String>,
    deletion_secret: Option<String>,
}

fn read_snapshot(snapshot: &Value, content: &Value, fallback_driver: &str) -> Snapshot {
    let restore_size = str_at(snapshot, &["status", "restoreSize"])
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .or_else(|| {
            content
                .pointer("/status/restoreSize")
                .and_then(Value::as_i64)
                .map(|bytes| bytes.to_string())
        });
    let deletion_secret = match (
        annotation(content, DELETION_SECRET_NAMESPACE),
        annotation(content, DELETION_SECRET_NAME),
    ) {
        (Some(ns), Some(name)) if !ns.is_empty() && !name.is_empty() => {
            Some(format!("{ns}/{name}"))
        }
        _ => None,
    };
    Snapshot {
        handle: str_at(content, &["status", "snapshotHandle"])
            .unwrap_or_default()
            .to_owned(),
        driver: str_at(content, &["spec", "driver"])
            .filter(|d| !d.is_empty())
            .unwrap_or(fallback_driver)
            .to_owned(),
        restore_size,
        deletion_secret,
    }
}

impl BackupItemAction for ModernPvcBackup {
    fn execute(
        &self,
        host: &dyn Imports,
        mut item: Item,
        backup: &Backup,
    ) -> Result<BackupOutput, ActionError> {
        if backup.is_finalizing() {
            return Ok(item_only(item));
        }
        let namespace = item.namespace().to_owned();
        let claim = item.name().to_owned();
        let bound = str_at(item.value(), &["status", "phase"]) == Some("Bound")
            && str_at(item.value(), &["spec", "volumeName"]).is_some_and(|v| !v.is_empty());
        if !bound {
            host.log(
                Level::Info,
                &format!("Modern mode: not snapshotting PVC {namespace}/{claim}: it is not bound"),
            );
            return Ok(item_only(item));
        }
        let pv = volumes::pv_for_pvc(host, item.value())?;
        let Some(driver) = str_at(&pv, &["spec", "csi", "driver"]).map(str::to_owned) else {
            host.log(
                Level::Info,
                &format!(
                    "Modern mode: not snapshotting PVC {namespace}/{claim}: PV {} is not a CSI volume",
                    name(&pv)
                ),
            );
            return Ok(item_only(item));
        };

        let decision = routing::decide_and_log(host, item.value(), &pv, backup)?;
        if !decision.snapshot {
            return Ok(item_only(item));
        }
        if backup.snapshot_move_data() == Some(true) {
            host.log(
                Level::Warn,
                &format!(
                    "Backup {}/{} asks for snapshotMoveData, but modern mode takes plain CSI snapshots only: PVC {namespace}/{claim} gets a CSI snapshot",
                    backup.namespace(),
                    backup.name()
                ),
            );
        }

        let class =
            snapshot_class::volume_snapshot_class_modern(host, &driver, backup, item.value())
                .map_err(|e| {
                    e.wrap(&format!(
                        "cannot choose a VolumeSnapshotClass for PVC {}",
                        quoted(&format!("{namespace}/{claim}"))
                    ))
                })?;
        let class = name(&class).to_owned();

        let snapshot_name = object_name("backup", &[backup.uid(), &namespace, &claim]);
        match host.create(
            &resources::volume_snapshots(),
            Some(&namespace),
            &new_snapshot(&item, backup, &snapshot_name, &class),
        ) {
            Ok(_) => host.log(
                Level::Info,
                &format!("Created VolumeSnapshot {namespace}/{snapshot_name} with class {class}"),
            ),
            Err(KubeError::AlreadyExists(_)) => host.log(
                Level::Info,
                &format!("Reusing VolumeSnapshot {namespace}/{snapshot_name} of an earlier try"),
            ),
            Err(e) => {
                return Err(ActionError::kube(
                    format!("error creating VolumeSnapshot {namespace}/{snapshot_name}"),
                    e,
                ));
            }
        }

        let (snapshot, content) = match wait_ready(
            host,
            &namespace,
            &snapshot_name,
            backup.csi_snapshot_timeout(),
        ) {
            Ok(ready) => ready,
            Err(error) => {
                clean_up(host, &namespace, &snapshot_name, None);
                return Err(error);
            }
        };
        let content_name = name(&content).to_owned();
        let recorded = read_snapshot(&snapshot, &content, &driver);
        if let Err(error) = release(host, &namespace, &snapshot_name, &content_name) {
            clean_up(host, &namespace, &snapshot_name, Some(&content_name));
            return Err(error);
        }
        host.log(
            Level::Info,
            &format!(
                "Snapshot {} of PVC {namespace}/{claim} is ready; VolumeSnapshot {namespace}/{snapshot_name} and VolumeSnapshotContent {content_name} are removed, the storage snapshot is kept",
                recorded.handle
            ),
        );

        item.set_annotation(modern::SNAPSHOT_HANDLE, &recorded.handle);
        item.set_annotation(modern::DRIVER, &recorded.driver);
        item.set_annotation(modern::SNAPSHOT_CLASS, &class);
        if let Some(size) = &recorded.restore_size {
            item.set_annotation(modern::RESTORE_SIZE, size);
        }
        if let Some(secret) = &recorded.deletion_secret {
            item.set_annotation(modern::DELETION_SECRET, secret);
        }
        Ok(item_only(item))
    }
}

#[cfg(test)]
mod tests;
