//! Waiting for a condition on one object: a watch (list, then watch from its
//! resourceVersion), never polling.
//!
//! A transient failure of the list or the watch (see [`is_transient`]), or a watch expired
//! by the server (410 Gone), restarts them after a backoff; the budget of retries is
//! renewed by every event received. Other failures end the wait with their error.

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::watcher::{self, watch_object};
use serde_json::Value;

use super::kube_error;
use super::retry::{Backoff, is_transient};
use crate::bindings::{Condition, KubeError};

/// Watches the object `name` until `condition` holds (`Some` object) or, for
/// [`Condition::Deleted`], until it is gone (`None`). `resource` names the kind in errors.
pub(super) async fn watch_until(
    api: Api<DynamicObject>,
    resource: &str,
    name: &str,
    condition: &Condition,
) -> Result<Option<String>, KubeError> {
    let mut events = watch_object(api, name).boxed();
    let mut backoff = Backoff::new();
    while let Some(event) = events.next().await {
        let object = match event {
            Ok(object) => {
                backoff = Backoff::new();
                object
            }
            Err(watcher::Error::NoResourceVersion) => {
                return Err(KubeError::Other(
                    watcher::Error::NoResourceVersion.to_string(),
                ));
            }
            Err(
                watcher::Error::InitialListFailed(error)
                | watcher::Error::WatchStartFailed(error)
                | watcher::Error::WatchFailed(error),
            ) => {
                retry_or_fail(&mut backoff, error).await?;
                continue;
            }
            Err(watcher::Error::WatchError(status)) => {
                retry_or_fail(&mut backoff, kube::Error::Api(status)).await?;
                continue;
            }
        };
        match object {
            None if matches!(condition, Condition::Deleted) => return Ok(None),
            None => {
                return Err(KubeError::NotFound(format!(
                    "{resource} \"{name}\" not found"
                )));
            }
            Some(object) => {
                let value =
                    serde_json::to_value(&object).map_err(|e| KubeError::Other(e.to_string()))?;
                if holds(condition, &value) {
                    return Ok(Some(value.to_string()));
                }
            }
        }
    }
    Err(KubeError::Unavailable(format!("the watch on {name} ended")))
}

/// Waits before the watcher restarts after `error`, or fails with it.
async fn retry_or_fail(backoff: &mut Backoff, error: kube::Error) -> Result<(), KubeError> {
    let gone = matches!(&error, kube::Error::Api(status) if status.code == 410);
    if (gone || is_transient(&error)) && backoff.pause(&error).await {
        Ok(())
    } else {
        Err(kube_error(error))
    }
}

/// Whether `condition` holds for an object (not for [`Condition::Deleted`]).
fn holds(condition: &Condition, object: &Value) -> bool {
    match condition {
        Condition::FieldPresent(pointer) => object.pointer(pointer).is_some_and(|v| !v.is_null()),
        Condition::FieldEquals(field) => serde_json::from_str::<Value>(&field.value)
            .is_ok_and(|expected| object.pointer(&field.pointer) == Some(&expected)),
        Condition::Deleted => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bindings::FieldValue;
    use serde_json::json;

    #[test]
    fn conditions_read_json_pointers() {
        let object = json!({"status": {"readyToUse": true, "boundVolumeSnapshotContentName": "c1", "error": null}});
        assert!(holds(
            &Condition::FieldPresent("/status/boundVolumeSnapshotContentName".into()),
            &object
        ));
        assert!(!holds(
            &Condition::FieldPresent("/status/error".into()),
            &object
        ));
        let ready = FieldValue {
            pointer: "/status/readyToUse".into(),
            value: "true".into(),
        };
        assert!(holds(&Condition::FieldEquals(ready), &object));
        assert!(!holds(&Condition::Deleted, &object));
    }
}
