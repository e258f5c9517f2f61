//! `velero.io/csi-pvc-backupper` (spec §2.1).
//!
//! For a claim bound to a CSI volume, creates a VolumeSnapshot and either hands it to Velero
//! as an additional item (CSI snapshot mode) or waits for its storage snapshot handle and
//! creates a DataUpload for the node agent (data-mover mode, an asynchronous operation).
//! The claim is edited in place: only the annotations and labels listed in the spec change.

use serde_json::{Map, Value, json};

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

/// The item alone: no additional items and no operation. Unless the action edited it, the
/// item goes back byte for byte as it came.
fn item_only(item: Item) -> BackupOutput {
    BackupOutput {
        item: item.into_json(),
        additional_items: Vec::new(),
        operation_id: String::new(),
        post_operation_items: Vec::new(),
    }
}

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
                    // As v0.7.1: the VS only; its content keeps its deletion policy (§3.7.2).
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
    use std::sync::Arc;
    use std::time::Duration;

    use serde_json::{Value, json};
    use sim_cluster::{Cluster, Fault, Gvr, SimError, SnapshotPlan, Verb};

    use super::*;
    use crate::adapter::sim::SimImports;
    use crate::csi::snapshots::WAIT_TIMEOUT;

    const OP: &str = "du-11111111-2222-3333-4444-555555555555.aaaaaaaa-bbbb-ccc2bab87";

    /// RFC 7386 merge patch, for building variants of the fixtures.
    fn merged(mut base: Value, patch: Value) -> Value {
        fn merge(target: &mut Value, patch: &Value) {
            let Value::Object(patch) = patch else {
                *target = patch.clone();
                return;
            };
            if !target.is_object() {
                *target = json!({});
            }
            let target = target.as_object_mut().expect("an object");
            for (key, value) in patch {
                if value.is_null() {
                    target.remove(key);
                } else {
                    merge(target.entry(key.clone()).or_insert(Value::Null), value);
                }
            }
        }
        merge(&mut base, &patch);
        base
    }

    /// Spec §5.0 fixtures.
    fn backup_json(patch: Value) -> Value {
        merged(
            json!({
                "apiVersion": "velero.io/v1",
                "kind": "Backup",
                "metadata": {"namespace": "velero", "name": "b1", "uid": "11111111-2222-3333-4444-555555555555",
                             "annotations": {"velero.io/resource-timeout": "10m0s"}},
                "spec": {"csiSnapshotTimeout": "0s", "itemOperationTimeout": "4h0m0s", "storageLocation": "default", "ttl": "720h0m0s"},
                "status": {"phase": "InProgress"}
            }),
            patch,
        )
    }

    fn backup(patch: Value) -> Backup {
        Backup::from_value(backup_json(patch))
    }

    fn claim(patch: Value) -> Value {
        merged(
            json!({
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"namespace": "app", "name": "data", "uid": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "labels": {"app": "web"}},
                "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "5Gi"}},
                         "storageClassName": "sc-csi", "volumeMode": "Filesystem", "volumeName": "pv-1",
                         "volumeAttributesClassName": "gold"},
                "status": {"phase": "Bound"}
            }),
            patch,
        )
    }

    fn volume(patch: Value) -> Value {
        merged(
            json!({
                "apiVersion": "v1",
                "kind": "PersistentVolume",
                "metadata": {"name": "pv-1"},
                "spec": {"capacity": {"storage": "5Gi"}, "csi": {"driver": "hostpath.csi.k8s.io", "volumeHandle": "volume-1"},
                         "claimRef": {"namespace": "app", "name": "data"}, "storageClassName": "sc-csi"},
                "status": {"phase": "Bound"}
            }),
            patch,
        )
    }

    fn storage_class_fixture() -> Value {
        json!({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "sc-csi"}, "provisioner": "hostpath.csi.k8s.io"})
    }

    fn snapshot_class_fixture() -> Value {
        json!({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
               "metadata": {"name": "snap-default", "labels": {"velero.io/csi-volumesnapshot-class": "true"}},
               "driver": "hostpath.csi.k8s.io", "deletionPolicy": "Delete"})
    }

    fn pod(annotations: Value, volume_name: &str) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"namespace": "app", "name": "web-0", "annotations": annotations},
               "spec": {"volumes": [{"name": volume_name, "persistentVolumeClaim": {"claimName": "data"}}]}})
    }

    /// A host over a cluster holding the PV, the StorageClass, the class and the claim.
    fn host() -> SimImports {
        host_with([
            volume(json!({})),
            storage_class_fixture(),
            snapshot_class_fixture(),
            claim(json!({})),
        ])
    }

    fn host_with(objects: impl IntoIterator<Item = Value>) -> SimImports {
        let cluster = Arc::new(Cluster::new());
        cluster.seed(objects);
        SimImports::new(cluster)
    }

    fn execute(
        host: &SimImports,
        claim: &Value,
        backup: &Backup,
    ) -> Result<BackupOutput, ActionError> {
        let item = Item::parse("item", &claim.to_string()).unwrap();
        PvcBackup.execute(host, item, backup)
    }

    fn item_of(output: &BackupOutput) -> Value {
        serde_json::from_str(&output.item).unwrap()
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

    fn snapshots(host: &SimImports) -> Vec<Value> {
        host.cluster().objects(&Gvr::new(
            "snapshot.storage.k8s.io",
            "v1",
            "volumesnapshots",
        ))
    }

    fn uploads(host: &SimImports) -> Vec<Value> {
        host.cluster()
            .objects(&Gvr::new("velero.io", "v2alpha1", "datauploads"))
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

    fn assert_skipped(output: &BackupOutput, input: &Value) {
        assert_eq!(
            output.item,
            input.to_string(),
            "item must come back byte for byte"
        );
        assert!(output.additional_items.is_empty());
        assert!(output.operation_id.is_empty());
        assert!(output.post_operation_items.is_empty());
    }

    /// Spec §5.1, scenario 1.
    #[test]
    fn scenario_01_snapshot_volumes_explicitly_false() {
        let host = host();
        let input = claim(json!({}));
        let output = execute(
            &host,
            &input,
            &backup(json!({"spec": {"snapshotVolumes": false}})),
        )
        .unwrap();
        assert_skipped(&output, &input);
        assert!(host.cluster().calls().is_empty());
        assert_eq!(
            host.logs()[1],
            (
                Level::Info,
                "Volume snapshotting not requested for backup velero/b1".to_owned()
            )
        );
    }

    /// Spec §5.1, scenario 2.
    #[test]
    fn scenario_02_finalizing_phases() {
        for phase in ["Finalizing", "FinalizingPartiallyFailed"] {
            let host = host();
            let input = claim(json!({}));
            let output =
                execute(&host, &input, &backup(json!({"status": {"phase": phase}}))).unwrap();
            assert_skipped(&output, &input);
            assert!(host.cluster().calls().is_empty());
        }
    }

    /// Spec §5.1, scenarios 3 and 14 (and a null `snapshotVolumes` counts as unset).
    #[test]
    fn scenario_03_snapshot_volumes_true_or_unset_is_the_happy_path() {
        for snapshot_volumes in [json!(true), Value::Null, json!({})] {
            let host = host();
            let patch = if snapshot_volumes == json!({}) {
                json!({})
            } else {
                json!({"spec": {"snapshotVolumes": snapshot_volumes}})
            };
            let b = backup_json(patch);
            let output = execute(&host, &claim(json!({})), &Backup::from_value(b)).unwrap();
            assert_eq!(output.additional_items.len(), 1);
            assert_eq!(calls(&host), calls_before_create());
        }
    }

    /// Spec §5.1, scenario 4.
    #[test]
    fn scenario_04_claim_without_volume_name() {
        let host = host();
        let error = execute(
            &host,
            &claim(json!({"spec": {"volumeName": ""}})),
            &backup(json!({})),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "PVC app/data has no volume backing this claim"
        );
        assert!(host.cluster().calls().is_empty());
    }

    /// Spec §5.1, scenario 5.
    #[test]
    fn scenario_05_pending_claim() {
        let host = host();
        let error = execute(
            &host,
            &claim(json!({"status": {"phase": "Pending"}})),
            &backup(json!({})),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "PVC app/data is in phase Pending and is not bound to a volume"
        );
        assert!(host.cluster().calls().is_empty());
    }

    /// Spec §5.1, scenario 6.
    #[test]
    fn scenario_06_volume_missing() {
        let host = host_with([storage_class_fixture(), snapshot_class_fixture()]);
        let error = execute(&host, &claim(json!({})), &backup(json!({}))).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("failed to get PV pv-1 for PVC app/data: "),
            "{error}"
        );
        assert!(snapshots(&host).is_empty());
    }

    /// Spec §5.1, scenario 7.
    #[test]
    fn scenario_07_volume_not_csi() {
        let host = host_with([
            volume(json!({"spec": {"csi": null, "hostPath": {"path": "/data"}}})),
            storage_class_fixture(),
            snapshot_class_fixture(),
        ]);
        let input = claim(json!({}));
        let output = execute(&host, &input, &backup(json!({}))).unwrap();
        let mut expected = input.clone();
        expected["metadata"]["annotations"] = json!({"backup.velero.io/skipped-no-csi-pv": "true"});
        assert_eq!(item_of(&output), expected);
        assert!(
            output.additional_items.is_empty()
                && output.operation_id.is_empty()
                && output.post_operation_items.is_empty()
        );
        assert_eq!(
            calls(&host),
            [call(Verb::Get, "persistentvolumes", None, "pv-1")]
        );
        assert!(host.logs().contains(&(
            Level::Info,
            "Skipping PVC app/data, associated PV pv-1 is not a CSI volume".to_owned()
        )));
    }

    /// Spec §5.1, scenario 8.
    #[test]
    fn scenario_08_volume_not_csi_and_no_storage_class() {
        let host = host_with([volume(
            json!({"spec": {"csi": null, "hostPath": {"path": "/data"}}}),
        )]);
        let output = execute(
            &host,
            &claim(json!({"spec": {"storageClassName": null}})),
            &backup(json!({})),
        )
        .unwrap();
        assert_eq!(
            item_of(&output)["metadata"]["annotations"]["backup.velero.io/skipped-no-csi-pv"],
            "true"
        );
        assert_eq!(calls(&host).len(), 1);
    }

    /// Spec §5.1, scenario 9.
    #[test]
    fn scenario_09_fs_backup_opt_in() {
        let host = host();
        host.cluster().seed([pod(
            json!({"backup.velero.io/backup-volumes": "vol"}),
            "vol",
        )]);
        let input = claim(json!({}));
        let output = execute(&host, &input, &backup(json!({}))).unwrap();
        assert_skipped(&output, &input);
        assert_eq!(calls(&host), calls_before_create()[..2]);
        assert!(host.logs().contains(&(
            Level::Info,
            "Skipping  PVC app/data, PV pv-1 will be backed up using FS uploader".to_owned()
        )));
    }

    /// Spec §5.1, scenario 10.
    #[test]
    fn scenario_10_fs_backup_opt_out_default() {
        let host = host();
        host.cluster().seed([pod(Value::Null, "vol")]);
        let input = claim(json!({}));
        let output = execute(
            &host,
            &input,
            &backup(json!({"spec": {"defaultVolumesToFsBackup": true}})),
        )
        .unwrap();
        assert_skipped(&output, &input);
    }

    /// Spec §5.1, scenario 11.
    #[test]
    fn scenario_11_fs_backup_opt_out_exclusion() {
        let host = host();
        host.cluster().seed([pod(
            json!({"backup.velero.io/backup-volumes-excludes": "vol"}),
            "vol",
        )]);
        let output = execute(
            &host,
            &claim(json!({})),
            &backup(json!({"spec": {"defaultVolumesToFsBackup": true}})),
        )
        .unwrap();
        assert_eq!(output.additional_items.len(), 1);
        assert_eq!(snapshots(&host).len(), 1);
    }

    /// Spec §5.1, scenario 12.
    #[test]
    fn scenario_12_pod_listing_fails() {
        let host = host();
        host.cluster().inject(fault(
            Verb::List,
            "pods",
            SimError::Forbidden(
                "pods is forbidden: User \"velero\" cannot list resource \"pods\"".into(),
            ),
        ));
        let error = execute(&host, &claim(json!({})), &backup(json!({}))).unwrap_err();
        assert_eq!(
            error.to_string(),
            "pods is forbidden: User \"velero\" cannot list resource \"pods\""
        );
        assert!(snapshots(&host).is_empty());
    }

    /// Spec §5.1, scenario 13.
    #[test]
    fn scenario_13_no_storage_class() {
        let host = host();
        let error = execute(
            &host,
            &claim(json!({"spec": {"storageClassName": null}})),
            &backup(json!({})),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "Cannot snapshot PVC app/data, PVC has no storage class."
        );
        assert_eq!(calls(&host), calls_before_create()[..2]);
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

    /// Spec §5.1, scenario 14.
    #[test]
    fn scenario_14_happy_path_csi_snapshot_mode() {
        let host = host();
        let input = claim(json!({}));
        let output = execute(&host, &input, &backup(json!({}))).unwrap();
        assert_eq!(calls(&host), calls_before_create());

        let created = host.cluster().calls()[4].body.clone().unwrap();
        assert_eq!(
            created,
            json!({
                "apiVersion": "snapshot.storage.k8s.io/v1",
                "kind": "VolumeSnapshot",
                "metadata": {"generateName": "velero-data-", "namespace": "app", "labels": {"app": "web", "velero.io/backup-name": "b1"}},
                "spec": {"source": {"persistentVolumeClaimName": "data"}, "volumeSnapshotClassName": "snap-default"}
            })
        );

        let mut expected = input.clone();
        expected["metadata"]["annotations"] = json!({
            "velero.io/volume-snapshot-name": "velero-data-abcde",
            "backup.velero.io/must-include-additional-items": "true"
        });
        expected["metadata"]["labels"] = json!({"app": "web", "velero.io/volume-snapshot-name": "velero-data-abcde", "velero.io/backup-name": "b1"});
        assert_eq!(
            item_of(&output),
            expected,
            "only the annotations and labels change; unknown fields survive"
        );
        assert_eq!(
            output.additional_items,
            [identifier(
                "snapshot.storage.k8s.io",
                "volumesnapshots",
                "app",
                "velero-data-abcde"
            )]
        );
        assert!(output.operation_id.is_empty() && output.post_operation_items.is_empty());

        assert_eq!(
            host.logs(),
            [
                (Level::Info, "Starting PVCBackupItemAction".to_owned()),
                (
                    Level::Debug,
                    "Fetching underlying PV for PVC app/data".to_owned()
                ),
                (
                    Level::Info,
                    "Fetching storage class for PV sc-csi".to_owned()
                ),
                (
                    Level::Debug,
                    "Fetching volumesnapshot class for hostpath.csi.k8s.io".to_owned()
                ),
                (Level::Info, "volumesnapshot class=snap-default".to_owned()),
                (
                    Level::Info,
                    "Created volumesnapshot app/velero-data-abcde".to_owned()
                ),
                (
                    Level::Info,
                    "Returning from PVCBackupItemAction with 1 additionalItems to backup"
                        .to_owned()
                ),
                (
                    Level::Debug,
                    "volumesnapshots.snapshot.storage.k8s.io: velero-data-abcde".to_owned()
                ),
            ]
        );
    }

    /// Spec §5.1, scenario 15.
    #[test]
    fn scenario_15_claim_labels_are_copied_and_backup_name_overwritten() {
        let host = host();
        let input = claim(json!({"metadata": {"labels": {"velero.io/backup-name": "old"}}}));
        let output = execute(&host, &input, &backup(json!({}))).unwrap();
        assert_eq!(
            snapshots(&host)[0]["metadata"]["labels"],
            json!({"app": "web", "velero.io/backup-name": "b1"})
        );
        assert_eq!(
            item_of(&output)["metadata"]["labels"]["velero.io/backup-name"],
            "b1"
        );
    }

    /// Spec §5.1, scenario 16.
    #[test]
    fn scenario_16_long_backup_name() {
        let host = host();
        let long = "nightly-backup-of-the-production-cluster-with-a-very-long-name-2024-01";
        let output = execute(
            &host,
            &claim(json!({})),
            &backup(json!({"metadata": {"name": long}})),
        )
        .unwrap();
        let normalised = "nightly-backup-of-the-production-cluster-with-a-very-long9086ae";
        assert_eq!(
            snapshots(&host)[0]["metadata"]["labels"]["velero.io/backup-name"],
            normalised
        );
        assert_eq!(
            item_of(&output)["metadata"]["labels"]["velero.io/backup-name"],
            normalised
        );
    }

    /// Spec §5.1, scenario 17.
    #[test]
    fn scenario_17_storage_class_get_fails() {
        let host = host_with([volume(json!({})), snapshot_class_fixture()]);
        let error = execute(&host, &claim(json!({})), &backup(json!({}))).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("error getting storage class: "),
            "{error}"
        );
        assert!(snapshots(&host).is_empty());
    }

    /// Spec §5.1, scenario 18.
    #[test]
    fn scenario_18_no_class_for_the_driver() {
        let host = host_with([volume(json!({})), storage_class_fixture()]);
        let error = execute(&host, &claim(json!({})), &backup(json!({}))).unwrap_err();
        assert_eq!(
            error.to_string(),
            "failed to get volumesnapshotclass for storageclass sc-csi: error getting volumesnapshotclass: failed to get volumesnapshotclass for provisioner hostpath.csi.k8s.io, ensure that the desired volumesnapshot class has the velero.io/csi-volumesnapshot-class label"
        );
        assert!(snapshots(&host).is_empty());
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

    /// Spec §5.1, scenario 19.
    #[test]
    fn scenario_19_snapshot_create_fails() {
        let host = host();
        host.cluster().inject(fault(
            Verb::Create,
            "volumesnapshots",
            SimError::Forbidden("volumesnapshots is forbidden".into()),
        ));
        let error = execute(&host, &claim(json!({})), &backup(json!({}))).unwrap_err();
        assert_eq!(
            error.to_string(),
            "error creating volume snapshot: volumesnapshots is forbidden"
        );
    }

    fn data_mover(patch: Value) -> Backup {
        backup(merged(json!({"spec": {"snapshotMoveData": true}}), patch))
    }

    /// Spec §5.1, scenario 20.
    #[test]
    fn scenario_20_data_mover_happy_path() {
        let host = host();
        let input = claim(json!({}));
        let output = execute(&host, &input, &data_mover(json!({}))).unwrap();

        let mut expected_calls = calls_before_create();
        expected_calls.extend([call(
            Verb::Watch,
            "volumesnapshots.snapshot.storage.k8s.io",
            Some("app"),
            "velero-data-abcde",
        )]);
        let got = calls(&host);
        assert_eq!(got[..6], expected_calls[..]);
        assert_eq!(
            (got[6].0, got[6].1.as_str(), got[6].2.as_deref()),
            (
                Verb::Watch,
                "volumesnapshotcontents.snapshot.storage.k8s.io",
                None
            )
        );
        assert_eq!(
            got[7],
            call(Verb::Create, "datauploads.velero.io", Some("velero"), "")
        );
        assert_eq!(got.len(), 8);

        assert_eq!(output.operation_id, OP);
        assert!(output.additional_items.is_empty());
        assert_eq!(
            output.post_operation_items,
            [identifier("velero.io", "datauploads", "velero", "b1-abcde")]
        );

        let upload = uploads(&host).remove(0);
        assert_eq!(upload["metadata"]["name"], "b1-abcde");
        assert_eq!(
            upload["metadata"]["ownerReferences"],
            json!([{"apiVersion": "velero.io/v1", "kind": "Backup", "name": "b1", "uid": "11111111-2222-3333-4444-555555555555", "controller": true}])
        );
        assert_eq!(
            upload["metadata"]["labels"],
            json!({"velero.io/backup-name": "b1", "velero.io/backup-uid": "11111111-2222-3333-4444-555555555555",
                   "velero.io/pvc-uid": "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee", "velero.io/async-operation-id": OP})
        );
        assert_eq!(
            upload["spec"],
            json!({"snapshotType": "CSI", "csiSnapshot": {"volumeSnapshot": "velero-data-abcde", "storageClass": "sc-csi", "snapshotClass": "snap-default"},
                   "sourcePVC": "data", "sourceNamespace": "app", "backupStorageLocation": "default", "operationTimeout": "0s"})
        );

        let item = item_of(&output);
        assert_eq!(
            item["metadata"]["annotations"],
            json!({"velero.io/volume-snapshot-name": "velero-data-abcde", "backup.velero.io/must-include-additional-items": "true",
                   "velero.io/data-upload-name": "velero/b1-abcde"})
        );
        assert_eq!(
            item["metadata"]["labels"],
            json!({"app": "web", "velero.io/volume-snapshot-name": "velero-data-abcde", "velero.io/backup-name": "b1"})
        );
        // The snapshot stays for the data mover.
        assert_eq!(snapshots(&host).len(), 1);
        let logs = host.logs();
        assert!(logs.contains(&(
            Level::Info,
            "DataUpload is submitted successfully.".to_owned()
        )));
        assert!(
            logs.iter()
                .all(|(level, _)| *level != Level::Error && *level != Level::Warn),
            "{logs:?}"
        );
    }

    /// Spec §5.1, scenario 21.
    #[test]
    fn scenario_21_uploader_config() {
        let host = host();
        execute(
            &host,
            &claim(json!({})),
            &data_mover(json!({"spec": {"uploaderConfig": {"parallelFilesUpload": 4}}})),
        )
        .unwrap();
        assert_eq!(
            uploads(&host)[0]["spec"]["dataMoverConfig"],
            json!({"ParallelFilesUpload": "4"})
        );
        for config in [
            json!({"uploaderConfig": {"parallelFilesUpload": 0}}),
            json!({}),
        ] {
            let host = self::host();
            execute(
                &host,
                &claim(json!({})),
                &data_mover(json!({"spec": config})),
            )
            .unwrap();
            assert!(uploads(&host)[0]["spec"].get("dataMoverConfig").is_none());
        }
    }

    /// Spec §5.1, scenario 22.
    #[test]
    fn scenario_22_never_bound() {
        let host = host();
        host.cluster().set_snapshot_plan(SnapshotPlan {
            never_bind: true,
            ..SnapshotPlan::default()
        });
        let error = execute(
            &host,
            &claim(json!({})),
            &data_mover(json!({"spec": {"csiSnapshotTimeout": "12s"}})),
        )
        .unwrap_err();
        assert_eq!(error.to_string(), WAIT_TIMEOUT);
        assert_eq!(host.cluster().elapsed(), Duration::from_secs(12));
        let got = calls(&host);
        assert_eq!(
            got[5..],
            [
                call(
                    Verb::Watch,
                    "volumesnapshots.snapshot.storage.k8s.io",
                    Some("app"),
                    "velero-data-abcde"
                ),
                call(
                    Verb::Get,
                    "volumesnapshots.snapshot.storage.k8s.io",
                    Some("app"),
                    "velero-data-abcde"
                ),
                call(
                    Verb::Delete,
                    "volumesnapshots.snapshot.storage.k8s.io",
                    Some("app"),
                    "velero-data-abcde"
                ),
            ]
        );
        assert!(snapshots(&host).is_empty() && uploads(&host).is_empty());
        assert!(host.logs().contains(&(
            Level::Error,
            format!("Fail to wait VolumeSnapshot snapshot handle created: {WAIT_TIMEOUT}")
        )));
    }

    /// Spec §5.1, scenario 23.
    #[test]
    fn scenario_23_content_error_at_timeout() {
        let host = host();
        host.cluster().set_snapshot_plan(SnapshotPlan {
            content_error: Some("quota exceeded".into()),
            ..SnapshotPlan::default()
        });
        let error = execute(
            &host,
            &claim(json!({})),
            &data_mover(json!({"spec": {"csiSnapshotTimeout": "12s"}})),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "CSI got timed out with error: quota exceeded"
        );
        let patch = host
            .cluster()
            .calls()
            .into_iter()
            .find(|c| c.verb == Verb::Patch)
            .expect("the content is patched");
        assert_eq!(
            patch.resource,
            "volumesnapshotcontents.snapshot.storage.k8s.io"
        );
        assert_eq!(
            patch.body,
            Some(json!({"spec": {"deletionPolicy": "Delete"}}))
        );
        assert_eq!(
            calls(&host).last().unwrap(),
            &call(
                Verb::Delete,
                "volumesnapshots.snapshot.storage.k8s.io",
                Some("app"),
                "velero-data-abcde"
            )
        );
        assert!(snapshots(&host).is_empty() && uploads(&host).is_empty());
    }

    /// Spec §5.1, scenario 24.
    #[test]
    fn scenario_24_bound_content_missing() {
        let host = host();
        host.cluster().inject(fault(
            Verb::Watch,
            "volumesnapshotcontents",
            SimError::NotFound("volumesnapshotcontents.snapshot.storage.k8s.io not found".into()),
        ));
        let error = execute(&host, &claim(json!({})), &data_mover(json!({}))).unwrap_err();
        let text = error.to_string();
        assert!(
            text.starts_with("failed to get volumesnapshotcontent snapcontent-"),
            "{text}"
        );
        assert!(
            text.contains(" for volumesnapshot app/velero-data-abcde: "),
            "{text}"
        );
        // No waiting: the bind takes one virtual second, and the missing content ends the wait.
        assert!(host.cluster().elapsed() < Duration::from_secs(5));
        let verbs: Vec<_> = calls(&host)[5..]
            .iter()
            .map(|c| (c.0, c.1.clone()))
            .collect();
        assert_eq!(
            verbs,
            [
                (
                    Verb::Watch,
                    "volumesnapshots.snapshot.storage.k8s.io".to_owned()
                ),
                (
                    Verb::Watch,
                    "volumesnapshotcontents.snapshot.storage.k8s.io".to_owned()
                ),
                (
                    Verb::Get,
                    "volumesnapshots.snapshot.storage.k8s.io".to_owned()
                ),
                (
                    Verb::Patch,
                    "volumesnapshotcontents.snapshot.storage.k8s.io".to_owned()
                ),
                (
                    Verb::Delete,
                    "volumesnapshots.snapshot.storage.k8s.io".to_owned()
                ),
            ]
        );
    }

    /// Spec §5.1, scenario 25.
    #[test]
    fn scenario_25_data_upload_create_fails() {
        let host = host();
        host.cluster().inject(fault(
            Verb::Create,
            "datauploads",
            SimError::Forbidden("datauploads.velero.io is forbidden".into()),
        ));
        let error = execute(&host, &claim(json!({})), &data_mover(json!({}))).unwrap_err();
        assert_eq!(
            error.to_string(),
            "error creating DataUpload: fail to create DataUpload CR: datauploads.velero.io is forbidden"
        );
        let got = calls(&host);
        assert_eq!(
            got.last().unwrap(),
            &call(
                Verb::Delete,
                "volumesnapshots.snapshot.storage.k8s.io",
                Some("app"),
                "velero-data-abcde"
            )
        );
        assert!(
            got.iter().all(|c| c.0 != Verb::Patch),
            "the content's deletion policy is left alone"
        );
        assert!(snapshots(&host).is_empty());
        assert!(host.logs().contains(&(Level::Error, "failed to submit DataUpload: fail to create DataUpload CR: datauploads.velero.io is forbidden".to_owned())));
    }

    /// Spec §5.1, scenario 26.
    #[test]
    fn scenario_26_default_wait_budget_is_ten_minutes() {
        let host = host();
        host.cluster().set_snapshot_plan(SnapshotPlan {
            never_bind: true,
            ..SnapshotPlan::default()
        });
        let error = execute(&host, &claim(json!({})), &data_mover(json!({}))).unwrap_err();
        assert_eq!(error.to_string(), WAIT_TIMEOUT);
        assert_eq!(host.cluster().elapsed(), Duration::from_secs(600));

        let host = self::host();
        host.cluster().set_snapshot_plan(SnapshotPlan {
            bind_after: Duration::from_secs(590),
            handle_after: Duration::from_secs(595),
            ready_after: Duration::from_secs(700),
            ..SnapshotPlan::default()
        });
        execute(&host, &claim(json!({})), &data_mover(json!({}))).unwrap();
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

    fn upload_object(name: &str, namespace: &str, status: Value) -> Value {
        json!({
            "apiVersion": "velero.io/v2alpha1",
            "kind": "DataUpload",
            "metadata": {"namespace": namespace, "name": name, "labels": {"velero.io/async-operation-id": "testing"}},
            "spec": {"snapshotType": "CSI", "sourcePVC": "data", "sourceNamespace": "app", "backupStorageLocation": "default", "operationTimeout": "10m0s"},
            "status": status
        })
    }

    fn progress(host: &SimImports, op: &str) -> Result<OperationProgress, ActionError> {
        PvcBackup.progress(host, op, &backup(json!({})))
    }

    /// Spec §5.2, scenario 27.
    #[test]
    fn scenario_27_progress_with_empty_operation_id() {
        let host = host_with([]);
        let error = progress(&host, "").unwrap_err();
        assert_eq!(error.to_string(), "operation ID  is invalid");
        assert!(matches!(error, ActionError::InvalidOperationId(_)));
        assert!(host.cluster().calls().is_empty());
    }

    /// Spec §5.2, scenario 28.
    #[test]
    fn scenario_28_progress_without_data_upload() {
        let host = host_with([]);
        assert_eq!(
            progress(&host, "testing").unwrap_err().to_string(),
            "not found DataUpload for operationID testing"
        );
        let logged = host.logs();
        assert_eq!(logged, [(Level::Error, "fail to get DataUpload for backup velero/b1: not found DataUpload for operationID testing".to_owned())]);
        let list = &host.cluster().calls()[0];
        assert_eq!(
            (
                list.verb,
                list.namespace.as_deref(),
                list.selector.as_deref()
            ),
            (
                Verb::List,
                None,
                Some("velero.io/async-operation-id=testing")
            )
        );
    }

    /// Spec §5.2, scenario 29.
    #[test]
    fn scenario_29_progress_with_two_data_uploads() {
        let host = host_with([
            upload_object("testing", "velero", json!({})),
            upload_object("testing-2", "velero", json!({})),
        ]);
        assert_eq!(
            progress(&host, "testing").unwrap_err().to_string(),
            "more than one DataUpload found operationID testing"
        );
    }

    /// Spec §5.2, scenario 30.
    #[test]
    fn scenario_30_progress_before_the_data_mover_starts() {
        for status in [
            json!({}),
            json!({"phase": ""}),
            json!({"phase": "New", "progress": {"bytesDone": 5}}),
        ] {
            let host = host_with([upload_object("testing", "velero", status)]);
            assert_eq!(progress(&host, "testing").unwrap(), no_progress());
            assert_eq!(
                host.logs(),
                [(
                    Level::Debug,
                    "DataUpload is still not processed yet. Skip progress update.".to_owned()
                )]
            );
        }
    }

    /// Spec §5.2, scenario 31.
    #[test]
    fn scenario_31_progress_in_progress() {
        let host = host_with([upload_object(
            "testing",
            "velero",
            json!({"phase": "InProgress", "progress": {"bytesDone": 500, "totalBytes": 1000}, "startTimestamp": "2024-05-01T09:30:00Z"}),
        )]);
        let p = progress(&host, "testing").unwrap();
        assert!(!p.completed && p.err.is_empty());
        assert_eq!(
            (
                p.description.as_str(),
                p.operation_units.as_str(),
                p.n_completed,
                p.n_total
            ),
            ("InProgress", "Bytes", 500, 1000)
        );
        assert_eq!(p.started.unwrap().seconds, crate::adapter::sim::FROZEN_NOW);
        assert!(p.updated.is_none());
    }

    /// Spec §5.2, scenario 32.
    #[test]
    fn scenario_32_progress_completed() {
        let host = host_with([upload_object(
            "testing",
            "velero",
            json!({"phase": "Completed", "completionTimestamp": "2024-05-01T10:30:00Z"}),
        )]);
        let p = progress(&host, "testing").unwrap();
        assert!(p.completed && p.err.is_empty());
        assert_eq!(
            p.updated.unwrap().seconds,
            crate::adapter::sim::FROZEN_NOW + 3600
        );
    }

    /// Spec §5.2, scenario 33.
    #[test]
    fn scenario_33_progress_failed() {
        let host = host_with([upload_object(
            "testing",
            "velero",
            json!({"phase": "Failed", "message": "Testing error", "progress": {"bytesDone": 1000, "totalBytes": 1000}}),
        )]);
        let p = progress(&host, "testing").unwrap();
        assert_eq!(
            (
                p.completed,
                p.err.as_str(),
                p.n_completed,
                p.n_total,
                p.operation_units.as_str(),
                p.description.as_str()
            ),
            (true, "Testing error", 1000, 1000, "Bytes", "Failed")
        );
    }

    /// Spec §5.2, scenario 34.
    #[test]
    fn scenario_34_progress_canceled_and_canceling() {
        let host = host_with([upload_object(
            "testing",
            "velero",
            json!({"phase": "Canceled"}),
        )]);
        let p = progress(&host, "testing").unwrap();
        assert_eq!(
            (p.completed, p.err.as_str()),
            (true, "DataUpload is canceled")
        );
        let host = host_with([upload_object(
            "testing",
            "velero",
            json!({"phase": "Canceling"}),
        )]);
        assert!(!progress(&host, "testing").unwrap().completed);
    }

    /// Spec §5.2, scenario 35.
    #[test]
    fn scenario_35_cancel() {
        let before = upload_object("testing", "velero", json!({"phase": "InProgress"}));
        let host = host_with([before.clone()]);
        PvcBackup
            .cancel(&host, "testing", &backup(json!({})))
            .unwrap();
        let after = uploads(&host).remove(0);
        assert_eq!(after["spec"]["cancel"], true);
        let mut without_cancel = after.clone();
        without_cancel["spec"]
            .as_object_mut()
            .unwrap()
            .remove("cancel");
        assert_eq!(without_cancel["spec"], before["spec"]);
        assert_eq!(after["status"], before["status"]);
        let got = calls(&host);
        assert_eq!(
            got,
            [
                call(Verb::List, "datauploads.velero.io", None, ""),
                call(
                    Verb::Patch,
                    "datauploads.velero.io",
                    Some("velero"),
                    "testing"
                )
            ]
        );
    }

    /// Spec §5.2, scenario 36.
    #[test]
    fn scenario_36_cancel_errors() {
        let host = host_with([]);
        let error = PvcBackup.cancel(&host, "", &backup(json!({}))).unwrap_err();
        assert_eq!(error.to_string(), "operation ID  is invalid");
        assert!(host.cluster().calls().is_empty());
        let error = PvcBackup
            .cancel(&host, "testing", &backup(json!({})))
            .unwrap_err();
        assert_eq!(
            error.to_string(),
            "not found DataUpload for operationID testing"
        );
    }
}
