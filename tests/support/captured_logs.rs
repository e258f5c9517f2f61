//! A log sink that keeps every record, for tests that assert on what the host logged.

use std::sync::Mutex;

use velero_plugin_for_csi::logging::{Level, LogSink, Record};

/// Every record logged, in order.
#[derive(Default)]
pub struct CapturedLogs(Mutex<Vec<Record>>);

impl LogSink for CapturedLogs {
    fn log(&self, record: Record) {
        if let Ok(mut records) = self.0.lock() {
            records.push(record);
        }
    }
}

impl CapturedLogs {
    /// The records so far.
    #[allow(dead_code)] // Not every test binary that includes this file reads whole records.
    pub fn records(&self) -> Vec<Record> {
        self.0.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// The messages logged at `level` so far.
    #[allow(dead_code)] // Not every test binary that includes this file filters by level.
    pub fn messages_at(&self, level: Level) -> Vec<String> {
        let records = self.0.lock().map(|r| r.clone()).unwrap_or_default();
        records
            .into_iter()
            .filter(|r| r.level == level)
            .map(|r| r.message)
            .collect()
    }
}
