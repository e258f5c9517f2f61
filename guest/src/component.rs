//! The component's exports: each call is parsed, routed to its action and answered.

use crate::actions::{self, RestoreRequest};
use crate::bindings::exports::velero::csi::actions as wit;
use crate::bindings::velero::csi::{clock, kube as imports, log};
use crate::bindings::velero::csi::types::ResourceIdentifier;
use crate::error::ActionError;
use crate::host::{Datetime, Host, Level};
use crate::kube::{ApiResource, Condition, Kube, KubeError, ObjectRef};
use crate::item::Item;
use crate::velero::{Backup, Restore};

/// The exported implementation of `velero:csi/actions`.
pub struct Component;

/// The [`Host`] backed by the component's imports.
struct Imports;

impl Host for Imports {
    fn log(&self, level: Level, message: &str) {
        log::log(level, message, &[]);
    }

    fn now(&self) -> Datetime {
        clock::now()
    }
}

/// Parses an object the host returned.
fn object(json: String) -> Result<serde_json::Value, KubeError> {
    serde_json::from_str(&json).map_err(|e| KubeError::Invalid(format!("the host returned malformed JSON: {e}")))
}

impl Kube for Imports {
    fn get(&self, target: &ObjectRef) -> Result<serde_json::Value, KubeError> {
        imports::get(target).and_then(object)
    }

    fn list(&self, api: &ApiResource, namespace: Option<&str>, label_selector: Option<&str>) -> Result<Vec<serde_json::Value>, KubeError> {
        imports::list(api, namespace, label_selector)?.into_iter().map(object).collect()
    }

    fn create(&self, api: &ApiResource, namespace: Option<&str>, value: &serde_json::Value) -> Result<serde_json::Value, KubeError> {
        imports::create(api, namespace, &value.to_string()).and_then(object)
    }

    fn merge_patch(&self, target: &ObjectRef, patch: &serde_json::Value) -> Result<serde_json::Value, KubeError> {
        imports::merge_patch(target, &patch.to_string()).and_then(object)
    }

    fn delete(&self, target: &ObjectRef) -> Result<(), KubeError> {
        imports::delete(target)
    }

    fn wait_until(&self, target: &ObjectRef, condition: &Condition, timeout: std::time::Duration) -> Result<Option<serde_json::Value>, KubeError> {
        let millis = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        imports::wait_until(target, condition, millis)?.map(object).transpose()
    }
}

impl wit::Guest for Component {
    fn list_actions() -> Vec<wit::ActionInfo> {
        actions::list()
    }

    fn applies_to(action: String) -> Result<wit::ResourceSelector, wit::ActionError> {
        Ok(actions::applies_to(&action)?)
    }

    fn execute_backup(
        action: String,
        item: String,
        backup: String,
    ) -> Result<wit::BackupOutput, wit::ActionError> {
        let run = || {
            let action = actions::backup_action(&action)?;
            let item = Item::parse("item", &item)?;
            let backup = Backup::parse(&backup)?;
            action.execute(&Imports, item, &backup)
        };
        Ok(run()?)
    }

    fn execute_restore(
        action: String,
        input: wit::RestoreInput,
    ) -> Result<wit::RestoreOutput, wit::ActionError> {
        let run = || {
            let action = actions::restore_action(&action)?;
            let request = RestoreRequest {
                item: Item::parse("item", &input.item)?,
                item_from_backup: Item::parse("itemFromBackup", &input.item_from_backup)?,
                restore: Restore::parse(&input.restore)?,
            };
            action.execute(&Imports, request)
        };
        Ok(run()?)
    }

    fn execute_delete(
        action: String,
        _item: String,
        _backup: String,
    ) -> Result<(), wit::ActionError> {
        Err(actions::delete_action_error(&action).into())
    }

    fn progress(
        action: String,
        operation_id: String,
        owner: String,
    ) -> Result<wit::OperationProgress, wit::ActionError> {
        Ok(route_operation(
            &action,
            |a| a.progress(&Imports, &operation_id, &Backup::parse(&owner)?),
            |a| a.progress(&Imports, &operation_id, &Restore::parse(&owner)?),
        )?)
    }

    fn cancel(action: String, operation_id: String, owner: String) -> Result<(), wit::ActionError> {
        Ok(route_operation(
            &action,
            |a| a.cancel(&Imports, &operation_id, &Backup::parse(&owner)?),
            |a| a.cancel(&Imports, &operation_id, &Restore::parse(&owner)?),
        )?)
    }

    fn are_additional_items_ready(
        action: String,
        additional_items: Vec<ResourceIdentifier>,
        restore: String,
    ) -> Result<bool, wit::ActionError> {
        let run = || {
            let action = actions::restore_action(&action)?;
            action.are_additional_items_ready(
                &Imports,
                &additional_items,
                &Restore::parse(&restore)?,
            )
        };
        Ok(run()?)
    }
}

/// Routes an operation call (Progress, Cancel) to a backup or a restore action. Both kinds
/// have these calls; the host has already checked the kind against the called service.
fn route_operation<T>(
    name: &str,
    backup: impl FnOnce(&dyn actions::BackupItemAction) -> Result<T, ActionError>,
    restore: impl FnOnce(&dyn actions::RestoreItemAction) -> Result<T, ActionError>,
) -> Result<T, ActionError> {
    match actions::backup_action(name) {
        Ok(action) => backup(action),
        Err(_) => restore(actions::restore_action(name)?),
    }
}

crate::bindings::export!(Component with_types_in crate::bindings);
