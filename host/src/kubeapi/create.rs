//! Creating an object without ever creating it twice.
//!
//! A create is not idempotent, so it is never simply sent again. Only a transient failure
//! (see [`is_transient`]) leaves its outcome unknown; every other error is returned at
//! once. After an unknown outcome:
//!
//! - an object named by `metadata.generateName` is looked for: the objects with the new
//!   object's labels are listed before the create and again after the failure; if exactly
//!   one object with the generated-name prefix appeared, the create succeeded and that
//!   object is returned; if none did, the create is sent again; otherwise (or when a list
//!   fails) the create's error is returned;
//! - an object with a fixed name is created again, and `AlreadyExists` on that retry means
//!   the lost attempt succeeded: the object is read back and returned.

use std::collections::BTreeSet;

use kube::api::{Api, DynamicObject, ListParams, PostParams};

use super::FIELD_MANAGER;
use super::retry::{Backoff, is_already_exists, is_transient, retrying};

/// Creates `object`, retrying only where that cannot create it twice.
pub(super) async fn create(
    api: &Api<DynamicObject>,
    object: &DynamicObject,
) -> Result<DynamicObject, kube::Error> {
    let named = object
        .metadata
        .name
        .as_deref()
        .is_some_and(|n| !n.is_empty());
    match object.metadata.generate_name.as_deref() {
        Some(prefix) if !named && !prefix.is_empty() => create_generated(api, object, prefix).await,
        _ => create_named(api, object).await,
    }
}

/// Creates an object with a fixed name.
async fn create_named(
    api: &Api<DynamicObject>,
    object: &DynamicObject,
) -> Result<DynamicObject, kube::Error> {
    let mut backoff = Backoff::new();
    let mut retried = false;
    loop {
        match api.create(&post_params(), object).await {
            Err(error) if retried && is_already_exists(&error) => {
                // An earlier attempt whose answer was lost created it.
                let name = object.metadata.name.as_deref().unwrap_or_default();
                return retrying(is_transient, || api.get(name)).await;
            }
            Err(error) if is_transient(&error) && backoff.pause(&error).await => retried = true,
            outcome => return outcome,
        }
    }
}

/// Creates an object named by the server from `prefix`.
async fn create_generated(
    api: &Api<DynamicObject>,
    object: &DynamicObject,
    prefix: &str,
) -> Result<DynamicObject, kube::Error> {
    let same_labels = same_labels(object);
    // Without the names from before, an unknown outcome cannot be resolved: the create is
    // still made, but not retried.
    let before: Option<BTreeSet<String>> = retrying(is_transient, || api.list(&same_labels))
        .await
        .ok()
        .map(|list| {
            list.items
                .into_iter()
                .filter_map(|o| o.metadata.name)
                .collect()
        });
    let mut backoff = Backoff::new();
    loop {
        let error = match api.create(&post_params(), object).await {
            Err(error) if is_transient(&error) => error,
            outcome => return outcome,
        };
        let Some(before) = &before else {
            return Err(error);
        };
        let Ok(after) = retrying(is_transient, || api.list(&same_labels)).await else {
            return Err(error);
        };
        let mut appeared = after.items.into_iter().filter(|o| {
            o.metadata
                .name
                .as_deref()
                .is_some_and(|name| name.starts_with(prefix) && !before.contains(name))
        });
        match (appeared.next(), appeared.next()) {
            (Some(created), None) => return Ok(created),
            (None, _) if backoff.pause(&error).await => {}
            _ => return Err(error),
        }
    }
}

/// A list of the objects with (at least) `object`'s labels: all of them when it has none.
fn same_labels(object: &DynamicObject) -> ListParams {
    let selector = object
        .metadata
        .labels
        .iter()
        .flatten()
        .map(|(key, value)| format!("{key}={value}"))
        .collect::<Vec<_>>()
        .join(",");
    match selector.as_str() {
        "" => ListParams::default(),
        selector => ListParams::default().labels(selector),
    }
}

/// Creates carry this plugin's field manager.
fn post_params() -> PostParams {
    PostParams {
        field_manager: Some(FIELD_MANAGER.to_owned()),
        ..PostParams::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn selectors_name_every_label() {
        let object: DynamicObject = serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"generateName": "x-", "labels": {"b": "2", "a": "1"}}
        }))
        .unwrap();
        assert_eq!(
            same_labels(&object).label_selector.as_deref(),
            Some("a=1,b=2")
        );
        let bare: DynamicObject = serde_json::from_value(
            json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}}),
        )
        .unwrap();
        assert_eq!(same_labels(&bare).label_selector, None);
    }
}
