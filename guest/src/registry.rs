//! The registered actions and how a call finds its action.
//!
//! The traits the actions implement ([`BackupItemAction`], [`RestoreItemAction`],
//! [`DeleteItemAction`]), the registry (names from [`csi_common::actions::Action`], kinds
//! and selectors, in the order Velero's Go framework lists them) and the kind-checked lookup
//! every call goes through. The host routes each call by plugin name and kind and words the
//! Velero-facing refusal; the lookup here is only a defence, refusing a call it cannot route
//! with [`ActionError::Unroutable`].

use crate::bindings::exports::velero::csi::actions::{
    ActionInfo, ActionKind, BackupOutput, OperationProgress, ResourceSelector, RestoreOutput,
};
use crate::bindings::velero::csi::types::ResourceIdentifier;
use crate::model::error::ActionError;
use csi_common::actions::{Action, Kind};

use crate::actions::modern::{
    pv_backup, pv_restore, pvc_backup as modern_pvc_backup, pvc_delete,
    pvc_restore as modern_pvc_restore,
};
use crate::actions::{
    pvc_backup, pvc_restore, volumesnapshot_backup, volumesnapshot_delete, volumesnapshot_restore,
    volumesnapshotclass_backup, volumesnapshotclass_restore, volumesnapshotcontent_backup,
    volumesnapshotcontent_delete, volumesnapshotcontent_restore,
};
use crate::adapter::imports::Imports;
use crate::model::item::Item;
use crate::model::velero::{Backup, Restore};

/// A BackupItemAction v2.
pub trait BackupItemAction: Sync {
    /// Backs up one item.
    fn execute(
        &self,
        host: &dyn Imports,
        item: Item,
        backup: &Backup,
    ) -> Result<BackupOutput, ActionError>;

    /// Reports the progress of an operation this action started. Actions that start none
    /// keep this default: an empty ID is invalid, any other reports nothing done.
    fn progress(
        &self,
        _host: &dyn Imports,
        operation_id: &str,
        _backup: &Backup,
    ) -> Result<OperationProgress, ActionError> {
        progress_without_operations(operation_id)
    }

    /// Cancels an operation this action started (best effort). Actions that start none
    /// keep this default, which succeeds.
    fn cancel(
        &self,
        _host: &dyn Imports,
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
        host: &dyn Imports,
        request: RestoreRequest,
    ) -> Result<RestoreOutput, ActionError>;

    /// Reports the progress of an operation this action started. Actions that start none
    /// keep this default: an empty ID is invalid, any other reports nothing done.
    fn progress(
        &self,
        _host: &dyn Imports,
        operation_id: &str,
        _restore: &Restore,
    ) -> Result<OperationProgress, ActionError> {
        progress_without_operations(operation_id)
    }

    /// Cancels an operation this action started (best effort). Actions that start none
    /// keep this default, which succeeds.
    fn cancel(
        &self,
        _host: &dyn Imports,
        _operation_id: &str,
        _restore: &Restore,
    ) -> Result<(), ActionError> {
        Ok(())
    }

    /// Whether the additional items returned by `execute` are ready. All CSI restore actions
    /// answer true: none asks Velero to wait.
    fn are_additional_items_ready(
        &self,
        _host: &dyn Imports,
        _items: &[ResourceIdentifier],
        _restore: &Restore,
    ) -> Result<bool, ActionError> {
        Ok(true)
    }
}

/// A DeleteItemAction.
pub trait DeleteItemAction: Sync {
    /// Runs for one item of a backup being deleted, as stored in the backup.
    fn execute(&self, host: &dyn Imports, item: Item, backup: &Backup) -> Result<(), ActionError>;
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
    /// The action, which gives the registered name and kind.
    pub action: Action,
    /// Resources the action applies to, in Velero's `resource.group` form.
    pub resources: &'static [&'static str],
    /// The implementation, typed by kind.
    pub implementation: Registered,
}

