//! A small YAML document model with the scalar resolution rules of the YAML library Velero
//! decodes policies with (YAML 1.2 core schema plus that library's 1.1 leftovers: `0777`
//! octals, underscores in numbers), built on the event parser of `granit-parser`.
//!
//! Only the first document of a stream is read, as a streaming decoder reading one value does.

use std::borrow::Cow;

use granit_parser::{Event, Parser, ScalarStyle, ScanError, Span, Tag};

use crate::error::PolicyError;

/// How many nodes a document may expand to through aliases before it is refused.
const MAX_NODES: usize = 100_000;
/// How deeply collections may nest before the document is refused.
const MAX_DEPTH: usize = 256;

/// One node of a YAML document, with the line (1-based) it starts on.
#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub(crate) line: usize,
    pub(crate) kind: Kind,
}

/// The three kinds of YAML node.
#[derive(Clone, Debug)]
pub(crate) enum Kind {
    Scalar(Scalar),
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

/// A scalar as written: its text, whether its style says "this is a string", and its tag.
#[derive(Clone, Debug)]
pub(crate) struct Scalar {
    pub(crate) text: String,
    /// Quoted or block scalars are strings whatever their text looks like.
    pub(crate) indicated_string: bool,
    /// `Some("int")` for `!!int` and the other core-schema tags; `Some("")` for any other tag.
    pub(crate) tag: Option<String>,
}

/// What a scalar resolves to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Resolved {
    Null,
    Bool(bool),
    Int(i64),
    Uint(u64),
    Float(f64),
    Str,
    /// The merge key `<<`.
    Merge,
}

impl Node {
    /// The YAML tag name of this node's resolved type, as the decoder names it in errors.
    pub(crate) fn tag_name(&self) -> &'static str {
        match &self.kind {
            Kind::Seq(_) => "!!seq",
            Kind::Map(_) => "!!map",
            Kind::Scalar(s) => match s.resolve() {
                Ok(Resolved::Null) => "!!null",
                Ok(Resolved::Bool(_)) => "!!bool",
                Ok(Resolved::Int(_) | Resolved::Uint(_)) => "!!int",
                Ok(Resolved::Float(_)) => "!!float",
                Ok(Resolved::Merge) => "!!merge",
                Ok(Resolved::Str) | Err(_) => "!!str",
            },
        }
    }

    /// A short description for type errors: the tag, and for scalars the text.
    pub(crate) fn describe(&self) -> String {
        match &self.kind {
            Kind::Scalar(s) => format!("{} `{}`", self.tag_name(), shorten(&s.text)),
            _ => self.tag_name().to_owned(),
        }
    }

    /// Whether this node is a null scalar.
    pub(crate) fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar(s) if s.resolve() == Ok(Resolved::Null))
    }
}

fn shorten(text: &str) -> Cow<'_, str> {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => Cow::Owned(format!("{}...", &text[..end])),
        None => Cow::Borrowed(text),
    }
}

impl Scalar {
    /// Resolves the scalar to a typed value. An explicit core tag that does not fit the text
    /// (`!!int abc`) is an error, worded like the decoder's.
    pub(crate) fn resolve(&self) -> Result<Resolved, String> {
        match self.tag.as_deref() {
            Some("str" | "binary" | "timestamp" | "") => return Ok(Resolved::Str),
            Some(tag @ ("int" | "float" | "bool" | "null")) => {
                let found = resolve_plain(&self.text);
                return match (tag, found) {
                    ("int", Resolved::Int(_) | Resolved::Uint(_))
                    | ("bool", Resolved::Bool(_))
                    | ("null", Resolved::Null)
                    | ("float", Resolved::Float(_)) => Ok(found),
                    ("float", Resolved::Int(v)) => Ok(Resolved::Float(v as f64)),
                    ("float", Resolved::Uint(v)) => Ok(Resolved::Float(v as f64)),
                    _ => Err(format!(
                        "cannot decode {} `{}` as a !!{tag}",
                        plain_tag_name(found),
                        shorten(&self.text)
                    )),
                };
            }
            Some(_) => return Ok(Resolved::Str),
            None => {}
        }
        if self.indicated_string {
            return Ok(Resolved::Str);
        }
        Ok(resolve_plain(&self.text))
    }

