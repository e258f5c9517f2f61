//! The router: turns the (plugin name, kind) of a Velero call into a runnable [`Route`] (the
//! embedded component or the operator module serving the action, with the action's
//! capability grants) and owns the words Velero sees for a name it does not serve.
//!
//! One table maps each registered action ([`csi_common::actions::Action`]) to what serves it
//! and to its allow-list ([`manifests`]); operator modules ([`overrides`]) feed it as they
//! are swapped in and out. The actions in the table, and so the names Velero sees listed
//! and may call, are those of the active name set ([`names`]) that the embedded component
//! implements: a name outside them is unknown, whichever set it belongs to.

pub mod listing;
pub mod manifests;
pub mod names;
pub mod overrides;
pub mod table;

use std::sync::Arc;

use csi_common::actions::Kind;
use tokio::sync::OnceCell;

pub use listing::ListingError;
pub use names::{ActiveNames, Chosen};
pub use table::{Route, RouteError, RouteTable};

use self::overrides::{OperatorModules, OverridesConfig};
use crate::imports::HostServices;
use crate::logging::{Level, chain};
use crate::sandbox::{GuestEngine, GuestLimits, GuestRuntime, LoadError};

/// Why a call could not be routed.
#[derive(Debug, thiserror::Error)]
pub enum RouterError {
    /// The embedded component (or the engine) could not be made ready.
    #[error("the CSI actions component could not be loaded")]
    Load(#[source] LoadFailure),
    /// The plugin name is not served under the kind called.
    #[error(transparent)]
    Route(#[from] RouteError),
}

/// What kept the embedded component from serving.
#[derive(Debug, thiserror::Error)]
pub enum LoadFailure {
    #[error(transparent)]
    Sandbox(#[from] LoadError),
    #[error(transparent)]
    Listing(#[from] ListingError),
}

/// The routes of this process. The embedded component is loaded on the first call that
/// needs one, once, however many calls arrive together; the names served are the ones of
/// the active name set that it lists, each with the kind and manifest the host registers
/// for it.
pub struct Router {
    services: HostServices,
    limits: GuestLimits,
    max_instances: usize,
    overrides: OverridesConfig,
    names: ActiveNames,
    modules: OnceCell<OperatorModules>,
}

impl Router {
    /// Routes the actions of the name set `names` to components that import `services`,
    /// each call under `limits` with at most `max_instances` running at once, with operator
    /// modules from `overrides`.
    pub fn new(
        services: HostServices,
        limits: GuestLimits,
        max_instances: usize,
        overrides: OverridesConfig,
        names: ActiveNames,
    ) -> Self {
        Self {
            services,
            limits,
            max_instances,
            overrides,
            names,
            modules: OnceCell::new(),
        }
    }

    /// The name set in force and how it was chosen.
    pub fn names(&self) -> &ActiveNames {
        &self.names
    }

    /// The route table to serve a call with, as of now.
    pub async fn table(&self) -> Result<Arc<RouteTable>, RouterError> {
        Ok(self.modules().await?.current().await)
    }

    /// The route of the plugin `name` called as a `kind`. The call keeps it to the end,
    /// whatever is swapped in meanwhile.
    pub async fn route(&self, name: &str, kind: Kind) -> Result<Route, RouterError> {
        Ok(self.table().await?.route(name, kind)?.clone())
    }

    async fn modules(&self) -> Result<&OperatorModules, RouterError> {
        self.modules
            .get_or_try_init(|| self.load())
            .await
            .map_err(|failure| {
                let error = RouterError::Load(failure);
                self.services
                    .logger
                    .emit(Level::Error, "router", &chain(&error));
                error
            })
    }

    async fn load(&self) -> Result<OperatorModules, LoadFailure> {
        let engine = GuestEngine::with_max_instances(self.limits, self.max_instances)?;
        let embedded =
            GuestRuntime::new(&engine, engine.embedded()?, self.services.clone()).await?;
        let implemented = listing::registered(embedded.actions())?;
        let routed = self.names.routed(&implemented);
        if routed.is_empty() {
            self.services.logger.emit(
                Level::Warn,
                "router",
                &format!(
                    "the embedded component implements none of the {} name set's actions; \
                     the plugin registers none (set {} to choose another set)",
                    self.names.set().as_str(),
                    csi_common::actions::NameSet::ENV
                ),
            );
        }
        Ok(OperatorModules::new(
            &engine,
            self.services.clone(),
            Arc::new(embedded),
            implemented,
            routed,
            self.overrides.clone(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use csi_common::actions::{Action, NameSet};

    use super::*;
    use crate::imports::clock::SystemClock;
    use crate::kubeapi::{KubeApi, RateLimit};
    use crate::logging::{LogSink, Record};

    struct Discard;

    impl LogSink for Discard {
        fn log(&self, _: Record) {}
    }

    fn services() -> HostServices {
        HostServices {
            cluster: Arc::new(KubeApi::new(RateLimit::VELERO_DEFAULT)),
            logger: Arc::new(Discard),
            clock: Arc::new(SystemClock),
            server: crate::bindings::velero::csi::server::ServerSettings::none(),
        }
    }

    fn router(set: NameSet) -> Router {
        Router::new(
            services(),
            GuestLimits::DEFAULT,
            2,
            OverridesConfig::default(),
            ActiveNames::fixed(set, Chosen::FromEnv),
        )
    }

    /// Every action has exactly one manifest; each name set's table routes exactly the
    /// actions of the set that the embedded component lists, in the set's order, each with
    /// its manifest, so that every action served runs with a known allow-list.
    #[tokio::test]
    async fn each_set_routes_what_the_embedded_component_implements_with_its_manifest() {
        for action in Action::ALL {
            let manifests = manifests::MANIFESTS
                .iter()
                .filter(|m| m.action == action)
                .count();
            assert_eq!(manifests, 1, "{}", action.name());
        }
        let embedded = GuestRuntime::embedded(services()).await.unwrap();
        let implemented = listing::registered(embedded.actions()).unwrap();
        assert!(
            Action::V071.iter().all(|a| implemented.contains(a)),
            "the embedded component implements the ten v0.7.1 actions"
        );
        for set in [NameSet::V071, NameSet::Modern] {
            let table = router(set).table().await.unwrap();
            let routed: Vec<Action> = table.routes().iter().map(Route::action).collect();
            let expected: Vec<Action> = set
                .actions()
                .iter()
                .copied()
                .filter(|a| implemented.contains(a))
                .collect();
            assert_eq!(routed, expected, "{set:?}");
            for route in table.routes() {
                let action = route.action();
                assert_eq!(route.caller().action, action.name());
                assert!(std::ptr::eq(route.grants(), manifests::grants(action)));
                assert!(std::ptr::eq(route.caller().grants, route.grants()));
                assert!(route.module().is_none());
            }
        }
    }

    #[tokio::test]
    async fn names_and_kinds_are_checked_in_velero_words() {
        let router = router(NameSet::V071);
        let name = Action::VolumeSnapshotClassBackup.name();
        let route = router.route(name, Kind::BackupItemActionV2).await.unwrap();
        assert_eq!(route.action(), Action::VolumeSnapshotClassBackup);
        let wrong = router.route(name, Kind::RestoreItemActionV2).await;
        assert_eq!(
            wrong.err().unwrap().to_string(),
            "velero.io/csi-volumesnapshotclass-backupper is not a restore item action (v2)"
        );
        let unknown = router.route("velero.io/nope", Kind::DeleteItemAction).await;
        assert_eq!(
            unknown.err().unwrap().to_string(),
            "DeleteItemAction plugin: velero.io/nope was not found or has an invalid name format"
        );
    }

    /// A name of the other set is as unknown as a name of no set.
    #[tokio::test]
    async fn names_outside_the_active_set_are_not_found() {
        let modern = router(NameSet::Modern);
        let v071 = Action::VolumeSnapshotClassBackup.name();
        let refused = modern.route(v071, Kind::BackupItemActionV2).await;
        assert_eq!(
            refused.err().unwrap().to_string(),
            format!(
                "BackupItemActionV2 plugin: {v071} was not found or has an invalid name format"
            )
        );
        let old = router(NameSet::V071);
        let name = Action::ModernPvcDelete.name();
        let refused = old.route(name, Kind::DeleteItemAction).await;
        assert_eq!(
            refused.err().unwrap().to_string(),
            format!("DeleteItemAction plugin: {name} was not found or has an invalid name format")
        );
    }
}
