//! `velero.io/csi-pvc-backupper` ([actions §2.1](../../../docs/actions.md#21-pvc-backup-veleroiocsi-pvc-backupper)).
//!
//! For a claim bound to a CSI volume, creates a VolumeSnapshot and either hands it to Velero
//! as an additional item (CSI snapshot mode) or waits for its storage snapshot handle and
//! creates a DataUpload for the node agent (data-mover mode, an asynchronous operation).
//! The claim is edited in place: only the annotations and labels listed in the spec change.

use serde_json::{Map, Value, json};

use crate::actions::item_only;
use crate::adapter::imports::{Imports, Level};
use crate::bindings::exports::velero::csi::actions::{BackupOutput, OperationProgress};
use crate::csi::datamover::upload::{self, UploadSource};
use crate::csi::datamover::{no_progress, progress_of};
use crate::csi::snapshots::{delete_snapshot_only, delete_with_snapshot, wait_for_handle};
use crate::csi::{fs_backup, snapshot_class, volumes};
use crate::model::error::ActionError;
use crate::model::item::Item;
use crate::model::json::{name, str_at};
use crate::model::kube::{cluster_scoped, resources};
use crate::model::labels::normalize;
use crate::model::velero::Backup;
use crate::registry::{BackupItemAction, identifier};
use csi_common::keys;

/// The PVC backup action.
pub struct PvcBackup;

/// v0.7.1 decodes the claim into its typed model before anything else, which fails when a
/// field it reads has the wrong JSON type. The fields this action reads are checked the same
/// way; every other field is left as it is.
fn check_decodable(item: &Item) -> Result<(), ActionError> {
    let type_error = |path: &str, expected: &str| {
        Err(ActionError::InvalidInput(format!(
            "cannot decode PersistentVolumeClaim: {path} is not {expected}"
        )))
    };
    for path in [
        "/metadata/name",
        "/metadata/namespace",
        "/metadata/uid",
        "/spec/volumeName",
        "/spec/storageClassName",
        "/status/phase",
    ] {
        if item
            .pointer(path)
            .is_some_and(|v| !v.is_null() && !v.is_string())
        {
            return type_error(path, "a string");
        }
    }
    for path in ["/metadata/labels", "/metadata/annotations"] {
        match item.pointer(path) {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) if map.values().all(|v| v.is_string() || v.is_null()) => {}
            Some(_) => return type_error(path, "a map of strings"),
        }
    }
    Ok(())
}

/// GET the StorageClass `name`.
fn storage_class(host: &dyn Imports, name: &str) -> Result<Value, ActionError> {
    const CONTEXT: &str = "error getting storage class";
    if name.is_empty() {
        // client-go refuses an empty name before sending anything.
        return Err(ActionError::Failed(format!(
            "{CONTEXT}: resource name may not be empty"
        )));
    }
    host.get(&cluster_scoped(resources::storage_classes(), name))
        .map_err(|e| ActionError::kube(CONTEXT, e))
}

