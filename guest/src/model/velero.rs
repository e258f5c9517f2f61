//! Reading Velero's `Backup` and `Restore` objects.
//!
//! They arrive as Go `encoding/json` output of Velero's types: unknown fields are ignored,
//! `apiVersion`/`kind` are not required, and optional booleans may be absent or `null`
//! (three states: unset, explicitly true, explicitly false).

use std::time::Duration;

use serde_json::Value;

use crate::model::error::ActionError;
use crate::model::item::parse_object;
use crate::model::json::{annotation, bool_at, i64_at, str_at};
use crate::model::time::parse_go_duration;

/// The wait budget when a timeout is unset, zero or unparsable.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// Backup annotation with Velero's resource timeout (`10m0s`).
const RESOURCE_TIMEOUT: &str = "velero.io/resource-timeout";

/// A `velero.io/v1` Backup.
#[derive(Debug, Clone)]
pub struct Backup {
    object: Value,
}

impl Backup {
    /// Parses the `backup` field of a request.
    pub fn parse(json: &str) -> Result<Self, ActionError> {
        parse_object("backup", json).map(|object| Self {
            object: Value::Object(object),
        })
    }

    /// A Backup from a JSON value (for example one fetched from the API).
    pub fn from_value(object: Value) -> Self {
        Self { object }
    }

    pub fn name(&self) -> &str {
        str_at(&self.object, &["metadata", "name"]).unwrap_or_default()
    }

    pub fn namespace(&self) -> &str {
        str_at(&self.object, &["metadata", "namespace"]).unwrap_or_default()
    }

    pub fn uid(&self) -> &str {
        str_at(&self.object, &["metadata", "uid"]).unwrap_or_default()
    }

    /// The whole Backup, read-only.
    pub fn value(&self) -> &Value {
        &self.object
    }

    /// A Backup annotation.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        annotation(&self.object, key)
    }

    /// `spec.snapshotVolumes` (three-state).
    pub fn snapshot_volumes(&self) -> Option<bool> {
        bool_at(&self.object, &["spec", "snapshotVolumes"])
    }

    /// `spec.defaultVolumesToFsBackup` (three-state).
    pub fn default_volumes_to_fs_backup(&self) -> Option<bool> {
        bool_at(&self.object, &["spec", "defaultVolumesToFsBackup"])
    }

    /// `spec.snapshotMoveData` (three-state).
    pub fn snapshot_move_data(&self) -> Option<bool> {
        bool_at(&self.object, &["spec", "snapshotMoveData"])
    }

    /// `spec.csiSnapshotTimeout` as a wait budget: 10 minutes when zero or unset.
    pub fn csi_snapshot_timeout(&self) -> Duration {
        str_at(&self.object, &["spec", "csiSnapshotTimeout"])
            .and_then(parse_go_duration)
            .filter(|d| !d.is_zero())
            .unwrap_or(DEFAULT_TIMEOUT)
    }

    /// `spec.csiSnapshotTimeout` exactly as sent (`"0s"` when zero), for copying.
    pub fn csi_snapshot_timeout_raw(&self) -> Value {
        self.object
            .pointer("/spec/csiSnapshotTimeout")
            .cloned()
            .unwrap_or_else(|| Value::String("0s".to_owned()))
    }

    /// The `velero.io/resource-timeout` annotation as a duration: 10 minutes when missing
    /// or unparsable.
    pub fn resource_timeout(&self) -> Duration {
        self.annotation(RESOURCE_TIMEOUT)
            .and_then(parse_go_duration)
            .unwrap_or(DEFAULT_TIMEOUT)
    }

    /// `spec.datamover`.
    pub fn datamover(&self) -> &str {
        str_at(&self.object, &["spec", "datamover"]).unwrap_or_default()
    }

    /// `spec.storageLocation`.
    pub fn storage_location(&self) -> &str {
        str_at(&self.object, &["spec", "storageLocation"]).unwrap_or_default()
    }

    /// `spec.uploaderConfig.parallelFilesUpload`.
    pub fn parallel_files_upload(&self) -> Option<i64> {
        i64_at(
            &self.object,
            &["spec", "uploaderConfig", "parallelFilesUpload"],
        )
    }

    /// `status.phase`.
    pub fn phase(&self) -> &str {
        str_at(&self.object, &["status", "phase"]).unwrap_or_default()
    }

    /// Whether this call belongs to the finalize pass.
    pub fn is_finalizing(&self) -> bool {
        matches!(self.phase(), "Finalizing" | "FinalizingPartiallyFailed")
    }
}

/// A `velero.io/v1` Restore.
#[derive(Debug, Clone)]
pub struct Restore {
    object: Value,
}

