//! `generated.DeleteItemAction`.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::status::{call_failed, not_text};
use super::{Kind, Plugins, convert};
use crate::proto::generated::delete_item_action_server::DeleteItemAction;
use crate::proto::generated::{
    DeleteItemActionAppliesToRequest, DeleteItemActionAppliesToResponse,
    DeleteItemActionExecuteRequest, Empty,
};

const KIND: Kind = Kind::DeleteItemAction;

/// Serves every delete item action of the component.
pub struct DeleteItemActions {
    plugins: Arc<Plugins>,
}

impl DeleteItemActions {
    pub fn new(plugins: Arc<Plugins>) -> Self {
        Self { plugins }
    }
}

#[tonic::async_trait]
impl DeleteItemAction for DeleteItemActions {
    async fn applies_to(
        &self,
        request: Request<DeleteItemActionAppliesToRequest>,
    ) -> Result<Response<DeleteItemActionAppliesToResponse>, Status> {
        let name = request.into_inner().plugin;
        let runtime = self.plugins.runtime_for(&name, KIND).await?;
        let selector = runtime
            .applies_to(&name)
            .await
            .map_err(|e| call_failed(&name, e))?;
        Ok(Response::new(DeleteItemActionAppliesToResponse {
            resource_selector: Some(convert::selector(selector)),
        }))
    }

    async fn execute(
        &self,
        request: Request<DeleteItemActionExecuteRequest>,
    ) -> Result<Response<Empty>, Status> {
        let request = request.into_inner();
        let name = &request.plugin;
        let runtime = self.plugins.runtime_for(name, KIND).await?;
        let item = std::str::from_utf8(&request.item).map_err(|e| not_text(name, "item", e))?;
        let backup =
            std::str::from_utf8(&request.backup).map_err(|e| not_text(name, "backup", e))?;
        runtime
            .execute_delete(name, item, backup)
            .await
            .map_err(|e| call_failed(name, e))?;
        Ok(Response::new(Empty {}))
    }
}
