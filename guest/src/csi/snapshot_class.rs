//! Choosing the VolumeSnapshotClass for a claim (spec §3.5).
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
    use std::sync::Arc;

    use serde_json::json;
    use sim_cluster::{Cluster, Fault, SimError, Verb};

    use super::*;
    use crate::adapter::sim::SimImports;

    fn class(name: &str, driver: &str, label: Option<&str>) -> Value {
        let mut class = json!({
            "apiVersion": "snapshot.storage.k8s.io/v1",
            "kind": "VolumeSnapshotClass",
            "metadata": {"name": name},
            "driver": driver,
            "deletionPolicy": "Delete"
        });
        if let Some(value) = label {
            class["metadata"]["labels"] = json!({"velero.io/csi-volumesnapshot-class": value});
        }
        class
    }

    fn host_with(classes: Vec<Value>) -> SimImports {
        let cluster = Arc::new(Cluster::new());
        cluster.seed(classes);
        SimImports::new(cluster)
    }

    /// The upstream fixture of §5.13 (the simulation lists in name order, which is also the
    /// order the scenarios assume: `bar` before `bar2`).
    fn upstream() -> SimImports {
        host_with(vec![
            class("hostpath", "hostpath.csi.k8s.io", Some("foo")),
            class("foo", "foo.csi.k8s.io", Some("true")),
            class("bar", "bar.csi.k8s.io", Some("true")),
            class("bar2", "bar.csi.k8s.io", Some("true")),
            class("foowithoutlabel", "foo.csi.k8s.io", None),
        ])
    }

    fn backup(annotations: Value) -> Backup {
        Backup::from_value(
            json!({"metadata": {"name": "backup", "namespace": "velero", "annotations": annotations}}),
        )
    }

    fn backup_none() -> Backup {
        backup(Value::Null)
    }
    fn backup_foo() -> Backup {
        backup(json!({"velero.io/csi-volumesnapshot-class_foo.csi.k8s.io": "foowithoutlabel"}))
    }
    fn backup_foo2() -> Backup {
        backup(json!({"velero.io/csi-volumesnapshot-class_foo.csi.k8s.io": "foo2"}))
    }
    fn backup_bar2() -> Backup {
        backup(json!({"velero.io/csi-volumesnapshot-class_bar.csi.k8s.io": "bar2"}))
    }

    fn pvc(annotation: Option<&str>) -> Value {
        let mut pvc = json!({"kind": "PersistentVolumeClaim", "metadata": {"namespace": "default", "name": "pvc"}});
        if let Some(value) = annotation {
            pvc["metadata"]["annotations"] = json!({"velero.io/csi-volumesnapshot-class": value});
        }
        pvc
    }

    fn select(
        host: &SimImports,
        driver: &str,
        pvc: &Value,
        backup: &Backup,
    ) -> Result<String, ActionError> {
        volume_snapshot_class(host, driver, backup, pvc).map(|c| name(&c).to_owned())
    }

    /// Spec §5.13, scenario 118.
    #[test]
    fn scenario_118_label_default() {
        let host = upstream();
        assert_eq!(
            select(&host, "hostpath.csi.k8s.io", &pvc(None), &backup_none()).unwrap(),
            "hostpath"
        );
        let calls = host.cluster().calls();
        assert_eq!(calls.len(), 1);
        assert_eq!(
            (calls[0].verb, calls[0].namespace.as_deref()),
            (Verb::List, None)
        );
        assert_eq!(
            calls[0].resource,
            "volumesnapshotclasses.snapshot.storage.k8s.io"
        );
    }

    /// Spec §5.13, scenario 119.
    #[test]
    fn scenario_119_pvc_override() {
        let host = upstream();
        assert_eq!(
            select(
                &host,
                "foo.csi.k8s.io",
                &pvc(Some("foowithoutlabel")),
                &backup_none()
            )
            .unwrap(),
            "foowithoutlabel"
        );
    }

    /// Spec §5.13, scenario 120.
    #[test]
    fn scenario_120_pvc_override_for_another_driver_falls_through() {
        let host = upstream();
        assert_eq!(
            select(
                &host,
                "bar.csi.k8s.io",
                &pvc(Some("foowithoutlabel")),
                &backup_none()
            )
            .unwrap(),
            "bar"
        );
        assert_eq!(
            host.logs(),
            [(
                Level::Debug,
                "Didn't find VolumeSnapshotClass from PVC annotations: Incorrect volumesnapshotclass, snapshot class foowithoutlabel is not for driver bar.csi.k8s.io".to_owned()
            )]
        );
    }

    /// Spec §5.13, scenario 121.
    #[test]
    fn scenario_121_falls_through_to_the_backup_override() {
        let host = upstream();
        assert_eq!(
            select(
                &host,
                "bar.csi.k8s.io",
                &pvc(Some("foowithoutlabel")),
                &backup_bar2()
            )
            .unwrap(),
            "bar2"
        );
    }

    /// Spec §5.13, scenario 122.
    #[test]
    fn scenario_122_backup_override() {
        let host = upstream();
        assert_eq!(
            select(&host, "foo.csi.k8s.io", &pvc(None), &backup_foo()).unwrap(),
            "foowithoutlabel"
        );
    }

    /// Spec §5.13, scenario 123.
    #[test]
    fn scenario_123_backup_override_for_another_driver_is_not_consulted() {
        let host = upstream();
        assert_eq!(
            select(&host, "bar.csi.k8s.io", &pvc(None), &backup_foo()).unwrap(),
            "bar"
        );
        assert!(host.logs().is_empty());
    }

    /// Spec §5.13, scenario 124.
    #[test]
    fn scenario_124_unknown_driver() {
        let host = upstream();
        let error = select(&host, "blah.csi.k8s.io", &pvc(None), &backup_none()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "error getting volumesnapshotclass: failed to get volumesnapshotclass for provisioner blah.csi.k8s.io, ensure that the desired volumesnapshot class has the velero.io/csi-volumesnapshot-class label"
        );
    }

    /// Spec §5.13, scenario 125.
    #[test]
    fn scenario_125_missing_override_classes_fall_through_silently() {
        let host = upstream();
        assert_eq!(
            select(&host, "foo.csi.k8s.io", &pvc(Some("foo2")), &backup_foo2()).unwrap(),
            "foo"
        );
        assert_eq!(
            host.logs(),
            [
                (
                    Level::Debug,
                    "Didn't find VolumeSnapshotClass from PVC annotations: No CSI VolumeSnapshotClass found with name foo2 for provisioner foo.csi.k8s.io for PVC pvc".to_owned()
                ),
                (
                    Level::Debug,
                    "Didn't find VolumeSnapshotClass from Backup annotations: No CSI VolumeSnapshotClass found with name foo2 for driver foo.csi.k8s.io for backup backup".to_owned()
                ),
            ]
        );
    }

    /// Spec §5.13, scenario 126.
    #[test]
    fn scenario_126_label_only_table() {
        let host = host_with(vec![
            class("hostpath", "hostpath.csi.k8s.io", Some("foo")),
            class("foo", "foo.csi.k8s.io", Some("true")),
            class("bar", "bar.csi.k8s.io", Some("true")),
            class("baz", "baz.csi.k8s.io", None),
            class("amb1", "amb.csi.k8s.io", None),
            class("amb2", "amb.csi.k8s.io", None),
        ]);
        for (driver, expected) in [
            ("hostpath.csi.k8s.io", Some("hostpath")),
            ("foo.csi.k8s.io", Some("foo")),
            ("bar.csi.k8s.io", Some("bar")),
            ("baz.csi.k8s.io", Some("baz")),
            ("amb.csi.k8s.io", None),
            ("not-found.csi.k8s.io", None),
        ] {
            let got = select(&host, driver, &pvc(None), &backup_none()).ok();
            assert_eq!(got.as_deref(), expected, "{driver}");
        }
    }

    /// Spec §5.13, scenario 127.
    #[test]
    fn scenario_127_case_rules() {
        let host = host_with(vec![class("snap-default", "hostpath.csi.k8s.io", None)]);
        // PVC override: class names and drivers compare case-insensitively.
        assert_eq!(
            select(
                &host,
                "hostpath.csi.k8s.io",
                &pvc(Some("SNAP-DEFAULT")),
                &backup_none()
            )
            .unwrap(),
            "snap-default"
        );
        assert_eq!(
            select(
                &host,
                "Hostpath.CSI.k8s.io",
                &pvc(Some("SNAP-DEFAULT")),
                &backup_none()
            )
            .unwrap(),
            "snap-default"
        );
        // Backup key: built from the lower-cased provisioner.
        let b = backup(
            json!({"velero.io/csi-volumesnapshot-class_hostpath.csi.k8s.io": "Snap-Default"}),
        );
        assert_eq!(
            select(&host, "Hostpath.CSI.k8s.io", &pvc(None), &b).unwrap(),
            "snap-default"
        );
        // Label step: the driver compares case-sensitively.
        let error = select(&host, "Hostpath.CSI.k8s.io", &pvc(None), &backup_none()).unwrap_err();
        assert!(
            error
                .to_string()
                .contains("for provisioner Hostpath.CSI.k8s.io,"),
            "{error}"
        );
    }

    /// Spec §5.13, scenario 128.
    #[test]
    fn scenario_128_label_value_is_ignored() {
        for value in ["false", ""] {
            let host = host_with(vec![
                class("a-unlabelled", "hostpath.csi.k8s.io", None),
                class("b-labelled", "hostpath.csi.k8s.io", Some(value)),
            ]);
            assert_eq!(
                select(&host, "hostpath.csi.k8s.io", &pvc(None), &backup_none()).unwrap(),
                "b-labelled"
            );
        }
    }

    /// Spec §5.13, scenario 129.
    #[test]
    fn scenario_129_list_failure() {
        let host = upstream();
        host.cluster().inject(Fault {
            verb: Verb::List,
            resource: "volumesnapshotclasses".into(),
            name: None,
            error: SimError::NotFound("the server could not find the requested resource".into()),
            times: None,
        });
        let error = select(&host, "hostpath.csi.k8s.io", &pvc(None), &backup_none()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "error listing volumesnapshot classes: the server could not find the requested resource"
        );
    }

    #[test]
    fn equal_fold_is_case_insensitive_only() {
        assert!(equal_fold("Snap-Default", "snap-default"));
        assert!(!equal_fold("snap-default", "snap-default2"));
        assert!(equal_fold("", ""));
    }
}
