//! The gRPC target's driver: Velero's requests, as protobuf messages in gRPC frames, served
//! in process by the plugin's own routes (the embedded component under wasmtime, its `kube`
//! import on the simulated cluster of the chosen scenario).

use std::pin::pin;
use std::sync::{Arc, Mutex, OnceLock};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use csi_common::actions::{Action, Kind, NameSet};
use http_body_util::{BodyExt, Full};
use prost::Message;
use scenarios::{CallKind, Request};
use sim_cluster::Cluster;
use tonic::service::Routes;
use tower::ServiceExt;
use velero_plugin_for_csi::bindings::velero::csi::server::ServerSettings;
use velero_plugin_for_csi::bindings::{ApiResource, Condition, KubeError, ObjectRef};
use velero_plugin_for_csi::imports::HostServices;
use velero_plugin_for_csi::imports::clock::SystemClock;
use velero_plugin_for_csi::kubeapi::{KubeFuture, Kubernetes};
use velero_plugin_for_csi::logging::{LogSink, Record};
use velero_plugin_for_csi::proto::{generated, v2};
use velero_plugin_for_csi::router::overrides::OverridesConfig;
use velero_plugin_for_csi::router::{ActiveNames, Chosen, Router};
use velero_plugin_for_csi::sandbox::GuestLimits;
use velero_plugin_for_csi::wire::velero::VeleroServices;

use crate::simulated::Simulated;

/// Velero's methods, by the input's method byte (low nibble, modulo the count).
pub const METHODS: [&str; 12] = [
    "/generated.PluginLister/ListPlugins",
    "/v2.BackupItemAction/AppliesTo",
    "/v2.BackupItemAction/Execute",
    "/v2.BackupItemAction/Progress",
    "/v2.BackupItemAction/Cancel",
    "/v2.RestoreItemAction/AppliesTo",
    "/v2.RestoreItemAction/Execute",
    "/v2.RestoreItemAction/Progress",
    "/v2.RestoreItemAction/Cancel",
    "/v2.RestoreItemAction/AreAdditionalItemsReady",
    "/generated.DeleteItemAction/AppliesTo",
    "/generated.DeleteItemAction/Execute",
];

/// The high bit of the method byte: the routes of the modern name set.
const MODERN: u8 = 0x80;

/// The longest `grpc-message` the plugin may send (encoded), from the wire layer's bound.
const MAX_GRPC_MESSAGE: usize = 1900;

/// The cluster the current input runs against; each input gets its scenario's own.
struct Current(Mutex<Arc<Cluster>>);

impl Current {
    fn set(&self, cluster: Arc<Cluster>) {
        if let Ok(mut current) = self.0.lock() {
            *current = cluster;
        }
    }

    /// The simulated cluster answers at once: its answer, detached from the borrow.
    fn answer<T: Send + 'static>(
        &self,
        call: impl for<'a> FnOnce(&'a Simulated) -> KubeFuture<'a, T>,
    ) -> KubeFuture<'static, T> {
        let cluster = match self.0.lock() {
            Ok(current) => current.clone(),
            Err(_) => return Box::pin(async { Err(KubeError::Other("poisoned".into())) }),
        };
        let simulated = Simulated(cluster);
        let mut future = pin!(call(&simulated));
        let result = match future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
        {
            Poll::Ready(result) => result,
            Poll::Pending => Err(KubeError::Other(
                "the simulated cluster did not answer".into(),
            )),
        };
        Box::pin(async move { result })
    }
}

impl Kubernetes for Current {
    fn get(&self, target: ObjectRef) -> KubeFuture<'_, String> {
        self.answer(|s| s.get(target))
    }

    fn list(
        &self,
        api: ApiResource,
        namespace: Option<String>,
        selector: Option<String>,
    ) -> KubeFuture<'_, Vec<String>> {
        self.answer(|s| s.list(api, namespace, selector))
    }

    fn create(
        &self,
        api: ApiResource,
        namespace: Option<String>,
        object: String,
    ) -> KubeFuture<'_, String> {
        self.answer(|s| s.create(api, namespace, object))
    }

    fn merge_patch(&self, target: ObjectRef, patch: String) -> KubeFuture<'_, String> {
        self.answer(|s| s.merge_patch(target, patch))
    }

    fn delete(&self, target: ObjectRef) -> KubeFuture<'_, ()> {
        self.answer(|s| s.delete(target))
    }

    fn wait_until(
        &self,
        target: ObjectRef,
        condition: Condition,
        timeout: Duration,
    ) -> KubeFuture<'_, Option<String>> {
        self.answer(|s| s.wait_until(target, condition, timeout))
    }
}

/// The guest's log goes nowhere: the target looks at answers only.
struct Discard;

impl LogSink for Discard {
    fn log(&self, _: Record) {}
}

/// The plugin's routes for both name sets, over one swappable cluster.
struct Plugin {
    tokio: tokio::runtime::Runtime,
    cluster: Arc<Current>,
    routes: [Routes; 2],
}

