//! Every exported call, from raw request text to result, over any [`Imports`]: the component
//! runs it with its imports, native tests with the simulated cluster.

use crate::adapter::imports::Imports;
use crate::bindings::exports::velero::csi::actions::{
    BackupOutput, OperationProgress, RestoreInput, RestoreOutput,
};
use crate::bindings::velero::csi::types::ResourceIdentifier;
use crate::model::error::ActionError;
use crate::model::item::Item;
use crate::model::velero::{Backup, Restore};
use crate::registry::{self, Registered, RestoreRequest};

/// BackupItemAction v2 `Execute`.
pub fn execute_backup(
    host: &dyn Imports,
    action: &str,
    item: &str,
    backup: &str,
) -> Result<BackupOutput, ActionError> {
    let action = registry::backup_action(action)?;
    action.execute(host, Item::parse("item", item)?, &Backup::parse(backup)?)
}

/// RestoreItemAction v2 `Execute`.
pub fn execute_restore(
    host: &dyn Imports,
    action: &str,
    input: &RestoreInput,
) -> Result<RestoreOutput, ActionError> {
    let action = registry::restore_action(action)?;
    let request = RestoreRequest {
        item: Item::parse("item", &input.item)?,
        item_from_backup: Item::parse("itemFromBackup", &input.item_from_backup)?,
        restore: Restore::parse(&input.restore)?,
    };
    action.execute(host, request)
}

/// DeleteItemAction `Execute`.
pub fn execute_delete(
    host: &dyn Imports,
    action: &str,
    item: &str,
    backup: &str,
) -> Result<(), ActionError> {
    let action = registry::delete_action(action)?;
    action.execute(host, Item::parse("item", item)?, &Backup::parse(backup)?)
}

/// `Progress` of a backup or restore action; `owner` is its Backup or Restore.
pub fn progress(
    host: &dyn Imports,
    action: &str,
    operation_id: &str,
    owner: &str,
) -> Result<OperationProgress, ActionError> {
    match registry::registered(action)? {
        Registered::Backup(a) => a.progress(host, operation_id, &Backup::parse(owner)?),
        Registered::Restore(a) => a.progress(host, operation_id, &Restore::parse(owner)?),
        Registered::Delete(_) => Err(registry::unroutable(action, WITH_OPERATIONS)),
    }
}

/// `Cancel` of a backup or restore action; `owner` is its Backup or Restore.
pub fn cancel(
    host: &dyn Imports,
    action: &str,
    operation_id: &str,
    owner: &str,
) -> Result<(), ActionError> {
    match registry::registered(action)? {
        Registered::Backup(a) => a.cancel(host, operation_id, &Backup::parse(owner)?),
        Registered::Restore(a) => a.cancel(host, operation_id, &Restore::parse(owner)?),
        Registered::Delete(_) => Err(registry::unroutable(action, WITH_OPERATIONS)),
    }
}

/// The kind of action Progress and Cancel need: delete item actions start no operations.
const WITH_OPERATIONS: &str = "backup or restore item action (v2)";

/// RestoreItemAction v2 `AreAdditionalItemsReady`.
pub fn are_additional_items_ready(
    host: &dyn Imports,
    action: &str,
    items: &[ResourceIdentifier],
    restore: &str,
) -> Result<bool, ActionError> {
    let action = registry::restore_action(action)?;
    action.are_additional_items_ready(host, items, &Restore::parse(restore)?)
}
