//! The real Kubernetes API behind the capability check, served by kube-rs.
//!
//! The client is created on the first call that needs it (in-cluster configuration inside
//! Velero's pod, `KUBECONFIG` otherwise), so discovery and API-free actions never touch the
//! API. Objects are `DynamicObject`s addressed by `ApiResource`; waits are served by a
//! watch (list, then watch from its resourceVersion), never by polling.
//!
//! Every request the client sends waits for a token of a client-side bucket
//! ([`RateLimit`], Velero's `--client-qps` and `--client-burst`). Failures are retried
//! where that is safe (module `retry`): idempotent calls (get, list, merge patch, delete, the
//! list and watch of a wait) on 429, 500, 502, 503, 504 and dropped connections, merge
//! patches also on 409 Conflict; creates only where they cannot create twice (module `create`).
//! kube-rs's own retry layer is turned off: it would resend creates blindly.

mod create;
mod rate_limit;
mod retry;
#[cfg(test)]
mod tests;
mod wait;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::client::ClientBuilder;
use kube::{Client, Config, core};
use serde_json::Value;
use tokio::sync::OnceCell;

pub use rate_limit::RateLimit;
use rate_limit::RateLimitLayer;
use retry::{Backoff, is_conflict, is_not_found, is_transient, retrying};

use crate::bindings::{ApiResource, Condition, KubeError, ObjectRef};

/// A future answered by a [`Kubernetes`] API.
pub type KubeFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, KubeError>> + Send + 'a>>;

/// The Kubernetes API calls the component may make, once they passed the capability check
/// (the `kube` import): served by [`KubeApi`] in the plugin, by fakes and the simulated
/// cluster in tests.
pub trait Kubernetes: Send + Sync {
    /// Reads one object as JSON.
    fn get(&self, target: ObjectRef) -> KubeFuture<'_, String>;
    /// Lists objects as JSON, optionally by label selector.
    fn list(
        &self,
        api: ApiResource,
        namespace: Option<String>,
        label_selector: Option<String>,
    ) -> KubeFuture<'_, Vec<String>>;
    /// Creates an object; returns the created object as JSON.
    fn create(
        &self,
        api: ApiResource,
        namespace: Option<String>,
        object: String,
    ) -> KubeFuture<'_, String>;
    /// Applies a JSON merge patch; returns the patched object as JSON.
    fn merge_patch(&self, target: ObjectRef, patch: String) -> KubeFuture<'_, String>;
    /// Deletes one object.
    fn delete(&self, target: ObjectRef) -> KubeFuture<'_, ()>;
    /// Waits until `condition` holds, at most `timeout`.
    fn wait_until(
        &self,
        target: ObjectRef,
        condition: Condition,
        timeout: Duration,
    ) -> KubeFuture<'_, Option<String>>;
}

/// The field manager the API server records for this plugin's creates and patches, as it
/// records the Go plugin's (client-go names it after the binary).
pub const FIELD_MANAGER: &str = "velero-plugin-for-csi";
/// The message of a wait that ran out of time (Go's `wait.ErrWaitTimeout`).
const WAIT_TIMEOUT: &str = "timed out waiting for the condition";

/// A cluster reached through kube-rs.
pub struct KubeApi {
    client: OnceCell<Client>,
    limit: RateLimit,
}

impl KubeApi {
    /// A cluster whose client is inferred from the environment on first use, its requests
    /// limited to `limit`.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            client: OnceCell::new(),
            limit,
        }
    }

    /// A cluster reached through an existing client, whose requests are not rate limited
    /// here (the client's own middleware may).
    pub fn with_client(client: Client) -> Self {
        Self {
            client: OnceCell::new_with(Some(client)),
            limit: RateLimit::VELERO_DEFAULT,
        }
    }

    /// The client inferred from the environment, without kube-rs's retries, rate limited.
    async fn connect(&self) -> Result<Client, KubeError> {
        let unavailable = |e: &dyn std::fmt::Display| {
            KubeError::Unavailable(format!("cannot configure the Kubernetes client: {e}"))
        };
        let mut config = Config::infer().await.map_err(|e| unavailable(&e))?;
        config.default_retry = false;
        Ok(ClientBuilder::try_from(config)
            .map_err(|e| unavailable(&e))?
            .with_layer(&RateLimitLayer::new(self.limit))
            .build())
    }

    async fn api(
        &self,
        api: &ApiResource,
        namespace: Option<&str>,
    ) -> Result<Api<DynamicObject>, KubeError> {
        let client = self
            .client
            .get_or_try_init(|| self.connect())
            .await?
            .clone();
        let resource = core::ApiResource {
            group: api.group.clone(),
            version: api.version.clone(),
            api_version: if api.group.is_empty() {
                api.version.clone()
            } else {
                format!("{}/{}", api.group, api.version)
            },
            kind: String::new(),
            plural: api.resource.clone(),
        };
        Ok(match namespace {
            Some(namespace) => Api::namespaced_with(client, namespace, &resource),
            None => Api::all_with(client, &resource),
        })
    }
}

