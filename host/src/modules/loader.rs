//! Validating one module: it must compile (or come from the cache), link against the host's
//! imports, instantiate, list its actions, and list only actions the embedded component
//! serves, each under the same kind. Only a module that passes is cached and put in service.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::cache::ArtifactCache;
use crate::logging::Level;
use crate::velero::Kind;
use crate::wasm::bindings::{ActionInfo, ActionKind};
use crate::wasm::{GuestEngine, GuestRuntime, HostServices, LoadError};

/// Why a module was refused.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("it lists no actions")]
    NoActions,
    #[error("it lists {name} as a {kind}, which is not an action this host serves under that kind")]
    NotAllowed { name: String, kind: Kind },
    #[error("it lists {0} more than once")]
    Duplicate(String),
    #[error("compiling it did not finish: {0}")]
    Interrupted(String),
}

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
    pub runtime: Arc<GuestRuntime>,
    pub source: ArtifactSource,
    /// Time from bytes to a validated module.
    pub load_time: Duration,
}

/// Loads and validates modules for one engine.
pub struct Loader {
    engine: GuestEngine,
    services: HostServices,
    allowed: Vec<(String, ActionKind)>,
    cache: Option<ArtifactCache>,
}

impl Loader {
    /// A loader whose modules may list only the actions in `allowed` (the embedded
    /// component's listing), with `cache` for precompiled artifacts.
    pub fn new(
        engine: GuestEngine,
        services: HostServices,
        allowed: &[ActionInfo],
        cache: Option<ArtifactCache>,
    ) -> Self {
        Self {
            engine,
            services,
            allowed: allowed.iter().map(|a| (a.name.clone(), a.kind)).collect(),
            cache,
        }
    }

    /// Validates the module `file` whose bytes are `wasm` and digest `digest`.
    pub async fn load(
        &self,
        file: &str,
        digest: String,
        wasm: Vec<u8>,
    ) -> Result<Module, ModuleError> {
        let started = Instant::now();
        let cached = self.cache.as_ref().and_then(|cache| {
            cache
                .load(&self.engine, &digest)
                .map(|component| (component, cache.path(&self.engine, &digest)))
        });
        let (component, from_cache) = match cached {
            Some((component, path)) => (component, Some(path)),
            None => {
                let engine = self.engine.clone();
                let compiled = tokio::task::spawn_blocking(move || engine.compile(&wasm))
                    .await
                    .map_err(|e| ModuleError::Interrupted(e.to_string()))??;
                (compiled, None)
            }
        };
        let runtime =
            GuestRuntime::new(&self.engine, component.clone(), self.services.clone()).await?;
        self.check(runtime.actions())?;
        let source = match from_cache {
            Some(path) => ArtifactSource::Cache(path),
            None => ArtifactSource::Compiled(self.cache.as_ref().and_then(|cache| {
                cache
                    .store(&self.engine, &digest, &component)
                    .inspect_err(|error| {
                        self.services
                            .logger
                            .emit(Level::Warn, "modules", &error.to_string())
                    })
                    .ok()
            })),
        };
        Ok(Module {
            file: file.to_owned(),
            digest,
            runtime: Arc::new(runtime),
            source,
            load_time: started.elapsed(),
        })
    }

    fn check(&self, actions: &[ActionInfo]) -> Result<(), ModuleError> {
        if actions.is_empty() {
            return Err(ModuleError::NoActions);
        }
        for (index, action) in actions.iter().enumerate() {
            if !self
                .allowed
                .iter()
                .any(|(name, kind)| *name == action.name && *kind == action.kind)
            {
                return Err(ModuleError::NotAllowed {
                    name: action.name.clone(),
                    kind: action.kind.into(),
                });
            }
            if actions[..index].iter().any(|a| a.name == action.name) {
                return Err(ModuleError::Duplicate(action.name.clone()));
            }
        }
        Ok(())
    }
}
