//! `velero-csi-wasm.io/pv-restorer` ([behaviour §8.5](../../../../docs/behaviour.md#85-pv-restore-velero-csi-wasmiopv-restorer)).
//!
//! Skips a volume whose claim the plugin snapshotted: the claim's restore provisions a new
//! volume from the snapshot.

use crate::adapter::imports::{Imports, Level};
use crate::bindings::exports::velero::csi::actions::RestoreOutput;
use crate::model::error::ActionError;
use crate::registry::{RestoreItemAction, RestoreRequest, restore_output};
use csi_common::keys::modern;

/// The modern PV restore action.
pub struct ModernPvRestore;

impl RestoreItemAction for ModernPvRestore {
    fn execute(
        &self,
        host: &dyn Imports,
        request: RestoreRequest,
    ) -> Result<RestoreOutput, ActionError> {
        let marked = request.item_from_backup.annotation(modern::FROM_SNAPSHOT) == Some("true");
        let skip = marked && request.restore.restore_pvs() != Some(false);
        if skip {
            host.log(
                Level::Info,
                &format!(
                    "Modern mode: skipping PV {}: its claim is restored from the plugin's snapshot",
                    request.item_from_backup.name()
                ),
            );
        }
        Ok(restore_output(request.item.into_json(), Vec::new(), skip))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::fixtures::{imports_with, item, restore, volume};

    fn run(annotations: serde_json::Value, restore_spec: serde_json::Value) -> RestoreOutput {
        let host = imports_with([]);
        let pv = volume(json!({"metadata": {"annotations": annotations}}));
        let request = RestoreRequest {
            item: item(&pv),
            item_from_backup: item(&pv),
            restore: restore(json!({"spec": restore_spec})),
        };
        let output = ModernPvRestore.execute(&host, request).unwrap();
        assert!(host.cluster().calls().is_empty());
        output
    }

    #[test]
    fn marked_volumes_are_skipped() {
        let output = run(json!({modern::FROM_SNAPSHOT: "true"}), json!({}));
        assert!(output.skip_restore);
        assert_eq!(
            output.item,
            volume(json!({"metadata": {"annotations": {modern::FROM_SNAPSHOT: "true"}}}))
                .to_string()
        );
    }

    #[test]
    fn other_volumes_and_restore_pvs_false_are_kept() {
        assert!(!run(json!({}), json!({})).skip_restore);
        assert!(!run(json!({modern::FROM_SNAPSHOT: "false"}), json!({})).skip_restore);
        assert!(
            !run(
                json!({modern::FROM_SNAPSHOT: "true"}),
                json!({"restorePVs": false})
            )
            .skip_restore
        );
        assert!(
            run(
                json!({modern::FROM_SNAPSHOT: "true"}),
                json!({"restorePVs": true})
            )
            .skip_restore
        );
    }
}
