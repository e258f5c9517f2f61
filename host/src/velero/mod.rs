//! Velero's plugin services: discovery and the three action kinds, each routed by plugin
//! name to the CSI actions component.

mod backup_item_action;
mod catalog;
mod convert;
mod delete_item_action;
mod lister;
mod restore_item_action;
mod status;

use std::sync::Arc;

use tokio::sync::OnceCell;
use tonic::Status;
use tonic::transport::server::Router;

pub use catalog::{Catalog, CatalogError, Kind};

use crate::logging::Level;
use crate::modules::{Modules, ModulesConfig};
use crate::proto::generated::delete_item_action_server::DeleteItemActionServer;
use crate::proto::generated::plugin_lister_server::PluginListerServer;
use crate::proto::v2::backup_item_action_server::BackupItemActionServer;
use crate::proto::v2::restore_item_action_server::RestoreItemActionServer;
use crate::wasm::{GuestEngine, GuestLimits, GuestRuntime, HostServices};

/// Velero sends items and Backups that can be far larger than gRPC's 4 MiB default.
const MAX_MESSAGE: usize = i32::MAX as usize;

/// The plugins this process serves. The embedded component is loaded on the first call
/// that needs it, once, however many calls arrive together; discovery needs no cluster
/// access. The names served are the embedded component's; operator modules may take over
/// any of them ([`crate::modules`]).
pub struct Plugins {
    argv0: String,
    services: HostServices,
    limits: GuestLimits,
    modules: ModulesConfig,
    loaded: OnceCell<Loaded>,
}

struct Loaded {
    modules: Modules,
    catalog: Catalog,
}

impl Plugins {
    /// Plugins served under the command `argv0`, with `services` as the guest's imports,
    /// every call under `limits`, and operator modules from `modules`.
    pub fn new(
        argv0: String,
        services: HostServices,
        limits: GuestLimits,
        modules: ModulesConfig,
    ) -> Self {
        Self {
            argv0,
            services,
            limits,
            modules,
            loaded: OnceCell::new(),
        }
    }

    async fn loaded(&self) -> Result<&Loaded, Status> {
        self.loaded
            .get_or_try_init(|| async {
                let engine = GuestEngine::new(self.limits).map_err(|e| e.to_string())?;
                let modules = Modules::load(&engine, self.services.clone(), self.modules.clone())
                    .await
                    .map_err(|e| e.to_string())?;
                let catalog =
                    Catalog::new(modules.embedded().actions()).map_err(|e| e.to_string())?;
                Ok(Loaded { modules, catalog })
            })
            .await
            .map_err(|message: String| {
                let message = format!("the CSI actions component could not be loaded: {message}");
                self.services.logger.emit(Level::Error, "velero", &message);
                Status::unknown(message)
            })
    }

    /// The component serving `name` now, once `name` is known to be registered under
    /// `kind`. The call keeps it to the end, whatever is swapped in meanwhile.
    async fn runtime_for(&self, name: &str, kind: Kind) -> Result<Arc<GuestRuntime>, Status> {
        let loaded = self.loaded().await?;
        loaded
            .catalog
            .check(name, kind)
            .map_err(|e| Status::unknown(e.to_string()))?;
        Ok(loaded.modules.current().await.runtime_for(name))
    }
}

/// Velero's services over one set of [`Plugins`].
pub struct VeleroServices {
    plugins: Arc<Plugins>,
}

impl VeleroServices {
    pub fn new(plugins: Arc<Plugins>) -> Self {
        Self { plugins }
    }

    /// Adds PluginLister, BackupItemAction v2, RestoreItemAction v2 and DeleteItemAction.
    pub fn add_to(self, router: Router) -> Router {
        let plugins = self.plugins;
        router
            .add_service(PluginListerServer::new(lister::Lister::new(
                plugins.clone(),
            )))
            .add_service(
                BackupItemActionServer::new(backup_item_action::BackupItemActions::new(
                    plugins.clone(),
                ))
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE),
            )
            .add_service(
                RestoreItemActionServer::new(restore_item_action::RestoreItemActions::new(
                    plugins.clone(),
                ))
                .max_decoding_message_size(MAX_MESSAGE)
                .max_encoding_message_size(MAX_MESSAGE),
            )
            .add_service(
                DeleteItemActionServer::new(delete_item_action::DeleteItemActions::new(plugins))
                    .max_decoding_message_size(MAX_MESSAGE)
                    .max_encoding_message_size(MAX_MESSAGE),
            )
    }
}
