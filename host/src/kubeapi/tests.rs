//! The kube-backed cluster against a mocked API server.

use std::sync::{Arc, Mutex};

use serde_json::json;
use tokio::time::Instant;

use super::*;

fn status(code: u16, reason: &str) -> kube::Error {
    kube::Error::Api(Box::new(core::Status {
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

/// What the mocked API server answers: a status and a body, or a dropped connection (`None`).
type Reply = Option<(u16, Value)>;

/// The requests the mocked API server saw, as "METHOD uri".
type Seen = Arc<Mutex<Vec<String>>>;

/// A client whose "API server" records each request and answers with `respond`, which
/// also gets the request's body.
fn scripted_client(
    respond: impl FnMut(&http::Method, &str, &[u8]) -> Reply + Send + 'static,
) -> (Client, Seen) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let respond = Arc::new(Mutex::new(respond));
    let service = tower::service_fn(move |request: http::Request<kube::client::Body>| {
        let (respond, record) = (respond.clone(), record.clone());
        async move {
            let (parts, body) = request.into_parts();
            let uri = parts.uri.to_string();
            let body = body.collect_bytes().await.unwrap();
            record
                .lock()
                .unwrap()
                .push(format!("{} {uri}", parts.method));
            let reply = (*respond.lock().unwrap())(&parts.method, &uri, &body);
            match reply {
                Some((code, body)) => Ok(http::Response::builder()
                    .status(code)
                    .header("content-type", "application/json")
                    .body(kube::client::Body::from(body.to_string().into_bytes()))
                    .unwrap()),
                None => Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "connection reset by peer",
                )),
            }
        }
    });
    (Client::new(service, "default"), seen)
}

/// A client whose "API server" records each request and answers with `respond`.
fn mock_client(
    respond: impl Fn(&http::Method, &str) -> (u16, Value) + Send + 'static,
) -> (Client, Seen) {
    scripted_client(move |method, uri, _| Some(respond(method, uri)))
}

/// An API error answer.
fn failure(code: u16, reason: &str, message: &str) -> Reply {
    Some((
        code,
        json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason,
               "code": code, "message": message}),
    ))
}

fn list_of(items: &[Value]) -> Value {
    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "7"}, "items": items})
}

fn requests(seen: &Seen) -> Vec<String> {
    seen.lock().unwrap().clone()
}

