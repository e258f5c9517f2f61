//! `velero:csi/log`: guest log records, forwarded to Velero through the host's logger with
//! the calling action as their source.

use super::CallContext;
use crate::bindings::velero::csi::log::{Field, Host, Level as GuestLevel};
use crate::logging::{Level, Record};

impl Host for CallContext {
    async fn log(&mut self, level: GuestLevel, message: String, fields: Vec<Field>) {
        let level = match level {
            GuestLevel::Trace => Level::Trace,
            GuestLevel::Debug => Level::Debug,
            GuestLevel::Info => Level::Info,
            GuestLevel::Warn => Level::Warn,
            GuestLevel::Error => Level::Error,
        };
        self.services.logger.log(Record {
            level,
            message,
            source: self.caller.action.to_owned(),
            fields: fields.into_iter().map(|f| (f.key, f.value)).collect(),
        });
    }
}
