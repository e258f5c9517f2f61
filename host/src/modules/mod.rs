//! Operator-supplied action modules: components that override the embedded one, action by
//! action, and can be swapped while the process runs.
//!
//! The modules directory (`--modules-dir`, or `VELERO_CSI_MODULES_DIR` in Velero's pod)
//! holds `*.wasm` components built against `wit/csi.wit`. Before each call the directory's
//! listing (names, sizes, modification times: a few `stat`s) is compared with the one in
//! service. When it changed, each new or changed file is validated ([`loader`]): it compiles
//! (or its precompiled artifact comes from the [`cache`]), links against the host's imports,
//! instantiates, lists its actions, and every action it lists is one the embedded component
//! serves, with the same kind, so its capability manifest is known. Then the routing table is
//! swapped ([`swap`]). A call keeps the table it started with, so in-flight calls finish on
//! the module they began on. A file that fails validation is refused with an error in the
//! log, and whatever served its actions before (its previous version, or the embedded
//! component) goes on serving them.

pub mod cache;
pub mod loader;
mod scan;
mod swap;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};

use sha2::{Digest, Sha256};

pub use cache::{ArtifactCache, CacheError};
pub use loader::{ArtifactSource, Loader, Module, ModuleError};

use self::scan::Listing;
use self::swap::Swap;
use crate::logging::Level;
use crate::wasm::{GuestEngine, GuestRuntime, HostServices, LoadError};

/// The environment variable naming the modules directory.
pub const MODULES_DIR_ENV: &str = "VELERO_CSI_MODULES_DIR";
/// The environment variable naming the cache of precompiled modules.
pub const MODULE_CACHE_ENV: &str = "VELERO_CSI_MODULE_CACHE";

/// Where operator modules come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModulesConfig {
    /// The modules directory; none means the embedded component serves every action.
    pub dir: Option<PathBuf>,
    /// The cache of precompiled modules; none means [`ArtifactCache::default_dir`].
    pub cache: Option<PathBuf>,
}

/// `sha256:<hex>` of a module's bytes.
pub fn digest(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// Which component serves each action, as of one listing of the modules directory.
pub struct Routes {
    listing: Listing,
    embedded: Arc<GuestRuntime>,
    overrides: BTreeMap<String, Arc<Module>>,
}

impl Routes {
    /// The component serving `action`: an operator module's, else the embedded one.
    pub fn runtime_for(&self, action: &str) -> Arc<GuestRuntime> {
        match self.overrides.get(action) {
            Some(module) => module.runtime.clone(),
            None => self.embedded.clone(),
        }
    }

    /// The operator module serving `action`, if one does.
    pub fn module_for(&self, action: &str) -> Option<&Module> {
        self.overrides.get(action).map(|m| m.as_ref())
    }
}

/// The embedded component and the operator modules in service.
pub struct Modules {
    dir: Option<PathBuf>,
    loader: Loader,
    logger: Arc<dyn crate::logging::LogSink>,
    routes: RwLock<Arc<Routes>>,
    swap: tokio::sync::Mutex<Swap>,
}

impl Modules {
    /// Loads the embedded component into `engine`; operator modules are read on the first
    /// [`Modules::current`].
    pub async fn load(
        engine: &GuestEngine,
        services: HostServices,
        config: ModulesConfig,
    ) -> Result<Self, LoadError> {
        let component = engine.embedded()?;
        let embedded = Arc::new(GuestRuntime::new(engine, component, services.clone()).await?);
        let logger = services.logger.clone();
        let cache = config.dir.as_ref().and_then(|_| {
            let dir = config
                .cache
                .clone()
                .unwrap_or_else(ArtifactCache::default_dir);
            ArtifactCache::open(dir)
                .inspect_err(|error| {
                    logger.emit(
                        Level::Warn,
                        "modules",
                        &format!("modules will be compiled on every start: {error}"),
                    )
                })
                .ok()
        });
        let loader = Loader::new(engine.clone(), services, embedded.actions(), cache);
        let routes = Routes {
            listing: Listing::default(),
            embedded,
            overrides: BTreeMap::new(),
        };
        Ok(Self {
            dir: config.dir,
            loader,
            logger,
            routes: RwLock::new(Arc::new(routes)),
            swap: tokio::sync::Mutex::new(Swap::default()),
        })
    }

    /// The embedded component.
    pub fn embedded(&self) -> Arc<GuestRuntime> {
        self.in_service().embedded.clone()
    }

    /// The routes to serve a call with: the ones in service, after taking in whatever
    /// changed in the modules directory since they were made.
    pub async fn current(&self) -> Arc<Routes> {
        let routes = self.in_service();
        let Some(dir) = &self.dir else {
            return routes;
        };
        if scan::list(dir) == routes.listing {
            return routes;
        }
        // One call takes the change in; calls arriving meanwhile are served by the routes in
        // service rather than wait for a module to compile.
        let Ok(mut swap) = self.swap.try_lock() else {
            return routes;
        };
        // Another call may have taken the change in since this one looked.
        let routes = self.in_service();
        let listing = scan::list(dir);
        if listing == routes.listing {
            return routes;
        }
        let overrides = swap
            .take_in(&listing, &self.loader, self.logger.as_ref())
            .await;
        let routes = Arc::new(Routes {
            listing,
            embedded: routes.embedded.clone(),
            overrides,
        });
        *self.routes.write().unwrap_or_else(PoisonError::into_inner) = routes.clone();
        routes
    }

    fn in_service(&self) -> Arc<Routes> {
        self.routes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
