//! A Kubernetes object as JSON, edited in place.
//!
//! Actions never decode an item into a typed model: they read and write only the paths
//! they own, so every other field (including ones added by newer Kubernetes versions)
//! comes back exactly as it arrived. An item that no action changed is returned as the
//! very bytes it came in as.

use serde_json::{Map, Value};

use crate::model::error::ActionError;

/// A Kubernetes object received from Velero.
#[derive(Debug, Clone)]
pub struct Item {
    raw: String,
    /// Always a JSON object.
    object: Value,
    modified: bool,
}

impl Item {
    /// Parses an item as Velero sends it: a JSON object with a non-empty `kind`.
    ///
    /// `field` names the request field in error messages (`item`, `itemFromBackup`).
    pub fn parse(field: &str, json: &str) -> Result<Self, ActionError> {
        let object = parse_object(field, json)?;
        match object.get("kind") {
            Some(Value::String(kind)) if !kind.is_empty() => {}
            _ => {
                return Err(ActionError::InvalidInput(format!(
                    "Object 'Kind' is missing in '{json}'"
                )));
            }
        }
        Ok(Self {
            raw: json.to_owned(),
            object: Value::Object(object),
            modified: false,
        })
    }

    /// `metadata.name`, or an empty string.
    pub fn name(&self) -> &str {
        self.metadata_str("name")
    }

    /// `metadata.namespace`, or an empty string for cluster-scoped objects.
    pub fn namespace(&self) -> &str {
        self.metadata_str("namespace")
    }

    /// The value of an annotation, if present.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.object
            .get("metadata")?
            .get("annotations")?
            .get(key)?
            .as_str()
    }

    /// Whether an annotation is present, whatever its value (an empty value counts).
    pub fn has_annotation(&self, key: &str) -> bool {
        self.annotation(key).is_some()
    }

    /// Inserts or overwrites an annotation, creating `metadata.annotations` if absent.
    pub fn set_annotation(&mut self, key: &str, value: &str) {
        let metadata = child_object(self.root(), "metadata");
        let annotations = child_object(metadata, "annotations");
        annotations.insert(key.to_owned(), Value::String(value.to_owned()));
    }

    /// `metadata.uid`, or an empty string.
    pub fn uid(&self) -> &str {
        self.metadata_str("uid")
    }

    /// The value at a JSON pointer (RFC 6901), e.g. `/spec/volumeName`.
    pub fn pointer(&self, pointer: &str) -> Option<&Value> {
        self.object.pointer(pointer)
    }

    /// The whole object, read-only.
    pub fn value(&self) -> &Value {
        &self.object
    }

    /// The value of a label, if present.
    pub fn label(&self, key: &str) -> Option<&str> {
        self.object
            .get("metadata")?
            .get("labels")?
            .get(key)?
            .as_str()
    }

    /// Inserts or overwrites a label with the normalised value N(`value`) ([behaviour §3.2](../../../docs/behaviour.md#32-annotation-and-label-merge)).
    pub fn set_label(&mut self, key: &str, value: &str) {
        let metadata = child_object(self.root(), "metadata");
        let labels = child_object(metadata, "labels");
        labels.insert(
            key.to_owned(),
            Value::String(crate::model::labels::normalize(value)),
        );
    }

    /// Removes an annotation; creates an empty annotation map when there was none.
    pub fn remove_annotation(&mut self, key: &str) {
        let metadata = child_object(self.root(), "metadata");
        child_object(metadata, "annotations").remove(key);
    }

    /// Sets the value at `path` (object keys from the root), creating objects on the way.
    pub fn set(&mut self, path: &[&str], value: Value) {
        let Some((last, parents)) = path.split_last() else {
            return;
        };
        let mut map = self.root();
        for key in parents {
            map = child_object(map, key);
        }
        map.insert((*last).to_owned(), value);
    }

    /// Removes the value at `path`, if present.
    pub fn remove(&mut self, path: &[&str]) {
        let Some((last, parents)) = path.split_last() else {
            return;
        };
        let mut value = &mut self.object;
        for key in parents {
            match value.get_mut(*key) {
                Some(child) if child.is_object() => value = child,
                _ => return,
            }
        }
        if let Some(map) = value.as_object_mut()
            && map.remove(*last).is_some()
        {
            self.modified = true;
        }
    }

    /// The top-level object, for an edit: the item counts as modified from now on.
    fn root(&mut self) -> &mut Map<String, Value> {
        self.modified = true;
        object_in(&mut self.object)
    }

    /// The item as JSON: the original text if nothing changed, else the edited object.
    pub fn into_json(self) -> String {
        if self.modified {
            self.object.to_string()
        } else {
            self.raw
        }
    }

    fn metadata_str(&self, key: &str) -> &str {
        self.object
            .get("metadata")
            .and_then(|m| m.get(key))
            .and_then(Value::as_str)
            .unwrap_or_default()
    }
}

