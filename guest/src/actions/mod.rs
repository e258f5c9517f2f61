//! The registered actions and how a call finds its action.
//!
//! One file per action; this module holds the registry (names, kinds and selectors, in the
//! order Velero's Go framework lists them) and the kind-checked lookup every call goes
//! through.

mod pvc_backup;
mod pvc_restore;
mod secrets;
mod volumesnapshot_backup;
mod volumesnapshot_delete;
mod volumesnapshot_restore;
mod volumesnapshotclass_backup;
mod volumesnapshotclass_restore;
mod volumesnapshotcontent_backup;
mod volumesnapshotcontent_delete;
mod volumesnapshotcontent_restore;

use crate::bindings::exports::velero::csi::actions::{
    ActionInfo, ActionKind, BackupOutput, OperationProgress, ResourceSelector, RestoreOutput,
};
use crate::bindings::velero::csi::types::ResourceIdentifier;
use crate::error::ActionError;
use crate::host::Host;
use crate::item::Item;
use crate::velero::{Backup, Restore};

/// A BackupItemAction v2.
pub trait BackupItemAction: Sync {
    /// Backs up one item.
    fn execute(
        &self,
        host: &dyn Host,
        item: Item,
        backup: &Backup,
    ) -> Result<BackupOutput, ActionError>;

    /// Reports the progress of an operation this action started. Actions that start none
    /// keep this default: an empty ID is invalid, any other reports nothing done.
    fn progress(
        &self,
        _host: &dyn Host,
        operation_id: &str,
        _backup: &Backup,
    ) -> Result<OperationProgress, ActionError> {
        progress_without_operations(operation_id)
    }

    /// Cancels an operation this action started (best effort). Actions that start none
    /// keep this default, which succeeds.
    fn cancel(
        &self,
        _host: &dyn Host,
        _operation_id: &str,
        _backup: &Backup,
    ) -> Result<(), ActionError> {
        Ok(())
    }
}

/// What a RestoreItemAction v2 receives.
#[derive(Debug, Clone)]
pub struct RestoreRequest {
    /// The item about to be created, after Velero's clean-up and earlier actions.
    pub item: Item,
    /// The item exactly as stored in the backup.
    pub item_from_backup: Item,
    pub restore: Restore,
}

/// A RestoreItemAction v2.
pub trait RestoreItemAction: Sync {
    /// Restores one item.
    fn execute(
        &self,
        host: &dyn Host,
        request: RestoreRequest,
    ) -> Result<RestoreOutput, ActionError>;

    /// Reports the progress of an operation this action started. Actions that start none
    /// keep this default: an empty ID is invalid, any other reports nothing done.
    fn progress(
        &self,
        _host: &dyn Host,
        operation_id: &str,
        _restore: &Restore,
    ) -> Result<OperationProgress, ActionError> {
        progress_without_operations(operation_id)
    }

    /// Cancels an operation this action started (best effort). Actions that start none
    /// keep this default, which succeeds.
    fn cancel(
        &self,
        _host: &dyn Host,
        _operation_id: &str,
        _restore: &Restore,
    ) -> Result<(), ActionError> {
        Ok(())
    }

    /// Whether the additional items returned by `execute` are ready. All CSI restore actions
    /// answer true: none asks Velero to wait.
    fn are_additional_items_ready(
        &self,
        _host: &dyn Host,
        _items: &[ResourceIdentifier],
        _restore: &Restore,
    ) -> Result<bool, ActionError> {
        Ok(true)
    }
}

/// A DeleteItemAction.
pub trait DeleteItemAction: Sync {
    /// Runs for one item of a backup being deleted, as stored in the backup.
    fn execute(&self, host: &dyn Host, item: Item, backup: &Backup) -> Result<(), ActionError>;
}

