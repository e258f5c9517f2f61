//! The simulated cluster served over HTTP as a Kubernetes API server, so that a real
//! Kubernetes client (the plugin binary's kube-rs, spawned as Velero spawns it) can reach it.
//!
//! Served on plain HTTP on loopback, for the resources the simulation knows, under
//! `/api/v1/…` and `/apis/<group>/<version>/…`, namespaced or cluster-wide:
//! GET of an object; LIST with `labelSelector` and `fieldSelector=metadata.name=…`;
//! WATCH (`watch=true`, from a `resourceVersion`, until `timeoutSeconds`); POST; PATCH with
//! `application/merge-patch+json`; DELETE. Failures are `Status` objects with the API
//! server's reasons and codes.
//!
//! On virtual time a watch whose client keeps waiting through a quiet spell moves the clock to
//! the next controller event, as a wait in the store itself does.
//!
//! The call log records what a client asked for, in the store's verbs: a LIST narrowed to one
//! name is how a client starts a watch on that object, so it is recorded as the `watch` (and
//! its faults apply there); the streaming request that follows is not recorded again.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use http_body_util::BodyExt;
use hyper::body::{Bytes, Frame, Incoming};
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};

use crate::resources::{Gvr, cluster_scoped, gvr_of_resource, kind_of};
use crate::store::{Cluster, SimError};

/// The longest a watch stays open when the client does not say.
const DEFAULT_WATCH: Duration = Duration::from_secs(300);
/// On virtual time, how long a watch must see no change, its client still connected, before
/// the clock jumps to the next controller event.
const VIRTUAL_GRACE: Duration = Duration::from_millis(150);

/// A running API server; it stops when dropped.
pub struct ApiServer {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl ApiServer {
    /// Serves `cluster` on a free loopback port, on the current Tokio runtime.
    pub async fn start(cluster: Arc<Cluster>) -> io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let address = listener.local_addr()?;
        let (stop, mut stopped) = oneshot::channel();
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    accepted = listener.accept() => accepted,
                    _ = &mut stopped => return,
                };
                let Ok((stream, _)) = accepted else { continue };
                let cluster = cluster.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let cluster = cluster.clone();
                        async move { Ok::<_, Infallible>(handle(&cluster, request).await) }
                    });
                    // A client that goes away mid-request is no concern of the server's.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(Self {
            address,
            stop: Some(stop),
        })
    }

    /// The server's base URL, `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// A kubeconfig (YAML) whose current context points at this server.
    pub fn kubeconfig(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: sim\n  cluster:\n    server: {}\n\
             contexts:\n- name: sim\n  context:\n    cluster: sim\n    user: sim\n\
             current-context: sim\nusers:\n- name: sim\n  user: {{}}\n",
            self.url()
        )
    }
}

impl Drop for ApiServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A response body: whole, or a stream of watch events.
enum Payload {
    Whole(Option<Bytes>),
    Events(mpsc::Receiver<Bytes>),
}

impl hyper::body::Body for Payload {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Payload::Whole(body) => Poll::Ready(body.take().map(|b| Ok(Frame::data(b)))),
            Payload::Events(events) => events
                .poll_recv(cx)
                .map(|event| event.map(|e| Ok(Frame::data(e)))),
        }
    }
}

/// What a request addresses.
struct Target {
    gvr: Gvr,
    namespace: Option<String>,
    name: Option<String>,
}

impl Target {
    /// This request narrowed to the object a `metadata.name` field selector names.
    fn named(&self, name: Option<String>) -> Self {
        Self {
            gvr: self.gvr.clone(),
            namespace: self.namespace.clone(),
            name: name.or_else(|| self.name.clone()),
        }
    }

    /// Whether the request addresses `object`.
    fn addresses(&self, object: &Value) -> bool {
        let (namespace, name) = key(object);
        self.namespace.as_deref().is_none_or(|ns| ns == namespace)
            && self.name.as_deref().is_none_or(|n| n == name)
    }
}

/// `/api/v1/[namespaces/<ns>/]<resource>[/<name>]` or the same under
/// `/apis/<group>/<version>`; `None` for anything else (subresources included).
fn target(path: &str) -> Option<Target> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segments.as_slice() {
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", namespace, rest @ ..] if !rest.is_empty() => (Some(*namespace), rest),
        rest => (None, rest),
    };
    let (resource, name) = match rest {
        [resource] => (*resource, None),
        [resource, name] => (*resource, Some(*name)),
        _ => return None,
    };
    let gvr = gvr_of_resource(resource).filter(|g| g.group == group && g.version == version)?;
    Some(Target {
        namespace: namespace
            .filter(|_| !cluster_scoped(&gvr))
            .map(str::to_owned),
        gvr,
        name: name.map(str::to_owned),
    })
}