fn count(seen: &Seen, method: &str) -> usize {
    requests(seen)
        .iter()
        .filter(|r| r.starts_with(&format!("{method} ")))
        .count()
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
            format!("POST {base}?&fieldManager={FIELD_MANAGER}"),
            format!("PATCH {base}/a?&fieldManager={FIELD_MANAGER}"),
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
        !seen.iter().any(|r| r
            .starts_with("GET /apis/snapshot.storage.k8s.io/v1/namespaces/app/volumesnapshots/a")),
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

#[tokio::test]
async fn merge_patch_conflicts_are_retried() {
    let mut patches = 0;
    let (client, seen) = scripted_client(move |_, _, _| {
        patches += 1;
        match patches {
            1 => failure(409, "Conflict", "the object has been modified"),
            _ => Some((200, snapshot("a"))),
        }
    });
    let api = KubeApi::with_client(client);
    api.merge_patch(target("a"), r#"{"metadata":{"labels":{"x":"y"}}}"#.into())
        .await
        .unwrap();
    assert_eq!(count(&seen, "PATCH"), 2, "{:?}", requests(&seen));
}

#[tokio::test]
async fn unavailable_gets_are_retried() {
    let mut gets = 0;
    let (client, seen) = scripted_client(move |_, _, _| {
        gets += 1;
        match gets {
            1 => failure(503, "ServiceUnavailable", "the server is shutting down"),
            _ => Some((200, snapshot("a"))),
        }
    });
    let api = KubeApi::with_client(client);
    api.get(target("a")).await.unwrap();
    assert_eq!(count(&seen, "GET"), 2);
}

#[tokio::test]
async fn dropped_connections_are_retried() {
    let mut gets = 0;
    let (client, seen) = scripted_client(move |_, _, _| {
        gets += 1;
        (gets > 1).then(|| (200, snapshot("a")))
    });
    let api = KubeApi::with_client(client);
    api.get(target("a")).await.unwrap();
    assert_eq!(count(&seen, "GET"), 2);
}

#[tokio::test]
async fn not_found_is_not_retried() {
    let (client, seen) =
        scripted_client(|_, _, _| failure(404, "NotFound", "volumesnapshots \"a\" not found"));
    let api = KubeApi::with_client(client);
    let error = api.get(target("a")).await.unwrap_err();
    assert_eq!(
        error,
        KubeError::NotFound("volumesnapshots \"a\" not found".into())
    );
    assert_eq!(count(&seen, "GET"), 1);
}

#[tokio::test]
async fn forbidden_is_not_retried() {
    let message = "volumesnapshots is forbidden: User \"velero\" cannot patch resource";
    let (client, seen) = scripted_client(move |_, _, _| failure(403, "Forbidden", message));
    let api = KubeApi::with_client(client);
    let error = api.merge_patch(target("a"), "{}".into()).await.unwrap_err();
    assert_eq!(error, KubeError::Forbidden(message.into()));
    assert_eq!(count(&seen, "PATCH"), 1);
}

#[tokio::test]
async fn exhausted_retries_are_unavailable_with_the_server_message() {
    let (client, seen) =
        scripted_client(|_, _, _| failure(503, "ServiceUnavailable", "etcdserver: leader changed"));
    let api = KubeApi::with_client(client);
    let error = api.get(target("a")).await.unwrap_err();
    assert_eq!(
        error,
        KubeError::Unavailable("etcdserver: leader changed".into())
    );
    assert_eq!(count(&seen, "GET"), retry::MAX_ATTEMPTS as usize);
}

/// A snapshot to be named by the server, labelled with its backup.
fn generated() -> Value {
    json!({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
           "metadata": {"generateName": "velero-data-", "namespace": "app",
                        "labels": {"velero.io/backup-name": "b1"}},
           "spec": {"source": {"persistentVolumeClaimName": "data"}}})
}

/// The object a create's body asks for, named from its `generateName`.
fn named_by_server(body: &[u8], suffix: &str) -> Value {
    let mut object: Value = serde_json::from_slice(body).unwrap();
    let prefix = object["metadata"]["generateName"]
        .as_str()
        .unwrap()
        .to_owned();
    object["metadata"]["name"] = json!(format!("{prefix}{suffix}"));
    object
}

#[tokio::test]
async fn generated_create_whose_answer_was_lost_is_found_by_label() {
    // An earlier snapshot of the same backup exists; the create succeeds on the server,
    // but its answer is a 503.
    let mut stored = vec![
        json!({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
               "metadata": {"name": "velero-data-old01", "namespace": "app",
                            "labels": {"velero.io/backup-name": "b1"}}}),
    ];
    let (client, seen) = scripted_client(move |method, uri, body| match method.as_str() {
        "POST" => {
            stored.push(named_by_server(body, "x7k2p"));
            failure(503, "ServiceUnavailable", "the answer was lost")
        }
        "GET" if uri.contains("labelSelector=velero.io%2Fbackup-name%3Db1") => {
            Some((200, list_of(&stored)))
        }
        _ => failure(400, "BadRequest", "unexpected request"),
    });
    let api = KubeApi::with_client(client);
    let created = api
        .create(snapshots(), Some("app".into()), generated().to_string())
        .await
        .unwrap();
    let created: Value = serde_json::from_str(&created).unwrap();
    assert_eq!(created["metadata"]["name"], "velero-data-x7k2p");
    let base = "/apis/snapshot.storage.k8s.io/v1/namespaces/app/volumesnapshots";
    let list = format!("GET {base}?&labelSelector=velero.io%2Fbackup-name%3Db1");
    assert_eq!(
        requests(&seen),
        [
            list.clone(),
            format!("POST {base}?&fieldManager={FIELD_MANAGER}"),
            list
        ],
        "no second create"
    );
}

#[tokio::test]
async fn generated_create_that_created_nothing_is_retried() {
    let mut stored = Vec::new();
    let mut posts = 0;
    let (client, seen) = scripted_client(move |method, _, body| match method.as_str() {
        "POST" => {
            posts += 1;
            if posts == 1 {
                return failure(503, "ServiceUnavailable", "try again");
            }
            let object = named_by_server(body, "q9z");
            stored.push(object.clone());
            Some((201, object))
        }
        _ => Some((200, list_of(&stored))),
    });
    let api = KubeApi::with_client(client);
    let created = api
        .create(snapshots(), Some("app".into()), generated().to_string())
        .await
        .unwrap();
    assert!(created.contains("velero-data-q9z"), "{created}");
    assert_eq!(count(&seen, "POST"), 2, "{:?}", requests(&seen));
}

#[tokio::test]
async fn generated_create_with_an_ambiguous_outcome_fails() {
    // Two new objects with the prefix appeared: which one is ours is unknown.
    let mut stored = Vec::new();
    let (client, seen) = scripted_client(move |method, _, body| match method.as_str() {
        "POST" => {
            stored.push(named_by_server(body, "one"));
            stored.push(named_by_server(body, "two"));
            failure(503, "ServiceUnavailable", "the answer was lost")
        }
        _ => Some((200, list_of(&stored))),
    });
    let api = KubeApi::with_client(client);
    let error = api
        .create(snapshots(), Some("app".into()), generated().to_string())
        .await
        .unwrap_err();
    assert_eq!(error, KubeError::Unavailable("the answer was lost".into()));
    assert_eq!(count(&seen, "POST"), 1);
}

#[tokio::test]
async fn named_create_whose_answer_was_lost_is_read_back() {
    let mut posts = 0;
    let (client, seen) = scripted_client(move |method, _, _| match method.as_str() {
        "POST" => {
            posts += 1;
            match posts {
                1 => failure(504, "Timeout", "the answer was lost"),
                _ => failure(409, "AlreadyExists", "volumesnapshots \"a\" already exists"),
            }
        }
        _ => Some((200, snapshot("a"))),
    });
    let api = KubeApi::with_client(client);
    let created = api
        .create(snapshots(), Some("app".into()), snapshot("a").to_string())
        .await
        .unwrap();
    assert!(created.contains("futureField"), "{created}");
    let base = "/apis/snapshot.storage.k8s.io/v1/namespaces/app/volumesnapshots";
    assert_eq!(
        requests(&seen),
        [
            format!("POST {base}?&fieldManager={FIELD_MANAGER}"),
            format!("POST {base}?&fieldManager={FIELD_MANAGER}"),
            format!("GET {base}/a")
        ]
    );
}

#[tokio::test]
async fn definite_create_errors_are_not_retried() {
    let (client, seen) = scripted_client(|_, _, _| {
        failure(409, "AlreadyExists", "volumesnapshots \"a\" already exists")
    });
    let api = KubeApi::with_client(client);
    let error = api
        .create(snapshots(), Some("app".into()), snapshot("a").to_string())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        KubeError::AlreadyExists("volumesnapshots \"a\" already exists".into())
    );
    assert_eq!(requests(&seen).len(), 1, "no retry, no read-back");

    let (client, seen) = scripted_client(|method, _, _| match method.as_str() {
        "POST" => failure(422, "Invalid", "spec.source: Required value"),
        _ => Some((200, list_of(&[]))),
    });
    let api = KubeApi::with_client(client);
    let error = api
        .create(snapshots(), Some("app".into()), generated().to_string())
        .await
        .unwrap_err();
    assert_eq!(
        error,
        KubeError::Invalid("spec.source: Required value".into())
    );
    assert_eq!(count(&seen, "POST"), 1);
}

#[tokio::test]
async fn delete_whose_answer_was_lost_is_done() {
    let mut deletes = 0;
    let (client, seen) = scripted_client(move |_, _, _| {
        deletes += 1;
        match deletes {
            1 => failure(502, "", "bad gateway"),
            _ => failure(404, "NotFound", "volumesnapshots \"a\" not found"),
        }
    });
    let api = KubeApi::with_client(client);
    api.delete(target("a")).await.unwrap();
    assert_eq!(count(&seen, "DELETE"), 2);
}

#[tokio::test]
async fn waits_retry_a_failed_list() {
    let mut lists = 0;
    let (client, seen) = scripted_client(move |_, uri, _| {
        if uri.contains("watch=true") {
            return Some((
                200,
                json!({"type": "BOOKMARK", "object": {"kind": "VolumeSnapshot",
                       "apiVersion": "snapshot.storage.k8s.io/v1", "metadata": {"resourceVersion": "8"}}}),
            ));
        }
        lists += 1;
        match lists {
            1 => failure(429, "TooManyRequests", "slow down"),
            _ => Some((200, list_of(&[snapshot("a")]))),
        }
    });
    let api = KubeApi::with_client(client);
    let found = api
        .wait_until(
            target("a"),
            Condition::FieldPresent("/spec/source".into()),
            Duration::from_secs(5),
        )
        .await
        .unwrap();
    assert!(found.is_some());
    assert_eq!(count(&seen, "GET"), 2, "{:?}", requests(&seen));
}

#[tokio::test]
async fn waits_fail_on_definite_errors() {
    let (client, _) = scripted_client(|_, _, _| failure(403, "Forbidden", "cannot watch"));
    let api = KubeApi::with_client(client);
    let error = api
        .wait_until(target("a"), Condition::Deleted, Duration::from_secs(5))
        .await;
    assert_eq!(error, Err(KubeError::Forbidden("cannot watch".into())));
}

#[tokio::test]
async fn requests_beyond_the_burst_wait_for_tokens() {
    let times = Arc::new(Mutex::new(Vec::new()));
    let record = times.clone();
    let service = tower::service_fn(move |_: http::Request<kube::client::Body>| {
        record.lock().unwrap().push(Instant::now());
        async move {
            Ok::<_, std::convert::Infallible>(
                http::Response::builder()
                    .status(200)
                    .body(kube::client::Body::from(
                        snapshot("a").to_string().into_bytes(),
                    ))
                    .unwrap(),
            )
        }
    });
    let start = Instant::now();
    let limit = RateLimit::new(10.0, 2).unwrap();
    let client = ClientBuilder::new(service, "default")
        .with_layer(&RateLimitLayer::new(limit))
        .build();
    let api = KubeApi::with_client(client);
    for _ in 0..3 {
        api.get(target("a")).await.unwrap();
    }
    let times = times.lock().unwrap().clone();
    assert_eq!(times.len(), 3);
    // Two tokens at once, then one every 100 ms: the third request cannot start earlier.
    assert!(
        times[2] - start >= Duration::from_millis(95),
        "the third request waited {:?}",
        times[2] - start
    );
}