    /// The text a value gets when the decoder writes it back out and reads it into a string,
    /// as Velero does with volume conditions; `None` for null, which leaves a string unset.
    pub(crate) fn canonical_text(&self) -> Result<Option<String>, String> {
        Ok(match self.resolve()? {
            Resolved::Null => None,
            Resolved::Bool(b) => Some(b.to_string()),
            Resolved::Int(i) => Some(i.to_string()),
            Resolved::Uint(u) => Some(u.to_string()),
            Resolved::Float(f) => Some(go_format_float(f)),
            Resolved::Str | Resolved::Merge => Some(self.text.clone()),
        })
    }

    /// The text a scalar gets when decoded straight into a string field: the source text, or
    /// `None` for null.
    pub(crate) fn direct_text(&self) -> Result<Option<&str>, String> {
        Ok(match self.resolve()? {
            Resolved::Null => None,
            _ => Some(&self.text),
        })
    }
}

fn plain_tag_name(r: Resolved) -> &'static str {
    match r {
        Resolved::Null => "!!null",
        Resolved::Bool(_) => "!!bool",
        Resolved::Int(_) | Resolved::Uint(_) => "!!int",
        Resolved::Float(_) => "!!float",
        Resolved::Str => "!!str",
        Resolved::Merge => "!!merge",
    }
}

/// Resolution of an untagged plain scalar.
fn resolve_plain(text: &str) -> Resolved {
    let Some(&first) = text.as_bytes().first() else {
        return Resolved::Null;
    };
    match text {
        "true" | "True" | "TRUE" => return Resolved::Bool(true),
        "false" | "False" | "FALSE" => return Resolved::Bool(false),
        "~" | "null" | "Null" | "NULL" => return Resolved::Null,
        ".nan" | ".NaN" | ".NAN" => return Resolved::Float(f64::NAN),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Resolved::Float(f64::INFINITY);
        }
        "-.inf" | "-.Inf" | "-.INF" => return Resolved::Float(f64::NEG_INFINITY),
        "<<" => return Resolved::Merge,
        _ => {}
    }
    match first {
        b'.' => match text.parse::<f64>() {
            Ok(f) if f.is_finite() => Resolved::Float(f),
            _ => Resolved::Str,
        },
        b'0'..=b'9' | b'+' | b'-' => resolve_number(text),
        _ => Resolved::Str,
    }
}

fn resolve_number(text: &str) -> Resolved {
    let plain: String = text.chars().filter(|&c| c != '_').collect();
    if let Some(i) = go_parse_int_base0(&plain) {
        return Resolved::Int(i);
    }
    if let Some(u) = go_parse_uint_base0(&plain) {
        return Resolved::Uint(u);
    }
    if is_yaml_style_float(&plain)
        && let Ok(f) = plain.parse::<f64>()
        && f.is_finite()
    {
        return Resolved::Float(f);
    }
    for (prefix, radix) in [("0b", 2), ("0o", 8)] {
        if let Some(rest) = plain.strip_prefix(prefix) {
            if let Some(i) = go_parse_int_radix(rest, radix) {
                return Resolved::Int(i);
            }
            if let Some(u) = go_parse_uint_radix(rest, radix) {
                return Resolved::Uint(u);
            }
        } else if let Some(rest) = plain.strip_prefix('-').and_then(|p| p.strip_prefix(prefix))
            && let Some(i) = go_parse_int_radix(&format!("-{rest}"), radix)
        {
            return Resolved::Int(i);
        }
    }
    Resolved::Str
}

