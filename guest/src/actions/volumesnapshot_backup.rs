//! `velero.io/csi-volumesnapshot-backupper` ([actions §2.2](../../../docs/actions.md#22-volumesnapshot-backup-veleroiocsi-volumesnapshot-backupper)).
//!
//! Makes sure a VolumeSnapshot has a bound VolumeSnapshotContent with a storage snapshot
//! handle, records what restore needs (handle, driver, size, deletion policy) as
//! annotations on the VolumeSnapshot (in the cluster and in the backed-up copy), and pulls
//! in the class and the content. For snapshots created by this backup it waits for the
//! handle, labels the content with the backup, and starts an operation that Progress
//! tracks until the snapshot is ready. In the finalize pass it removes the VolumeSnapshot
//! from the cluster and keeps the storage snapshot ([`crate::csi::finalize`]).
//!
//! Deviations from v0.7.1 (each marked where it happens):
//! * no VolumeSnapshotClass additional item when the class name is absent or empty
//!   (v0.7.1 crashes; [actions §2.2](../../../docs/actions.md#22-volumesnapshot-backup-veleroiocsi-volumesnapshot-backupper) step 3 (defect));
//! * a failed content lookup deletes the VolumeSnapshot (and its storage snapshot) only
//!   when this backup created it: a VolumeSnapshot the user made is never deleted (spec
//!   [behaviour §7 L15](../../../docs/behaviour.md#l15-user-owned-volumesnapshots-are-changed-and-can-be-deleted), scenario 42 *recommended*);
//! * in the finalize pass, a VolumeSnapshot without a bound content is not waited for and
//!   is deleted alone; the same when no content is found (v0.7.1 waits until the timeout or
//!   crashes; [actions §2.2](../../../docs/actions.md#22-volumesnapshot-backup-veleroiocsi-volumesnapshot-backupper) step 6 (defect), scenario 49 *recommended*);
//! * the annotation patch is built with a JSON encoder ([behaviour §7 L20](../../../docs/behaviour.md#l20-hand-built-json-patch));
//! * the handle wait is a watch, not a 5-second poll ([behaviour §7 L1](../../../docs/behaviour.md#l1-blocking-waits); [`crate::csi::snapshots`]);
//! * API errors that v0.7.1 returns bare carry a context naming the call.

use serde_json::{Map, Value, json};

use crate::adapter::imports::{Imports, Level};
use crate::bindings::exports::velero::csi::actions::{BackupOutput, OperationProgress};
use crate::csi::datamover::no_progress;
use crate::csi::finalize;
use crate::csi::snapshots::{
    bound_content, content_ref, delete_with_snapshot, snapshot_ref, wait_for_handle,
};
use crate::model::error::{ActionError, clipped};
use crate::model::item::Item;
use crate::model::json::{bool_at, i64_at, str_at};
use crate::model::kube::message;
use crate::model::labels::normalize;
use crate::model::quantity::format_bytes;
use crate::model::time::{format_rfc3339, parse_rfc3339};
use crate::model::velero::Backup;
use crate::registry::{BackupItemAction, identifier};
use csi_common::keys;

/// API group of the snapshot resources.
const SNAPSHOT_GROUP: &str = "snapshot.storage.k8s.io";

/// The VolumeSnapshot backup action.
pub struct VolumeSnapshotBackup;

/// Whether `status.boundVolumeSnapshotContentName` is set and not empty.
fn has_bound_content(snapshot: &Item) -> bool {
    snapshot
        .pointer("/status/boundVolumeSnapshotContentName")
        .and_then(Value::as_str)
        .is_some_and(|name| !name.is_empty())
}

