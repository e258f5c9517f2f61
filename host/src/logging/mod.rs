//! hclog-compatible JSON logging on standard error.
//!
//! go-plugin reads the plugin's stderr line by line and forwards each JSON object to
//! Velero's logger. The rules that keep Velero safe and its results right: one compact JSON
//! object per line, shorter than 64 KiB; `@level` one of trace/debug/info/warn/error;
//! `@message` and every field a string; no `@timestamp`; each line written whole and
//! unbuffered before the RPC it belongs to answers. A write to a closed stderr is ignored.
//! Libraries' own diagnostics reach the same sink through [`bridge`].

pub mod bridge;

use std::collections::BTreeMap;
use std::error::Error;
use std::fmt::Write as _;
use std::io::Write;

/// A log level, in increasing severity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl Level {
    /// Parses a logrus level name as Velero passes it in `--log-level`. `fatal` and
    /// `panic` keep only errors.
    pub fn from_logrus(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "trace" => Some(Level::Trace),
            "debug" => Some(Level::Debug),
            "info" => Some(Level::Info),
            "warning" | "warn" => Some(Level::Warn),
            "error" | "fatal" | "panic" => Some(Level::Error),
            _ => None,
        }
    }

    /// The `@level` value go-plugin understands.
    pub fn as_hclog(self) -> &'static str {
        match self {
            Level::Trace => "trace",
            Level::Debug => "debug",
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

/// One log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub level: Level,
    pub message: String,
    /// Where the record comes from: an action name or a host module. Sent as `logSource`.
    pub source: String,
    /// Extra key/value fields.
    pub fields: Vec<(String, String)>,
}

/// Somewhere log records go.
pub trait LogSink: Send + Sync {
    /// Writes one record (or drops it, below the sink's level).
    fn log(&self, record: Record);
}

impl dyn LogSink {
    /// Logs a message without fields.
    pub fn emit(&self, level: Level, source: &str, message: &str) {
        self.log(Record {
            level,
            message: message.to_owned(),
            source: source.to_owned(),
            fields: Vec::new(),
        });
    }
}

/// The process logger: JSON lines on standard error, at or above a minimum level.
pub struct StderrLogger {
    min_level: Level,
}

impl StderrLogger {
    /// A logger that drops records below `min_level`.
    pub fn new(min_level: Level) -> Self {
        Self { min_level }
    }
}

impl LogSink for StderrLogger {
    fn log(&self, record: Record) {
        if record.level < self.min_level {
            return;
        }
        let line = format_line(&record);
        // A closed or broken stderr must not stop the plugin: the write error is dropped.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

/// An error and its causes, outermost first, joined by `: `: how errors read in the log,
/// on the operator's terminal and in the gRPC statuses Velero shows.
pub fn chain(error: &(dyn Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let _ = write!(text, ": {cause}");
        source = cause.source();
    }
    text
}

/// go-plugin splits lines longer than 64 KiB and logs the pieces as raw text.
const MAX_LINE: usize = 64 * 1024 - 1;

/// Renders a record as one hclog JSON line (keys sorted, newline-terminated, under 64 KiB).
pub fn format_line(record: &Record) -> String {
    let mut message_budget = record.message.len();
    let mut keep_fields = true;
    loop {
        let line = render(record, message_budget, keep_fields);
        if line.len() <= MAX_LINE {
            return line;
        }
        keep_fields = false;
        message_budget /= 2;
    }
}

fn render(record: &Record, message_budget: usize, keep_fields: bool) -> String {
    let mut object = BTreeMap::new();
    if keep_fields {
        for (key, value) in &record.fields {
            // Keys go-plugin or Velero interpret are reserved for the ones set below.
            if !key.starts_with('@') && key != "logSource" && key != "level" {
                object.insert(key.as_str(), value.clone());
            }
        }
    }
    let message = if message_budget < record.message.len() {
        format!("{} …[truncated]", truncate(&record.message, message_budget))
    } else {
        record.message.clone()
    };
    object.insert("@level", record.level.as_hclog().to_owned());
    object.insert("@message", message);
    object.insert("@logSourceSetBy", "plugin".to_owned());
    object.insert("logSource", record.source.clone());
    let mut line = serde_json::to_string(&object).unwrap_or_default();
    line.push('\n');
    line
}

fn truncate(text: &str, max: usize) -> &str {
    let mut end = max.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn record(message: &str, fields: &[(&str, &str)]) -> Record {
        Record {
            level: Level::Warn,
            message: message.to_owned(),
            source: "velero.io/csi-volumesnapshotclass-backupper".to_owned(),
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn lines_are_hclog_json() {
        let line = format_line(&record(
            "hello \"world\"\n",
            &[("namespace", "app"), ("@level", "x")],
        ));
        assert!(line.ends_with('\n') && line.matches('\n').count() == 1);
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["@level"], "warn");
        assert_eq!(value["@message"], "hello \"world\"\n");
        assert_eq!(value["@logSourceSetBy"], "plugin");
        assert_eq!(value["namespace"], "app");
        assert!(value.get("@timestamp").is_none());
        assert!(value.as_object().unwrap().values().all(Value::is_string));
    }

    #[test]
    fn long_lines_are_cut_below_64_kib() {
        let huge = "\u{1}".repeat(200_000);
        let line = format_line(&record(&huge, &[("f", &huge)]));
        assert!(line.len() <= MAX_LINE);
        let value: Value = serde_json::from_str(&line).unwrap();
        assert!(
            value["@message"]
                .as_str()
                .unwrap()
                .ends_with("…[truncated]")
        );
    }

    #[test]
    fn error_chains_read_outermost_first() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer")]
        struct Outer(#[source] std::io::Error);
        let error = Outer(std::io::Error::other("inner"));
        assert_eq!(chain(&error), "outer: inner");
    }

    #[test]
    fn logrus_levels_parse() {
        assert_eq!(Level::from_logrus("warning"), Some(Level::Warn));
        assert_eq!(Level::from_logrus("DEBUG"), Some(Level::Debug));
        assert_eq!(Level::from_logrus("panic"), Some(Level::Error));
        assert_eq!(Level::from_logrus("loud"), None);
    }
}
