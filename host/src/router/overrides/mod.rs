//! Operator modules: components that override the embedded one, action by action, and can
//! be swapped while the process runs; each state of the modules directory feeds the
//! router's [`RouteTable`].
//!
//! The modules directory (`--modules-dir`, or `VELERO_CSI_MODULES_DIR` in Velero's pod)
//! holds `*.wasm` components built against `wit/csi.wit`. Before each call the directory's
//! listing (names, sizes, modification times: a few `stat`s) is compared with the one in
//! service. When it changed, each new or changed file is validated ([`loader`]): it compiles
//! (or its precompiled artifact comes from the [`cache`]), links against the host's imports,
//! instantiates, lists its actions, and every action it lists is one the embedded component
//! implements, with the same kind, so its capability manifest is known. Then the router's
//! table is swapped (module `swap`). Only the actions of the active name set are routed
//! (modern names included, when that set is active): a module's other actions are
//! validated but serve no call. A call keeps the table it started with, so in-flight calls finish on
//! the module they began on. A file that fails validation is refused with an error in the
//! log, and whatever served its actions before (its previous version, or the embedded
//! component) goes on serving them.

pub mod cache;
pub mod loader;
pub mod module;
mod scan;
mod swap;

use std::path::PathBuf;
use std::sync::{Arc, PoisonError, RwLock};

use csi_common::actions::Action;
use sha2::{Digest, Sha256};

pub use cache::{ArtifactCache, CacheError};
pub use loader::{Loader, ModuleError};
pub use module::{ArtifactSource, Module};

use self::scan::Listing;
use self::swap::Swap;
use super::table::RouteTable;
use crate::imports::HostServices;
use crate::logging::{Level, LogSink};
use crate::sandbox::{GuestEngine, GuestRuntime};

/// The environment variable naming the modules directory.
pub const MODULES_DIR_ENV: &str = "VELERO_CSI_MODULES_DIR";
/// The environment variable naming the cache of precompiled modules.
pub const MODULE_CACHE_ENV: &str = "VELERO_CSI_MODULE_CACHE";

/// Where operator modules come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OverridesConfig {
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

/// The route table in service and the listing of the modules directory it was made from.
struct InService {
    listing: Listing,
    table: Arc<RouteTable>,
}

/// The operator modules in service, over the embedded component.
pub struct OperatorModules {
    dir: Option<PathBuf>,
    loader: Loader,
    logger: Arc<dyn LogSink>,
    registered: Vec<Action>,
    embedded: Arc<GuestRuntime>,
    in_service: RwLock<Arc<InService>>,
    swap: tokio::sync::Mutex<Swap>,
}

impl OperatorModules {
    /// Modules over `embedded`, loaded into `engine` from `config`; the directory is read on
    /// the first [`OperatorModules::current`]. A module may list any action `implemented`
    /// (the embedded component's listing) holds; the table routes the `registered` ones (the
    /// active name set's), each to its module if one lists it, else to `embedded`.
    pub fn new(
        engine: &GuestEngine,
        services: HostServices,
        embedded: Arc<GuestRuntime>,
        implemented: Vec<Action>,
        registered: Vec<Action>,
        config: OverridesConfig,
    ) -> Self {
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
                        &format!(
                            "modules will be compiled on every start: {}",
                            crate::logging::chain(error)
                        ),
                    )
                })
                .ok()
        });
        let loader = Loader::new(engine.clone(), services, implemented, cache);
        let table = RouteTable::new(&registered, &embedded, &Default::default());
        Self {
            dir: config.dir,
            loader,
            logger,
            registered,
            embedded,
            in_service: RwLock::new(Arc::new(InService {
                listing: Listing::default(),
                table: Arc::new(table),
            })),
            swap: tokio::sync::Mutex::new(Swap::default()),
        }
    }

    /// The route table to serve a call with: the one in service, after taking in whatever
    /// changed in the modules directory since it was made.
    pub async fn current(&self) -> Arc<RouteTable> {
        let in_service = self.in_service();
        let Some(dir) = &self.dir else {
            return in_service.table.clone();
        };
        if scan::list(dir) == in_service.listing {
            return in_service.table.clone();
        }
        // One call takes the change in; calls arriving meanwhile are served by the table in
        // service rather than wait for a module to compile.
        let Ok(mut swap) = self.swap.try_lock() else {
            return in_service.table.clone();
        };
        // Another call may have taken the change in since this one looked.
        let in_service = self.in_service();
        let listing = scan::list(dir);
        if listing == in_service.listing {
            return in_service.table.clone();
        }
        let overrides = swap
            .take_in(&listing, &self.loader, self.logger.as_ref())
            .await;
        let table = Arc::new(RouteTable::new(
            &self.registered,
            &self.embedded,
            &overrides,
        ));
        *self
            .in_service
            .write()
            .unwrap_or_else(PoisonError::into_inner) = Arc::new(InService {
            listing,
            table: table.clone(),
        });
        table
    }

    fn in_service(&self) -> Arc<InService> {
        self.in_service
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
