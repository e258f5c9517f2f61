//! Velero's volume policies ("resource policies"), re-implemented from Velero v1.18.3's
//! behaviour: parse and validate a policy document, and decide which action the first
//! matching volume policy gives a PVC (`skip`, `snapshot`, `fs-backup`, `custom` with its
//! parameters) or that none matches.
//!
//! ```
//! use volume_policy::{ActionType, Policies};
//!
//! let policies = Policies::parse(
//!     "version: v1\nvolumePolicies:\n- conditions: {storageClass: [gp2]}\n  action: {type: skip}\n",
//! )?;
//! let pvc = serde_json::json!({"status": {"phase": "Bound"}});
//! let pv = serde_json::json!({"spec": {"storageClassName": "gp2"}});
//! let action = policies.evaluate(Some(&pvc), Some(&pv))?;
//! assert_eq!(action.map(|a| a.kind), Some(ActionType::Skip));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Where the documents come from: a Backup's `spec.resourcePolicy` names a ConfigMap in the
//! backup's (Velero's) namespace ([`backup_policy_configmap`]); its single data key holds the
//! document ([`configmap_document`]). The server flag `--global-backup-volume-policies-configmap`
//! names a second ConfigMap in the Velero namespace, recorded on each backup in the annotation
//! [`GLOBAL_POLICY_ANNOTATION`]; [`Policies::with_global`] combines the two as Velero does.

mod decode;
mod error;
mod filters;
mod policy;
mod quantity;
mod volume;
mod yaml;

#[cfg(feature = "cases")]
pub mod cases;

use serde_json::Value;

pub use error::{EvalError, PolicyError};
pub use policy::{
    Action, ActionType, Capacity, Conditions, CsiCondition, NfsCondition, Policies,
    SUPPORTED_VERSION, VolumePolicy,
};
pub use quantity::{Quantity, QuantityError};

/// The Backup annotation in which Velero v1.18 records the name of the global volume policies
/// ConfigMap that contributed to the backup.
pub const GLOBAL_POLICY_ANNOTATION: &str = "velero.io/global-backup-volume-policy-configmap";

/// The name of the policy ConfigMap a Backup refers to: `spec.resourcePolicy.name` when
/// `spec.resourcePolicy.kind` is `configmap` in any letter case; `None` otherwise (Velero then
/// uses no per-backup policies). The ConfigMap lives in the backup's namespace.
pub fn backup_policy_configmap(backup: &Value) -> Option<&str> {
    let reference = backup.get("spec")?.get("resourcePolicy")?;
    let kind = reference.get("kind")?.as_str()?;
    if !kind.eq_ignore_ascii_case("configmap") {
        return None;
    }
    Some(reference.get("name").and_then(Value::as_str).unwrap_or(""))
}

/// Why a ConfigMap does not hold a policy document.
#[derive(Debug, thiserror::Error)]
pub enum ConfigMapError {
    /// `data` does not have exactly one key.
    #[error("illegal resource policies configmap: data has {keys} keys, expected exactly one")]
    KeyCount {
        /// How many keys `data` has.
        keys: usize,
    },
    /// The single value is not a string.
    #[error("illegal resource policies configmap: data value is not a string")]
    NotText,
}

/// The policy document of a ConfigMap: the value of the single key of `data`, whatever the
/// key's name (`binaryData` is not read).
pub fn configmap_document(configmap: &Value) -> Result<&str, ConfigMapError> {
    let data = configmap.get("data").and_then(Value::as_object);
    let keys = data.map_or(0, serde_json::Map::len);
    let value = data
        .filter(|_| keys == 1)
        .and_then(|d| d.values().next())
        .ok_or(ConfigMapError::KeyCount { keys })?;
    value.as_str().ok_or(ConfigMapError::NotText)
}