impl Registration {
    fn kind(&self) -> ActionKind {
        match self.action.kind() {
            Kind::BackupItemActionV2 => ActionKind::BackupItemActionV2,
            Kind::RestoreItemActionV2 => ActionKind::RestoreItemActionV2,
            Kind::DeleteItemAction => ActionKind::DeleteItemAction,
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

/// Every implemented action, in [`Action::ALL`]'s order: the v0.7.1 set, then the modern
/// set, each grouped by kind in the Go framework's order (BackupItemActionV2, then
/// RestoreItemActionV2, then DeleteItemAction).
pub static REGISTRY: &[Registration] = &[
    Registration {
        action: Action::PvcBackup,
        resources: &["persistentvolumeclaims"],
        implementation: Registered::Backup(&pvc_backup::PvcBackup),
    },
    Registration {
        action: Action::VolumeSnapshotBackup,
        resources: &[VOLUME_SNAPSHOTS],
        implementation: Registered::Backup(&volumesnapshot_backup::VolumeSnapshotBackup),
    },
    Registration {
        action: Action::VolumeSnapshotClassBackup,
        resources: &[VOLUME_SNAPSHOT_CLASSES],
        implementation: Registered::Backup(&volumesnapshotclass_backup::VolumeSnapshotClassBackup),
    },
    Registration {
        action: Action::VolumeSnapshotContentBackup,
        resources: &[VOLUME_SNAPSHOT_CONTENTS],
        implementation: Registered::Backup(
            &volumesnapshotcontent_backup::VolumeSnapshotContentBackup,
        ),
    },
    Registration {
        action: Action::PvcRestore,
        resources: &["persistentvolumeclaims"],
        implementation: Registered::Restore(&pvc_restore::PvcRestore),
    },
    Registration {
        action: Action::VolumeSnapshotRestore,
        resources: &[VOLUME_SNAPSHOTS],
        implementation: Registered::Restore(&volumesnapshot_restore::VolumeSnapshotRestore),
    },
    Registration {
        action: Action::VolumeSnapshotClassRestore,
        resources: &[VOLUME_SNAPSHOT_CLASSES],
        implementation: Registered::Restore(
            &volumesnapshotclass_restore::VolumeSnapshotClassRestore,
        ),
    },
    Registration {
        action: Action::VolumeSnapshotContentRestore,
        resources: &[VOLUME_SNAPSHOT_CONTENTS],
        implementation: Registered::Restore(
            &volumesnapshotcontent_restore::VolumeSnapshotContentRestore,
        ),
    },
    Registration {
        action: Action::VolumeSnapshotDelete,
        resources: &[VOLUME_SNAPSHOTS],
        implementation: Registered::Delete(&volumesnapshot_delete::VolumeSnapshotDelete),
    },
    Registration {
        action: Action::VolumeSnapshotContentDelete,
        resources: &[VOLUME_SNAPSHOT_CONTENTS],
        implementation: Registered::Delete(
            &volumesnapshotcontent_delete::VolumeSnapshotContentDelete,
        ),
    },
    Registration {
        action: Action::ModernPvBackup,
        resources: &["persistentvolumes"],
        implementation: Registered::Backup(&pv_backup::ModernPvBackup),
    },
    Registration {
        action: Action::ModernPvcBackup,
        resources: &["persistentvolumeclaims"],
        implementation: Registered::Backup(&modern_pvc_backup::ModernPvcBackup),
    },
    Registration {
        action: Action::ModernPvRestore,
        resources: &["persistentvolumes"],
        implementation: Registered::Restore(&pv_restore::ModernPvRestore),
    },
    Registration {
        action: Action::ModernPvcRestore,
        resources: &["persistentvolumeclaims"],
        implementation: Registered::Restore(&modern_pvc_restore::ModernPvcRestore),
    },
    Registration {
        action: Action::ModernPvcDelete,
        resources: &["persistentvolumeclaims"],
        implementation: Registered::Delete(&pvc_delete::ModernPvcDelete),
    },
];

/// The listing the component exports.
pub fn list() -> Vec<ActionInfo> {
    REGISTRY
        .iter()
        .map(|r| ActionInfo {
            name: r.action.name().to_owned(),
            kind: r.kind(),
            selector: r.selector(),
        })
        .collect()
}

/// What a call that needs any registered action calls it, in an [`ActionError::Unroutable`].
const ANY_ACTION: &str = "action";

/// The selector of a registered action of any kind.
pub fn applies_to(name: &str) -> Result<ResourceSelector, ActionError> {
    find(name)
        .map(Registration::selector)
        .ok_or_else(|| unroutable(name, ANY_ACTION))
}

/// The action registered under `name`, of any kind (for Progress and Cancel, which backup
/// and restore actions share; the host has checked the kind against the called service).
pub fn registered(name: &str) -> Result<Registered, ActionError> {
    find(name)
        .map(|r| r.implementation)
        .ok_or_else(|| unroutable(name, ANY_ACTION))
}

/// The backup item action registered under `name`.
pub fn backup_action(name: &str) -> Result<&'static dyn BackupItemAction, ActionError> {
    match find(name).map(|r| r.implementation) {
        Some(Registered::Backup(action)) => Ok(action),
        _ => Err(unroutable(name, Kind::BackupItemActionV2.describe())),
    }
}

/// The restore item action registered under `name`.
pub fn restore_action(name: &str) -> Result<&'static dyn RestoreItemAction, ActionError> {
    match find(name).map(|r| r.implementation) {
        Some(Registered::Restore(action)) => Ok(action),
        _ => Err(unroutable(name, Kind::RestoreItemActionV2.describe())),
    }
}

/// The delete item action registered under `name`.
pub fn delete_action(name: &str) -> Result<&'static dyn DeleteItemAction, ActionError> {
    match find(name).map(|r| r.implementation) {
        Some(Registered::Delete(action)) => Ok(action),
        _ => Err(unroutable(name, Kind::DeleteItemAction.describe())),
    }
}

