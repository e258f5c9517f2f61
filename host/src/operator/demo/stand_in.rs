//! The part of Velero the demo plays: it launches the plugin binary exactly as Velero does
//! (a fresh process, the go-plugin handshake, gRPC over the Unix socket), calls the actions
//! by name, and does what Velero core does between calls: fetch additional items from the
//! cluster, keep the backup's item copies ("the tarball"), reset items before a restore and
//! create what the restore actions return.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::sync::Arc;

use serde_json::{Value, json};
use sim_cluster::{Cluster, SimError, gvr_of_resource};
use tonic::transport::Channel;

use crate::client::{ClientError, Launch, PluginProcess};
use crate::proto::generated::delete_item_action_client::DeleteItemActionClient;
use crate::proto::generated::plugin_lister_client::PluginListerClient;
use crate::proto::generated::{
    DeleteItemActionExecuteRequest, Empty, OperationProgress, ResourceIdentifier,
};
use crate::proto::v2::backup_item_action_client::BackupItemActionClient;
use crate::proto::v2::restore_item_action_client::RestoreItemActionClient;
use crate::proto::v2::{
    BackupItemActionProgressRequest, ExecuteRequest, ExecuteResponse,
    RestoreItemActionExecuteRequest, RestoreItemActionExecuteResponse,
};