fn whole(status: StatusCode, body: &Value) -> Response<Payload> {
    let mut response = Response::new(Payload::Whole(Some(Bytes::from(body.to_string()))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// A failure as the API server reports it.
fn failure(code: u16, reason: &str, message: &str) -> Response<Payload> {
    let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    whole(
        status,
        &json!({"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
                "message": message, "reason": reason, "code": code}),
    )
}

fn error_response(error: &SimError) -> Response<Payload> {
    let (code, reason) = match error {
        SimError::NotFound(_) => (404, "NotFound"),
        SimError::AlreadyExists(_) => (409, "AlreadyExists"),
        SimError::Conflict(_) => (409, "Conflict"),
        SimError::Forbidden(_) => (403, "Forbidden"),
        SimError::Invalid(_) => (422, "Invalid"),
        SimError::Timeout(_) => (504, "Timeout"),
        SimError::Unavailable(_) => (503, "ServiceUnavailable"),
        SimError::Other(_) => (500, "InternalError"),
    };
    failure(code, reason, &error.to_string())
}

fn reply(result: Result<Value, SimError>, success: StatusCode) -> Response<Payload> {
    match result {
        Ok(object) => whole(success, &object),
        Err(error) => error_response(&error),
    }
}

/// The query string's parameters.
struct Query(BTreeMap<String, String>);

impl Query {
    fn parse(request: &Request<Incoming>) -> Self {
        Self(
            form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
                .into_owned()
                .collect(),
        )
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The name of a `fieldSelector=metadata.name=<name>`.
    fn name(&self) -> Result<Option<String>, String> {
        let Some(selector) = self.get("fieldSelector") else {
            return Ok(None);
        };
        selector
            .strip_prefix("metadata.name=")
            .filter(|name| !name.contains(','))
            .map(|name| Some(name.to_owned()))
            .ok_or_else(|| format!("field selector {selector:?} is not supported"))
    }
}

async fn handle(cluster: &Arc<Cluster>, request: Request<Incoming>) -> Response<Payload> {
    let Some(target) = target(request.uri().path()) else {
        return failure(
            404,
            "NotFound",
            "the server could not find the requested resource",
        );
    };
    let query = Query::parse(&request);
    let method = request.method().clone();
    let content_type = request
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = match request.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(error) => return failure(400, "BadRequest", &error.to_string()),
    };
    let parsed = || {
        serde_json::from_slice::<Value>(&body)
            .map_err(|e| SimError::Invalid(format!("the body is not JSON: {e}")))
    };
    let ns = target.namespace.as_deref();
    let gvr = &target.gvr;
    match (method, target.name.as_deref()) {
        (Method::GET, Some(name)) => reply(cluster.get(gvr, ns, name), StatusCode::OK),
        (Method::GET, None) => collection(cluster, &target, &query),
        (Method::POST, None) => reply(
            parsed().and_then(|object| cluster.create(gvr, ns, object)),
            StatusCode::CREATED,
        ),
        (Method::PATCH, Some(name)) if content_type.starts_with("application/merge-patch+json") => {
            reply(
                parsed().and_then(|patch| cluster.merge_patch(gvr, ns, name, &patch)),
                StatusCode::OK,
            )
        }
        (Method::PATCH, Some(_)) => failure(
            415,
            "UnsupportedMediaType",
            &format!("the patch type {content_type:?} is not supported"),
        ),
        (Method::DELETE, Some(name)) => reply(
            cluster.delete(gvr, ns, name).map(|()| {
                json!({"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Success"})
            }),
            StatusCode::OK,
        ),
        _ => failure(405, "MethodNotAllowed", "the method is not supported"),
    }
}

/// LIST or WATCH of a collection.
fn collection(cluster: &Arc<Cluster>, target: &Target, query: &Query) -> Response<Payload> {
    let name = match query.name() {
        Ok(name) => name,
        Err(message) => return failure(400, "BadRequest", &message),
    };
    if matches!(query.get("watch"), Some("true" | "1")) {
        return watch(cluster.clone(), target, name, query);
    }
    let ns = target.namespace.as_deref();
    let items = match &name {
        Some(name) => cluster
            .watch_started(&target.gvr, ns, name)
            .map(|()| matching(cluster, &target.named(Some(name.clone())))),
        None => cluster.list(&target.gvr, ns, query.get("labelSelector")),
    };
    match items {
        Ok(items) => whole(
            StatusCode::OK,
            &json!({
                "apiVersion": target.gvr.api_version(),
                "kind": format!("{}List", kind_of(&target.gvr).unwrap_or_default()),
                "metadata": {"resourceVersion": cluster.revision().to_string()},
                "items": items,
            }),
        ),
        Err(error) => error_response(&error),
    }
}

/// The stored objects a request addresses, without a call record.
fn matching(cluster: &Cluster, target: &Target) -> Vec<Value> {
    cluster
        .objects(&target.gvr)
        .into_iter()
        .filter(|o| target.addresses(o))
        .collect()
}

fn resource_version(object: &Value) -> u64 {
    object
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .and_then(|rv| rv.parse().ok())
        .unwrap_or_default()
}

fn key(object: &Value) -> (String, String) {
    let field = |pointer: &str| {
        object
            .pointer(pointer)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    (field("/metadata/namespace"), field("/metadata/name"))
}

/// A stream of watch events from `resourceVersion` on, one JSON object per line.
fn watch(
    cluster: Arc<Cluster>,
    target: &Target,
    name: Option<String>,
    query: &Query,
) -> Response<Payload> {
    let since: u64 = query
        .get("resourceVersion")
        .and_then(|rv| rv.parse().ok())
        .unwrap_or_default();
    let lasts = query
        .get("timeoutSeconds")
        .and_then(|s| s.parse().ok())
        .map_or(DEFAULT_WATCH, Duration::from_secs)
        .min(DEFAULT_WATCH);
    let target = target.named(name);
    let (events, stream) = mpsc::channel(64);
    tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + lasts;
        let virtual_time = cluster.is_virtual();
        let send = |kind: &str, object: &Value| {
            let line = format!("{}\n", json!({"type": kind, "object": object}));
            events.blocking_send(Bytes::from(line)).is_ok()
        };
        // Objects deleted between the client's list and this watch are still reported.
        let mut known: BTreeMap<(String, String), Value> = cluster
            .deleted_since(&target.gvr, since)
            .into_iter()
            .filter(|o| target.addresses(o))
            .map(|o| (key(&o), o))
            .collect();
        let mut seen = since;
        loop {
            let current: BTreeMap<_, _> = matching(&cluster, &target)
                .into_iter()
                .map(|o| (key(&o), o))
                .collect();
            for (key, object) in &current {
                let changed = known
                    .get(key)
                    .map_or(resource_version(object) > since, |old| {
                        resource_version(old) != resource_version(object)
                    });
                if changed && !send("MODIFIED", object) {
                    return;
                }
            }
            for (key, object) in &known {
                if !current.contains_key(key) && !send("DELETED", object) {
                    return;
                }
            }
            known = current;
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() || events.is_closed() {
                return;
            }
            // Wake up now and then to notice a client that went away. On virtual time the
            // clock moves only for a client still waiting after a quiet spell, not for one
            // that got its answer and is closing the watch.
            let quiet = if virtual_time {
                VIRTUAL_GRACE
            } else {
                Duration::from_secs(1)
            };
            let revision = cluster.wait_for_change(seen, left.min(quiet));
            if revision == seen && virtual_time && !events.is_closed() {
                cluster.advance_to_next_event();
            }
            seen = revision;
        }
    });
    let mut response = Response::new(Payload::Events(stream));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_address_resources() {
        let t = target("/api/v1/namespaces/app/persistentvolumeclaims/data").unwrap();
        assert_eq!(t.gvr.resource, "persistentvolumeclaims");
        assert_eq!(t.namespace.as_deref(), Some("app"));
        assert_eq!(t.name.as_deref(), Some("data"));
        let t = target("/api/v1/namespaces/app").unwrap();
        assert_eq!(t.gvr.resource, "namespaces");
        assert_eq!((t.namespace, t.name.as_deref()), (None, Some("app")));
        let t = target("/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents").unwrap();
        assert_eq!((t.namespace, t.name), (None, None));
        assert!(target("/apis/snapshot.storage.k8s.io/v1beta1/volumesnapshots").is_none());
        assert!(target("/api/v1/namespaces/app/pods/p/status").is_none());
        assert!(target("/version").is_none());
    }
}
