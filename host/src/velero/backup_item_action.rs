//! `v2.BackupItemAction`.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use super::status::{call_failed, not_text};
use super::{Kind, Plugins, convert};
use crate::proto::v2::backup_item_action_server::BackupItemAction;
use crate::proto::v2::{
    BackupItemActionAppliesToRequest, BackupItemActionAppliesToResponse,
    BackupItemActionCancelRequest, BackupItemActionProgressRequest,
    BackupItemActionProgressResponse, ExecuteRequest, ExecuteResponse,
};

const KIND: Kind = Kind::BackupItemActionV2;

/// Serves every backup item action of the component.
pub struct BackupItemActions {
    plugins: Arc<Plugins>,
}

impl BackupItemActions {
    pub fn new(plugins: Arc<Plugins>) -> Self {
        Self { plugins }
    }
}

#[tonic::async_trait]
impl BackupItemAction for BackupItemActions {
    async fn applies_to(
        &self,
        request: Request<BackupItemActionAppliesToRequest>,
    ) -> Result<Response<BackupItemActionAppliesToResponse>, Status> {
        let name = request.into_inner().plugin;
        let runtime = self.plugins.runtime_for(&name, KIND).await?;
        let selector = runtime
            .applies_to(&name)
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
        let runtime = self.plugins.runtime_for(name, KIND).await?;
        let item = std::str::from_utf8(&request.item).map_err(|e| not_text(name, "item", e))?;
        let backup =
            std::str::from_utf8(&request.backup).map_err(|e| not_text(name, "backup", e))?;
        let output = runtime
            .execute_backup(name, item, backup)
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
        let runtime = self.plugins.runtime_for(name, KIND).await?;
        let backup =
            std::str::from_utf8(&request.backup).map_err(|e| not_text(name, "backup", e))?;
        let progress = runtime
            .progress(name, &request.operation_id, backup)
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
        let runtime = self.plugins.runtime_for(name, KIND).await?;
        let backup =
            std::str::from_utf8(&request.backup).map_err(|e| not_text(name, "backup", e))?;
        runtime
            .cancel(name, &request.operation_id, backup)
            .await
            .map_err(|e| call_failed(name, e))?;
        Ok(Response::new(()))
    }
}