/// An action and the kind it is registered under.
#[derive(Clone, Copy)]
pub enum Registered {
    Backup(&'static dyn BackupItemAction),
    Restore(&'static dyn RestoreItemAction),
    Delete(&'static dyn DeleteItemAction),
}

/// One entry of the registry.
pub struct Registration {
    /// The registered name.
    pub name: &'static str,
    /// Resources the action applies to, in Velero's `resource.group` form.
    pub resources: &'static [&'static str],
    pub action: Registered,
}

impl Registration {
    fn kind(&self) -> ActionKind {
        match self.action {
            Registered::Backup(_) => ActionKind::BackupItemActionV2,
            Registered::Restore(_) => ActionKind::RestoreItemActionV2,
            Registered::Delete(_) => ActionKind::DeleteItemAction,
        }
    }

    fn selector(&self) -> ResourceSelector {
        ResourceSelector {
            included_namespaces: Vec::new(),
            excluded_namespaces: Vec::new(),
            included_resources: self.resources.iter().map(|r| (*r).to_owned()).collect(),
            excluded_resources: Vec::new(),
            label_selector: String::new(),
        }
    }
}

/// Resource names in Velero's `resource.group` form. v0.7.1 spells the class and content
/// resources in the singular; Velero resolves both spellings to the same resource, and core
/// v1.14+ uses these plurals.
const VOLUME_SNAPSHOTS: &str = "volumesnapshots.snapshot.storage.k8s.io";
const VOLUME_SNAPSHOT_CONTENTS: &str = "volumesnapshotcontents.snapshot.storage.k8s.io";
const VOLUME_SNAPSHOT_CLASSES: &str = "volumesnapshotclasses.snapshot.storage.k8s.io";

/// Every implemented action, grouped by kind in the Go framework's order (BackupItemActionV2,
/// then RestoreItemActionV2) with names ascending within each kind.
pub static REGISTRY: &[Registration] = &[
    Registration {
        name: "velero.io/csi-pvc-backupper",
        resources: &["persistentvolumeclaims"],
        action: Registered::Backup(&pvc_backup::PvcBackup),
    },
    Registration {
        name: "velero.io/csi-volumesnapshot-backupper",
        resources: &[VOLUME_SNAPSHOTS],
        action: Registered::Backup(&volumesnapshot_backup::VolumeSnapshotBackup),
    },
    Registration {
        name: "velero.io/csi-volumesnapshotclass-backupper",
        resources: &[VOLUME_SNAPSHOT_CLASSES],
        action: Registered::Backup(&volumesnapshotclass_backup::VolumeSnapshotClassBackup),
    },
    Registration {
        name: "velero.io/csi-volumesnapshotcontent-backupper",
        resources: &[VOLUME_SNAPSHOT_CONTENTS],
        action: Registered::Backup(&volumesnapshotcontent_backup::VolumeSnapshotContentBackup),
    },
    Registration {
        name: "velero.io/csi-pvc-restorer",
        resources: &["persistentvolumeclaims"],
        action: Registered::Restore(&pvc_restore::PvcRestore),
    },
    Registration {
        name: "velero.io/csi-volumesnapshot-restorer",
        resources: &[VOLUME_SNAPSHOTS],
        action: Registered::Restore(&volumesnapshot_restore::VolumeSnapshotRestore),
    },
    Registration {
        name: "velero.io/csi-volumesnapshotclass-restorer",
        resources: &[VOLUME_SNAPSHOT_CLASSES],
        action: Registered::Restore(&volumesnapshotclass_restore::VolumeSnapshotClassRestore),
    },
    Registration {
        name: "velero.io/csi-volumesnapshotcontent-restorer",
        resources: &[VOLUME_SNAPSHOT_CONTENTS],
        action: Registered::Restore(&volumesnapshotcontent_restore::VolumeSnapshotContentRestore),
    },
    Registration {
        name: "velero.io/csi-volumesnapshot-delete",
        resources: &[VOLUME_SNAPSHOTS],
        action: Registered::Delete(&volumesnapshot_delete::VolumeSnapshotDelete),
    },
    Registration {
        name: "velero.io/csi-volumesnapshotcontent-delete",
        resources: &[VOLUME_SNAPSHOT_CONTENTS],
        action: Registered::Delete(&volumesnapshotcontent_delete::VolumeSnapshotContentDelete),
    },
];

/// The listing the component exports.
pub fn list() -> Vec<ActionInfo> {
    REGISTRY
        .iter()
        .map(|r| ActionInfo {
            name: r.name.to_owned(),
            kind: r.kind(),
            selector: r.selector(),
        })
        .collect()
}

/// The selector of a registered action of any kind.
pub fn applies_to(name: &str) -> Result<ResourceSelector, ActionError> {
    find(name)
        .map(Registration::selector)
        .ok_or_else(|| ActionError::UnknownAction {
            kind: "",
            name: name.to_owned(),
        })
}

/// The action registered under `name`, of any kind (for Progress and Cancel, which backup
/// and restore actions share; the host has checked the kind against the called service).
pub fn registered(name: &str) -> Result<Registered, ActionError> {
    find(name)
        .map(|r| r.action)
        .ok_or_else(|| ActionError::UnknownAction {
            kind: "",
            name: name.to_owned(),
        })
}

/// The backup item action registered under `name`.
pub fn backup_action(name: &str) -> Result<&'static dyn BackupItemAction, ActionError> {
    match find(name).map(|r| r.action) {
        Some(Registered::Backup(action)) => Ok(action),
        Some(_) => Err(wrong_kind(name, ActionKind::BackupItemActionV2)),
        None => Err(unknown(name, ActionKind::BackupItemActionV2)),
    }
}

/// The restore item action registered under `name`.
pub fn restore_action(name: &str) -> Result<&'static dyn RestoreItemAction, ActionError> {
    match find(name).map(|r| r.action) {
        Some(Registered::Restore(action)) => Ok(action),
        Some(_) => Err(wrong_kind(name, ActionKind::RestoreItemActionV2)),
        None => Err(unknown(name, ActionKind::RestoreItemActionV2)),
    }
}

