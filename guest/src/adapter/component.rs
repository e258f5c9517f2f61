//! The component's exports and imports: each export goes through [`crate::adapter::dispatch`]
//! with the WIT imports as its [`Imports`].

use std::time::Duration;

use serde_json::Value;

use crate::adapter::dispatch;
use crate::adapter::imports::{Datetime, Imports, Level, ServerSettings};
use crate::bindings::exports::velero::csi::actions as wit;
use crate::bindings::velero::csi::types::ResourceIdentifier;
use crate::bindings::velero::csi::{clock, kube as wit_kube, log, server};
use crate::model::kube::{ApiResource, Condition, Kube, KubeError, ObjectRef};
use crate::registry;

/// The exported implementation of `velero:csi/actions`.
pub struct Component;

/// The [`Imports`] backed by the component's imports.
struct WitImports;

impl Imports for WitImports {
    fn log(&self, level: Level, message: &str) {
        log::log(level, message, &[]);
    }

    fn now(&self) -> Datetime {
        clock::now()
    }

    fn settings(&self) -> ServerSettings {
        server::settings()
    }
}

/// Parses an object the host returned.
fn object(json: String) -> Result<Value, KubeError> {
    serde_json::from_str(&json)
        .map_err(|e| KubeError::Invalid(format!("the host returned malformed JSON: {e}")))
}

impl Kube for WitImports {
    fn get(&self, target: &ObjectRef) -> Result<Value, KubeError> {
        wit_kube::get(target).and_then(object)
    }

    fn list(
        &self,
        api: &ApiResource,
        namespace: Option<&str>,
        label_selector: Option<&str>,
    ) -> Result<Vec<Value>, KubeError> {
        wit_kube::list(api, namespace, label_selector)?
            .into_iter()
            .map(object)
            .collect()
    }

    fn create(
        &self,
        api: &ApiResource,
        namespace: Option<&str>,
        value: &Value,
    ) -> Result<Value, KubeError> {
        wit_kube::create(api, namespace, &value.to_string()).and_then(object)
    }

    fn merge_patch(&self, target: &ObjectRef, patch: &Value) -> Result<Value, KubeError> {
        wit_kube::merge_patch(target, &patch.to_string()).and_then(object)
    }

    fn delete(&self, target: &ObjectRef) -> Result<(), KubeError> {
        wit_kube::delete(target)
    }

    fn wait_until(
        &self,
        target: &ObjectRef,
        condition: &Condition,
        timeout: Duration,
    ) -> Result<Option<Value>, KubeError> {
        let millis = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX);
        wit_kube::wait_until(target, condition, millis)?
            .map(object)
            .transpose()
    }
}

impl wit::Guest for Component {
    fn list_actions() -> Vec<wit::ActionInfo> {
        registry::list()
    }

    fn applies_to(action: String) -> Result<wit::ResourceSelector, wit::ActionError> {
        Ok(registry::applies_to(&action)?)
    }

    fn execute_backup(
        action: String,
        item: String,
        backup: String,
    ) -> Result<wit::BackupOutput, wit::ActionError> {
        Ok(dispatch::execute_backup(
            &WitImports,
            &action,
            &item,
            &backup,
        )?)
    }

    fn execute_restore(
        action: String,
        input: wit::RestoreInput,
    ) -> Result<wit::RestoreOutput, wit::ActionError> {
        Ok(dispatch::execute_restore(&WitImports, &action, &input)?)
    }

    fn execute_delete(
        action: String,
        item: String,
        backup: String,
    ) -> Result<(), wit::ActionError> {
        Ok(dispatch::execute_delete(
            &WitImports,
            &action,
            &item,
            &backup,
        )?)
    }

    fn progress(
        action: String,
        operation_id: String,
        owner: String,
    ) -> Result<wit::OperationProgress, wit::ActionError> {
        Ok(dispatch::progress(
            &WitImports,
            &action,
            &operation_id,
            &owner,
        )?)
    }

    fn cancel(action: String, operation_id: String, owner: String) -> Result<(), wit::ActionError> {
        Ok(dispatch::cancel(
            &WitImports,
            &action,
            &operation_id,
            &owner,
        )?)
    }

    fn are_additional_items_ready(
        action: String,
        additional_items: Vec<ResourceIdentifier>,
        restore: String,
    ) -> Result<bool, wit::ActionError> {
        Ok(dispatch::are_additional_items_ready(
            &WitImports,
            &action,
            &additional_items,
            &restore,
        )?)
    }
}

crate::bindings::export!(Component with_types_in crate::bindings);