/// Why a demo step failed.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Plugin(#[from] ClientError),
    #[error("{action} {call} failed: {message}")]
    Rpc {
        action: String,
        call: &'static str,
        message: String,
    },
    #[error("the simulated cluster refused")]
    Cluster(#[from] SimError),
    #[error("cannot serve the simulated cluster")]
    Io(#[from] std::io::Error),
    #[error("{0}")]
    Unexpected(String),
}

fn rpc(action: &str, call: &'static str) -> impl FnOnce(tonic::Status) -> DemoError {
    let action = action.to_owned();
    move |status| DemoError::Rpc {
        action,
        call,
        message: status.message().to_owned(),
    }
}

/// Velero core, reduced to what the CSI actions meet.
pub struct Core {
    pub cluster: Arc<Cluster>,
    program: PathBuf,
    kubeconfig: PathBuf,
    /// The backup's copies of items, by (resource, namespace, name).
    tarball: BTreeMap<(String, String, String), Value>,
}

/// A plugin process started for one Velero operation.
pub struct Session {
    pub process: PluginProcess,
}

impl Core {
    /// Velero core driving `program` against the cluster that `kubeconfig` points at.
    pub fn new(cluster: Arc<Cluster>, program: PathBuf, kubeconfig: PathBuf) -> Self {
        Self {
            cluster,
            program,
            kubeconfig,
            tarball: BTreeMap::new(),
        }
    }

    /// Starts a plugin process as Velero does, pointed at the simulated API server, with the
    /// v0.7.1 name set (the demo's story is that set's).
    pub async fn start_plugin(&self) -> Result<Session, DemoError> {
        let mut launch = Launch::velero_v071(self.program.clone());
        launch.env.push((
            OsString::from("KUBECONFIG"),
            self.kubeconfig.clone().into_os_string(),
        ));
        // The plugin would otherwise prefer an in-cluster configuration if run inside a pod.
        launch.env_remove.push("KUBERNETES_SERVICE_HOST".into());
        Ok(Session {
            process: launch.start().await?,
        })
    }

    /// GETs an object from the cluster, as core does for an additional item.
    pub fn fetch(&self, id: &ResourceIdentifier) -> Result<Value, DemoError> {
        let gvr = gvr_of_resource(&id.resource)
            .ok_or_else(|| DemoError::Unexpected(format!("unknown resource {}", id.resource)))?;
        let namespace = Some(id.namespace.as_str()).filter(|n| !n.is_empty());
        Ok(self.cluster.get(&gvr, namespace, &id.name)?)
    }

    /// Keeps `item` as the backup's copy (a later copy of the same object replaces it, as
    /// the finalize pass does).
    pub fn keep(&mut self, item: Value) {
        let field = |p: &str| item.pointer(p).and_then(Value::as_str).unwrap_or_default();
        let kind = field("/kind").to_owned();
        let key = (
            kind,
            field("/metadata/namespace").into(),
            field("/metadata/name").into(),
        );
        self.tarball.insert(key, item);
    }

    /// The backup's copy of an object.
    pub fn backed_up(&self, kind: &str, namespace: &str, name: &str) -> Option<&Value> {
        self.tarball
            .get(&(kind.to_owned(), namespace.to_owned(), name.to_owned()))
    }

    /// Creates a restored object unless it exists (core then leaves the in-cluster copy).
    /// Returns whether it was created.
    pub fn create_restored(&self, item: &Value) -> Result<bool, DemoError> {
        Ok(sim_cluster::velero_core::create_restored(
            &self.cluster,
            item,
        )?)
    }
}

impl Session {
    fn channel(&self) -> Channel {
        self.process.channel()
    }

    /// The names of the plugins the process serves.
    pub async fn list(&self) -> Result<Vec<String>, DemoError> {
        let listed = PluginListerClient::new(self.channel())
            .list_plugins(Empty {})
            .await
            .map_err(rpc("plugin lister", "ListPlugins"))?;
        Ok(listed
            .into_inner()
            .plugins
            .into_iter()
            .map(|p| p.name)
            .collect())
    }

    /// BackupItemAction v2 Execute.
    pub async fn backup(
        &self,
        action: &str,
        item: &Value,
        backup: &Value,
    ) -> Result<ExecuteResponse, DemoError> {
        let request = ExecuteRequest {
            plugin: action.into(),
            item: item.to_string().into_bytes(),
            backup: backup.to_string().into_bytes(),
        };
        Ok(BackupItemActionClient::new(self.channel())
            .execute(request)
            .await
            .map_err(rpc(action, "Execute"))?
            .into_inner())
    }

    /// BackupItemAction v2 Progress.
    pub async fn progress(
        &self,
        action: &str,
        operation_id: &str,
        backup: &Value,
    ) -> Result<OperationProgress, DemoError> {
        let request = BackupItemActionProgressRequest {
            plugin: action.into(),
            operation_id: operation_id.into(),
            backup: backup.to_string().into_bytes(),
        };
        BackupItemActionClient::new(self.channel())
            .progress(request)
            .await
            .map_err(rpc(action, "Progress"))?
            .into_inner()
            .progress
            .ok_or_else(|| DemoError::Unexpected(format!("{action} returned no progress")))
    }

    /// RestoreItemAction v2 Execute.
    pub async fn restore(
        &self,
        action: &str,
        item: &Value,
        item_from_backup: &Value,
        restore: &Value,
    ) -> Result<RestoreItemActionExecuteResponse, DemoError> {
        let request = RestoreItemActionExecuteRequest {
            plugin: action.into(),
            item: item.to_string().into_bytes(),
            restore: restore.to_string().into_bytes(),
            item_from_backup: item_from_backup.to_string().into_bytes(),
        };
        Ok(RestoreItemActionClient::new(self.channel())
            .execute(request)
            .await
            .map_err(rpc(action, "Execute"))?
            .into_inner())
    }

    /// DeleteItemAction Execute.
    pub async fn delete(
        &self,
        action: &str,
        item: &Value,
        backup: &Value,
    ) -> Result<(), DemoError> {
        let request = DeleteItemActionExecuteRequest {
            plugin: action.into(),
            item: item.to_string().into_bytes(),
            backup: backup.to_string().into_bytes(),
        };
        DeleteItemActionClient::new(self.channel())
            .execute(request)
            .await
            .map_err(rpc(action, "Execute"))?;
        Ok(())
    }

    /// Stops the process as Velero does after an operation.
    pub async fn stop(self) -> Result<(), DemoError> {
        self.process.shutdown().await?;
        Ok(())
    }
}

/// An item returned by an action, as JSON.
pub fn item_of(bytes: &[u8], action: &str) -> Result<Value, DemoError> {
    serde_json::from_slice(bytes).map_err(|e| {
        DemoError::Unexpected(format!("{action} returned an item that is not JSON: {e}"))
    })
}

/// `resource namespace/name` of an identifier, for people.
pub fn describe(id: &ResourceIdentifier) -> String {
    if id.namespace.is_empty() {
        format!("{} {}", id.resource, id.name)
    } else {
        format!("{} {}/{}", id.resource, id.namespace, id.name)
    }
}

/// The Backup object Velero would pass (phase `InProgress`, or `Finalizing`).
pub fn backup_object(name: &str, uid: &str, namespace: &str, phase: &str) -> Value {
    json!({
        "apiVersion": "velero.io/v1",
        "kind": "Backup",
        "metadata": {"name": name, "namespace": "velero", "uid": uid},
        "spec": {
            "includedNamespaces": [namespace],
            "storageLocation": "default",
            "csiSnapshotTimeout": "10m0s",
            "snapshotMoveData": false
        },
        "status": {"phase": phase}
    })
}

/// The Restore object Velero would pass.
pub fn restore_object(name: &str, uid: &str, backup: &str, namespace: &str) -> Value {
    json!({
        "apiVersion": "velero.io/v1",
        "kind": "Restore",
        "metadata": {"name": name, "namespace": "velero", "uid": uid},
        "spec": {"backupName": backup, "includedNamespaces": [namespace]},
        "status": {"phase": "InProgress"}
    })
}
