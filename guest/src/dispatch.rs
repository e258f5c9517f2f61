//! Every exported call, from raw request text to result, over any [`Host`]: the component
//! runs it with its imports, native tests with the simulated cluster.

use crate::actions::{self, Registered, RestoreRequest};
use crate::bindings::exports::velero::csi::actions::{
    BackupOutput, OperationProgress, RestoreInput, RestoreOutput,
};
use crate::bindings::velero::csi::types::ResourceIdentifier;
use crate::error::ActionError;
use crate::host::Host;
use crate::item::Item;
use crate::velero::{Backup, Restore};

/// BackupItemAction v2 `Execute`.
pub fn execute_backup(
    host: &dyn Host,
    action: &str,
    item: &str,
    backup: &str,
) -> Result<BackupOutput, ActionError> {
    let action = actions::backup_action(action)?;
    action.execute(host, Item::parse("item", item)?, &Backup::parse(backup)?)
}

/// RestoreItemAction v2 `Execute`.
pub fn execute_restore(
    host: &dyn Host,
    action: &str,
    input: &RestoreInput,
) -> Result<RestoreOutput, ActionError> {
    let action = actions::restore_action(action)?;
    let request = RestoreRequest {
        item: Item::parse("item", &input.item)?,
        item_from_backup: Item::parse("itemFromBackup", &input.item_from_backup)?,
        restore: Restore::parse(&input.restore)?,
    };
    action.execute(host, request)
}

/// DeleteItemAction `Execute`.
pub fn execute_delete(
    host: &dyn Host,
    action: &str,
    item: &str,
    backup: &str,
) -> Result<(), ActionError> {
    let action = actions::delete_action(action)?;
    action.execute(host, Item::parse("item", item)?, &Backup::parse(backup)?)
}

/// `Progress` of a backup or restore action; `owner` is its Backup or Restore.
pub fn progress(
    host: &dyn Host,
    action: &str,
    operation_id: &str,
    owner: &str,
) -> Result<OperationProgress, ActionError> {
    match actions::registered(action)? {
        Registered::Backup(a) => a.progress(host, operation_id, &Backup::parse(owner)?),
        Registered::Restore(a) => a.progress(host, operation_id, &Restore::parse(owner)?),
        Registered::Delete(_) => Err(no_operations(action)),
    }
}

/// `Cancel` of a backup or restore action; `owner` is its Backup or Restore.
pub fn cancel(
    host: &dyn Host,
    action: &str,
    operation_id: &str,
    owner: &str,
) -> Result<(), ActionError> {
    match actions::registered(action)? {
        Registered::Backup(a) => a.cancel(host, operation_id, &Backup::parse(owner)?),
        Registered::Restore(a) => a.cancel(host, operation_id, &Restore::parse(owner)?),
        Registered::Delete(_) => Err(no_operations(action)),
    }
}

/// Delete item actions have no operations to report on or cancel.
fn no_operations(action: &str) -> ActionError {
    ActionError::WrongKind {
        name: action.to_owned(),
        expected: "backup or restore item action (v2)",
    }
}

/// RestoreItemAction v2 `AreAdditionalItemsReady`.
pub fn are_additional_items_ready(
    host: &dyn Host,
    action: &str,
    items: &[ResourceIdentifier],
    restore: &str,
) -> Result<bool, ActionError> {
    let action = actions::restore_action(action)?;
    action.are_additional_items_ready(host, items, &Restore::parse(restore)?)
}
