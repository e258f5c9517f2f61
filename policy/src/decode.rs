//! Strict decoding of YAML nodes into the shapes Velero's policy types have: unknown keys and
//! duplicate keys refused, wrong types named with the Go type Velero decodes into.

use serde_json::{Map, Number, Value};

use crate::error::PolicyError;
use crate::yaml::{Kind, Node, Resolved, Scalar, expand_merges, go_format_float};

/// How a scalar becomes a string: straight from the source text (fields Velero decodes
/// directly), or as written back out after a generic decode (volume conditions, which Velero
/// decodes into a generic map first and re-encodes).
#[derive(Clone, Copy)]
pub(crate) enum Text {
    Direct,
    Canonical,
}

fn scalar_error(line: usize, message: String) -> PolicyError {
    PolicyError::BadTag { line, message }
}

fn wrong(node: &Node, expected: &'static str) -> PolicyError {
    PolicyError::WrongType {
        line: node.line,
        found: node.describe(),
        expected,
    }
}

/// The pairs of a mapping (merge keys expanded, duplicates refused); `None` for null.
pub(crate) fn mapping(
    node: &Node,
    expected: &'static str,
) -> Result<Option<Vec<(Node, Node)>>, PolicyError> {
    match &node.kind {
        Kind::Map(pairs) => {
            for (i, (key, _)) in pairs.iter().enumerate() {
                if let Kind::Scalar(k) = &key.kind
                    && let Some((first, _)) = pairs[..i].iter().find(
                        |(other, _)| matches!(&other.kind, Kind::Scalar(o) if o.text == k.text),
                    )
                {
                    return Err(PolicyError::DuplicateKey {
                        line: key.line,
                        key: k.text.clone(),
                        first_line: first.line,
                    });
                }
            }
            Ok(Some(expand_merges(pairs)))
        }
        _ if node.is_null() => Ok(None),
        _ => Err(wrong(node, expected)),
    }
}

/// The fields of a struct-typed mapping: each key with its value, unknown keys refused.
pub(crate) fn fields(
    node: &Node,
    type_name: &'static str,
    known: &[&'static str],
) -> Result<Vec<(&'static str, Node)>, PolicyError> {
    let Some(pairs) = mapping(node, type_name)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for (key, value) in pairs {
        let Some(name) = key_text(&key, "string")? else {
            continue;
        };
        let Some(field) = known.iter().find(|k| **k == name) else {
            return Err(PolicyError::UnknownField {
                line: key.line,
                field: name,
                in_type: type_name,
            });
        };
        out.push((*field, value));
    }
    Ok(out)
}

/// A mapping key as a string; `None` for a null key, which the decoder skips.
fn key_text(key: &Node, expected: &'static str) -> Result<Option<String>, PolicyError> {
    match &key.kind {
        Kind::Scalar(s) => s
            .direct_text()
            .map(|t| t.map(str::to_owned))
            .map_err(|m| scalar_error(key.line, m)),
        _ => Err(wrong(key, expected)),
    }
}

fn scalar_text(s: &Scalar, line: usize, mode: Text) -> Result<Option<String>, PolicyError> {
    match mode {
        Text::Direct => s.direct_text().map(|t| t.map(str::to_owned)),
        Text::Canonical => s.canonical_text(),
    }
    .map_err(|m| scalar_error(line, m))
}

/// A string field; `None` when null (the field keeps its zero value).
pub(crate) fn string(node: &Node, mode: Text) -> Result<Option<String>, PolicyError> {
    match &node.kind {
        Kind::Scalar(s) => scalar_text(s, node.line, mode),
        _ => Err(wrong(node, "string")),
    }
}

/// A list of strings; null elements are dropped, as the decoder drops them.
pub(crate) fn strings(node: &Node, mode: Text) -> Result<Vec<String>, PolicyError> {
    match &node.kind {
        Kind::Seq(items) => {
            let mut out = Vec::new();
            for item in items {
                if let Some(s) = string(item, mode)? {
                    out.push(s);
                }
            }
            Ok(out)
        }
        _ if node.is_null() => Ok(Vec::new()),
        _ => Err(wrong(node, "[]string")),
    }
}

/// A map of strings; `None` when null. Null values become empty strings.
pub(crate) fn string_map(
    node: &Node,
    mode: Text,
) -> Result<Option<Vec<(String, String)>>, PolicyError> {
    let Some(pairs) = mapping(node, "map[string]string")? else {
        return Ok(None);
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for (key, value) in pairs {
        let Some(k) = key_text(&key, "string")? else {
            continue;
        };
        let v = string(&value, mode)?.unwrap_or_default();
        match out.iter_mut().find(|(o, _)| *o == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    Ok(Some(out))
}

/// The Go type a node decodes to in a generic (`interface{}`) slot, as `%T` prints it.
pub(crate) fn go_type(node: &Node) -> &'static str {
    match &node.kind {
        Kind::Seq(_) => "[]interface {}",
        Kind::Map(pairs) => {
            let string_keys = pairs.iter().all(|(k, _)| {
                matches!(&k.kind, Kind::Scalar(s) if matches!(s.resolve(), Ok(Resolved::Str | Resolved::Merge)))
            });
            if string_keys {
                "map[string]interface {}"
            } else {
                "map[interface {}]interface {}"
            }
        }
        Kind::Scalar(s) => match s.resolve() {
            Ok(Resolved::Null) => "<nil>",
            Ok(Resolved::Bool(_)) => "bool",
            Ok(Resolved::Int(_)) => "int",
            Ok(Resolved::Uint(_)) => "uint64",
            Ok(Resolved::Float(_)) => "float64",
            Ok(Resolved::Str | Resolved::Merge) | Err(_) => "string",
        },
    }
}

/// A generic value as JSON: integers and floats as numbers, non-finite floats as their YAML
/// spelling (`.inf`, `.nan`), mapping keys as strings.
pub(crate) fn json(node: &Node) -> Result<Value, PolicyError> {
    Ok(match &node.kind {
        Kind::Scalar(s) => match s.resolve().map_err(|m| scalar_error(node.line, m))? {
            Resolved::Null => Value::Null,
            Resolved::Bool(b) => Value::Bool(b),
            Resolved::Int(i) => Value::from(i),
            Resolved::Uint(u) => Value::from(u),
            Resolved::Float(f) => Number::from_f64(f)
                .map(Value::Number)
                .unwrap_or_else(|| Value::String(go_format_float(f))),
            Resolved::Str | Resolved::Merge => Value::String(s.text.clone()),
        },
        Kind::Seq(items) => Value::Array(items.iter().map(json).collect::<Result<_, _>>()?),
        Kind::Map(_) => {
            Value::Object(json_map(node, "map[string]interface {}")?.unwrap_or_default())
        }
    })
}

/// A generic mapping as a JSON object; `None` when null.
pub(crate) fn json_map(
    node: &Node,
    expected: &'static str,
) -> Result<Option<Map<String, Value>>, PolicyError> {
    let Some(pairs) = mapping(node, expected)? else {
        return Ok(None);
    };
    let mut out = Map::new();
    for (key, value) in pairs {
        let k = match &key.kind {
            Kind::Scalar(s) => s
                .canonical_text()
                .map_err(|m| scalar_error(key.line, m))?
                .unwrap_or_else(|| "null".to_owned()),
            _ => return Err(wrong(&key, "string")),
        };
        out.insert(k, json(&value)?);
    }
    Ok(Some(out))
}
