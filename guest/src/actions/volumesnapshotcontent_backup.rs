//! `velero.io/csi-volumesnapshotcontent-backupper` ([actions §2.3](../../../docs/actions.md#23-volumesnapshotcontent-backup-veleroiocsi-volumesnapshotcontent-backupper)).
//!
//! Backs up a VolumeSnapshotContent together with the snapshotter Secret its annotations
//! name. A content labelled for this backup is tracked by an operation until it is ready
//! (v0.7.1 only; later Velero versions track the VolumeSnapshot alone). Skipped in the
//! finalize pass.

use serde_json::Value;

use crate::adapter::imports::{Imports, Level};
use crate::bindings::exports::velero::csi::actions::{BackupOutput, OperationProgress};
use crate::csi::datamover::no_progress;
use crate::csi::secrets::referenced_secret;
use crate::csi::snapshots::content_ref;
use crate::model::error::{ActionError, clipped};
use crate::model::item::Item;
use crate::model::json::{bool_at, str_at};
use crate::model::kube::message;
use crate::model::labels::normalize;
use crate::model::time::{format_rfc3339, parse_rfc3339};
use crate::model::velero::Backup;
use crate::registry::{BackupItemAction, identifier};
use csi_common::keys;

/// The VolumeSnapshotContent backup action.
pub struct VolumeSnapshotContentBackup;

impl BackupItemAction for VolumeSnapshotContentBackup {
    fn execute(
        &self,
        host: &dyn Imports,
        mut item: Item,
        backup: &Backup,
    ) -> Result<BackupOutput, ActionError> {
        host.log(
            Level::Info,
            "Executing VolumeSnapshotContentBackupItemAction",
        );

        if backup.is_finalizing() {
            host.log(
                Level::Debug,
                &format!(
                    "Skipping VolumeSnapshotContentBackupItemAction as backup is in finalizing \
                     phase. Backup={}/{} BackupPhase={}",
                    backup.namespace(),
                    backup.name(),
                    backup.phase()
                ),
            );
            return Ok(BackupOutput {
                item: item.into_json(),
                additional_items: Vec::new(),
                operation_id: String::new(),
                post_operation_items: Vec::new(),
            });
        }

        let additional_items: Vec<_> = referenced_secret(
            &item,
            keys::SNAPSHOTTER_SECRET_NAME,
            keys::SNAPSHOTTER_SECRET_NAMESPACE,
        )
        .into_iter()
        .collect();
        if !additional_items.is_empty() {
            item.set_annotation(keys::MUST_INCLUDE_ADDITIONAL_ITEMS, "true");
        }

        let name = item.name().to_owned();
        let labelled_for_backup =
            item.label(keys::BACKUP_NAME) == Some(normalize(backup.name()).as_str());
        let (operation_id, post_operation_items) = if labelled_for_backup {
            (
                format!("{name}/{}", format_rfc3339(&host.now())),
                vec![identifier(
                    "snapshot.storage.k8s.io",
                    "volumesnapshotcontents",
                    "",
                    &name,
                )],
            )
        } else {
            (String::new(), Vec::new())
        };

        host.log(
            Level::Info,
            &format!(
                "Returning from VolumeSnapshotContentBackupItemAction with {} additionalItems to \
                 backup",
                additional_items.len()
            ),
        );
        Ok(BackupOutput {
            item: item.into_json(),
            additional_items,
            operation_id,
            post_operation_items,
        })
    }

    /// The operation ID is `<content name>/<RFC 3339 start>`; the operation is complete when
    /// the content is `readyToUse`, and failed as soon as it reports an error (v0.7.1).
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
        let [name, started] = parts[..] else {
            host.log(
                Level::Error,
                &format!("Invalid operationID {}", clipped(operation_id)),
            );
            return Err(ActionError::invalid_operation_id(operation_id));
        };
        let started = parse_rfc3339(started).map_err(|e| {
            host.log(
                Level::Error,
                &format!(
                    "error parsing operationID's StartedTime part into time {}: {e}",
                    clipped(operation_id)
                ),
            );
            ActionError::Failed(format!("fail to parse StartedTime: {e}"))
        })?;
        let mut progress = OperationProgress {
            started: Some(started),
            ..no_progress()
        };

        let content = host.get(&content_ref(name)).map_err(|e| {
            host.log(
                Level::Error,
                &format!(
                    "error getting volumesnapshotcontent {name}: {}",
                    message(&e)
                ),
            );
            ActionError::kube(format!("error getting volumesnapshotcontent {name}"), e)
        })?;

        let Some(status) = content.get("status").filter(|s| !s.is_null()) else {
            host.log(
                Level::Debug,
                &format!("VolumeSnapshotContent {name} has an empty Status. Skip progress update."),
            );
            return Ok(progress);
        };
        if bool_at(status, &["readyToUse"]) == Some(true) {
            progress.completed = true;
        } else if let Some(error) = status.get("error").filter(|e| !e.is_null()) {
            progress.completed = true;
            progress.err = match str_at(error, &["message"]) {
                Some(message) => message.to_owned(),
                // v0.7.1 reports an error without a message as success: Completed with an
                // empty Err ([actions §2.3](../../../docs/actions.md#23-volumesnapshotcontent-backup-veleroiocsi-volumesnapshotcontent-backupper) Progress step 5 (defect), [behaviour §7 L3](../../../docs/behaviour.md#l3-snapshot-errors-are-classified-unevenly): "a nil message must
                // never mean success"). Of the two recommended answers we fail the operation
                // with a generic message rather than keep it pending: v0.7.1 treats every
                // content error as final, so only the missing text is repaired, and the
                // operation ends now instead of after the 4 h item-operation timeout.
                None => error_without_message(name, error),
            };
        }
        Ok(progress)
    }
}

/// The operation error for a content error that carries no message.
fn error_without_message(name: &str, error: &Value) -> String {
    match str_at(error, &["time"]) {
        Some(time) => {
            format!("VolumeSnapshotContent {name} reported an error without a message at {time}")
        }
        None => format!("VolumeSnapshotContent {name} reported an error without a message"),
    }
}

#[cfg(test)]
mod tests;
