//! `generated.PluginLister`: discovery. Needs no cluster access.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::status::unrouted;
use crate::proto::generated::plugin_lister_server::PluginLister;
use crate::proto::generated::{Empty, ListPluginsResponse, PluginIdentifier};
use crate::router::Router;

/// Lists every routed (kind, name) with the plugin's own `argv[0]` as the command.
pub struct Lister {
    argv0: String,
    router: Arc<Router>,
}

impl Lister {
    /// Lists `router`'s routes under the command `argv0`.
    pub fn new(argv0: String, router: Arc<Router>) -> Self {
        Self { argv0, router }
    }
}

#[tonic::async_trait]
impl PluginLister for Lister {
    async fn list_plugins(
        &self,
        _: Request<Empty>,
    ) -> Result<Response<ListPluginsResponse>, Status> {
        let table = self.router.table().await.map_err(unrouted)?;
        let plugins = table
            .routes()
            .iter()
            .map(|route| PluginIdentifier {
                command: self.argv0.clone(),
                kind: route.action().kind().as_str().to_owned(),
                name: route.action().name().to_owned(),
            })
            .collect();
        Ok(Response::new(ListPluginsResponse { plugins }))
    }
}