impl Restore {
    /// Parses the `restore` field of a request.
    pub fn parse(json: &str) -> Result<Self, ActionError> {
        parse_object("restore", json).map(|object| Self {
            object: Value::Object(object),
        })
    }

    pub fn name(&self) -> &str {
        str_at(&self.object, &["metadata", "name"]).unwrap_or_default()
    }

    pub fn namespace(&self) -> &str {
        str_at(&self.object, &["metadata", "namespace"]).unwrap_or_default()
    }

    pub fn uid(&self) -> &str {
        str_at(&self.object, &["metadata", "uid"]).unwrap_or_default()
    }

    /// `spec.backupName`.
    pub fn backup_name(&self) -> &str {
        str_at(&self.object, &["spec", "backupName"]).unwrap_or_default()
    }

    /// The namespace an item of `namespace` is restored into (`spec.namespaceMapping`).
    pub fn target_namespace<'a>(&'a self, namespace: &'a str) -> &'a str {
        str_at(&self.object, &["spec", "namespaceMapping", namespace]).unwrap_or(namespace)
    }

    /// `spec.restorePVs` (three-state).
    pub fn restore_pvs(&self) -> Option<bool> {
        bool_at(&self.object, &["spec", "restorePVs"])
    }

    /// `spec.uploaderConfig`, when present.
    pub fn uploader_config(&self) -> Option<&Value> {
        self.object
            .pointer("/spec/uploaderConfig")
            .filter(|v| !v.is_null())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_pvs_is_three_state() {
        let unset = Restore::parse(r#"{"spec":{}}"#).unwrap();
        let null = Restore::parse(r#"{"spec":{"restorePVs":null}}"#).unwrap();
        let yes = Restore::parse(r#"{"spec":{"restorePVs":true}}"#).unwrap();
        let no = Restore::parse(r#"{"spec":{"restorePVs":false}}"#).unwrap();
        assert_eq!(unset.restore_pvs(), None);
        assert_eq!(null.restore_pvs(), None);
        assert_eq!(yes.restore_pvs(), Some(true));
        assert_eq!(no.restore_pvs(), Some(false));
    }

    #[test]
    fn backup_accepts_go_encoding_without_type_meta() {
        let json = r#"{"metadata":{"name":"b1","creationTimestamp":null},"spec":{"ttl":"0s","csiSnapshotTimeout":"10m0s"},"status":{"newField":{}}}"#;
        let backup = Backup::parse(json).unwrap();
        assert_eq!(backup.name(), "b1");
        assert_eq!(backup.csi_snapshot_timeout(), Duration::from_secs(600));
    }

    #[test]
    fn timeouts_default_to_ten_minutes() {
        let zero = Backup::parse(r#"{"spec":{"csiSnapshotTimeout":"0s"}}"#).unwrap();
        assert_eq!(zero.csi_snapshot_timeout(), DEFAULT_TIMEOUT);
        assert_eq!(zero.csi_snapshot_timeout_raw(), Value::String("0s".into()));
        let twelve = Backup::parse(r#"{"spec":{"csiSnapshotTimeout":"12s"},"metadata":{"annotations":{"velero.io/resource-timeout":"1h"}}}"#).unwrap();
        assert_eq!(twelve.csi_snapshot_timeout(), Duration::from_secs(12));
        assert_eq!(twelve.resource_timeout(), Duration::from_secs(3600));
        let bad =
            Backup::parse(r#"{"metadata":{"annotations":{"velero.io/resource-timeout":"soon"}}}"#)
                .unwrap();
        assert_eq!(bad.resource_timeout(), DEFAULT_TIMEOUT);
    }

    #[test]
    fn finalizing_phases() {
        for (phase, finalizing) in [
            ("Finalizing", true),
            ("FinalizingPartiallyFailed", true),
            ("InProgress", false),
        ] {
            let backup = Backup::parse(&format!(r#"{{"status":{{"phase":"{phase}"}}}}"#)).unwrap();
            assert_eq!(backup.is_finalizing(), finalizing);
        }
    }

    #[test]
    fn namespace_mapping() {
        let restore =
            Restore::parse(r#"{"spec":{"namespaceMapping":{"app":"app-copy"}}}"#).unwrap();
        assert_eq!(restore.target_namespace("app"), "app-copy");
        assert_eq!(restore.target_namespace("other"), "other");
    }

    #[test]
    fn malformed_owner_json_is_an_input_error() {
        assert!(Backup::parse("").is_err());
        assert!(Restore::parse("{").is_err());
        assert!(Restore::parse("null").is_err());
    }
}