/// `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`
fn is_yaml_style_float(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(at) => (&s[..at], Some(&s[at + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac),
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    mantissa_ok && exponent.is_none_or(|e| digits(e.strip_prefix(['-', '+']).unwrap_or(e)))
}

/// Unsigned parse with base prefixes `0b`, `0o`, `0x` and a bare leading `0` for octal.
fn go_parse_uint_base0(s: &str) -> Option<u64> {
    if s.is_empty() {
        return None;
    }
    let lower = |i: usize| s.as_bytes().get(i).map(u8::to_ascii_lowercase);
    let (digits, radix) = match s.strip_prefix('0') {
        Some(rest) => match lower(1) {
            Some(b'b') if s.len() >= 3 => (&s[2..], 2),
            Some(b'o') if s.len() >= 3 => (&s[2..], 8),
            Some(b'x') if s.len() >= 3 => (&s[2..], 16),
            _ => (rest, 8),
        },
        None => (s, 10),
    };
    if digits.is_empty() {
        // "0" alone.
        return (s == "0").then_some(0);
    }
    go_parse_uint_radix(digits, radix)
}

fn go_parse_uint_radix(s: &str, radix: u32) -> Option<u64> {
    if s.is_empty() || !s.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(s, radix).ok()
}

fn go_parse_int_base0(s: &str) -> Option<i64> {
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    signed(negative, go_parse_uint_base0(rest)?)
}

fn go_parse_int_radix(s: &str, radix: u32) -> Option<i64> {
    let (negative, rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    signed(negative, go_parse_uint_radix(rest, radix)?)
}

fn signed(negative: bool, magnitude: u64) -> Option<i64> {
    if negative {
        0i64.checked_sub_unsigned(magnitude)
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Formats a float the way the decoder's encoder writes it: shortest representation, `%e`
/// style when the exponent is below -4 or at least 6 (`1e+06`, `1.5e-07`), `%f` otherwise.
pub(crate) fn go_format_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".to_owned();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.to_owned();
    }
    let sci = format!("{f:e}");
    let (negative, sci) = match sci.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, sci.as_str()),
    };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if negative { "-" } else { "" };
    if f == 0.0 {
        return format!("{sign}0");
    }
    if !(-4..6).contains(&exp) {
        let (head, tail) = digits.split_at(1);
        let dot = if tail.is_empty() { "" } else { "." };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{head}{dot}{tail}e{esign}{:02}", exp.unsigned_abs());
    }
    let nd = digits.len() as i64;
    let dp = exp + 1;
    if dp <= 0 {
        format!("{sign}0.{}{digits}", "0".repeat(dp.unsigned_abs() as usize))
    } else if dp >= nd {
        format!("{sign}{digits}{}", "0".repeat((dp - nd) as usize))
    } else {
        let (int, frac) = digits.split_at(dp as usize);
        format!("{sign}{int}.{frac}")
    }
}

/// Parses the first document of `text`. `Ok(None)` when the stream holds no document.
pub(crate) fn parse_document(text: &str) -> Result<Option<Node>, PolicyError> {
    let mut builder = Builder {
        parser: Parser::new_from_str(text),
        anchors: Vec::new(),
        nodes: 0,
    };
    loop {
        match builder.next()? {
            None | Some((Event::StreamEnd, _)) => return Ok(None),
            Some((Event::DocumentStart(..), _)) => break,
            Some(_) => {}
        }
    }
    let (event, span) = builder.next_content()?;
    if matches!(event, Event::DocumentEnd) {
        // An empty explicit document: a null.
        return Ok(Some(Node {
            line: span.start.line(),
            kind: Kind::Scalar(Scalar {
                text: String::new(),
                indicated_string: false,
                tag: None,
            }),
        }));
    }
    builder.node(event, span, 0).map(Some)
}

struct Builder<'a> {
    parser: Parser<'a, granit_parser::StrInput<'a>>,
    anchors: Vec<(usize, Node)>,
    nodes: usize,
}

impl<'a> Builder<'a> {
    fn next(&mut self) -> Result<Option<(Event<'a>, Span)>, PolicyError> {
        self.parser
            .next_event()
            .transpose()
            .map_err(|source: ScanError| PolicyError::Syntax { source })
    }

    /// The next event that is not a comment or anchor metadata.
    fn next_content(&mut self) -> Result<(Event<'a>, Span), PolicyError> {
        loop {
            match self.next()? {
                None => return Err(PolicyError::Eof),
                Some((Event::Anchor(..), _)) => {}
                Some(other) => return Ok(other),
            }
        }
    }

    fn count(&mut self) -> Result<(), PolicyError> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(PolicyError::TooLarge);
        }
        Ok(())
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor != 0 {
            self.anchors.push((anchor, node.clone()));
        }
    }

    fn node(&mut self, event: Event<'a>, span: Span, depth: usize) -> Result<Node, PolicyError> {
        if depth > MAX_DEPTH {
            return Err(PolicyError::TooLarge);
        }
        self.count()?;
        let line = span.start.line();
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let node = Node {
                    line,
                    kind: Kind::Scalar(Scalar {
                        text: text.into_owned(),
                        indicated_string: !matches!(style, ScalarStyle::Plain),
                        tag: tag.map(|t| tag_name(&t)),
                    }),
                };
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::SequenceStart(_, anchor, _) => {
                let mut items = Vec::new();
                loop {
                    let (event, span) = self.next_content()?;
                    if matches!(event, Event::SequenceEnd) {
                        break;
                    }
                    items.push(self.node(event, span, depth + 1)?);
                }
                let node = Node {
                    line,
                    kind: Kind::Seq(items),
                };
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::MappingStart(_, anchor, _) => {
                let mut pairs = Vec::new();
                loop {
                    let (event, span) = self.next_content()?;
                    if matches!(event, Event::MappingEnd) {
                        break;
                    }
                    let key = self.node(event, span, depth + 1)?;
                    let (event, span) = self.next_content()?;
                    let value = self.node(event, span, depth + 1)?;
                    pairs.push((key, value));
                }
                let node = Node {
                    line,
                    kind: Kind::Map(pairs),
                };
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::Alias(id) => {
                let target = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(a, _)| *a == id)
                    .map(|(_, n)| n.clone())
                    .ok_or(PolicyError::UnknownAnchor { line })?;
                self.nodes += count_nodes(&target);
                if self.nodes > MAX_NODES {
                    return Err(PolicyError::TooLarge);
                }
                Ok(target)
            }
            _ => Err(PolicyError::Eof),
        }
    }
}

