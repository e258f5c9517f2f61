//! Library diagnostics into the plugin's log. kube-rs, tonic, hyper and h2 log through
//! `tracing`; wasmtime, cranelift and rustls through `log`. [`LibraryLog`] receives both
//! (as the process's `tracing` subscriber and its `log` logger) and turns each record into
//! an hclog line on the plugin's sink: `@level` from the record's level, `@message` from its
//! message, `logSource` its target (`kube_client::client::builder`, `h2::codec::…`), its
//! other fields as strings. Spans are not recorded.
//!
//! Levels, as Velero shows them: a library's warnings and errors are always logged;
//! `info` at the plugin's level `info` or below; `debug` only when the plugin runs with
//! `--log-level debug` (or `trace`), `trace` only with `--log-level trace`. Records below the
//! level are refused where they are made (the callsite is switched off), so they cost nothing.

use std::fmt;
use std::sync::Arc;

use tracing_core::field::{Field, Visit};
use tracing_core::span::{Attributes, Id, Record as SpanRecord};
use tracing_core::subscriber::{Interest, Subscriber};
use tracing_core::{Event, LevelFilter, Metadata};

use super::{Level, LogSink, Record};

/// The level below which library records are dropped when the plugin logs at `plugin`:
/// the plugin's own, but never above warnings.
pub fn library_level(plugin: Level) -> Level {
    plugin.min(Level::Warn)
}

/// Library records, forwarded to a sink at or above a level.
#[derive(Clone)]
pub struct LibraryLog {
    sink: Arc<dyn LogSink>,
    min_level: Level,
}

/// Why the bridge could not be installed (another subscriber or logger was first).
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    #[error("a tracing subscriber is already installed")]
    Tracing(#[source] tracing_core::dispatcher::SetGlobalDefaultError),
    #[error("a log logger is already installed")]
    Log,
}

impl LibraryLog {
    /// Library records at or above `min_level`, to `sink`.
    pub fn new(sink: Arc<dyn LogSink>, min_level: Level) -> Self {
        Self { sink, min_level }
    }

    /// Makes this the process's `tracing` subscriber and `log` logger (both live as long
    /// as the process).
    pub fn install(self) -> Result<(), InstallError> {
        log::set_logger(Box::leak(Box::new(self.clone()))).map_err(|_| InstallError::Log)?;
        log::set_max_level(log_filter(self.min_level));
        tracing_core::dispatcher::set_global_default(tracing_core::Dispatch::new(self))
            .map_err(InstallError::Tracing)
    }

    fn wants(&self, level: Level) -> bool {
        level >= self.min_level
    }
}

fn from_tracing(level: tracing_core::Level) -> Level {
    match level {
        tracing_core::Level::TRACE => Level::Trace,
        tracing_core::Level::DEBUG => Level::Debug,
        tracing_core::Level::INFO => Level::Info,
        tracing_core::Level::WARN => Level::Warn,
        _ => Level::Error,
    }
}

fn from_log(level: log::Level) -> Level {
    match level {
        log::Level::Trace => Level::Trace,
        log::Level::Debug => Level::Debug,
        log::Level::Info => Level::Info,
        log::Level::Warn => Level::Warn,
        log::Level::Error => Level::Error,
    }
}

fn tracing_filter(level: Level) -> LevelFilter {
    match level {
        Level::Trace => LevelFilter::TRACE,
        Level::Debug => LevelFilter::DEBUG,
        Level::Info => LevelFilter::INFO,
        Level::Warn => LevelFilter::WARN,
        Level::Error => LevelFilter::ERROR,
    }
}

fn log_filter(level: Level) -> log::LevelFilter {
    match level {
        Level::Trace => log::LevelFilter::Trace,
        Level::Debug => log::LevelFilter::Debug,
        Level::Info => log::LevelFilter::Info,
        Level::Warn => log::LevelFilter::Warn,
        Level::Error => log::LevelFilter::Error,
    }
}

/// An event's message and fields, as strings.
#[derive(Default)]
struct Fields {
    message: String,
    fields: Vec<(String, String)>,
}

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, value.to_owned());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, format!("{value:?}"));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, super::chain(value));
    }
}

