//! Choosing the VolumeSnapshotClass for a claim ([behaviour §3.5](../../../docs/behaviour.md#35-volumesnapshotclass-selection)).
//!
//! Precedence: the PVC's `velero.io/csi-volumesnapshot-class` annotation, then the Backup's
//! `velero.io/csi-volumesnapshot-class_<driver>` annotation, then the class of the driver
//! labelled `velero.io/csi-volumesnapshot-class`, then the only class of the driver. An
//! override that names no usable class is logged at debug level and ignored, as in v0.7.1.

use serde_json::Value;

use crate::adapter::imports::{Imports, Level};
use crate::model::error::ActionError;
use crate::model::json::{annotation, name, str_at};
use crate::model::kube::resources;
use crate::model::velero::Backup;
use csi_common::keys;

/// Go's `strings.EqualFold` for the names and drivers it compares (simple case folding).
fn equal_fold(a: &str, b: &str) -> bool {
    a.chars().count() == b.chars().count()
        && a.chars().zip(b.chars()).all(|(x, y)| {
            x == y || x.to_lowercase().eq(y.to_lowercase()) || x.to_uppercase().eq(y.to_uppercase())
        })
}

fn driver(class: &Value) -> &str {
    str_at(class, &["driver"]).unwrap_or_default()
}

/// The class an override annotation names: the first class whose name equals `wanted`
/// case-insensitively, if its driver equals `provisioner` case-insensitively. `Err` says why
/// the override is not usable, in v0.7.1's words.
fn from_override<'a>(
    classes: &'a [Value],
    wanted: &str,
    provisioner: &str,
    wrong_driver_suffix: &str,
    missing: impl FnOnce() -> String,
) -> Result<&'a Value, String> {
    match classes.iter().find(|c| equal_fold(wanted, name(c))) {
        Some(class) if equal_fold(driver(class), provisioner) => Ok(class),
        Some(class) => Err(format!(
            "Incorrect volumesnapshotclass, snapshot class {} is not for driver {provisioner}{wrong_driver_suffix}",
            name(class)
        )),
        None => Err(missing()),
    }
}

/// The default class of `provisioner`: the first class of that exact driver (case-sensitive)
/// that carries the `velero.io/csi-volumesnapshot-class` label, whatever its value; else the
/// only class of the driver.
pub fn default_for_provisioner<'a>(
    classes: &'a [Value],
    provisioner: &str,
) -> Result<&'a Value, ActionError> {
    let mut count = 0;
    let mut last = None;
    for class in classes.iter().filter(|c| driver(c) == provisioner) {
        let labelled = class
            .pointer("/metadata/labels")
            .and_then(Value::as_object)
            .is_some_and(|labels| labels.contains_key(keys::VOLUME_SNAPSHOT_CLASS));
        if labelled {
            return Ok(class);
        }
        count += 1;
        last = Some(class);
    }
    match last {
        Some(class) if count == 1 => Ok(class),
        _ => Err(ActionError::Failed(format!(
            "failed to get volumesnapshotclass for provisioner {provisioner}, ensure that the desired volumesnapshot class has the {} label",
            keys::VOLUME_SNAPSHOT_CLASS
        ))),
    }
}

/// The VolumeSnapshotClass to snapshot `claim` with, for volumes of `provisioner` (the
/// StorageClass provisioner). Lists every class once.
pub fn volume_snapshot_class(
    host: &dyn Imports,
    provisioner: &str,
    backup: &Backup,
    claim: &Value,
) -> Result<Value, ActionError> {
    let classes = host
        .list(&resources::volume_snapshot_classes(), None, None)
        .map_err(|e| ActionError::kube("error listing volumesnapshot classes", e))?;

    if let Some(wanted) = annotation(claim, keys::VOLUME_SNAPSHOT_CLASS) {
        let claim_name = name(claim);
        match from_override(&classes, wanted, provisioner, "", || {
            format!(
                "No CSI VolumeSnapshotClass found with name {wanted} for provisioner {provisioner} for PVC {claim_name}"
            )
        }) {
            Ok(class) => return Ok(class.clone()),
            Err(why) => host.log(
                Level::Debug,
                &format!("Didn't find VolumeSnapshotClass from PVC annotations: {why}"),
            ),
        }
    }

    let key = format!(
        "{}{}",
        keys::VOLUME_SNAPSHOT_CLASS_FOR_DRIVER,
        provisioner.to_lowercase()
    );
    if let Some(wanted) = backup.annotation(&key) {
        let backup_name = backup.name();
        let suffix = format!(" for backup {backup_name}");
        match from_override(&classes, wanted, provisioner, &suffix, || {
            format!(
                "No CSI VolumeSnapshotClass found with name {wanted} for driver {provisioner} for backup {backup_name}"
            )
        }) {
            Ok(class) => return Ok(class.clone()),
            Err(why) => host.log(
                Level::Debug,
                &format!("Didn't find VolumeSnapshotClass from Backup annotations: {why}"),
            ),
        }
    }

    default_for_provisioner(&classes, provisioner)
        .cloned()
        .map_err(|e| e.wrap("error getting volumesnapshotclass"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_fold_is_case_insensitive_only() {
        assert!(equal_fold("Snap-Default", "snap-default"));
        assert!(!equal_fold("snap-default", "snap-default2"));
        assert!(equal_fold("", ""));
    }
}