fn count_nodes(node: &Node) -> usize {
    1 + match &node.kind {
        Kind::Scalar(_) => 0,
        Kind::Seq(items) => items.iter().map(count_nodes).sum(),
        Kind::Map(pairs) => pairs
            .iter()
            .map(|(k, v)| count_nodes(k) + count_nodes(v))
            .sum(),
    }
}

fn tag_name(tag: &Tag) -> String {
    tag.core_suffix().unwrap_or("").to_owned()
}

/// The pairs of a mapping with merge keys (`<<: *base`) expanded: explicit keys win over
/// merged ones, and earlier merged maps over later ones.
pub(crate) fn expand_merges(pairs: &[(Node, Node)]) -> Vec<(Node, Node)> {
    let is_merge = |k: &Node| matches!(&k.kind, Kind::Scalar(s) if !s.indicated_string && s.tag.is_none() && s.text == "<<");
    if !pairs.iter().any(|(k, _)| is_merge(k)) {
        return pairs.to_vec();
    }
    let mut out: Vec<(Node, Node)> = pairs
        .iter()
        .filter(|(k, _)| !is_merge(k))
        .cloned()
        .collect();
    let key_text = |k: &Node| match &k.kind {
        Kind::Scalar(s) => Some(s.text.clone()),
        _ => None,
    };
    for (_, value) in pairs.iter().filter(|(k, _)| is_merge(k)) {
        let sources: Vec<&Node> = match &value.kind {
            Kind::Seq(items) => items.iter().collect(),
            _ => vec![value],
        };
        for source in sources {
            if let Kind::Map(merged) = &source.kind {
                for (k, v) in expand_merges(merged) {
                    let text = key_text(&k);
                    if text.is_none() || !out.iter().any(|(o, _)| key_text(o) == text) {
                        out.push((k, v));
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(text: &str) -> Resolved {
        resolve_plain(text)
    }

    #[test]
    fn resolves_like_the_decoder() {
        assert_eq!(resolve("10"), Resolved::Int(10));
        assert_eq!(resolve("010"), Resolved::Int(8));
        assert_eq!(resolve("08"), Resolved::Float(8.0));
        assert_eq!(resolve("0x1F"), Resolved::Int(31));
        assert_eq!(resolve("1_000"), Resolved::Int(1000));
        assert_eq!(resolve("-0b101"), Resolved::Int(-5));
        assert_eq!(resolve("18446744073709551615"), Resolved::Uint(u64::MAX));
        assert_eq!(resolve("99999999999999999999"), Resolved::Float(1e20));
        assert_eq!(resolve("1e400"), Resolved::Str);
        assert_eq!(resolve("1.5"), Resolved::Float(1.5));
        assert_eq!(resolve(".5"), Resolved::Float(0.5));
        assert_eq!(resolve("10Gi"), Resolved::Str);
        assert_eq!(resolve("yes"), Resolved::Str);
        assert_eq!(resolve(""), Resolved::Null);
        assert_eq!(resolve("True"), Resolved::Bool(true));
    }

    #[test]
    fn formats_floats_like_the_encoder() {
        assert_eq!(go_format_float(1000.0), "1000");
        assert_eq!(go_format_float(1e6), "1e+06");
        assert_eq!(go_format_float(1e20), "1e+20");
        assert_eq!(go_format_float(1.5), "1.5");
        assert_eq!(go_format_float(1.1), "1.1");
        assert_eq!(go_format_float(0.0001), "0.0001");
        assert_eq!(go_format_float(0.00001), "1e-05");
        assert_eq!(go_format_float(-123456.5), "-123456.5");
        assert_eq!(go_format_float(1234567.0), "1.234567e+06");
        assert_eq!(go_format_float(0.0), "0");
    }
}
