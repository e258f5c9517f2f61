//! `v2.BackupItemAction`.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use csi_common::actions::Kind;

use super::convert;
use super::status::{call_failed, not_text, unrouted};
use crate::proto::v2::backup_item_action_server::BackupItemAction;
use crate::proto::v2::{
    BackupItemActionAppliesToRequest, BackupItemActionAppliesToResponse,
    BackupItemActionCancelRequest, BackupItemActionProgressRequest,
    BackupItemActionProgressResponse, ExecuteRequest, ExecuteResponse,
};
use crate::router::Router;

const KIND: Kind = Kind::BackupItemActionV2;

/// Serves every backup item action of the component.
pub struct BackupItemActions {
    router: Arc<Router>,
}

impl BackupItemActions {
    /// The service over `router`.
    pub fn new(router: Arc<Router>) -> Self {
        Self { router }
    }
}

#[tonic::async_trait]
impl BackupItemAction for BackupItemActions {
    async fn applies_to(
        &self,
        request: Request<BackupItemActionAppliesToRequest>,
    ) -> Result<Response<BackupItemActionAppliesToResponse>, Status> {
        let name = request.into_inner().plugin;
        let route = self.router.route(&name, KIND).await.map_err(unrouted)?;
        let selector = route
            .runtime()
            .applies_to(route.caller())
            .await
            .map_err(|e| call_failed(&name, e))?;
        Ok(Response::new(BackupItemActionAppliesToResponse {
            resource_selector: Some(convert::selector(selector)),
        }))
    }

    async fn execute(
        &self,
        request: Request<ExecuteRequest>,
    ) -> Result<Response<ExecuteResponse>, Status> {
        let request = request.into_inner();
        let name = &request.plugin;
        let route = self.router.route(name, KIND).await.map_err(unrouted)?;
        let item = std::str::from_utf8(&request.item).map_err(|e| not_text(name, "item", e))?;
        let backup =
            std::str::from_utf8(&request.backup).map_err(|e| not_text(name, "backup", e))?;
        let output = route
            .runtime()
            .execute_backup(route.caller(), item, backup)
            .await
            .map_err(|e| call_failed(name, e))?;
        Ok(Response::new(ExecuteResponse {
            item: output.item.into_bytes(),
            additional_items: convert::to_proto_ids(output.additional_items),
            operation_id: output.operation_id,
            post_operation_items: convert::to_proto_ids(output.post_operation_items),
        }))
    }

    async fn progress(
        &self,
        request: Request<BackupItemActionProgressRequest>,
    ) -> Result<Response<BackupItemActionProgressResponse>, Status> {
        let request = request.into_inner();
        let name = &request.plugin;
        let route = self.router.route(name, KIND).await.map_err(unrouted)?;
        let backup =
            std::str::from_utf8(&request.backup).map_err(|e| not_text(name, "backup", e))?;
        let progress = route
            .runtime()
            .progress(route.caller(), &request.operation_id, backup)
            .await
            .map_err(|e| call_failed(name, e))?;
        Ok(Response::new(BackupItemActionProgressResponse {
            progress: Some(convert::progress(progress)),
        }))
    }

    async fn cancel(
        &self,
        request: Request<BackupItemActionCancelRequest>,
    ) -> Result<Response<()>, Status> {
        let request = request.into_inner();
        let name = &request.plugin;
        let route = self.router.route(name, KIND).await.map_err(unrouted)?;
        let backup =
            std::str::from_utf8(&request.backup).map_err(|e| not_text(name, "backup", e))?;
        route
            .runtime()
            .cancel(route.caller(), &request.operation_id, backup)
            .await
            .map_err(|e| call_failed(name, e))?;
        Ok(Response::new(()))
    }
}