/// The guest's error for a kube-rs error, with the server's message.
pub fn kube_error(error: kube::Error) -> KubeError {
    match error {
        kube::Error::Api(status) => {
            let message = if status.message.is_empty() {
                status.reason.clone()
            } else {
                status.message.clone()
            };
            match (status.code, status.reason.as_str()) {
                (404, _) | (_, "NotFound") => KubeError::NotFound(message),
                (_, "AlreadyExists") => KubeError::AlreadyExists(message),
                (409, _) | (_, "Conflict") => KubeError::Conflict(message),
                (403, _) | (_, "Forbidden") => KubeError::Forbidden(message),
                (422, _) | (400, _) | (_, "Invalid") | (_, "BadRequest") => {
                    KubeError::Invalid(message)
                }
                (408 | 504, _) | (_, "Timeout") => KubeError::Timeout(message),
                (429 | 500..=599, _) => KubeError::Unavailable(message),
                _ => KubeError::Other(message),
            }
        }
        error @ (kube::Error::HyperError(_)
        | kube::Error::Service(_)
        | kube::Error::ReadEvents(_)) => KubeError::Unavailable(error.to_string()),
        error => KubeError::Other(error.to_string()),
    }
}

fn to_json(object: &DynamicObject) -> Result<String, KubeError> {
    serde_json::to_string(object)
        .map_err(|e| KubeError::Other(format!("cannot encode the object: {e}")))
}

fn from_json(json: &str) -> Result<DynamicObject, KubeError> {
    serde_json::from_str(json)
        .map_err(|e| KubeError::Invalid(format!("the object is not valid JSON: {e}")))
}

/// Deletes `name`; a retry that finds it gone completes a delete whose answer was lost.
async fn delete(api: &Api<DynamicObject>, name: &str) -> Result<(), kube::Error> {
    let mut backoff = Backoff::new();
    let mut retried = false;
    loop {
        match api.delete(name, &DeleteParams::default()).await {
            Ok(_) => return Ok(()),
            Err(error) if retried && is_not_found(&error) => return Ok(()),
            Err(error) if is_transient(&error) && backoff.pause(&error).await => retried = true,
            Err(error) => return Err(error),
        }
    }
}

impl Kubernetes for KubeApi {
    fn get(&self, target: ObjectRef) -> KubeFuture<'_, String> {
        Box::pin(async move {
            let api = self.api(&target.api, target.namespace.as_deref()).await?;
            let object = retrying(is_transient, || api.get(&target.name))
                .await
                .map_err(kube_error)?;
            to_json(&object)
        })
    }

    fn list(
        &self,
        api: ApiResource,
        namespace: Option<String>,
        label_selector: Option<String>,
    ) -> KubeFuture<'_, Vec<String>> {
        Box::pin(async move {
            let api = self.api(&api, namespace.as_deref()).await?;
            let mut params = kube::api::ListParams::default();
            if let Some(selector) = label_selector.as_deref().filter(|s| !s.is_empty()) {
                params = params.labels(selector);
            }
            let list = retrying(is_transient, || api.list(&params))
                .await
                .map_err(kube_error)?;
            list.items.iter().map(to_json).collect()
        })
    }

    fn create(
        &self,
        api: ApiResource,
        namespace: Option<String>,
        object: String,
    ) -> KubeFuture<'_, String> {
        Box::pin(async move {
            let api = self.api(&api, namespace.as_deref()).await?;
            let created = create::create(&api, &from_json(&object)?)
                .await
                .map_err(kube_error)?;
            to_json(&created)
        })
    }

    fn merge_patch(&self, target: ObjectRef, patch: String) -> KubeFuture<'_, String> {
        Box::pin(async move {
            let api = self.api(&target.api, target.namespace.as_deref()).await?;
            let patch =
                Patch::Merge(serde_json::from_str::<Value>(&patch).map_err(|e| {
                    KubeError::Invalid(format!("the patch is not valid JSON: {e}"))
                })?);
            let params = PatchParams {
                field_manager: Some(FIELD_MANAGER.to_owned()),
                ..PatchParams::default()
            };
            let patched = retrying(
                |e| is_transient(e) || is_conflict(e),
                || api.patch(&target.name, &params, &patch),
            )
            .await
            .map_err(kube_error)?;
            to_json(&patched)
        })
    }

    fn delete(&self, target: ObjectRef) -> KubeFuture<'_, ()> {
        Box::pin(async move {
            let api = self.api(&target.api, target.namespace.as_deref()).await?;
            delete(&api, &target.name).await.map_err(kube_error)
        })
    }

    fn wait_until(
        &self,
        target: ObjectRef,
        condition: Condition,
        timeout: Duration,
    ) -> KubeFuture<'_, Option<String>> {
        Box::pin(async move {
            let api = self.api(&target.api, target.namespace.as_deref()).await?;
            // Named as the API server names it in its messages: `resource.group`.
            let resource = match target.api.group.as_str() {
                "" => target.api.resource.clone(),
                group => format!("{}.{group}", target.api.resource),
            };
            let wait = wait::watch_until(api, &resource, &target.name, &condition);
            tokio::time::timeout(timeout, wait)
                .await
                .unwrap_or_else(|_| Err(KubeError::Timeout(WAIT_TIMEOUT.to_owned())))
        })
    }
}