impl BackupItemAction for VolumeSnapshotBackup {
    fn execute(
        &self,
        host: &dyn Imports,
        mut item: Item,
        backup: &Backup,
    ) -> Result<BackupOutput, ActionError> {
        host.log(Level::Info, "Executing VolumeSnapshotBackupItemAction");
        let namespace = item.namespace().to_owned();
        let name = item.name().to_owned();

        let mut additional_items = Vec::new();
        // v0.7.1 dereferences the class name unchecked and crashes without one ([actions §2.2](../../../docs/actions.md#22-volumesnapshot-backup-veleroiocsi-volumesnapshot-backupper)
        // step 3 (defect)); the recommended fix backs up no class in that case.
        match item
            .pointer("/spec/volumeSnapshotClassName")
            .and_then(Value::as_str)
            .filter(|c| !c.is_empty())
        {
            Some(class) => additional_items.push(identifier(
                SNAPSHOT_GROUP,
                "volumesnapshotclasses",
                "",
                class,
            )),
            None => host.log(
                Level::Info,
                &format!(
                    "Volumesnapshot {namespace}/{name} has no volumeSnapshotClassName: no \
                     VolumeSnapshotClass to back up"
                ),
            ),
        }

        // "Created by this backup" ([behaviour §3.14.3](../../../docs/behaviour.md#3143-belonging-to-a-backup)): the label Velero's PVC action sets.
        let backup_label = normalize(backup.name());
        let created_by_backup = item.label(keys::BACKUP_NAME) == Some(backup_label.as_str());

        host.log(
            Level::Info,
            &format!("Getting VolumesnapshotContent for Volumesnapshot {namespace}/{name}"),
        );
        let finalizing = backup.is_finalizing();
        let lookup = if finalizing && !has_bound_content(&item) {
            // Finalize pass with an unbound VolumeSnapshot: v0.7.1 waits for the handle until
            // the timeout and then fails (or crashes for a snapshot it did not create). The
            // recommended behaviour (scenario 49, core v1.17) skips the wait and deletes only
            // the VolumeSnapshot, below.
            Ok(None)
        } else if created_by_backup {
            wait_for_handle(host, &namespace, &name, backup.csi_snapshot_timeout()).map(Some)
        } else {
            bound_content(host, item.value())
        };
        let content = match lookup {
            Ok(content) => content,
            Err(error) => {
                if created_by_backup {
                    delete_with_snapshot(host, &namespace, &name);
                } else {
                    // v0.7.1 also runs the clean-up for a VolumeSnapshot it did not create: it
                    // switches the user's content to `Delete` and deletes the user's
                    // VolumeSnapshot, losing the storage snapshot. [behaviour §7 L15](../../../docs/behaviour.md#l15-user-owned-volumesnapshots-are-changed-and-can-be-deleted) and scenario 42
                    // (*recommended*): never write to objects not labelled for this backup.
                    host.log(
                        Level::Info,
                        &format!(
                            "Volumesnapshot {namespace}/{name} was not created by backup {}: \
                             leaving it in place",
                            backup.name()
                        ),
                    );
                }
                return Err(error);
            }
        };

        if finalizing {
            host.log(
                Level::Debug,
                &format!(
                    "Clean VolumeSnapshots. Backup={}/{} BackupPhase={}",
                    backup.namespace(),
                    backup.name(),
                    backup.phase()
                ),
            );
            finalize::remove_snapshot(host, item.value(), content.as_ref(), backup);
            return Ok(BackupOutput {
                item: item.into_json(),
                additional_items: Vec::new(),
                operation_id: String::new(),
                post_operation_items: Vec::new(),
            });
        }

        let mut annotations = Map::new();
        if let Some(content) = &content {
            let content_name = crate::model::json::name(content);
            additional_items.push(identifier(
                SNAPSHOT_GROUP,
                "volumesnapshotcontents",
                "",
                content_name,
            ));
            let policy = str_at(content, &["spec", "deletionPolicy"]).unwrap_or_default();
            annotations.insert(keys::VSC_DELETION_POLICY.to_owned(), json!(policy));
            if let Some(handle) = str_at(content, &["status", "snapshotHandle"]) {
                annotations.insert(keys::VOLUME_SNAPSHOT_HANDLE.to_owned(), json!(handle));
                let driver = str_at(content, &["spec", "driver"]).unwrap_or_default();
                annotations.insert(keys::DRIVER_NAME.to_owned(), json!(driver));
            }
            if let Some(size) = i64_at(content, &["status", "restoreSize"]) {
                annotations.insert(keys::VSI_RESTORE_SIZE.to_owned(), json!(format_bytes(size)));
            }
            if created_by_backup {
                // Lets the backup's deletion find the content even if the VolumeSnapshot is
                // deleted by someone else.
                host.log(
                    Level::Info,
                    &format!(
                        "Patching volumesnapshotcontent {content_name} with velero BackupNameLabel"
                    ),
                );
                let patch = json!({"metadata": {"labels": {keys::BACKUP_NAME: backup_label}}});
                if let Err(e) = host.merge_patch(&content_ref(content_name), &patch) {
                    host.log(
                        Level::Warn,
                        &format!(
                            "Failed to patch volumesnapshotcontent {content_name}: {}",
                            message(&e)
                        ),
                    );
                }
            }
        }

        // The in-cluster VolumeSnapshot gets the same annotations: finalize and restore read
        // the copy Velero fetches from the cluster after the operation. v0.7.1 builds this body
        // by string concatenation without escaping ([behaviour §7 L20](../../../docs/behaviour.md#l20-hand-built-json-patch)); this is a JSON encoder.
        // Note: v0.7.1 patches a VolumeSnapshot the user made too ([behaviour §7 L15](../../../docs/behaviour.md#l15-user-owned-volumesnapshots-are-changed-and-can-be-deleted)); kept, since
        // restore needs the annotations and scenarios 40 and 41 expect the patch.
        let patch = json!({"metadata": {"annotations": Value::Object(annotations.clone())}});
        if let Err(e) = host.merge_patch(&snapshot_ref(&namespace, &name), &patch) {
            host.log(
                Level::Error,
                &format!(
                    "Fail to patch volumesnapshot with content {patch}: {}.",
                    message(&e)
                ),
            );
            return Err(ActionError::kube(
                format!("failed to patch volumesnapshot {namespace}/{name}"),
                e,
            ));
        }

        annotations.insert(
            keys::MUST_INCLUDE_ADDITIONAL_ITEMS.to_owned(),
            json!("true"),
        );
        for (key, value) in &annotations {
            item.set_annotation(key, value.as_str().unwrap_or_default());
        }

        host.log(
            Level::Info,
            &format!(
                "Returning from VolumeSnapshotBackupItemAction with {} additionalItems to backup",
                additional_items.len()
            ),
        );
        for additional in &additional_items {
            host.log(
                Level::Debug,
                &format!(
                    "{}.{}: {}",
                    additional.resource, additional.group, additional.name
                ),
            );
        }

        // Only a snapshot created by this backup is tracked until it is ready.
        let (operation_id, post_operation_items) = if created_by_backup {
            (
                format!("{namespace}/{name}/{}", format_rfc3339(&host.now())),
                vec![identifier(
                    SNAPSHOT_GROUP,
                    "volumesnapshots",
                    &namespace,
                    &name,
                )],
            )
        } else {
            (String::new(), Vec::new())
        };
        Ok(BackupOutput {
            item: item.into_json(),
            additional_items,
            operation_id,
            post_operation_items,
        })
    }