/// The VolumeSnapshot to create for the claim: every claim label, then the backup's name
/// (normalised), overwriting a `velero.io/backup-name` the claim already had.
fn new_volume_snapshot(item: &Item, backup: &Backup, class: &str) -> Value {
    // A null label value decodes as "" in v0.7.1's typed model.
    let mut labels: Map<String, Value> = item
        .pointer("/metadata/labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(key, value)| (key.clone(), json!(value.as_str().unwrap_or_default())))
        .collect();
    labels.insert(
        keys::BACKUP_NAME.to_owned(),
        json!(normalize(backup.name())),
    );
    json!({
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshot",
        "metadata": {
            "generateName": format!("velero-{}-", item.name()),
            "namespace": item.namespace(),
            "labels": labels,
        },
        "spec": {
            "source": {"persistentVolumeClaimName": item.name()},
            "volumeSnapshotClassName": class,
        },
    })
}

impl BackupItemAction for PvcBackup {
    fn execute(
        &self,
        host: &dyn Imports,
        mut item: Item,
        backup: &Backup,
    ) -> Result<BackupOutput, ActionError> {
        host.log(Level::Info, "Starting PVCBackupItemAction");

        // 1. Snapshots explicitly not wanted (unset means wanted).
        if backup.snapshot_volumes() == Some(false) {
            host.log(
                Level::Info,
                &format!(
                    "Volume snapshotting not requested for backup {}/{}",
                    backup.namespace(),
                    backup.name()
                ),
            );
            return Ok(item_only(item));
        }

        // 2. The finalize pass has nothing to do for claims.
        if backup.is_finalizing() {
            host.log(
                Level::Debug,
                "Backup is in finalizing phase. Skip this PVC.",
            );
            return Ok(item_only(item));
        }

        // 3. The claim must decode.
        check_decodable(&item)?;
        let namespace = item.namespace().to_owned();
        let claim = item.name().to_owned();

        // 4. The bound volume.
        host.log(
            Level::Debug,
            &format!("Fetching underlying PV for PVC {namespace}/{claim}"),
        );
        let pv = volumes::pv_for_pvc(host, item.value())?;
        let pv_name = name(&pv).to_owned();

        // 5. Not a CSI volume: tell Velero, before the storage-class check.
        if pv.pointer("/spec/csi").is_none_or(Value::is_null) {
            host.log(
                Level::Info,
                &format!(
                    "Skipping PVC {namespace}/{claim}, associated PV {pv_name} is not a CSI volume"
                ),
            );
            item.set_annotation(keys::SKIPPED_NO_CSI_PV, "true");
            return Ok(item_only(item));
        }

        // 6. Left to the file-system uploader.
        let default_to_fs = backup.default_volumes_to_fs_backup() == Some(true);
        if fs_backup::is_pvc_default_to_fs_backup(host, &namespace, &claim, default_to_fs)? {
            host.log(
                Level::Info,
                &format!(
                    "Skipping  PVC {namespace}/{claim}, PV {pv_name} will be backed up using FS uploader"
                ),
            );
            return Ok(item_only(item));
        }

        // 7. No storage class (absent or null; an empty name fails at the GET).
        let Some(class_name) = item
            .pointer("/spec/storageClassName")
            .and_then(Value::as_str)
            .map(str::to_owned)
        else {
            return Err(ActionError::Failed(format!(
                "Cannot snapshot PVC {namespace}/{claim}, PVC has no storage class."
            )));
        };

        // 8. The StorageClass.
        host.log(
            Level::Info,
            &format!("Fetching storage class for PV {class_name}"),
        );
        let storage_class = storage_class(host, &class_name)?;
        let provisioner = str_at(&storage_class, &["provisioner"]).unwrap_or_default();

        // 9. The VolumeSnapshotClass, by the StorageClass provisioner.
        host.log(
            Level::Debug,
            &format!("Fetching volumesnapshot class for {provisioner}"),
        );
        let snapshot_class =
            snapshot_class::volume_snapshot_class(host, provisioner, backup, item.value())
                .map_err(|e| {
                    e.wrap(&format!(
                        "failed to get volumesnapshotclass for storageclass {}",
                        name(&storage_class)
                    ))
                })?;
        let snapshot_class = name(&snapshot_class).to_owned();
        host.log(
            Level::Info,
            &format!("volumesnapshot class={snapshot_class}"),
        );

        // 10. The VolumeSnapshot.
        let snapshot = host
            .create(
                &resources::volume_snapshots(),
                Some(&namespace),
                &new_volume_snapshot(&item, backup, &snapshot_class),
            )
            .map_err(|e| ActionError::kube("error creating volume snapshot", e))?;
        let snapshot_name = name(&snapshot).to_owned();
        let snapshot_namespace = str_at(&snapshot, &["metadata", "namespace"])
            .filter(|ns| !ns.is_empty())
            .unwrap_or(&namespace)
            .to_owned();
        host.log(
            Level::Info,
            &format!("Created volumesnapshot {snapshot_namespace}/{snapshot_name}"),
        );

        // 11. The claim's annotations (added in step 13).
        let mut annotations = vec![
            (keys::VOLUME_SNAPSHOT_NAME, snapshot_name.clone()),
            (keys::MUST_INCLUDE_ADDITIONAL_ITEMS, "true".to_owned()),
        ];

        // 12. Data mover or CSI snapshot.
        let mut additional_items = Vec::new();
        let mut operation_id = String::new();
        let mut post_operation_items = Vec::new();
        if backup.snapshot_move_data() == Some(true) {
            operation_id = upload::operation_id(backup.uid(), item.uid());

            // The handle must exist before the upload starts; the wait stays inside Execute
            // so that pod post-backup hooks run only once the snapshot is cut.
            if let Err(error) = wait_for_handle(
                host,
                &snapshot_namespace,
                &snapshot_name,
                backup.csi_snapshot_timeout(),
            ) {
                host.log(
                    Level::Error,
                    &format!("Fail to wait VolumeSnapshot snapshot handle created: {error}"),
                );
                delete_with_snapshot(host, &snapshot_namespace, &snapshot_name);
                return Err(error);
            }

            host.log(Level::Info, "Starting data upload of backup");
            let source = UploadSource {
                claim_namespace: &namespace,
                claim_name: &claim,
                claim_uid: item.uid(),
                storage_class: &class_name,
                volume_snapshot: &snapshot_name,
                snapshot_class: &snapshot_class,
            };
            let data_upload = match upload::create_data_upload(host, backup, &source, &operation_id)
            {
                Ok(created) => created,
                Err(error) => {
                    host.log(
                        Level::Error,
                        &format!("failed to submit DataUpload: {error}"),
                    );
                    // As v0.7.1: the VS only; its content keeps its deletion policy ([behaviour §3.7.2](../../../docs/behaviour.md#372-delete-a-volumesnapshot-only)).
                    delete_snapshot_only(host, &snapshot_namespace, &snapshot_name);
                    return Err(error.wrap("error creating DataUpload"));
                }
            };
            let upload_namespace = str_at(&data_upload, &["metadata", "namespace"])
                .unwrap_or_default()
                .to_owned();
            let upload_name = name(&data_upload).to_owned();
            post_operation_items.push(identifier(
                "velero.io",
                "datauploads",
                &upload_namespace,
                &upload_name,
            ));
            annotations.push((
                keys::DATA_UPLOAD_NAME,
                format!("{upload_namespace}/{upload_name}"),
            ));
            host.log(Level::Info, "DataUpload is submitted successfully.");
        } else {
            additional_items.push(identifier(
                "snapshot.storage.k8s.io",
                "volumesnapshots",
                &snapshot_namespace,
                &snapshot_name,
            ));
        }

        // 13. Annotations as given, labels normalised.
        for (key, value) in &annotations {
            item.set_annotation(key, value);
        }
        item.set_label(keys::VOLUME_SNAPSHOT_NAME, &snapshot_name);
        item.set_label(keys::BACKUP_NAME, backup.name());

        host.log(
            Level::Info,
            &format!(
                "Returning from PVCBackupItemAction with {} additionalItems to backup",
                additional_items.len()
            ),
        );
        for additional in &additional_items {
            host.log(
                Level::Debug,
                &format!(
                    "{}.{}: {}",
                    additional.resource, additional.group, additional.name
                ),
            );
        }

        Ok(BackupOutput {
            item: item.into_json(),
            additional_items,
            operation_id,
            post_operation_items,
        })
    }

    fn progress(
        &self,
        host: &dyn Imports,
        operation_id: &str,
        backup: &Backup,
    ) -> Result<OperationProgress, ActionError> {
        if operation_id.is_empty() {
            return Err(ActionError::InvalidOperationId(String::new()));
        }
        let data_upload = upload::find_data_upload(host, operation_id).inspect_err(|error| {
            host.log(
                Level::Error,
                &format!(
                    "fail to get DataUpload for backup {}/{}: {error}",
                    backup.namespace(),
                    backup.name()
                ),
            );
        })?;
        if matches!(
            str_at(&data_upload, &["status", "phase"]).unwrap_or_default(),
            "" | "New"
        ) {
            host.log(
                Level::Debug,
                "DataUpload is still not processed yet. Skip progress update.",
            );
            return Ok(no_progress());
        }
        Ok(progress_of(&data_upload, "DataUpload"))
    }

    fn cancel(
        &self,
        host: &dyn Imports,
        operation_id: &str,
        backup: &Backup,
    ) -> Result<(), ActionError> {
        if operation_id.is_empty() {
            return Err(ActionError::InvalidOperationId(String::new()));
        }
        let data_upload = upload::find_data_upload(host, operation_id).inspect_err(|error| {
            host.log(
                Level::Error,
                &format!(
                    "fail to get DataUpload for backup {}/{}: {error}",
                    backup.namespace(),
                    backup.name()
                ),
            );
        })?;
        upload::cancel_data_upload(host, &data_upload)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sim_cluster::{Fault, SimError, Verb};

    use super::*;
    use crate::adapter::sim::SimImports;
    use crate::fixtures::{
        backup, claim, imports_with, item, snapshot_class, storage_class, volume,
    };

    /// A host over a cluster holding the PV, the StorageClass, the class and the claim.
    fn host() -> SimImports {
        imports_with([
            volume(json!({})),
            storage_class(json!({})),
            snapshot_class(json!({})),
            claim(json!({})),
        ])
    }

    fn execute(
        host: &SimImports,
        claim: &Value,
        backup: &Backup,
    ) -> Result<BackupOutput, ActionError> {
        PvcBackup.execute(host, item(claim), backup)
    }

    /// The calls so far, as (verb, resource.group, namespace, name).
    fn calls(host: &SimImports) -> Vec<(Verb, String, Option<String>, String)> {
        host.cluster()
            .calls()
            .into_iter()
            .map(|c| (c.verb, c.resource, c.namespace, c.name))
            .collect()
    }

    fn call(
        verb: Verb,
        resource: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> (Verb, String, Option<String>, String) {
        (
            verb,
            resource.to_owned(),
            namespace.map(str::to_owned),
            name.to_owned(),
        )
    }

    /// The calls every claim that reaches the snapshot makes before creating it.
    fn calls_before_create() -> Vec<(Verb, String, Option<String>, String)> {
        vec![
            call(Verb::Get, "persistentvolumes", None, "pv-1"),
            call(Verb::List, "pods", Some("app"), ""),
            call(Verb::Get, "storageclasses.storage.k8s.io", None, "sc-csi"),
            call(
                Verb::List,
                "volumesnapshotclasses.snapshot.storage.k8s.io",
                None,
                "",
            ),
            call(
                Verb::Create,
                "volumesnapshots.snapshot.storage.k8s.io",
                Some("app"),
                "",
            ),
        ]
    }

    fn fault(verb: Verb, resource: &str, error: SimError) -> Fault {
        Fault {
            verb,
            resource: resource.into(),
            name: None,
            error,
            times: None,
        }
    }

    /// An empty class name is present: it fails where client-go refuses the GET.
    #[test]
    fn empty_storage_class_name_fails_at_the_get() {
        let host = host();
        let error = execute(
            &host,
            &claim(json!({"spec": {"storageClassName": ""}})),
            &backup(json!({})),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "error getting storage class: resource name may not be empty"
        );
        assert_eq!(calls(&host), calls_before_create()[..2]);
    }

    /// The class-list error keeps its typed cause through both wraps.
    #[test]
    fn class_list_error_is_wrapped() {
        let host = host();
        host.cluster().inject(fault(
            Verb::List,
            "volumesnapshotclasses",
            SimError::NotFound("the server could not find the requested resource".into()),
        ));
        let error = execute(&host, &claim(json!({})), &backup(json!({}))).unwrap_err();
        assert_eq!(
            error.to_string(),
            "failed to get volumesnapshotclass for storageclass sc-csi: error listing volumesnapshot classes: the server could not find the requested resource"
        );
        assert!(matches!(error, ActionError::Kube { .. }));
    }

    /// The claim must decode like v0.7.1's typed model for the fields this action reads.
    #[test]
    fn undecodable_claims_are_rejected() {
        let host = host();
        for patch in [
            json!({"spec": {"volumeName": 5}}),
            json!({"metadata": {"labels": {"a": 1}}}),
            json!({"metadata": {"annotations": []}}),
        ] {
            let error = execute(&host, &claim(patch.clone()), &backup(json!({}))).unwrap_err();
            assert!(
                matches!(error, ActionError::InvalidInput(_)),
                "{patch}: {error}"
            );
        }
        assert!(host.cluster().calls().is_empty());
    }
}
