//! `velero-plugin-for-csi precompile MODULE [--module-cache DIR] [--json]`: validates an
//! operator module exactly as the plugin does before putting it in service, and stores its
//! precompiled artifact in the module cache, so that no plugin process has to compile it
//! (an init container or an image build can run this once).

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::inspect::{kind, offline_services};
use crate::router::LoadFailure;
use crate::router::listing::registered;
use crate::router::overrides::{
    ArtifactCache, ArtifactSource, CacheError, Loader, ModuleError, digest,
};
use crate::sandbox::{GuestEngine, GuestLimits, GuestRuntime};

/// Why a module could not be precompiled.
#[derive(Debug, thiserror::Error)]
pub enum PrecompileError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Embedded(#[from] LoadFailure),
    #[error(transparent)]
    Cache(#[from] CacheError),
    #[error("{module} is refused")]
    Refused {
        module: String,
        #[source]
        error: ModuleError,
    },
    #[error("{0} passed validation but its artifact could not be stored (see the warning above)")]
    NotStored(String),
}

/// What `precompile` did.
pub struct Precompiled {
    pub module: String,
    pub digest: String,
    /// The artifact in the cache.
    pub artifact: PathBuf,
    /// Whether the artifact was already in the cache.
    pub cached_before: bool,
    pub actions: Vec<String>,
    pub took: std::time::Duration,
}

/// Validates `module` and stores its artifact in `cache` (else the plugin's default cache).
pub async fn precompile(
    module: &Path,
    cache: Option<PathBuf>,
) -> Result<Precompiled, PrecompileError> {
    let name = module.display().to_string();
    let bytes = std::fs::read(module).map_err(|source| PrecompileError::Read {
        path: name.clone(),
        source,
    })?;
    let engine = GuestEngine::new(GuestLimits::DEFAULT).map_err(LoadFailure::from)?;
    let services = offline_services();
    let component = engine.embedded().map_err(LoadFailure::from)?;
    let embedded = GuestRuntime::new(&engine, component, services.clone())
        .await
        .map_err(LoadFailure::from)?;
    let allowed = registered(embedded.actions()).map_err(LoadFailure::from)?;
    let cache = ArtifactCache::open(cache.unwrap_or_else(ArtifactCache::default_dir))?;
    let loader = Loader::new(engine, services, allowed, Some(cache));
    let loaded = loader
        .load(&name, digest(&bytes), bytes)
        .await
        .map_err(|error| PrecompileError::Refused {
            module: name.clone(),
            error,
        })?;
    let (artifact, cached_before) = match loaded.source {
        ArtifactSource::Cache(path) => (path, true),
        ArtifactSource::Compiled(Some(path)) => (path, false),
        ArtifactSource::Compiled(None) => return Err(PrecompileError::NotStored(name)),
    };
    Ok(Precompiled {
        module: name,
        digest: loaded.digest,
        artifact,
        cached_before,
        actions: loaded
            .runtime
            .actions()
            .iter()
            .map(|a| format!("{} ({})", a.name, kind(a.kind)))
            .collect(),
        took: loaded.load_time,
    })
}

impl Precompiled {
    /// The report as JSON.
    pub fn to_json(&self) -> Value {
        json!({
            "module": self.module,
            "digest": self.digest,
            "artifact": self.artifact,
            "cachedBefore": self.cached_before,
            "actions": self.actions,
            "milliseconds": self.took.as_secs_f64() * 1e3,
        })
    }

    /// The report for people.
    pub fn to_text(&self) -> String {
        let how = if self.cached_before {
            "already cached"
        } else {
            "compiled and cached"
        };
        format!(
            "module:   {}\ndigest:   {}\nartifact: {} ({how} in {:.1?})\nactions:  {}\n",
            self.module,
            self.digest,
            self.artifact.display(),
            self.took,
            self.actions.join("\n          ")
        )
    }
}
