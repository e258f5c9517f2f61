//! `velero-csi-wasm.io/pv-backupper` ([behaviour §8.4](../../../../docs/behaviour.md#84-pv-backup-velero-csi-wasmiopv-backupper)).
//!
//! Marks a backed-up CSI volume whose claim the plugin snapshots (the same decision as the
//! PVC action), so that the restore drops the volume and provisions the claim from the
//! snapshot: Velero core restores a `Retain` volume it did not snapshot as it is, and the
//! restored claim would bind to the old volume again.

use serde_json::Value;

use crate::actions::item_only;
use crate::adapter::imports::{Imports, Level};
use crate::bindings::exports::velero::csi::actions::BackupOutput;
use crate::csi::routing;
use crate::model::error::ActionError;
use crate::model::item::Item;
use crate::model::json::str_at;
use crate::model::kube::{KubeError, namespaced, resources};
use crate::model::velero::Backup;
use crate::registry::BackupItemAction;
use csi_common::keys::modern;

/// The modern PV backup action.
pub struct ModernPvBackup;

impl BackupItemAction for ModernPvBackup {
    fn execute(
        &self,
        host: &dyn Imports,
        mut item: Item,
        backup: &Backup,
    ) -> Result<BackupOutput, ActionError> {
        if backup.is_finalizing() || item.pointer("/spec/csi").is_none_or(Value::is_null) {
            return Ok(item_only(item));
        }
        let volume = item.name().to_owned();
        let claim_namespace = str_at(item.value(), &["spec", "claimRef", "namespace"])
            .unwrap_or_default()
            .to_owned();
        let claim_name = str_at(item.value(), &["spec", "claimRef", "name"])
            .unwrap_or_default()
            .to_owned();
        if claim_namespace.is_empty() || claim_name.is_empty() {
            return Ok(item_only(item));
        }
        let pvc = match host.get(&namespaced(
            resources::persistent_volume_claims(),
            &claim_namespace,
            &claim_name,
        )) {
            Ok(pvc) => pvc,
            Err(KubeError::NotFound(_)) => {
                host.log(
                    Level::Info,
                    &format!(
                        "Modern mode: PV {volume} left as it is: its claim {claim_namespace}/{claim_name} does not exist"
                    ),
                );
                return Ok(item_only(item));
            }
            Err(e) => {
                return Err(ActionError::kube(
                    format!("error getting PVC {claim_namespace}/{claim_name} of PV {volume}"),
                    e,
                ));
            }
        };
        let bound_here = str_at(&pvc, &["status", "phase"]) == Some("Bound")
            && str_at(&pvc, &["spec", "volumeName"]) == Some(volume.as_str());
        if !bound_here {
            host.log(
                Level::Info,
                &format!(
                    "Modern mode: PV {volume} left as it is: PVC {claim_namespace}/{claim_name} is not bound to it"
                ),
            );
            return Ok(item_only(item));
        }
        let decision = routing::decide_and_log(host, &pvc, item.value(), backup)?;
        if decision.snapshot {
            item.set_annotation(modern::FROM_SNAPSHOT, "true");
        }
        Ok(item_only(item))
    }
}

#[cfg(test)]
mod tests;
