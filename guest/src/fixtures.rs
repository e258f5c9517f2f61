//! The standard objects of the guest's unit tests, in the scenario corpus's vocabulary.
//!
//! Each builder starts from the object of the same name in `tests/scenarios/fixtures.json`
//! (claim `P`, volume `PV`, storage class `SC`, snapshot class `VSClass`, VolumeSnapshot `VS`,
//! VolumeSnapshotContent `VSC`, Backup `B`, Restore `R`, `Pod`) and applies an RFC 7386 merge
//! patch (`json!({})` for the object as it is; `null` removes a field), so the unit tests and
//! the corpus files speak of the same `app/data`, `pv-1`, `sc-csi`, `snap-default`, `c1`,
//! `velero/b1` and `velero/r1`.

use std::sync::{Arc, LazyLock};

use serde_json::Value;
use sim_cluster::Cluster;

use crate::adapter::sim::SimImports;
use crate::model::item::Item;
use crate::model::velero::{Backup, Restore};

/// `fixtures.json`, parsed once.
static FIXTURES: LazyLock<Value> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../../tests/scenarios/fixtures.json"))
        .expect("fixtures.json is JSON")
});

/// `base` with the merge patch `patch` applied.
pub(crate) fn merged(mut base: Value, patch: Value) -> Value {
    sim_cluster::store::merge(&mut base, &patch);
    base
}

/// The fixture `name`, patched.
fn fixture(name: &str, patch: Value) -> Value {
    let object = FIXTURES
        .get(name)
        .unwrap_or_else(|| panic!("fixtures.json has no {name}"))
        .clone();
    merged(object, patch)
}

/// The claim `app/data` (`P`): bound to `pv-1`, storage class `sc-csi`, 5Gi.
pub(crate) fn claim(patch: Value) -> Value {
    fixture("P", patch)
}

/// The CSI volume `pv-1` (`PV`) of driver `hostpath.csi.k8s.io`, bound to `app/data`.
pub(crate) fn volume(patch: Value) -> Value {
    fixture("PV", patch)
}

/// The storage class `sc-csi` (`SC`) of provisioner `hostpath.csi.k8s.io`.
pub(crate) fn storage_class(patch: Value) -> Value {
    fixture("SC", patch)
}

/// The labelled snapshot class `snap-default` (`VSClass`) of `hostpath.csi.k8s.io`.
pub(crate) fn snapshot_class(patch: Value) -> Value {
    fixture("VSClass", patch)
}

/// The VolumeSnapshot `app/velero-data-abcde` (`VS`) of backup `b1`, bound to `c1`.
pub(crate) fn volume_snapshot(patch: Value) -> Value {
    fixture("VS", patch)
}

/// The VolumeSnapshotContent `c1` (`VSC`), policy `Delete`, handle `h1`.
pub(crate) fn volume_snapshot_content(patch: Value) -> Value {
    fixture("VSC", patch)
}

/// The pod `app/web-0` (`Pod`), mounting `app/data` as volume `vol`.
pub(crate) fn pod(patch: Value) -> Value {
    fixture("Pod", patch)
}

/// The Backup `velero/b1` (`B`) as JSON.
pub(crate) fn backup_json(patch: Value) -> Value {
    fixture("B", patch)
}

/// The Backup `velero/b1` (`B`).
pub(crate) fn backup(patch: Value) -> Backup {
    Backup::from_value(backup_json(patch))
}

/// The Restore `velero/r1` (`R`) of backup `b1`.
pub(crate) fn restore(patch: Value) -> Restore {
    Restore::parse(&fixture("R", patch).to_string()).expect("the Restore fixture parses")
}

/// An object as an action receives it.
pub(crate) fn item(object: &Value) -> Item {
    Item::parse("item", &object.to_string()).expect("the item parses")
}

/// Imports over a simulated cluster seeded with `objects`.
pub(crate) fn imports_with(objects: impl IntoIterator<Item = Value>) -> SimImports {
    let cluster = Arc::new(Cluster::new());
    cluster.seed(objects);
    SimImports::new(cluster)
}
