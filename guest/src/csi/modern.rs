//! Modern mode's shared pieces: deterministic object names, the recorded snapshot of a
//! backed-up claim, and the static VolumeSnapshotContent the restore and delete actions
//! create from it ([behaviour §8](../../../docs/behaviour.md#8-modern-mode)).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::model::item::Item;
use crate::model::labels::normalize;
use csi_common::keys::modern;

/// Prefix of every object name the modern actions choose.
pub const NAME_PREFIX: &str = "velero-csi-wasm-";

/// How many hex digits of the SHA-256 a name keeps (160 bits).
const NAME_HEX_DIGITS: usize = 40;

/// The external-snapshotter's annotations naming the Secret a driver needs to delete a
/// snapshot, on a VolumeSnapshotContent.
pub const DELETION_SECRET_NAME: &str = "snapshot.storage.kubernetes.io/deletion-secret-name";
/// See [`DELETION_SECRET_NAME`].
pub const DELETION_SECRET_NAMESPACE: &str =
    "snapshot.storage.kubernetes.io/deletion-secret-namespace";

/// The annotations the modern backup actions write into backed-up items.
pub const PLUGIN_ANNOTATIONS: [&str; 6] = [
    modern::SNAPSHOT_HANDLE,
    modern::DRIVER,
    modern::SNAPSHOT_CLASS,
    modern::RESTORE_SIZE,
    modern::DELETION_SECRET,
    modern::FROM_SNAPSHOT,
];

/// A deterministic object name for `purpose` (`backup`, `restore`, `delete`) and the parts
/// that identify the object (UIDs, namespaces, names): [`NAME_PREFIX`] and hex digits of
/// the SHA-256 of them all, so that a retried call finds the object its first try created.
pub fn object_name(purpose: &str, parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(purpose.as_bytes());
    for part in parts {
        // Length-prefixed, so that ("ab", "c") and ("a", "bc") differ.
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    let hex: String = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{NAME_PREFIX}{}", &hex[..NAME_HEX_DIGITS])
}

/// The storage snapshot a backed-up claim records (the modern PVC backup's annotations).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub handle: String,
    pub driver: String,
    pub restore_size: Option<String>,
    /// `(namespace, name)` of the deletion Secret.
    pub deletion_secret: Option<(String, String)>,
}

impl Recorded {
    /// The snapshot recorded in `claim`, when it has a non-empty handle and driver.
    pub fn of(claim: &Item) -> Option<Self> {
        let non_empty = |key| claim.annotation(key).filter(|v| !v.is_empty());
        Some(Self {
            handle: non_empty(modern::SNAPSHOT_HANDLE)?.to_owned(),
            driver: non_empty(modern::DRIVER)?.to_owned(),
            restore_size: non_empty(modern::RESTORE_SIZE).map(str::to_owned),
            deletion_secret: non_empty(modern::DELETION_SECRET)
                .and_then(|v| v.split_once('/'))
                .filter(|(ns, name)| !ns.is_empty() && !name.is_empty())
                .map(|(ns, name)| (ns.to_owned(), name.to_owned())),
        })
    }
}

/// A pre-provisioned VolumeSnapshotContent `name` for the recorded snapshot, bound to the
/// VolumeSnapshot `snapshot_namespace/snapshot_name`, labelled `label = label_value`.
pub fn static_content(
    name: &str,
    recorded: &Recorded,
    deletion_policy: &str,
    snapshot_namespace: &str,
    snapshot_name: &str,
    label: (&str, &str),
) -> Value {
    let content = json!({
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshotContent",
        "metadata": {
            "name": name,
            "labels": {label.0: normalize(label.1)},
        },
        "spec": {
            "deletionPolicy": deletion_policy,
            "driver": recorded.driver,
            "source": {"snapshotHandle": recorded.handle},
            "volumeSnapshotRef": {
                "apiVersion": "snapshot.storage.k8s.io/v1",
                "kind": "VolumeSnapshot",
                "namespace": snapshot_namespace,
                "name": snapshot_name,
            },
        },
    });
    // No class, as core v1.18 leaves it out of the contents it restores and deletes through:
    // the snapshotter would look the class up (and fail when it has been removed or renamed
    // since the backup), and the deletion secret is recorded on its own.
    content
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_deterministic_and_distinct() {
        let a = object_name("backup", &["uid", "app", "data"]);
        assert_eq!(a, object_name("backup", &["uid", "app", "data"]));
        assert_ne!(a, object_name("restore", &["uid", "app", "data"]));
        assert_ne!(
            object_name("backup", &["ab", "c"]),
            object_name("backup", &["a", "bc"])
        );
        assert!(a.starts_with(NAME_PREFIX));
        assert_eq!(a.len(), NAME_PREFIX.len() + NAME_HEX_DIGITS);
    }

    #[test]
    fn recorded_needs_handle_and_driver() {
        let claim = |annotations: Value| {
            Item::parse(
                "item",
                &json!({"kind": "PersistentVolumeClaim", "metadata": {"annotations": annotations}})
                    .to_string(),
            )
            .unwrap()
        };
        assert_eq!(
            Recorded::of(&claim(json!({modern::SNAPSHOT_HANDLE: "h"}))),
            None
        );
        assert_eq!(
            Recorded::of(&claim(
                json!({modern::SNAPSHOT_HANDLE: "", modern::DRIVER: "d"})
            )),
            None
        );
        let full = Recorded::of(&claim(json!({
            modern::SNAPSHOT_HANDLE: "h", modern::DRIVER: "d",
            modern::DELETION_SECRET: "ns/s", modern::RESTORE_SIZE: "5Gi"
        })))
        .unwrap();
        assert_eq!(full.deletion_secret, Some(("ns".into(), "s".into())));
        assert_eq!(full.restore_size.as_deref(), Some("5Gi"));
        let bad_secret = Recorded::of(&claim(json!({
            modern::SNAPSHOT_HANDLE: "h", modern::DRIVER: "d", modern::DELETION_SECRET: "nope"
        })))
        .unwrap();
        assert_eq!(bad_secret.deletion_secret, None);
    }
}
