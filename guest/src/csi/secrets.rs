//! Secrets referenced by annotations on snapshot objects ([behaviour §3.10](../../../docs/behaviour.md#310-secrets)).

use crate::bindings::velero::csi::types::ResourceIdentifier;
use crate::model::item::Item;

/// The Secret named by a pair of annotations, when **both** are present (empty values
/// count as present).
pub fn referenced_secret(
    item: &Item,
    name_key: &str,
    namespace_key: &str,
) -> Option<ResourceIdentifier> {
    let name = item.annotation(name_key)?;
    let namespace = item.annotation(namespace_key)?;
    Some(crate::registry::identifier("", "secrets", namespace, name))
}

#[cfg(test)]
mod tests;
