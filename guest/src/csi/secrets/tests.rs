use serde_json::{Value, json};

use super::*;

/// [scenarios §5.13](../../../../docs/scenarios.md#513-helper-scenarios), scenario 145, for the pair no action reads as a secret reference (the
/// legacy delete-snapshot pair on a VolumeSnapshot); the content's snapshotter pair and
/// the class's lister pair are corpus scenarios (`145-*.json`).
#[test]
fn a_secret_is_referenced_only_when_both_keys_are_present() {
    let (name_key, namespace_key) = (
        csi_common::keys::DELETE_SNAPSHOT_SECRET_NAME,
        csi_common::keys::DELETE_SNAPSHOT_SECRET_NAMESPACE,
    );
    let item = |annotations: Value| {
        let object = json!({"kind": "VolumeSnapshot", "metadata": {"name": "x", "annotations": annotations}});
        Item::parse("item", &object.to_string()).unwrap()
    };
    let both = referenced_secret(
        &item(json!({name_key: "s", namespace_key: "ns"})),
        name_key,
        namespace_key,
    );
    assert_eq!(
        both,
        Some(crate::registry::identifier("", "secrets", "ns", "s"))
    );
    for annotations in [
        json!({name_key: "s"}),
        json!({namespace_key: "ns"}),
        json!({"unrelated": "x"}),
        json!({}),
        Value::Null,
    ] {
        assert!(
            referenced_secret(&item(annotations.clone()), name_key, namespace_key).is_none(),
            "{annotations}"
        );
    }
}