    /// The operation ID is `<namespace>/<name>/<RFC 3339 start>`; the operation is complete
    /// when the VolumeSnapshot is `readyToUse`. A VolumeSnapshot error is transient (the
    /// snapshot controller retries), so it only logs a warning, as in v0.7.1.
    fn progress(
        &self,
        host: &dyn Imports,
        operation_id: &str,
        _backup: &Backup,
    ) -> Result<OperationProgress, ActionError> {
        if operation_id.is_empty() {
            return Err(ActionError::InvalidOperationId(String::new()));
        }
        let parts: Vec<&str> = operation_id.split('/').collect();
        let [namespace, name, started] = parts[..] else {
            host.log(
                Level::Error,
                &format!("invalid operation ID {}", clipped(operation_id)),
            );
            return Err(ActionError::invalid_operation_id(operation_id));
        };
        let started = parse_rfc3339(started).map_err(|e| {
            host.log(
                Level::Error,
                &format!(
                    "error parsing operation ID's StartedTime part into time {}: {e}",
                    clipped(operation_id)
                ),
            );
            ActionError::Failed(e)
        })?;
        let mut progress = OperationProgress {
            started: Some(started),
            ..no_progress()
        };

        let snapshot = host.get(&snapshot_ref(namespace, name)).map_err(|e| {
            host.log(
                Level::Error,
                &format!(
                    "error getting volumesnapshot {namespace}/{name}: {}",
                    message(&e)
                ),
            );
            ActionError::kube(
                format!("error getting volumesnapshot {namespace}/{name}"),
                e,
            )
        })?;

        let Some(status) = snapshot.get("status").filter(|s| !s.is_null()) else {
            host.log(
                Level::Debug,
                &format!(
                    "VolumeSnapshot {namespace}/{name} has an empty status. Skip progress update."
                ),
            );
            return Ok(progress);
        };
        if bool_at(status, &["readyToUse"]) == Some(true) {
            progress.completed = true;
        } else if status.get("error").is_some_and(|e| !e.is_null()) {
            let error = str_at(status, &["error", "message"]).unwrap_or_default();
            host.log(
                Level::Warn,
                &format!(
                    "VolumeSnapshot has a temporary error {error}. Snapshot controller will retry \
                     later."
                ),
            );
        }
        Ok(progress)
    }
}

#[cfg(test)]
mod tests;
