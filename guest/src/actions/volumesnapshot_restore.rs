//! `velero.io/csi-volumesnapshot-restorer` (spec §2.6).
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

        // As in v0.7.1, any error (not only NotFound) counts as "does not exist" (spec §2.6
        // step 4; §7 L22 discusses the stricter alternative). An existing snapshot is kept as
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

/// The pre-provisioned content for the snapshot `target/name` (spec §2.6 step 5.3): no
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
mod tests {
    use std::sync::Arc;

    use sim_cluster::{Cluster, Fault, Gvr, SimError, Verb};

    use super::*;
    use crate::adapter::sim::SimImports;
    use crate::fixtures;
    use crate::model::item::Item;

    /// The `VS` fixture as backed up (no status), with these annotations and a field no
    /// Kubernetes version knows.
    fn snapshot(annotations: Value) -> Value {
        let mut snapshot = fixtures::volume_snapshot(json!({
            "metadata": {"labels": {"app": null}},
            "status": null,
            "futureField": {"x": 1}
        }));
        snapshot["metadata"]["annotations"] = annotations;
        snapshot
    }

    fn annotations() -> Value {
        json!({
            "velero.io/csi-volumesnapshot-handle": "h1",
            "velero.io/csi-driver-name": "hostpath.csi.k8s.io",
            "velero.io/vsi-volumesnapshot-restore-size": "10Gi"
        })
    }

    /// The `R` fixture (uid `u`), with `spec` merged in.
    fn restore(spec: Value) -> Restore {
        fixtures::restore(json!({"metadata": {"uid": "u"}, "spec": spec}))
    }

    fn execute(
        cluster: &Arc<Cluster>,
        item: &Value,
        restore: Restore,
    ) -> Result<RestoreOutput, ActionError> {
        let text = item.to_string();
        let request = RestoreRequest {
            item: Item::parse("item", &text).unwrap(),
            item_from_backup: Item::parse("itemFromBackup", &text).unwrap(),
            restore,
        };
        VolumeSnapshotRestore.execute(&SimImports::new(cluster.clone()), request)
    }

    fn contents(cluster: &Cluster) -> Vec<Value> {
        cluster.objects(&Gvr::new(
            "snapshot.storage.k8s.io",
            "v1",
            "volumesnapshotcontents",
        ))
    }

    /// Spec §5.9, scenario 95.
    #[test]
    fn skips_when_pv_restore_is_disabled() {
        let cluster = Arc::new(Cluster::new());
        let out = execute(
            &cluster,
            &snapshot(annotations()),
            restore(json!({"restorePVs": false})),
        )
        .unwrap();
        assert!(out.skip_restore);
        assert!(cluster.calls().is_empty());
    }

    /// Spec §5.9, scenario 96.
    #[test]
    fn binds_the_snapshot_to_a_static_content() {
        let cluster = Arc::new(Cluster::new());
        let out = execute(&cluster, &snapshot(annotations()), restore(json!({}))).unwrap();
        assert!(
            !out.skip_restore && out.additional_items.is_empty() && out.operation_id.is_empty()
        );

        let calls = cluster.calls();
        assert_eq!(calls.len(), 2);
        assert_eq!(
            (
                calls[0].verb,
                calls[0].namespace.as_deref(),
                calls[0].name.as_str()
            ),
            (Verb::Get, Some("app"), "velero-data-abcde")
        );
        assert_eq!(calls[1].verb, Verb::Create);
        assert_eq!(
            calls[1].body.as_ref().unwrap(),
            &json!({
                "apiVersion": "snapshot.storage.k8s.io/v1",
                "kind": "VolumeSnapshotContent",
                "metadata": {"generateName": "velero-velero-data-abcde-", "labels": {"velero.io/restore-name": "r1"}},
                "spec": {
                    "deletionPolicy": "Retain",
                    "driver": "hostpath.csi.k8s.io",
                    "source": {"snapshotHandle": "h1"},
                    "volumeSnapshotRef": {"kind": "VolumeSnapshot", "namespace": "app", "name": "velero-data-abcde"}
                }
            })
        );
        assert_eq!(contents(&cluster).len(), 1);

        let result: Value = serde_json::from_str(&out.item).unwrap();
        let mut expected = snapshot(annotations());
        expected["spec"]["source"] =
            json!({"volumeSnapshotContentName": "velero-velero-data-abcde-abcde"});
        expected["metadata"]["annotations"]["velero.io/csi-vsc-deletion-policy"] = json!("Retain");
        assert_eq!(result, expected);
    }

    /// Spec §5.9, scenarios 97 and 98.
    #[test]
    fn requires_the_handle_and_driver_annotations() {
        let cluster = Arc::new(Cluster::new());
        let mut without_handle = annotations();
        without_handle
            .as_object_mut()
            .unwrap()
            .remove("velero.io/csi-volumesnapshot-handle");
        let error = execute(&cluster, &snapshot(without_handle), restore(json!({}))).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Volumesnapshot app/velero-data-abcde does not have a velero.io/csi-volumesnapshot-handle annotation"
        );

