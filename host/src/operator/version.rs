//! `velero-plugin-for-csi --version [--json]`: what this binary is, for an operator's bug
//! report: its version, the embedded component's digest, the wasmtime it runs components
//! with, its target and the engine key that cached module artifacts are named with; and the
//! name set in force with the names the plugin registers with Velero.

use csi_common::actions::Action;
use serde_json::{Value, json};

use super::inspect::offline_services;
use crate::router::ActiveNames;
use crate::router::overrides::digest;
use crate::sandbox::{GuestEngine, GuestLimits, GuestRuntime, LoadError};

/// The binary's identity.
pub struct Version {
    pub version: &'static str,
    /// Digest of the embedded component's precompiled artifact (as `inspect` reports it).
    pub component: String,
    pub wasmtime: &'static str,
    pub target: &'static str,
    pub engine: String,
    /// The name set in force and how it was chosen.
    pub names: ActiveNames,
    /// The actions the plugin registers with Velero under that set: the set's that the
    /// embedded component implements.
    pub registered: Vec<Action>,
}

impl Version {
    /// This binary's identity, with the names it registers under `names`. The embedded
    /// component is instantiated to read its listing; no Kubernetes call is made.
    pub async fn of_this_binary(names: ActiveNames) -> Result<Self, LoadError> {
        let engine = GuestEngine::new(GuestLimits::DEFAULT)?;
        let embedded = GuestRuntime::embedded(offline_services()).await?;
        Ok(Self {
            registered: names.registered(embedded.actions()),
            names,
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
            "nameSet": self.names.to_json(&self.registered),
        })
    }

    /// The identity for people.
    pub fn to_text(&self) -> String {
        format!(
            "velero-plugin-for-csi {}\n  component  {} (embedded)\n  wasmtime   {}\n  target     {}\n  engine     {}\n  name set   {} ({})\n  registers  {}\n",
            self.version,
            self.component,
            self.wasmtime,
            self.target,
            self.engine,
            self.names.set().as_str(),
            self.names.how(),
            self.names.describe_registered(&self.registered)
        )
    }
}
