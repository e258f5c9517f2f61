//! The real Kubernetes API behind the capability check, served by kube-rs.
//!
//! The client is created on the first call that needs it (in-cluster configuration inside
//! Velero's pod, `KUBECONFIG` otherwise), so discovery and API-free actions never touch the
//! API. Objects are `DynamicObject`s addressed by `ApiResource`; waits are served by a
//! watch (list, then watch from its resourceVersion), never by polling.

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher::watch_object;
use kube::{Client, core};
use serde_json::Value;
use tokio::sync::OnceCell;

use crate::wasm::bindings::{ApiResource, Condition, KubeError, ObjectRef};
use crate::wasm::{Cluster, ClusterFuture};

/// The message of a wait that ran out of time (Go's `wait.ErrWaitTimeout`).
const WAIT_TIMEOUT: &str = "timed out waiting for the condition";

/// A cluster reached through kube-rs.
pub struct KubeApi {
    client: OnceCell<Client>,
}

impl Default for KubeApi {
    fn default() -> Self {
        Self::new()
    }
}

impl KubeApi {
    /// A cluster whose client is inferred from the environment on first use.
    pub fn new() -> Self {
        Self {
            client: OnceCell::new(),
        }
    }

    /// A cluster reached through an existing client.
    pub fn with_client(client: Client) -> Self {
        Self {
            client: OnceCell::new_with(Some(client)),
        }
    }

    async fn api(
        &self,
        api: &ApiResource,
        namespace: Option<&str>,
    ) -> Result<Api<DynamicObject>, KubeError> {
        let client = self
            .client
            .get_or_try_init(|| async {
                Client::try_default().await.map_err(|e| {
                    KubeError::Unavailable(format!("cannot configure the Kubernetes client: {e}"))
                })
            })
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
        error @ (kube::Error::HyperError(_) | kube::Error::Service(_)) => {
            KubeError::Unavailable(error.to_string())
        }
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

/// Whether `condition` holds for an object (not for [`Condition::Deleted`]).
fn holds(condition: &Condition, object: &Value) -> bool {
    match condition {
        Condition::FieldPresent(pointer) => object.pointer(pointer).is_some_and(|v| !v.is_null()),
        Condition::FieldEquals(field) => serde_json::from_str::<Value>(&field.value)
            .is_ok_and(|expected| object.pointer(&field.pointer) == Some(&expected)),
        Condition::Deleted => false,
    }
}

impl Cluster for KubeApi {
    fn get(&self, target: ObjectRef) -> ClusterFuture<'_, String> {
        Box::pin(async move {
            let api = self.api(&target.api, target.namespace.as_deref()).await?;
            to_json(&api.get(&target.name).await.map_err(kube_error)?)
        })
    }

    fn list(
        &self,
        api: ApiResource,
        namespace: Option<String>,
        label_selector: Option<String>,
    ) -> ClusterFuture<'_, Vec<String>> {
        Box::pin(async move {
            let api = self.api(&api, namespace.as_deref()).await?;
            let mut params = ListParams::default();
            if let Some(selector) = label_selector.as_deref().filter(|s| !s.is_empty()) {
                params = params.labels(selector);
            }
            let list = api.list(&params).await.map_err(kube_error)?;
            list.items.iter().map(to_json).collect()
        })
    }