fn plugin() -> &'static Plugin {
    static PLUGIN: OnceLock<Plugin> = OnceLock::new();
    PLUGIN.get_or_init(|| {
        let tokio = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("tokio: {e}"));
        let cluster = Arc::new(Current(Mutex::new(Arc::new(Cluster::new()))));
        let routes = [NameSet::V071, NameSet::Modern].map(|set| {
            let services = HostServices {
                cluster: cluster.clone(),
                logger: Arc::new(Discard),
                clock: Arc::new(SystemClock),
                server: ServerSettings::none(),
            };
            let router = Router::new(
                services,
                GuestLimits::DEFAULT,
                4,
                OverridesConfig::default(),
                ActiveNames::fixed(set, Chosen::FromEnv),
            );
            VeleroServices::new("velero-plugin-for-csi".into(), Arc::new(router)).routes()
        });
        Plugin {
            tokio,
            cluster,
            routes,
        }
    })
}

/// One input of the gRPC target. A finding: a panic, a hang, a guest that trapped (ABORTED)
/// or hit a sandbox limit (RESOURCE_EXHAUSTED), or a `grpc-message` over the bound.
pub fn run(data: &[u8]) {
    let [method, low, high, message @ ..] = data else {
        return;
    };
    let plugin = plugin();
    let starts = crate::all_starts();
    if let Some(count) = std::num::NonZeroUsize::new(starts.len()) {
        let index = usize::from(u16::from_le_bytes([*low, *high])) % count;
        plugin.cluster.set(starts[index].scenario.cluster());
    }
    let path = METHODS[usize::from(method & 0x0F) % METHODS.len()];
    let routes = plugin.routes[usize::from(method & MODERN != 0)].clone();
    let mut frame = Vec::with_capacity(message.len() + 5);
    frame.push(0);
    frame.extend_from_slice(
        &u32::try_from(message.len())
            .unwrap_or(u32::MAX)
            .to_be_bytes(),
    );
    frame.extend_from_slice(message);
    let request = http::Request::builder()
        .method("POST")
        .uri(path)
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .body(Full::new(Bytes::from(frame)))
        .unwrap_or_else(|e| panic!("request: {e}"));
    plugin.tokio.block_on(async {
        let Ok(response) = routes.oneshot(request).await;
        let (parts, body) = response.into_parts();
        let trailers = body
            .collect()
            .await
            .ok()
            .and_then(|collected| collected.trailers().cloned());
        let headers = trailers.as_ref().unwrap_or(&parts.headers);
        let status = headers
            .get("grpc-status")
            .or_else(|| parts.headers.get("grpc-status"))
            .and_then(|v| v.to_str().ok())
            .unwrap_or("0");
        let message = headers
            .get("grpc-message")
            .or_else(|| parts.headers.get("grpc-message"));
        assert!(
            status != "10" && status != "8",
            "{path}: status {status}: {message:?}"
        );
        if let Some(message) = message {
            assert!(
                message.len() <= MAX_GRPC_MESSAGE,
                "{path}: {} bytes",
                message.len()
            );
        }
    });
}

/// The seeds of the gRPC target: `ListPlugins` for both name sets, and each corpus
/// scenario's first call with its action's `AppliesTo`.
pub fn all_seeds() -> Vec<Vec<u8>> {
    let mut all = vec![vec![0, 0, 0], vec![MODERN, 0, 0]];
    for (index, start) in crate::all_starts().iter().enumerate() {
        all.extend(seeds(index, &start.request));
    }
    all
}

/// The seeds of the HTTP/2 target: the gRPC target's requests as a client sends them on the
/// socket (preface, SETTINGS, HEADERS, DATA), their `:authority` the socket path, gRPC
/// C-core's percent-encoded path or `localhost` in turn, several requests per connection so
/// that the client's dynamic table is used.
pub fn http2_seeds() -> Vec<Vec<u8>> {
    const AUTHORITIES: [&str; 3] = ["/tmp/plugin1/plugin", "tmp%2Fplugin1%2Fplugin", "localhost"];
    let requests = all_seeds();
    requests
        .chunks(5)
        .enumerate()
        .map(|(at, chunk)| {
            let mut encoder = fluke_hpack::Encoder::new();
            let mut bytes = vec![0xff];
            bytes.extend_from_slice(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
            bytes.extend(frame(0x4, 0, 0, &[]));
            for (i, seed) in chunk.iter().enumerate() {
                let [method, _, _, message @ ..] = &seed[..] else {
                    continue;
                };
                let stream = u32::try_from(1 + 2 * i).unwrap_or(1);
                let path = METHODS[usize::from(method & 0x0F) % METHODS.len()];
                let authority = AUTHORITIES[(at + i) % AUTHORITIES.len()];
                let headers = [
                    (":method", "POST"),
                    (":scheme", "http"),
                    (":path", path),
                    (":authority", authority),
                    ("content-type", "application/grpc"),
                    ("te", "trailers"),
                ];
                let block =
                    encoder.encode(headers.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())));
                bytes.extend(frame(0x1, 0x4, stream, &block));
                let mut data = vec![0];
                data.extend_from_slice(&u32::try_from(message.len()).unwrap_or(0).to_be_bytes());
                data.extend_from_slice(message);
                bytes.extend(frame(0x0, 0x1, stream, &data));
            }
            bytes
        })
        .collect()
}

