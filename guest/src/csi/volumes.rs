//! The PersistentVolume behind a claim ([behaviour §3.3](../../../docs/behaviour.md#33-persistentvolume-lookup)).

use serde_json::Value;

use crate::adapter::imports::Imports;
use crate::model::error::ActionError;
use crate::model::json::str_at;
use crate::model::kube::{cluster_scoped, resources};

/// The PersistentVolume bound to `claim`. The checks run in v0.7.1's order: a claim without
/// a volume name fails first, then a claim that is not `Bound` (even when it names a volume),
/// and only then is the volume read.
pub fn pv_for_pvc(host: &dyn Imports, claim: &Value) -> Result<Value, ActionError> {
    let namespace = str_at(claim, &["metadata", "namespace"]).unwrap_or_default();
    let name = str_at(claim, &["metadata", "name"]).unwrap_or_default();
    let volume = str_at(claim, &["spec", "volumeName"]).unwrap_or_default();
    if volume.is_empty() {
        return Err(ActionError::Failed(format!(
            "PVC {namespace}/{name} has no volume backing this claim"
        )));
    }
    let phase = str_at(claim, &["status", "phase"]).unwrap_or_default();
    if phase != "Bound" {
        return Err(ActionError::Failed(format!(
            "PVC {namespace}/{name} is in phase {phase} and is not bound to a volume"
        )));
    }
    host.get(&cluster_scoped(resources::persistent_volumes(), volume))
        .map_err(|e| {
            ActionError::kube(
                format!("failed to get PV {volume} for PVC {namespace}/{name}"),
                e,
            )
        })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::fixtures::{claim, imports_with, volume};

    /// [scenarios §5.1](../../../docs/scenarios.md#51-pvc-backup), scenario 6.
    #[test]
    fn missing_volume_is_wrapped() {
        let host = imports_with([volume(json!({}))]);
        let error = pv_for_pvc(&host, &claim(json!({"spec": {"volumeName": "pv-2"}}))).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("failed to get PV pv-2 for PVC app/data: "),
            "{error}"
        );
        assert!(matches!(
            error,
            ActionError::Kube {
                error: crate::model::kube::KubeError::NotFound(_),
                ..
            }
        ));
    }
}
