//! `v2.RestoreItemAction`.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use csi_common::actions::Kind;

use super::convert;
use super::status::{call_failed, not_text, unrouted};
use crate::bindings::RestoreInput;
use crate::proto::v2::restore_item_action_server::RestoreItemAction;
use crate::proto::v2::{
    RestoreItemActionAppliesToRequest, RestoreItemActionAppliesToResponse,
    RestoreItemActionCancelRequest, RestoreItemActionExecuteRequest,
    RestoreItemActionExecuteResponse, RestoreItemActionItemsReadyRequest,
    RestoreItemActionItemsReadyResponse, RestoreItemActionProgressRequest,
    RestoreItemActionProgressResponse,
};
use crate::router::Router;

const KIND: Kind = Kind::RestoreItemActionV2;

/// Serves every restore item action of the component.
pub struct RestoreItemActions {
    router: Arc<Router>,
}

impl RestoreItemActions {
    /// The service over `router`.
    pub fn new(router: Arc<Router>) -> Self {
        Self { router }
    }
}

#[tonic::async_trait]
impl RestoreItemAction for RestoreItemActions {
    async fn applies_to(
        &self,
        request: Request<RestoreItemActionAppliesToRequest>,
    ) -> Result<Response<RestoreItemActionAppliesToResponse>, Status> {
        let name = request.into_inner().plugin;
        let route = self.router.route(&name, KIND).await.map_err(unrouted)?;
        let selector = route
            .runtime()
            .applies_to(route.caller())
            .await
            .map_err(|e| call_failed(&name, e))?;
        Ok(Response::new(RestoreItemActionAppliesToResponse {
            resource_selector: Some(convert::selector(selector)),
        }))
    }

    async fn execute(
        &self,
        request: Request<RestoreItemActionExecuteRequest>,
    ) -> Result<Response<RestoreItemActionExecuteResponse>, Status> {
        let request = request.into_inner();
        let name = &request.plugin;
        let route = self.router.route(name, KIND).await.map_err(unrouted)?;
        let text = |field: &str, bytes: &[u8]| {
            std::str::from_utf8(bytes)
                .map(str::to_owned)
                .map_err(|e| not_text(name, field, e))
        };
        let input = RestoreInput {
            item: text("item", &request.item)?,
            item_from_backup: text("itemFromBackup", &request.item_from_backup)?,
            restore: text("restore", &request.restore)?,
        };
        let output = route
            .runtime()
            .execute_restore(route.caller(), &input)
            .await
            .map_err(|e| call_failed(name, e))?;
        Ok(Response::new(RestoreItemActionExecuteResponse {
            item: output.item.into_bytes(),
            additional_items: convert::to_proto_ids(output.additional_items),
            skip_restore: output.skip_restore,
            operation_id: output.operation_id,
            wait_for_additional_items: output.wait_for_additional_items,
            additional_items_ready_timeout: output
                .additional_items_ready_timeout_ms
                .map(convert::duration),
        }))
    }

    async fn progress(
        &self,
        request: Request<RestoreItemActionProgressRequest>,
    ) -> Result<Response<RestoreItemActionProgressResponse>, Status> {
        let request = request.into_inner();
        let name = &request.plugin;
        let route = self.router.route(name, KIND).await.map_err(unrouted)?;
        let restore =
            std::str::from_utf8(&request.restore).map_err(|e| not_text(name, "restore", e))?;
        let progress = route
            .runtime()
            .progress(route.caller(), &request.operation_id, restore)
            .await
            .map_err(|e| call_failed(name, e))?;
        Ok(Response::new(RestoreItemActionProgressResponse {
            progress: Some(convert::progress(progress)),
        }))
    }

    async fn cancel(
        &self,
        request: Request<RestoreItemActionCancelRequest>,
    ) -> Result<Response<()>, Status> {
        let request = request.into_inner();
        let name = &request.plugin;
        let route = self.router.route(name, KIND).await.map_err(unrouted)?;
        let restore =
            std::str::from_utf8(&request.restore).map_err(|e| not_text(name, "restore", e))?;
        route
            .runtime()
            .cancel(route.caller(), &request.operation_id, restore)
            .await
            .map_err(|e| call_failed(name, e))?;
        Ok(Response::new(()))
    }

    async fn are_additional_items_ready(
        &self,
        request: Request<RestoreItemActionItemsReadyRequest>,
    ) -> Result<Response<RestoreItemActionItemsReadyResponse>, Status> {
        let request = request.into_inner();
        let name = &request.plugin;
        let route = self.router.route(name, KIND).await.map_err(unrouted)?;
        let restore =
            std::str::from_utf8(&request.restore).map_err(|e| not_text(name, "restore", e))?;
        let items = convert::from_proto_ids(request.additional_items);
        let ready = route
            .runtime()
            .are_additional_items_ready(route.caller(), &items, restore)
            .await
            .map_err(|e| call_failed(name, e))?;
        Ok(Response::new(RestoreItemActionItemsReadyResponse { ready }))
    }
}
