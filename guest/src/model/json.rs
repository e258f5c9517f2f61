//! Reading fields of JSON objects fetched from the API.

use serde_json::Value;

/// The value at `path`, if every step exists.
pub fn at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

/// The string at `path`.
pub fn str_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    at(value, path).and_then(Value::as_str)
}

/// The boolean at `path`: `None` when absent or null (unset), else its value.
pub fn bool_at(value: &Value, path: &[&str]) -> Option<bool> {
    at(value, path).and_then(Value::as_bool)
}

/// The integer at `path`.
pub fn i64_at(value: &Value, path: &[&str]) -> Option<i64> {
    at(value, path).and_then(Value::as_i64)
}

/// `metadata.name`, or an empty string.
pub fn name(object: &Value) -> &str {
    str_at(object, &["metadata", "name"]).unwrap_or_default()
}

/// A label of an object.
pub fn label<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    at(object, &["metadata", "labels", key]).and_then(Value::as_str)
}

/// An annotation of an object.
pub fn annotation<'a>(object: &'a Value, key: &str) -> Option<&'a str> {
    at(object, &["metadata", "annotations", key]).and_then(Value::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_tolerate_absence_and_null() {
        let v = json!({"spec": {"a": null, "b": true, "n": 5}, "metadata": {"labels": {"k": "v"}}});
        assert_eq!(bool_at(&v, &["spec", "a"]), None);
        assert_eq!(bool_at(&v, &["spec", "b"]), Some(true));
        assert_eq!(bool_at(&v, &["spec", "zz", "b"]), None);
        assert_eq!(i64_at(&v, &["spec", "n"]), Some(5));
        assert_eq!(label(&v, "k"), Some("v"));
        assert_eq!(annotation(&v, "k"), None);
        assert_eq!(name(&v), "");
    }
}
