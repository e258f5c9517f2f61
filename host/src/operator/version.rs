//! `velero-plugin-for-csi --version [--json]`: what this binary is, for an operator's bug
//! report: its version, the embedded component's digest, the wasmtime it runs components
//! with, its target and the engine key that cached module artifacts are named with.

use serde_json::{Value, json};

use crate::router::overrides::digest;
use crate::sandbox::{GuestEngine, GuestLimits, LoadError};

/// The binary's identity.
pub struct Version {
    pub version: &'static str,
    /// Digest of the embedded component's precompiled artifact (as `inspect` reports it).
    pub component: String,
    pub wasmtime: &'static str,
    pub target: &'static str,
    pub engine: String,
}

impl Version {
    /// This binary's identity.
    pub fn of_this_binary() -> Result<Self, LoadError> {
        let engine = GuestEngine::new(GuestLimits::DEFAULT)?;
        Ok(Self {
            version: env!("CARGO_PKG_VERSION"),
            component: digest(GuestEngine::embedded_artifact()),
            wasmtime: env!("WASMTIME_VERSION"),
            target: env!("BUILD_TARGET"),
            engine: engine.compatibility_key(),
        })
    }

    /// The identity as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "version": self.version,
            "component": self.component,
            "wasmtime": self.wasmtime,
            "target": self.target,
            "engine": self.engine,
        })
    }

    /// The identity for people.
    pub fn to_text(&self) -> String {
        format!(
            "velero-plugin-for-csi {}\n  component  {} (embedded)\n  wasmtime   {}\n  target     {}\n  engine     {}\n",
            self.version, self.component, self.wasmtime, self.target, self.engine
        )
    }
}
