//! `velero:csi/server`: what the Velero server passed the plugin process on its command line.

use super::CallContext;
use crate::bindings::velero::csi::server::{Host, ServerSettings};

impl ServerSettings {
    /// No features and no server-wide volume policy: a server started without flags (and
    /// what the operator commands and the tests run with unless they say otherwise).
    pub const fn none() -> Self {
        Self {
            features: Vec::new(),
            global_volume_policies: None,
        }
    }
}

impl Host for CallContext {
    async fn settings(&mut self) -> ServerSettings {
        self.services.server.clone()
    }
}
