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

/// The annotation Kubernetes uses to mark a driver's default VolumeSnapshotClass.
pub const IS_DEFAULT_CLASS: &str = "snapshot.storage.kubernetes.io/is-default-class";

/// The default class of `driver` as Velero core v1.17+ chooses it: the first class of that
/// exact driver labelled `velero.io/csi-volumesnapshot-class`; else the first class of the
/// driver carrying the [`IS_DEFAULT_CLASS`] annotation (whatever its value); else the only
/// class of the driver.
pub fn default_for_driver_modern<'a>(
    classes: &'a [Value],
    driver_name: &str,
) -> Result<&'a Value, ActionError> {
    let of_driver = || classes.iter().filter(|c| driver(c) == driver_name);
    let has = |class: &Value, pointer: &str, key: &str| {
        class
            .pointer(pointer)
            .and_then(Value::as_object)
            .is_some_and(|map| map.contains_key(key))
    };
    if let Some(class) =
        of_driver().find(|c| has(c, "/metadata/labels", keys::VOLUME_SNAPSHOT_CLASS))
    {
        return Ok(class);
    }
    if let Some(class) = of_driver().find(|c| has(c, "/metadata/annotations", IS_DEFAULT_CLASS)) {
        return Ok(class);
    }
    let mut candidates = of_driver();
    match (candidates.next(), candidates.next()) {
        (Some(only), None) => Ok(only),
        _ => Err(ActionError::Failed(format!(
            "failed to get volumesnapshotclass for driver {driver_name}: ensure that the desired volumesnapshot class has the {} label or the {IS_DEFAULT_CLASS} annotation",
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
    select_class(host, provisioner, backup, claim, default_for_provisioner)
}

/// The VolumeSnapshotClass the modern actions snapshot `claim` with, for volumes of `driver`:
/// the overrides of [`volume_snapshot_class`], then [`default_for_driver_modern`] (which adds
/// core v1.17+'s `is-default-class` fallback).
pub fn volume_snapshot_class_modern(
    host: &dyn Imports,
    driver: &str,
    backup: &Backup,
    claim: &Value,
) -> Result<Value, ActionError> {
    select_class(host, driver, backup, claim, default_for_driver_modern)
}

/// The class chosen by the claim and Backup overrides, else by `fallback`.
fn select_class(
    host: &dyn Imports,
    provisioner: &str,
    backup: &Backup,
    claim: &Value,
    fallback: for<'a> fn(&'a [Value], &str) -> Result<&'a Value, ActionError>,
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

    fallback(&classes, provisioner)
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
