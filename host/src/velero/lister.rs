//! `generated.PluginLister`: discovery. Needs no cluster access.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::Plugins;
use crate::proto::generated::plugin_lister_server::PluginLister;
use crate::proto::generated::{Empty, ListPluginsResponse, PluginIdentifier};

/// Lists every (kind, name) with the plugin's own `argv[0]` as the command.
pub struct Lister {
    plugins: Arc<Plugins>,
}

impl Lister {
    pub fn new(plugins: Arc<Plugins>) -> Self {
        Self { plugins }
    }
}

#[tonic::async_trait]
impl PluginLister for Lister {
    async fn list_plugins(
        &self,
        _: Request<Empty>,
    ) -> Result<Response<ListPluginsResponse>, Status> {
        let loaded = self.plugins.loaded().await?;
        let plugins = loaded
            .catalog
            .entries()
            .iter()
            .map(|(kind, name)| PluginIdentifier {
                command: self.plugins.argv0.clone(),
                kind: kind.as_str().to_owned(),
                name: name.clone(),
            })
            .collect();
        Ok(Response::new(ListPluginsResponse { plugins }))
    }
}
