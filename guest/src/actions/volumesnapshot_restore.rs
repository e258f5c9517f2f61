//! `velero.io/csi-volumesnapshot-restorer` ([actions §2.6](../../../docs/actions.md#26-volumesnapshot-restore-veleroiocsi-volumesnapshot-restorer)).
//!
//! Restores a VolumeSnapshot bound to a new, statically provisioned VolumeSnapshotContent
//! that points at the storage snapshot recorded in the snapshot's annotations at backup
//! (a dynamically created content cannot be re-bound, external-snapshotter#274). The
//! content is created here, before Velero creates the snapshot, so that the two reference
//! each other. Skipped when the Restore explicitly disables PV restore.
//!
//! API calls: GET volumesnapshots (target namespace), CREATE volumesnapshotcontents
//! (cluster).

use serde_json::{Value, json};

use crate::adapter::imports::{Imports, Level};
use crate::bindings::exports::velero::csi::actions::RestoreOutput;
use crate::csi::snapshots::snapshot_ref;
use crate::model::error::ActionError;
use crate::model::kube::{KubeError, message, resources};
use crate::model::labels::normalize;
use crate::model::velero::Restore;
use crate::registry::{RestoreItemAction, RestoreRequest, restore_output};
use csi_common::keys;

/// Deletion policy of the static content, so that deleting the restored snapshot never
/// deletes the storage snapshot the backup still needs.
const RETAIN: &str = "Retain";

/// The VolumeSnapshot restore action.
pub struct VolumeSnapshotRestore;

impl RestoreItemAction for VolumeSnapshotRestore {
    fn execute(
        &self,
        host: &dyn Imports,
        request: RestoreRequest,
    ) -> Result<RestoreOutput, ActionError> {
        host.log(Level::Info, "Starting VolumeSnapshotRestoreItemAction");
        let RestoreRequest {
            item: mut snapshot,
            restore,
            ..
        } = request;

        if restore.restore_pvs() == Some(false) {
            host.log(
                Level::Info,
                &format!(
                    "Restore did not request for PVs to be restored {}/{}",
                    restore.namespace(),
                    restore.name()
                ),
            );
            return Ok(restore_output(snapshot.into_json(), Vec::new(), true));
        }

        let namespace = snapshot.namespace().to_owned();
        let name = snapshot.name().to_owned();
        let target = restore.target_namespace(&namespace).to_owned();

        // As in v0.7.1, any error (not only NotFound) counts as "does not exist" ([actions §2.6](../../../docs/actions.md#26-volumesnapshot-restore-veleroiocsi-volumesnapshot-restorer)
        // step 4; [behaviour §7 L22](../../../docs/behaviour.md#l22-any-error-means-absent) discusses the stricter alternative). An existing snapshot is kept as
        // it is and Velero reports it as already existing.
        let exists = match host.get(&snapshot_ref(&target, &name)) {
            Ok(_) => true,
            Err(KubeError::NotFound(_)) => false,
            Err(e) => {
                host.log(
                    Level::Debug,
                    &format!(
                        "Cannot check whether Volumesnapshot {target}/{name} exists, treating it as absent: {}",
                        message(&e)
                    ),
                );
                false
            }
        };
        if !exists {
            let annotation = |key: &str| {
                snapshot.annotation(key).map(str::to_owned).ok_or_else(|| {
                    ActionError::Failed(format!(
                        "Volumesnapshot {namespace}/{name} does not have a {key} annotation"
                    ))
                })
            };
            let handle = annotation(keys::VOLUME_SNAPSHOT_HANDLE)?;
            let driver = annotation(keys::DRIVER_NAME)?;

            host.log(
                Level::Debug,
                &format!(
                    "Set VolumeSnapshotContent {target}/{name} DeletionPolicy to Retain to make sure VS deletion in namespace will not delete Snapshot on cloud provider."
                ),
            );
            let content = static_content(&restore, &target, &name, &driver, &handle);
            let created = host
                .create(&resources::volume_snapshot_contents(), None, &content)
                .map_err(|e| {
                    ActionError::kube(
                        format!("failed to create volumesnapshotcontents velero-{name}-"),
                        e,
                    )
                })?;
            let content_name = crate::model::json::name(&created).to_owned();
            host.log(
                Level::Info,
                &format!(
                    "Created VolumesnapshotContents {content_name} with static binding to volumesnapshot {target}/{name}"
                ),
            );

            // From the dynamic source (the claim) to the static content.
            snapshot.remove(&["spec", "source", "persistentVolumeClaimName"]);
            snapshot.set(
                &["spec", "source", "volumeSnapshotContentName"],
                Value::String(content_name),
            );
            snapshot.set_annotation(keys::VSC_DELETION_POLICY, RETAIN);
        }

        host.log(
            Level::Info,
            "Returning from VolumeSnapshotRestoreItemAction with no additionalItems",
        );
        Ok(restore_output(snapshot.into_json(), Vec::new(), false))
    }
}

/// The pre-provisioned content for the snapshot `target/name` ([actions §2.6](../../../docs/actions.md#26-volumesnapshot-restore-veleroiocsi-volumesnapshot-restorer) step 5.3): no
/// annotations, no class, no secrets, a `velero-<name>-` generated name.
fn static_content(
    restore: &Restore,
    target: &str,
    name: &str,
    driver: &str,
    handle: &str,
) -> Value {
    json!({
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshotContent",
        "metadata": {
            "generateName": format!("velero-{name}-"),
            "labels": {keys::RESTORE_NAME: normalize(restore.name())}
        },
        "spec": {
            "deletionPolicy": RETAIN,
            "driver": driver,
            "source": {"snapshotHandle": handle},
            "volumeSnapshotRef": {"kind": "VolumeSnapshot", "namespace": target, "name": name}
        }
    })
}

#[cfg(test)]
mod tests;