        let mut without_driver = annotations();
        without_driver
            .as_object_mut()
            .unwrap()
            .remove("velero.io/csi-driver-name");
        let error = execute(&cluster, &snapshot(without_driver), restore(json!({}))).unwrap_err();
        assert_eq!(
            error.to_string(),
            "Volumesnapshot app/velero-data-abcde does not have a velero.io/csi-driver-name annotation"
        );
        let error = execute(&cluster, &snapshot(Value::Null), restore(json!({}))).unwrap_err();
        assert!(
            error
                .to_string()
                .ends_with("does not have a velero.io/csi-volumesnapshot-handle annotation")
        );
        assert!(contents(&cluster).is_empty());
    }

    /// Spec §5.9, scenario 99.
    #[test]
    fn an_existing_snapshot_is_kept() {
        let cluster = Arc::new(Cluster::new());
        cluster.seed([snapshot(annotations())]);
        let item = snapshot(annotations());
        let out = execute(&cluster, &item, restore(json!({}))).unwrap();
        assert_eq!(out.item, item.to_string());
        assert!(contents(&cluster).is_empty());
    }

    /// Spec §5.9, scenario 100.
    #[test]
    fn namespace_mapping() {
        let cluster = Arc::new(Cluster::new());
        // A snapshot of that name in the original namespace does not count.
        cluster.seed([snapshot(annotations())]);
        let out = execute(
            &cluster,
            &snapshot(annotations()),
            restore(json!({"namespaceMapping": {"app": "app2"}})),
        )
        .unwrap();
        let calls = cluster.calls();
        assert_eq!(calls[0].namespace.as_deref(), Some("app2"));
        assert_eq!(
            contents(&cluster)[0]["spec"]["volumeSnapshotRef"]["namespace"],
            "app2"
        );
        let result: Value = serde_json::from_str(&out.item).unwrap();
        assert_eq!(result["metadata"]["namespace"], "app");
    }

    /// Spec §2.6 step 4: any lookup error counts as "does not exist" (v0.7.1).
    #[test]
    fn any_lookup_error_counts_as_absent() {
        let cluster = Arc::new(Cluster::new());
        cluster.seed([snapshot(annotations())]);
        cluster.inject(Fault {
            verb: Verb::Get,
            resource: "volumesnapshots".into(),
            name: None,
            error: SimError::Forbidden("volumesnapshots is forbidden".into()),
            times: None,
        });
        execute(&cluster, &snapshot(annotations()), restore(json!({}))).unwrap();
        assert_eq!(contents(&cluster).len(), 1);
    }

    /// Spec §5.9, scenario 101.
    #[test]
    fn content_creation_failure() {
        let cluster = Arc::new(Cluster::new());
        cluster.inject(Fault {
            verb: Verb::Create,
            resource: "volumesnapshotcontents".into(),
            name: None,
            error: SimError::Forbidden("volumesnapshotcontents is forbidden".into()),
            times: None,
        });
        let error = execute(&cluster, &snapshot(annotations()), restore(json!({}))).unwrap_err();
        assert_eq!(
            error.to_string(),
            "failed to create volumesnapshotcontents velero-velero-data-abcde-: volumesnapshotcontents is forbidden"
        );
    }

    /// Spec §5.9, scenario 102: the spec reset, on either kind of source.
    #[test]
    fn spec_reset() {
        for source in [
            json!({"persistentVolumeClaimName": "test-pvc"}),
            json!({"volumeSnapshotContentName": "DEADFEED"}),
        ] {
            let cluster = Arc::new(Cluster::new());
            let mut item = snapshot(annotations());
            item["spec"]["source"] = source;
            item.as_object_mut().unwrap().remove("futureField");
            let out = execute(&cluster, &item, restore(json!({}))).unwrap();
            let result: Value = serde_json::from_str(&out.item).unwrap();
            assert_eq!(result["metadata"]["name"], "velero-data-abcde");
            assert_eq!(result["metadata"]["namespace"], "app");
            assert_eq!(
                result["spec"],
                json!({"source": {"volumeSnapshotContentName": "velero-velero-data-abcde-abcde"}, "volumeSnapshotClassName": "snap-default"})
            );
            assert!(result.get("status").is_none());
        }
    }

    #[test]
    fn progress_cancel_and_readiness() {
        let host = SimImports::new(Arc::default());
        let restore = restore(json!({}));
        assert!(VolumeSnapshotRestore.progress(&host, "", &restore).is_err());
        assert!(
            !VolumeSnapshotRestore
                .progress(&host, "op", &restore)
                .unwrap()
                .completed
        );
        assert!(VolumeSnapshotRestore.cancel(&host, "op", &restore).is_ok());
        assert!(
            VolumeSnapshotRestore
                .are_additional_items_ready(&host, &[], &restore)
                .unwrap()
        );
    }
}