/// The delete item action registered under `name`.
pub fn delete_action(name: &str) -> Result<&'static dyn DeleteItemAction, ActionError> {
    match find(name).map(|r| r.action) {
        Some(Registered::Delete(action)) => Ok(action),
        Some(_) => Err(wrong_kind(name, ActionKind::DeleteItemAction)),
        None => Err(unknown(name, ActionKind::DeleteItemAction)),
    }
}

/// The answer of actions that start no operation: an empty ID is invalid, any other ID
/// reports nothing done yet.
pub fn progress_without_operations(operation_id: &str) -> Result<OperationProgress, ActionError> {
    if operation_id.is_empty() {
        return Err(ActionError::InvalidOperationId(String::new()));
    }
    Ok(crate::datamover::no_progress())
}

/// An object reference for Velero (additional and post-operation items).
pub fn identifier(group: &str, resource: &str, namespace: &str, name: &str) -> ResourceIdentifier {
    ResourceIdentifier {
        group: group.to_owned(),
        resource: resource.to_owned(),
        namespace: namespace.to_owned(),
        name: name.to_owned(),
    }
}

/// The result of a restore action that starts no operation and asks Velero not to wait.
pub fn restore_output(
    item: String,
    additional_items: Vec<ResourceIdentifier>,
    skip_restore: bool,
) -> RestoreOutput {
    RestoreOutput {
        item,
        additional_items,
        skip_restore,
        operation_id: String::new(),
        wait_for_additional_items: false,
        additional_items_ready_timeout_ms: None,
    }
}

fn find(name: &str) -> Option<&'static Registration> {
    REGISTRY.iter().find(|r| r.name == name)
}

fn kind_name(kind: ActionKind) -> &'static str {
    match kind {
        ActionKind::BackupItemActionV2 => "BackupItemActionV2",
        ActionKind::RestoreItemActionV2 => "RestoreItemActionV2",
        ActionKind::DeleteItemAction => "DeleteItemAction",
    }
}

fn unknown(name: &str, kind: ActionKind) -> ActionError {
    ActionError::UnknownAction {
        kind: kind_name(kind),
        name: name.to_owned(),
    }
}

fn wrong_kind(name: &str, expected: ActionKind) -> ActionError {
    let expected = match expected {
        ActionKind::BackupItemActionV2 => "backup item action (v2)",
        ActionKind::RestoreItemActionV2 => "restore item action (v2)",
        ActionKind::DeleteItemAction => "delete item action",
    };
    ActionError::WrongKind {
        name: name.to_owned(),
        expected,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_is_grouped_by_kind_and_sorted_by_name() {
        let order = |r: &Registration| match r.action {
            Registered::Backup(_) => 0,
            Registered::Restore(_) => 1,
            Registered::Delete(_) => 2,
        };
        let keys: Vec<_> = REGISTRY.iter().map(|r| (order(r), r.name)).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
    }

    #[test]
    fn lookups_check_the_kind() {
        let backup = "velero.io/csi-volumesnapshotclass-backupper";
        let restore = "velero.io/csi-volumesnapshotclass-restorer";
        assert!(backup_action(backup).is_ok());
        assert!(restore_action(restore).is_ok());
        assert_eq!(
            backup_action(restore).err().unwrap().to_string(),
            "velero.io/csi-volumesnapshotclass-restorer is not a backup item action (v2)"
        );
        assert_eq!(
            restore_action("velero.io/nope").err().unwrap().to_string(),
            "RestoreItemActionV2 plugin: velero.io/nope was not found or has an invalid name format"
        );
        assert_eq!(
            delete_action(backup).err().unwrap().to_string(),
            "velero.io/csi-volumesnapshotclass-backupper is not a delete item action"
        );
    }

    #[test]
    fn selectors_set_only_included_resources() {
        let selector = applies_to("velero.io/csi-volumesnapshotclass-backupper").unwrap();
        assert_eq!(selector.included_resources, vec![VOLUME_SNAPSHOT_CLASSES]);
        assert!(selector.included_namespaces.is_empty() && selector.label_selector.is_empty());
        assert!(applies_to("velero.io/unknown").is_err());
    }

    #[test]
    fn progress_without_operations_rejects_only_empty_ids() {
        assert_eq!(
            progress_without_operations("").unwrap_err().to_string(),
            "operation ID  is invalid"
        );
        let progress = progress_without_operations("x").unwrap();
        assert!(!progress.completed && progress.started.is_none());
    }
}
