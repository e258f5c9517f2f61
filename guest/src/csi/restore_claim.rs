//! Rewriting a PersistentVolumeClaim for restore ([actions §2.5](../../../docs/actions.md#25-pvc-restore-veleroiocsi-pvc-restorer), [behaviour §3.12](../../../docs/behaviour.md#312-pvc-restore-from-a-snapshot)).
//!
//! Every helper edits the claim's JSON in place through [`Item`]: only the paths named by
//! the spec change, so fields this code does not know (`spec.volumeAttributesClassName`,
//! `spec.dataSourceRef.namespace` on untouched paths, …) survive ([behaviour §3.16](../../../docs/behaviour.md#316-editing-json-in-place)).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::model::item::Item;
use crate::model::json::annotation;
use crate::model::labels::normalize;
use crate::model::quantity::parse_nanos;
use csi_common::keys;

/// API group of VolumeSnapshots, as written into a claim's data source.
const SNAPSHOT_GROUP: &str = "snapshot.storage.k8s.io";

/// The characters Kubernetes uses for generated names (`k8s.io/apimachinery/pkg/util/rand`).
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// How many random characters the `velero.io/dynamic-pv-restore` value ends with.
const RANDOM_LENGTH: usize = 5;

/// Removes `remove` from the claim's annotations ([actions §2.5](../../../docs/actions.md#25-pvc-restore-veleroiocsi-pvc-restorer) step 4). A claim without an
/// annotation map gets an empty one, as v0.7.1 does.
pub fn remove_annotations(claim: &mut Item, remove: &[&str]) {
    for key in remove {
        claim.remove_annotation(key);
    }
}

/// Prepares a claim for plain dynamic provisioning when the Restore disables PV restore
/// ([actions §2.5](../../../docs/actions.md#25-pvc-restore-veleroiocsi-pvc-restorer) step 5): no volume name, no data source of either kind.
pub fn clear_volume_source(claim: &mut Item) {
    claim.set(&["spec", "volumeName"], Value::String(String::new()));
    claim.remove(&["spec", "dataSource"]);
    claim.remove(&["spec", "dataSourceRef"]);
}

/// The restore size a VolumeSnapshot records, under either spelling of the annotation: the
/// v0.7.1 key (`velero.io/vsi-…`) first, then the Velero core v1.14+ key
/// (`velero.io/csi-…`), so that backups of either generation restore with the right size
/// ([behaviour §6.2](../../../docs/behaviour.md#62-introduced-with-the-move-into-core-v114)/4, [behaviour §7 L16](../../../docs/behaviour.md#l16-restore-sizing-is-fragile)).
pub fn restore_size_annotation(snapshot: &Value) -> Option<&str> {
    annotation(snapshot, keys::VSI_RESTORE_SIZE)
        .or_else(|| annotation(snapshot, keys::CSI_RESTORE_SIZE))
}

/// Applies the storage sizing rule ([behaviour §3.12.1](../../../docs/behaviour.md#3121-storage-request-sizing)): the `storage` request becomes
/// `restore_size` when it is absent or smaller; equal or larger requests and other resource
/// keys are kept. `restore_size_nanos` is `restore_size` parsed by
/// [`crate::model::quantity::parse_nanos`]. Returns whether the request changed.
///
/// A request that is not a valid quantity cannot come from a live cluster (the API server
/// validates it); it is treated as absent, so that the restored claim is valid.
pub fn raise_storage_request(
    claim: &mut Item,
    restore_size: &str,
    restore_size_nanos: i128,
) -> bool {
    let current = match claim.pointer("/spec/resources/requests/storage") {
        Some(Value::String(text)) => parse_nanos(text).ok(),
        Some(Value::Number(number)) => parse_nanos(&number.to_string()).ok(),
        _ => None,
    };
    if current.is_some_and(|current| current >= restore_size_nanos) {
        return false;
    }
    claim.set(
        &["spec", "resources", "requests", "storage"],
        Value::String(restore_size.to_owned()),
    );
    true
}

/// Points the claim at a VolumeSnapshot ([behaviour §3.12.3](../../../docs/behaviour.md#3123-data-source-rewrite), v0.7.1): `volumeName` cleared,
/// `dataSource` and `dataSourceRef` both replaced by `{apiGroup, kind, name}`. Every other
/// spec field is left as it is.
pub fn use_snapshot_as_data_source(claim: &mut Item, snapshot: &str) {
    let source = json!({"apiGroup": SNAPSHOT_GROUP, "kind": "VolumeSnapshot", "name": snapshot});
    claim.set(&["spec", "volumeName"], Value::String(String::new()));
    claim.set(&["spec", "dataSource"], source.clone());
    claim.set(&["spec", "dataSourceRef"], source);
}

/// Prepares a claim for a data-mover restore ([actions §2.5](../../../docs/actions.md#25-pvc-restore-veleroiocsi-pvc-restorer) step 7.4): `volumeName` cleared and
/// `spec.selector.matchLabels["velero.io/dynamic-pv-restore"]` set to
/// N(`<target namespace>.<claim name>.<5 random characters>`), which keeps the claim from
/// binding to any volume but the one the data mover prepares. Data sources are left as
/// they are. Returns the selector value.
///
/// `seed` must be unique to this claim in this restore (for example the restore UID and
/// the backed-up claim's UID).
pub fn pin_to_restored_volume(claim: &mut Item, target_namespace: &str, seed: &str) -> String {
    let value = normalize(&format!(
        "{target_namespace}.{}.{}",
        claim.name(),
        random_suffix(seed)
    ));
    claim.set(&["spec", "volumeName"], Value::String(String::new()));
    claim.set(
        &["spec", "selector", "matchLabels", keys::DYNAMIC_PV_RESTORE],
        Value::String(value.clone()),
    );
    value
}

/// Five characters of the generated-name alphabet, as Go's `utilrand.String(5)` gives.
///
/// The component has no source of randomness (its only imports are `kube`, `log` and
/// `clock`), so the characters are derived from the SHA-256 of `seed` instead. The value
/// only has to differ between claims and restores, and the seed (restore UID, backed-up
/// claim UID, target namespace and name) already does; being deterministic also makes a
/// retried call produce the same selector.
fn random_suffix(seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    digest
        .iter()
        .take(RANDOM_LENGTH)
        .map(|byte| char::from(NAME_ALPHABET[usize::from(*byte) % NAME_ALPHABET.len()]))
        .collect()
}

#[cfg(test)]
mod tests;