    fn create(
        &self,
        api: ApiResource,
        namespace: Option<String>,
        object: String,
    ) -> ClusterFuture<'_, String> {
        Box::pin(async move {
            let api = self.api(&api, namespace.as_deref()).await?;
            let created = api
                .create(&PostParams::default(), &from_json(&object)?)
                .await
                .map_err(kube_error)?;
            to_json(&created)
        })
    }

    fn merge_patch(&self, target: ObjectRef, patch: String) -> ClusterFuture<'_, String> {
        Box::pin(async move {
            let api = self.api(&target.api, target.namespace.as_deref()).await?;
            let patch: Value = serde_json::from_str(&patch)
                .map_err(|e| KubeError::Invalid(format!("the patch is not valid JSON: {e}")))?;
            let patched = api
                .patch(&target.name, &PatchParams::default(), &Patch::Merge(patch))
                .await
                .map_err(kube_error)?;
            to_json(&patched)
        })
    }

    fn delete(&self, target: ObjectRef) -> ClusterFuture<'_, ()> {
        Box::pin(async move {
            let api = self.api(&target.api, target.namespace.as_deref()).await?;
            api.delete(&target.name, &DeleteParams::default())
                .await
                .map_err(kube_error)?;
            Ok(())
        })
    }

    fn wait_until(
        &self,
        target: ObjectRef,
        condition: Condition,
        timeout: Duration,
    ) -> ClusterFuture<'_, Option<String>> {
        Box::pin(async move {
            let api = self.api(&target.api, target.namespace.as_deref()).await?;
            let name = target.name.clone();
            let wait = async {
                let mut events = watch_object(api, &name).boxed();
                while let Some(event) = events
                    .try_next()
                    .await
                    .map_err(|e| KubeError::Unavailable(e.to_string()))?
                {
                    match event {
                        None if matches!(condition, Condition::Deleted) => return Ok(None),
                        None => {
                            return Err(KubeError::NotFound(format!(
                                "{} \"{name}\" not found",
                                target.api.resource
                            )));
                        }
                        Some(object) => {
                            let value = serde_json::to_value(&object)
                                .map_err(|e| KubeError::Other(e.to_string()))?;
                            if holds(&condition, &value) {
                                return Ok(Some(value.to_string()));
                            }
                        }
                    }
                }
                Err(KubeError::Unavailable(format!("the watch on {name} ended")))
            };
            tokio::time::timeout(timeout, wait)
                .await
                .unwrap_or_else(|_| Err(KubeError::Timeout(WAIT_TIMEOUT.to_owned())))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wasm::bindings::FieldValue;
    use serde_json::json;

    fn status(code: u16, reason: &str) -> kube::Error {
        kube::Error::Api(Box::new(kube::core::Status {
            status: None,
            code,
            message: format!("server says {reason}"),
            metadata: None,
            reason: reason.to_owned(),
            details: None,
        }))
    }

    #[test]
    fn api_errors_map_to_typed_guest_errors() {
        let cases = [
            (404, "NotFound", "NotFound"),
            (409, "AlreadyExists", "AlreadyExists"),
            (409, "Conflict", "Conflict"),
            (403, "Forbidden", "Forbidden"),
            (422, "Invalid", "Invalid"),
            (504, "Timeout", "Timeout"),
            (429, "TooManyRequests", "Unavailable"),
            (503, "ServiceUnavailable", "Unavailable"),
            (418, "Teapot", "Other"),
        ];
        for (code, reason, expected) in cases {
            let error = kube_error(status(code, reason));
            let text = format!("{error:?}");
            assert!(
                text.starts_with(&format!("KubeError::{expected}(")),
                "{code} {reason}: {text}"
            );
            assert!(text.contains(&format!("server says {reason}")), "{text}");
        }
    }

    /// A client whose "API server" records each request and answers with `respond`.
    fn mock_client(
        respond: impl Fn(&http::Method, &str) -> (u16, Value) + Send + Sync + Clone + 'static,
    ) -> (Client, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = seen.clone();
        let service = tower::service_fn(move |request: http::Request<kube::client::Body>| {
            let uri = request.uri().to_string();
            let (code, body) = respond(request.method(), &uri);
            record
                .lock()
                .unwrap()
                .push(format!("{} {uri}", request.method()));
            async move {
                let response = http::Response::builder()
                    .status(code)
                    .header("content-type", "application/json")
                    .body(kube::client::Body::from(body.to_string().into_bytes()))
                    .unwrap();
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        (Client::new(service, "default"), seen)
    }

    fn snapshot(name: &str) -> Value {
        json!({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
               "metadata": {"name": name, "namespace": "app", "resourceVersion": "7"},
               "spec": {"source": {"persistentVolumeClaimName": "data"}, "futureField": {"kept": 1}}})
    }

    fn snapshots() -> ApiResource {
        ApiResource {
            group: "snapshot.storage.k8s.io".into(),
            version: "v1".into(),
            resource: "volumesnapshots".into(),
        }
    }

    fn target(name: &str) -> ObjectRef {
        ObjectRef {
            api: snapshots(),
            namespace: Some("app".into()),
            name: name.into(),
        }
    }

    #[tokio::test]
    async fn every_verb_reaches_its_url_and_keeps_unknown_fields() {
        let (client, seen) = mock_client(|method, uri| match (method.as_str(), uri) {
            ("GET", u) if u.contains("/volumesnapshots?") => (
                200,
                json!({"apiVersion": "v1", "kind": "List", "metadata": {}, "items": [snapshot("a")]}),
            ),
            ("DELETE", _) => (
                200,
                json!({"kind": "Status", "apiVersion": "v1", "status": "Success", "metadata": {}}),
            ),
            _ => (200, snapshot("a")),
        });
        let api = KubeApi::with_client(client);
        let got: Value = serde_json::from_str(&api.get(target("a")).await.unwrap()).unwrap();
        assert_eq!(got["spec"]["futureField"]["kept"], 1);
        let listed = api
            .list(
                snapshots(),
                Some("app".into()),
                Some("velero.io/backup-name=b1".into()),
            )
            .await
            .unwrap();
        assert_eq!(listed.len(), 1);
        api.create(snapshots(), Some("app".into()), snapshot("a").to_string())
            .await
            .unwrap();
        api.merge_patch(target("a"), r#"{"metadata":{"labels":{"x":"y"}}}"#.into())
            .await
            .unwrap();
        api.delete(target("a")).await.unwrap();
        let seen = seen.lock().unwrap().clone();
        let base = "/apis/snapshot.storage.k8s.io/v1/namespaces/app/volumesnapshots";
        assert_eq!(
            seen,
            [
                format!("GET {base}/a"),
                format!("GET {base}?&labelSelector=velero.io%2Fbackup-name%3Db1"),
                format!("POST {base}?"),
                format!("PATCH {base}/a?"),
                format!("DELETE {base}/a?"),
            ]
        );
    }

    #[tokio::test]
    async fn errors_carry_the_server_message() {
        let (client, _) = mock_client(|_, _| {
            (
                404,
                json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404,
                         "message": "volumesnapshots.snapshot.storage.k8s.io \"a\" not found"}),
            )
        });
        let api = KubeApi::with_client(client);
        let error = api.get(target("a")).await.unwrap_err();
        assert_eq!(
            error,
            KubeError::NotFound("volumesnapshots.snapshot.storage.k8s.io \"a\" not found".into())
        );
    }

    #[tokio::test]
    async fn waits_list_then_watch_and_time_out() {
        // The list shows the object without the field; the watch never delivers a change.
        let (client, seen) = mock_client(|_, uri| {
            if uri.contains("watch=true") {
                (
                    200,
                    json!({"type": "BOOKMARK", "object": {"kind": "VolumeSnapshot", "apiVersion": "snapshot.storage.k8s.io/v1", "metadata": {"resourceVersion": "8"}}}),
                )
            } else {
                (
                    200,
                    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "7"}, "items": [snapshot("a")]}),
                )
            }
        });
        let api = KubeApi::with_client(client);
        let present = Condition::FieldPresent("/spec/source".into());
        let found = api
            .wait_until(target("a"), present, Duration::from_secs(5))
            .await
            .unwrap();
        assert!(
            found.is_some(),
            "a condition that already holds returns from the initial list"
        );
        let absent = Condition::FieldPresent("/status/readyToUse".into());
        let error = api
            .wait_until(target("a"), absent, Duration::from_millis(300))
            .await
            .unwrap_err();
        assert_eq!(error, KubeError::Timeout(WAIT_TIMEOUT.into()));
        let seen = seen.lock().unwrap().clone();
        assert!(
            seen[0].contains("fieldSelector=metadata.name%3Da"),
            "{seen:?}"
        );
        assert!(
            seen.iter().any(|r| r.contains("watch=true")),
            "the wait watches: {seen:?}"
        );
        assert!(
            !seen.iter().any(|r| r.starts_with(
                "GET /apis/snapshot.storage.k8s.io/v1/namespaces/app/volumesnapshots/a"
            )),
            "no polling GETs"
        );
    }

    #[tokio::test]
    async fn waiting_for_a_missing_object_is_not_found() {
        let (client, _) = mock_client(|_, _| {
            (
                200,
                json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "7"}, "items": []}),
            )
        });
        let api = KubeApi::with_client(client);
        let error = api
            .wait_until(
                target("a"),
                Condition::FieldPresent("/status".into()),
                Duration::from_secs(5),
            )
            .await;
        assert!(matches!(error, Err(KubeError::NotFound(_))), "{error:?}");
        let gone = api
            .wait_until(target("a"), Condition::Deleted, Duration::from_secs(5))
            .await;
        assert_eq!(gone, Ok(None));
    }

    #[test]
    fn conditions_read_json_pointers() {
        let object = json!({"status": {"readyToUse": true, "boundVolumeSnapshotContentName": "c1", "error": null}});
        assert!(holds(
            &Condition::FieldPresent("/status/boundVolumeSnapshotContentName".into()),
            &object
        ));
        assert!(!holds(
            &Condition::FieldPresent("/status/error".into()),
            &object
        ));
        let ready = FieldValue {
            pointer: "/status/readyToUse".into(),
            value: "true".into(),
        };
        assert!(holds(&Condition::FieldEquals(ready), &object));
        assert!(!holds(&Condition::Deleted, &object));
    }
}
