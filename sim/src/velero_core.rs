//! What Velero core does to the cluster around the plugin's restore calls, for the stand-ins
//! of Velero core that drive the simulation (the demo and the scenario corpus).

use serde_json::Value;

use crate::resources::gvr_of_kind;
use crate::store::{Cluster, SimError};

/// Velero's reset of an item before it is restored: identity, labels and annotations stay;
/// server-set metadata and the status go.
pub fn reset_for_restore(item: &Value) -> Value {
    let mut item = item.clone();
    if let Some(metadata) = item.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata
            .retain(|k, _| matches!(k.as_str(), "name" | "namespace" | "labels" | "annotations"));
    }
    if let Some(fields) = item.as_object_mut() {
        fields.remove("status");
    }
    item
}

/// Creates a restored item unless an object of that name exists (Velero then leaves the
/// in-cluster copy as it is); whether it was created. Its resource comes from its `kind`.
pub fn create_restored(cluster: &Cluster, item: &Value) -> Result<bool, SimError> {
    let kind = item.get("kind").and_then(Value::as_str).unwrap_or_default();
    let gvr = gvr_of_kind(kind)
        .ok_or_else(|| SimError::Invalid(format!("the simulation does not know kind {kind:?}")))?;
    let namespace = item.pointer("/metadata/namespace").and_then(Value::as_str);
    match cluster.create(&gvr, namespace, item.clone()) {
        Ok(_) => Ok(true),
        Err(SimError::AlreadyExists(_)) => Ok(false),
        Err(error) => Err(error),
    }
}