impl Fields {
    fn put(&mut self, field: &Field, value: String) {
        match field.name() {
            "message" => self.message = value,
            // What `log` records carry when they come through `tracing`'s own bridge.
            name if name.starts_with("log.") => {}
            name => self.fields.push((name.to_owned(), value)),
        }
    }
}

impl Subscriber for LibraryLog {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.enabled(metadata) {
            Interest::always()
        } else {
            Interest::never()
        }
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.is_event() && self.wants(from_tracing(*metadata.level()))
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(tracing_filter(self.min_level))
    }

    fn new_span(&self, _: &Attributes<'_>) -> Id {
        // Spans are never enabled; an id is still owed to any caller that asks.
        Id::from_u64(1)
    }

    fn record(&self, _: &Id, _: &SpanRecord<'_>) {}

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let metadata = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.sink.log(Record {
            level: from_tracing(*metadata.level()),
            message: fields.message,
            source: metadata.target().to_owned(),
            fields: fields.fields,
        });
    }

    fn enter(&self, _: &Id) {}

    fn exit(&self, _: &Id) {}
}

impl log::Log for LibraryLog {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        self.wants(from_log(metadata.level()))
    }

    fn log(&self, record: &log::Record<'_>) {
        if !log::Log::enabled(self, record.metadata()) {
            return;
        }
        self.sink.log(Record {
            level: from_log(record.level()),
            message: record.args().to_string(),
            source: record.target().to_owned(),
            fields: Vec::new(),
        });
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    #[derive(Default)]
    struct Captured(Mutex<Vec<Record>>);

    impl LogSink for Captured {
        fn log(&self, record: Record) {
            self.0.lock().unwrap().push(record);
        }
    }

    fn capture(plugin: Level, emit: impl FnOnce()) -> Vec<Record> {
        let sink = Arc::new(Captured::default());
        let bridge = LibraryLog::new(sink.clone(), library_level(plugin));
        tracing::subscriber::with_default(bridge, emit);
        std::mem::take(&mut *sink.0.lock().unwrap())
    }

    #[test]
    fn events_become_records_with_their_target_message_and_fields() {
        let records = capture(Level::Info, || {
            tracing::warn!(target: "kube_client::client", url = "https://x", retries = 3, "overriding cluster URL");
        });
        assert_eq!(
            records,
            [Record {
                level: Level::Warn,
                message: "overriding cluster URL".into(),
                source: "kube_client::client".into(),
                fields: vec![
                    ("url".into(), "https://x".into()),
                    ("retries".into(), "3".into())
                ],
            }]
        );
    }

    #[test]
    fn levels_follow_the_plugin_but_warnings_always_pass() {
        let emit = || {
            tracing::trace!("t");
            tracing::debug!("d");
            tracing::info!("i");
            tracing::warn!("w");
            tracing::error!("e");
        };
        let levels = |plugin| -> Vec<String> {
            capture(plugin, emit)
                .into_iter()
                .map(|r| r.message)
                .collect()
        };
        assert_eq!(levels(Level::Info), ["i", "w", "e"]);
        assert_eq!(levels(Level::Debug), ["d", "i", "w", "e"]);
        assert_eq!(levels(Level::Trace), ["t", "d", "i", "w", "e"]);
        assert_eq!(levels(Level::Error), ["w", "e"], "warnings always pass");
    }

    #[test]
    fn log_records_are_bridged_too() {
        let sink = Arc::new(Captured::default());
        let bridge = LibraryLog::new(sink.clone(), Level::Info);
        let record = log::Record::builder()
            .level(log::Level::Warn)
            .target("wasmtime::runtime")
            .args(format_args!("slow"))
            .build();
        log::Log::log(&bridge, &record);
        let debug = log::Record::builder()
            .level(log::Level::Debug)
            .args(format_args!("noise"))
            .build();
        log::Log::log(&bridge, &debug);
        let records = sink.0.lock().unwrap();
        assert_eq!(records.len(), 1);
        assert_eq!(
            (records[0].level, records[0].source.as_str()),
            (Level::Warn, "wasmtime::runtime")
        );
    }
}
