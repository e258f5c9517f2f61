//! `generated.DeleteItemAction`.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use csi_common::actions::Kind;

use super::convert;
use super::status::{call_failed, not_text, unrouted};
use crate::proto::generated::delete_item_action_server::DeleteItemAction;
use crate::proto::generated::{
    DeleteItemActionAppliesToRequest, DeleteItemActionAppliesToResponse,
    DeleteItemActionExecuteRequest, Empty,
};
use crate::router::Router;

const KIND: Kind = Kind::DeleteItemAction;

/// Serves every delete item action of the component.
pub struct DeleteItemActions {
    router: Arc<Router>,
}

impl DeleteItemActions {
    /// The service over `router`.
    pub fn new(router: Arc<Router>) -> Self {
        Self { router }
    }
}

#[tonic::async_trait]
impl DeleteItemAction for DeleteItemActions {
    async fn applies_to(
        &self,
        request: Request<DeleteItemActionAppliesToRequest>,
    ) -> Result<Response<DeleteItemActionAppliesToResponse>, Status> {
        let name = request.into_inner().plugin;
        let route = self.router.route(&name, KIND).await.map_err(unrouted)?;
        let selector = route
            .runtime()
            .applies_to(route.caller())
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
        let route = self.router.route(name, KIND).await.map_err(unrouted)?;
        let item = std::str::from_utf8(&request.item).map_err(|e| not_text(name, "item", e))?;
        let backup =
            std::str::from_utf8(&request.backup).map_err(|e| not_text(name, "backup", e))?;
        route
            .runtime()
            .execute_delete(route.caller(), item, backup)
            .await
            .map_err(|e| call_failed(name, e))?;
        Ok(Response::new(Empty {}))
    }
}