/// Parses a request field that must hold a JSON object (an item, a Backup or a Restore).
pub fn parse_object(field: &str, json: &str) -> Result<Map<String, Value>, ActionError> {
    if json.is_empty() {
        return Err(ActionError::InvalidInput(format!(
            "{field}: unexpected end of JSON input"
        )));
    }
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(other) => Err(ActionError::InvalidInput(format!(
            "{field}: expected a JSON object, found {}",
            json_type(&other)
        ))),
        Err(error) => Err(ActionError::InvalidInput(format!(
            "{field}: invalid JSON: {error}"
        ))),
    }
}

/// The object under `key`, replacing an absent or non-object value with an empty object.
fn child_object<'a>(parent: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    object_in(parent.entry(key).or_insert(Value::Null))
}

/// The object in `slot`, replacing any other value with an empty object.
fn object_in(slot: &mut Value) -> &mut Map<String, Value> {
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    match slot {
        Value::Object(map) => map,
        _ => unreachable!("slot was just made an object"),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged_item_is_returned_byte_for_byte() {
        let json = r#"{"kind":"VolumeSnapshotClass","metadata":{"name":"a"},"x":1.50}"#;
        let item = Item::parse("item", json).unwrap();
        assert_eq!(item.into_json(), json);
    }

    #[test]
    fn set_annotation_keeps_unknown_fields_and_big_integers() {
        let json = r#"{"kind":"K","metadata":{"name":"a","labels":{"l":"v"}},"spec":{"future":{"n":9007199254740993}}}"#;
        let mut item = Item::parse("item", json).unwrap();
        item.set_annotation("k", "v");
        let out: Value = serde_json::from_str(&item.into_json()).unwrap();
        assert_eq!(
            out["spec"]["future"]["n"].as_u64(),
            Some(9_007_199_254_740_993)
        );
        assert_eq!(out["metadata"]["labels"]["l"], "v");
        assert_eq!(out["metadata"]["annotations"]["k"], "v");
    }

    #[test]
    fn set_annotation_overwrites_and_replaces_null_maps() {
        let json = r#"{"kind":"K","metadata":{"annotations":null}}"#;
        let mut item = Item::parse("item", json).unwrap();
        item.set_annotation("k", "1");
        item.set_annotation("k", "2");
        assert_eq!(item.annotation("k"), Some("2"));
    }

    #[test]
    fn kind_is_required() {
        for json in [r#"{"apiVersion":"v1"}"#, r#"{"kind":""}"#, r#"{"kind":3}"#] {
            let error = Item::parse("item", json).unwrap_err().to_string();
            assert_eq!(error, format!("Object 'Kind' is missing in '{json}'"));
        }
    }

    #[test]
    fn malformed_json_is_rejected_with_the_field_name() {
        let cases = [
            ("", "item: unexpected end of JSON input"),
            (
                r#"{"apiVersion":"v1""#,
                "item: invalid JSON: EOF while parsing",
            ),
            ("[1]", "item: expected a JSON object, found an array"),
            (r#""s""#, "item: expected a JSON object, found a string"),
        ];
        for (json, expected) in cases {
            let error = Item::parse("item", json).unwrap_err().to_string();
            assert!(error.starts_with(expected), "{json:?}: {error}");
        }
    }

    #[test]
    fn edits_in_place() {
        let json = r#"{"kind":"PersistentVolumeClaim","metadata":{"name":"p","uid":"u"},"spec":{"volumeName":"pv","dataSourceRef":{"namespace":"x"},"volumeAttributesClassName":"gold"}}"#;
        let mut item = Item::parse("item", json).unwrap();
        assert_eq!(item.uid(), "u");
        assert_eq!(
            item.pointer("/spec/volumeName"),
            Some(&Value::String("pv".into()))
        );
        item.set(&["spec", "volumeName"], Value::String(String::new()));
        item.set(
            &["spec", "selector", "matchLabels", "k"],
            Value::String("v".into()),
        );
        item.remove(&["spec", "dataSourceRef"]);
        item.remove(&["spec", "absent", "deeper"]);
        item.set_label("velero.io/backup-name", &"x".repeat(70));
        item.remove_annotation("nothing");
        assert_eq!(
            item.pointer("/spec/volumeName"),
            Some(&Value::String(String::new()))
        );
        assert_eq!(item.label("velero.io/backup-name").unwrap().len(), 63);
        let out: Value = serde_json::from_str(&item.into_json()).unwrap();
        assert_eq!(out["spec"]["selector"]["matchLabels"]["k"], "v");
        assert!(out["spec"].get("dataSourceRef").is_none());
        assert_eq!(out["spec"]["volumeAttributesClassName"], "gold");
        assert_eq!(out["metadata"]["annotations"], serde_json::json!({}));
    }

    #[test]
    fn annotation_presence_counts_empty_values() {
        let item = Item::parse(
            "item",
            r#"{"kind":"K","metadata":{"annotations":{"a":""}}}"#,
        )
        .unwrap();
        assert!(item.has_annotation("a"));
        assert!(!item.has_annotation("b"));
    }
}