/// The refusal of a call no registered action of `kind` (in prose) can take.
pub fn unroutable(name: &str, kind: &'static str) -> ActionError {
    ActionError::Unroutable {
        name: name.to_owned(),
        kind,
    }
}

/// The answer of actions that start no operation: an empty ID is invalid, any other ID
/// reports nothing done yet.
pub fn progress_without_operations(operation_id: &str) -> Result<OperationProgress, ActionError> {
    if operation_id.is_empty() {
        return Err(ActionError::InvalidOperationId(String::new()));
    }
    Ok(crate::csi::datamover::no_progress())
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
    REGISTRY.iter().find(|r| r.action.name() == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_lists_every_action_in_order_with_its_kind() {
        let actions: Vec<_> = REGISTRY.iter().map(|r| r.action).collect();
        assert_eq!(actions, Action::ALL);
        for r in REGISTRY {
            let kind = match r.implementation {
                Registered::Backup(_) => Kind::BackupItemActionV2,
                Registered::Restore(_) => Kind::RestoreItemActionV2,
                Registered::Delete(_) => Kind::DeleteItemAction,
            };
            assert_eq!(kind, r.action.kind(), "{}", r.action.name());
        }
    }

    #[test]
    fn lookups_check_the_kind() {
        let backup = Action::VolumeSnapshotClassBackup.name();
        let restore = Action::VolumeSnapshotClassRestore.name();
        assert!(backup_action(backup).is_ok());
        assert!(restore_action(restore).is_ok());
        assert_eq!(
            backup_action(restore).err().unwrap().to_string(),
            "this component has no backup item action (v2) named velero.io/csi-volumesnapshotclass-restorer"
        );
        assert!(matches!(
            restore_action("velero.io/nope"),
            Err(ActionError::Unroutable { name, kind: "restore item action (v2)" }) if name == "velero.io/nope"
        ));
        assert_eq!(
            delete_action(backup).err().unwrap().to_string(),
            "this component has no delete item action named velero.io/csi-volumesnapshotclass-backupper"
        );
        assert_eq!(
            registered("velero.io/nope").err().unwrap().to_string(),
            "this component has no action named velero.io/nope"
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
