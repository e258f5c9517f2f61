//! Reading Velero's `Backup` and `Restore` objects.
//!
//! They arrive as Go `encoding/json` output of Velero's types: unknown fields are ignored,
//! `apiVersion`/`kind` are not required, and optional booleans may be absent or `null`.

use serde_json::{Map, Value};

use crate::error::ActionError;
use crate::item::parse_object;

/// A `velero.io/v1` Backup.
///
/// The CSI actions of this build only need the Backup to be well-formed; later actions read
/// its spec and status.
#[derive(Debug, Clone)]
pub struct Backup {
    _object: Map<String, Value>,
}

impl Backup {
    /// Parses the `backup` field of a request.
    pub fn parse(json: &str) -> Result<Self, ActionError> {
        parse_object("backup", json).map(|object| Self { _object: object })
    }
}

/// A `velero.io/v1` Restore.
#[derive(Debug, Clone)]
pub struct Restore {
    object: Map<String, Value>,
}

impl Restore {
    /// Parses the `restore` field of a request.
    pub fn parse(json: &str) -> Result<Self, ActionError> {
        parse_object("restore", json).map(|object| Self { object })
    }

    /// `spec.restorePVs`: unset (`None`), or explicitly true or false.
    pub fn restore_pvs(&self) -> Option<bool> {
        value_at(&self.object, &["spec", "restorePVs"]).and_then(Value::as_bool)
    }
}

fn value_at<'a>(object: &'a Map<String, Value>, path: &[&str]) -> Option<&'a Value> {
    let (first, rest) = path.split_first()?;
    rest.iter()
        .try_fold(object.get(*first)?, |value, key| value.get(key))
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
        assert!(Backup::parse(json).is_ok());
    }

    #[test]
    fn malformed_owner_json_is_an_input_error() {
        assert!(Backup::parse("").is_err());
        assert!(Restore::parse("{").is_err());
        assert!(Restore::parse("null").is_err());
    }
}
