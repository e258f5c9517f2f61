//! Velero's plugin services: discovery and the three action kinds, each call routed by
//! plugin name and kind ([`crate::router`]).

mod backup_item_action;
mod convert;
mod delete_item_action;
mod lister;
mod restore_item_action;
mod status;

use std::sync::Arc;

use tonic::service::Routes;

use crate::proto::generated::delete_item_action_server::DeleteItemActionServer;
use crate::proto::generated::plugin_lister_server::PluginListerServer;
use crate::proto::v2::backup_item_action_server::BackupItemActionServer;
use crate::proto::v2::restore_item_action_server::RestoreItemActionServer;
use crate::router::Router;

/// Velero sends items and Backups that can be far larger than gRPC's 4 MiB default.
const MAX_MESSAGE: usize = i32::MAX as usize;

/// Velero's services over one [`Router`], listed under the command `argv0`.
pub struct VeleroServices {
    argv0: String,
    router: Arc<Router>,
}

impl VeleroServices {
    /// The services of the plugin started as `argv0` (returned to Velero verbatim as the
    /// plugin's command), routing calls through `router`.
    pub fn new(argv0: String, router: Arc<Router>) -> Self {
        Self { argv0, router }
    }

    /// PluginLister, BackupItemAction v2, RestoreItemAction v2 and DeleteItemAction, as
    /// the routes the plugin's gRPC server serves (and a fuzz target calls in process).
    pub fn routes(self) -> Routes {
        let plugins = self.router;
        Routes::new(PluginListerServer::new(lister::Lister::new(
            self.argv0,
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
