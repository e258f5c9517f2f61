//! Validating one module: it must compile (or come from the cache), link against the host's
//! imports, instantiate, list its actions, and list only actions the embedded component
//! serves, each under the same kind. Only a module that passes is cached and put in service.

use std::sync::Arc;
use std::time::Instant;

use csi_common::actions::Action;

use super::cache::ArtifactCache;
use super::module::{ArtifactSource, Module};
use crate::bindings::ActionInfo;
use crate::imports::HostServices;
use crate::logging::{Level, chain};
use crate::router::listing::{ListingError, registered};
use crate::sandbox::{GuestEngine, GuestRuntime, LoadError};

/// Why a module was refused.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error(transparent)]
    Listing(#[from] ListingError),
    #[error("it lists {}, which the embedded component does not serve", .0.name())]
    NotServed(Action),
    #[error("compiling it did not finish")]
    Interrupted(#[source] tokio::task::JoinError),
}

/// Loads and validates modules for one engine.
pub struct Loader {
    engine: GuestEngine,
    services: HostServices,
    allowed: Vec<Action>,
    cache: Option<ArtifactCache>,
}

impl Loader {
    /// A loader whose modules may list only the actions in `allowed` (the embedded
    /// component's), with `cache` for precompiled artifacts.
    pub fn new(
        engine: GuestEngine,
        services: HostServices,
        allowed: Vec<Action>,
        cache: Option<ArtifactCache>,
    ) -> Self {
        Self {
            engine,
            services,
            allowed,
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
                    .map_err(ModuleError::Interrupted)??;
                (compiled, None)
            }
        };
        let runtime =
            GuestRuntime::new(&self.engine, component.clone(), self.services.clone()).await?;
        let actions = self.check(runtime.actions())?;
        let source = match from_cache {
            Some(path) => ArtifactSource::Cache(path),
            None => ArtifactSource::Compiled(self.cache.as_ref().and_then(|cache| {
                cache
                    .store(&self.engine, &digest, &component)
                    .inspect_err(|error| {
                        self.services
                            .logger
                            .emit(Level::Warn, "modules", &chain(error))
                    })
                    .ok()
            })),
        };
        Ok(Module {
            file: file.to_owned(),
            digest,
            actions,
            runtime: Arc::new(runtime),
            source,
            load_time: started.elapsed(),
        })
    }

    /// The actions a module lists, if it may serve them all.
    fn check(&self, listing: &[ActionInfo]) -> Result<Vec<Action>, ModuleError> {
        let actions = registered(listing)?;
        match actions.iter().find(|a| !self.allowed.contains(a)) {
            Some(&action) => Err(ModuleError::NotServed(action)),
            None => Ok(actions),
        }
    }
}
