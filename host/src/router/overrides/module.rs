//! One operator module in service: its file, digest, actions and runtime.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use csi_common::actions::Action;

use crate::sandbox::GuestRuntime;

/// Where a module's machine code came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArtifactSource {
    /// Loaded from the cache.
    Cache(PathBuf),
    /// Compiled now; stored in the cache at the path, if there is a cache.
    Compiled(Option<PathBuf>),
}

/// A validated module, ready to serve its actions.
pub struct Module {
    /// The module's file name in the modules directory (or its path, for `precompile`).
    pub file: String,
    /// `sha256:<hex>` of its bytes.
    pub digest: String,
    /// The actions it serves (validated: registered, under their kinds, once each).
    pub actions: Vec<Action>,
    pub runtime: Arc<GuestRuntime>,
    pub source: ArtifactSource,
    /// Time from bytes to a validated module.
    pub load_time: Duration,
}