/// An HTTP/2 frame (RFC 9113 section 4.1).
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let length = u32::try_from(payload.len()).unwrap_or(0).to_be_bytes();
    let mut out = vec![length[1], length[2], length[3], kind, flags];
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// The seeds of the gRPC target for the scenario at `index`: its first call as Velero sends
/// it, and the AppliesTo of its action.
fn seeds(index: usize, request: &Request) -> Vec<Vec<u8>> {
    let Some(action) = Action::from_name(&request.action) else {
        return Vec::new();
    };
    let set = if action.set() == NameSet::Modern {
        MODERN
    } else {
        0
    };
    let plugin = request.action.clone();
    let input = &request.input;
    let bytes = |text: &str| text.as_bytes().to_vec();
    let (applies_to, call): (usize, Option<(usize, Vec<u8>)>) = match (action.kind(), request.call)
    {
        (Kind::BackupItemActionV2, CallKind::Execute) => (
            1,
            Some((
                2,
                v2::ExecuteRequest {
                    plugin: plugin.clone(),
                    item: bytes(&input.item),
                    backup: bytes(&input.owner),
                }
                .encode_to_vec(),
            )),
        ),
        (Kind::BackupItemActionV2, CallKind::Progress) => (
            1,
            Some((
                3,
                v2::BackupItemActionProgressRequest {
                    plugin: plugin.clone(),
                    operation_id: input.operation_id.clone(),
                    backup: bytes(&input.owner),
                }
                .encode_to_vec(),
            )),
        ),
        (Kind::BackupItemActionV2, _) => (
            1,
            Some((
                4,
                v2::BackupItemActionCancelRequest {
                    plugin: plugin.clone(),
                    operation_id: input.operation_id.clone(),
                    backup: bytes(&input.owner),
                }
                .encode_to_vec(),
            )),
        ),
        (Kind::RestoreItemActionV2, CallKind::Execute) => (
            5,
            Some((
                6,
                v2::RestoreItemActionExecuteRequest {
                    plugin: plugin.clone(),
                    item: bytes(&input.item),
                    restore: bytes(&input.owner),
                    item_from_backup: bytes(&input.item_from_backup),
                }
                .encode_to_vec(),
            )),
        ),
        (Kind::RestoreItemActionV2, CallKind::Progress) => (
            5,
            Some((
                7,
                v2::RestoreItemActionProgressRequest {
                    plugin: plugin.clone(),
                    operation_id: input.operation_id.clone(),
                    restore: bytes(&input.owner),
                }
                .encode_to_vec(),
            )),
        ),
        (Kind::RestoreItemActionV2, CallKind::Cancel) => (
            5,
            Some((
                8,
                v2::RestoreItemActionCancelRequest {
                    plugin: plugin.clone(),
                    operation_id: input.operation_id.clone(),
                    restore: bytes(&input.owner),
                }
                .encode_to_vec(),
            )),
        ),
        (Kind::RestoreItemActionV2, CallKind::Ready) => (
            5,
            Some((
                9,
                v2::RestoreItemActionItemsReadyRequest {
                    plugin: plugin.clone(),
                    restore: bytes(&input.owner),
                    additional_items: input
                        .additional_items
                        .iter()
                        .map(|i| generated::ResourceIdentifier {
                            group: i.group.clone(),
                            resource: i.resource.clone(),
                            namespace: i.namespace.clone(),
                            name: i.name.clone(),
                        })
                        .collect(),
                }
                .encode_to_vec(),
            )),
        ),
        (Kind::DeleteItemAction, _) => (
            10,
            Some((
                11,
                generated::DeleteItemActionExecuteRequest {
                    plugin: plugin.clone(),
                    item: bytes(&input.item),
                    backup: bytes(&input.owner),
                }
                .encode_to_vec(),
            )),
        ),
    };
    let scenario = u16::try_from(index).unwrap_or(u16::MAX).to_le_bytes();
    let framed = |method: usize, message: Vec<u8>| {
        let mut seed = vec![u8::try_from(method).unwrap_or(0) | set];
        seed.extend_from_slice(&scenario);
        seed.extend(message);
        seed
    };
    let applies = v2::BackupItemActionAppliesToRequest { plugin }.encode_to_vec();
    let mut seeds = vec![framed(applies_to, applies)];
    seeds.extend(call.map(|(method, message)| framed(method, message)));
    seeds
}
