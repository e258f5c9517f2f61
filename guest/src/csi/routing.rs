//! Modern mode: whether the plugin snapshots a claim ([behaviour §8.2](../../../docs/behaviour.md#82-the-decision)).
//!
//! One decision serves both deployments of the modern actions: beside core's CSI
//! (`EnableCSI` on), where the plugin takes only the volumes a `custom` volume policy routes
//! to it, and instead of core's CSI (`EnableCSI` off), where it also decides every other
//! volume as Velero v1.18.3's volume helper does for core's own CSI action.

use serde_json::{Map, Value};
use volume_policy::{
    ActionType, ConfigMapError, GLOBAL_POLICY_ANNOTATION, Policies, PolicyError,
    backup_policy_configmap, configmap_document,
};

use crate::adapter::imports::{Imports, Level, core_csi_enabled};
use crate::csi::fs_backup;
use crate::model::error::{ActionError, quoted};
use crate::model::json::str_at;
use crate::model::kube::{KubeError, message, namespaced, resources};
use crate::model::velero::Backup;
use csi_common::keys::modern;

/// Why a volume-policy ConfigMap cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum PolicySourceError {
    /// The GET failed (the ConfigMap is missing, or the API refused).
    #[error("cannot be read: {message}")]
    Read {
        /// The API server's message.
        message: String,
        /// The failed call.
        error: KubeError,
    },
    /// The ConfigMap does not hold exactly one document.
    #[error(transparent)]
    NotPolicies(#[from] ConfigMapError),
    /// The document is not a valid Velero resource-policies document.
    #[error(transparent)]
    Invalid(#[from] PolicyError),
}

/// What the plugin does with a claim, and why (for the info log).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the plugin snapshots the claim.
    pub snapshot: bool,
    /// Why, in words.
    pub reason: String,
}

impl Decision {
    fn snapshot(reason: impl Into<String>) -> Self {
        Self {
            snapshot: true,
            reason: reason.into(),
        }
    }

    fn leave(reason: impl Into<String>) -> Self {
        Self {
            snapshot: false,
            reason: reason.into(),
        }
    }
}

/// The `custom` action parameters that route a volume to the plugin.
fn routing_parameters() -> Map<String, Value> {
    let (key, value) = modern::POLICY_PARAMETER;
    let mut map = Map::new();
    map.insert(key.to_owned(), Value::String(value.to_owned()));
    map
}

/// Reads and parses the policy ConfigMap `namespace/name`.
fn load_configmap(
    host: &dyn Imports,
    namespace: &str,
    name: &str,
) -> Result<Policies, ActionError> {
    let wrap = |source: PolicySourceError| ActionError::PolicyConfigMap {
        configmap: quoted(&format!("{namespace}/{name}")),
        source,
    };
    let configmap = host
        .get(&namespaced(resources::config_maps(), namespace, name))
        .map_err(|error| {
            wrap(PolicySourceError::Read {
                message: message(&error).to_owned(),
                error,
            })
        })?;
    let document = configmap_document(&configmap).map_err(|e| wrap(e.into()))?;
    Policies::parse(document).map_err(|e| wrap(e.into()))
}

/// The Backup's effective volume policies: its `spec.resourcePolicy` ConfigMap and the global
/// one (the Backup's [`GLOBAL_POLICY_ANNOTATION`], else the server's
/// `--global-backup-volume-policies-configmap`), both in the Backup's namespace, combined as
/// Velero v1.18.3 does (the Backup's policies first). `None` when there are none.
pub fn load_policies(host: &dyn Imports, backup: &Backup) -> Result<Option<Policies>, ActionError> {
    let namespace = backup.namespace();
    let own = backup_policy_configmap(backup.value())
        .map(|name| load_configmap(host, namespace, name))
        .transpose()?;
    let global_name = backup
        .annotation(GLOBAL_POLICY_ANNOTATION)
        .filter(|n| !n.is_empty())
        .map(str::to_owned)
        .or_else(|| {
            host.settings()
                .global_volume_policies
                .filter(|n| !n.is_empty())
        });
    let global = global_name
        .map(|name| load_configmap(host, namespace, &name))
        .transpose()?;
    Ok(Policies::with_global(own, global))
}

/// Whether the plugin snapshots `pvc` (bound to the CSI volume `pv`) for `backup`. The caller
/// has checked that the claim is bound and the volume is CSI.
pub fn decide(
    host: &dyn Imports,
    pvc: &Value,
    pv: &Value,
    backup: &Backup,
) -> Result<Decision, ActionError> {
    let namespace = str_at(pvc, &["metadata", "namespace"]).unwrap_or_default();
    let claim = str_at(pvc, &["metadata", "name"]).unwrap_or_default();
    let policies = load_policies(host, backup)?;
    let matched = match &policies {
        Some(policies) => policies.evaluate(Some(pvc), Some(pv)).map_err(|source| {
            ActionError::PolicyEvaluation {
                item: quoted(&format!("PVC {namespace}/{claim}")),
                source,
            }
        })?,
        None => None,
    };

    if matched.is_some_and(|action| action.is_custom_with(&routing_parameters())) {
        let (key, value) = modern::POLICY_PARAMETER;
        return Ok(Decision::snapshot(format!(
            "its first matching volume policy is custom with {key}: {value}"
        )));
    }
    if core_csi_enabled(&host.settings()) {
        return Ok(Decision::leave(
            "Velero's own CSI support is on (EnableCSI) and no custom volume policy routes it to this plugin",
        ));
    }

    // Standing in for core: decide as Velero v1.18.3 decides for its own CSI action.
    if let Some(action) = matched {
        return Ok(match action.kind {
            ActionType::Snapshot => {
                Decision::snapshot("its first matching volume policy is snapshot")
            }
            other => Decision::leave(format!(
                "its first matching volume policy is {}",
                other.as_str()
            )),
        });
    }
    let default_to_fs = backup.default_volumes_to_fs_backup() == Some(true);
    if fs_backup::is_pvc_default_to_fs_backup(host, namespace, claim, default_to_fs)? {
        return Ok(Decision::leave("it is selected for file-system backup"));
    }
    if backup.snapshot_volumes() == Some(false) {
        return Ok(Decision::leave("the backup sets snapshotVolumes to false"));
    }
    Ok(Decision::snapshot(
        "no volume policy matches and the backup takes volume snapshots",
    ))
}

/// [`decide`], with the decision logged at info level.
pub fn decide_and_log(
    host: &dyn Imports,
    pvc: &Value,
    pv: &Value,
    backup: &Backup,
) -> Result<Decision, ActionError> {
    let decision = decide(host, pvc, pv, backup)?;
    let namespace = str_at(pvc, &["metadata", "namespace"]).unwrap_or_default();
    let claim = str_at(pvc, &["metadata", "name"]).unwrap_or_default();
    let verdict = if decision.snapshot {
        "snapshotting"
    } else {
        "not snapshotting"
    };
    host.log(
        Level::Info,
        &format!(
            "Modern mode: {verdict} PVC {namespace}/{claim}: {}",
            decision.reason
        ),
    );
    Ok(decision)
}

#[cfg(test)]
pub(crate) mod tests;
