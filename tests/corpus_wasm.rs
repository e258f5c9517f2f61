//! The scenario corpus, run through the embedded component under wasmtime: each call goes
//! through the host's runtime and its capability-checked `kube` import to the same
//! simulated cluster the native runner uses, with the same expectations.

use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use scenarios::{CallKind, Identifier, Outcome, Progress, Request};
use sim_cluster::{Cluster as SimCluster, Gvr, SimError};
use velero_plugin_for_csi::logging::{LogSink, Record};
use velero_plugin_for_csi::wasm::bindings::{
    ActionKind, ApiResource, Condition, Datetime, KubeError, ObjectRef, OperationProgress,
    ResourceIdentifier, RestoreInput,
};
use velero_plugin_for_csi::wasm::{Cluster, ClusterFuture, GuestRuntime, HostServices, WallClock};

/// 2024-05-01T09:30:00Z: the spec's frozen clock.
const FROZEN_NOW: i64 = 1_714_555_800;

/// The host's view of the simulated cluster for one scenario.
struct Simulated(Arc<SimCluster>);

fn gvr(api: &ApiResource) -> Gvr {
    Gvr::new(&api.group, &api.version, &api.resource)
}

fn kube_error(error: SimError) -> KubeError {
    match error {
        SimError::NotFound(m) => KubeError::NotFound(m),
        SimError::AlreadyExists(m) => KubeError::AlreadyExists(m),
        SimError::Conflict(m) => KubeError::Conflict(m),
        SimError::Forbidden(m) => KubeError::Forbidden(m),
        SimError::Invalid(m) => KubeError::Invalid(m),
        SimError::Timeout(m) => KubeError::Timeout(m),
        SimError::Unavailable(m) => KubeError::Unavailable(m),
        SimError::Other(m) => KubeError::Other(m),
    }
}

fn parse(json: &str) -> Result<serde_json::Value, KubeError> {
    serde_json::from_str(json).map_err(|e| KubeError::Invalid(e.to_string()))
}

fn ready<T: Send + 'static>(result: Result<T, KubeError>) -> ClusterFuture<'static, T> {
    Box::pin(async move { result })
}

impl Cluster for Simulated {
    fn get(&self, t: ObjectRef) -> ClusterFuture<'_, String> {
        ready(
            self.0
                .get(&gvr(&t.api), t.namespace.as_deref(), &t.name)
                .map(|o| o.to_string())
                .map_err(kube_error),
        )
    }

    fn list(
        &self,
        api: ApiResource,
        namespace: Option<String>,
        selector: Option<String>,
    ) -> ClusterFuture<'_, Vec<String>> {
        let result = self
            .0
            .list(&gvr(&api), namespace.as_deref(), selector.as_deref());
        ready(
            result
                .map(|items| items.iter().map(ToString::to_string).collect())
                .map_err(kube_error),
        )
    }

    fn create(
        &self,
        api: ApiResource,
        namespace: Option<String>,
        object: String,
    ) -> ClusterFuture<'_, String> {
        let result = parse(&object).and_then(|o| {
            self.0
                .create(&gvr(&api), namespace.as_deref(), o)
                .map_err(kube_error)
        });
        ready(result.map(|o| o.to_string()))
    }

    fn merge_patch(&self, t: ObjectRef, patch: String) -> ClusterFuture<'_, String> {
        let result = parse(&patch).and_then(|p| {
            self.0
                .merge_patch(&gvr(&t.api), t.namespace.as_deref(), &t.name, &p)
                .map_err(kube_error)
        });
        ready(result.map(|o| o.to_string()))
    }

    fn delete(&self, t: ObjectRef) -> ClusterFuture<'_, ()> {
        ready(
            self.0
                .delete(&gvr(&t.api), t.namespace.as_deref(), &t.name)
                .map_err(kube_error),
        )
    }

    fn wait_until(
        &self,
        t: ObjectRef,
        condition: Condition,
        timeout: Duration,
    ) -> ClusterFuture<'_, Option<String>> {
        let condition = match condition {
            Condition::FieldPresent(pointer) => Ok(sim_cluster::Condition::FieldPresent(pointer)),
            Condition::FieldEquals(field) => parse(&field.value)
                .map(|value| sim_cluster::Condition::FieldEquals(field.pointer, value)),
            Condition::Deleted => Ok(sim_cluster::Condition::Deleted),
        };
        let result = condition.and_then(|c| {
            self.0
                .wait_until(&gvr(&t.api), t.namespace.as_deref(), &t.name, &c, timeout)
                .map_err(kube_error)
        });
        ready(result.map(|o| o.map(|o| o.to_string())))
    }
}

/// The frozen clock, so that operation IDs are deterministic.
struct Frozen;

impl WallClock for Frozen {
    fn now(&self) -> Datetime {
        Datetime {
            seconds: FROZEN_NOW,
            nanos: 0,
            utc_offset_seconds: 0,
        }
    }
}

/// Guest logs are not part of the expectations.
struct Discard;

impl LogSink for Discard {
    fn log(&self, _: Record) {}
}

fn ids(ids: Vec<ResourceIdentifier>) -> Vec<Identifier> {
    ids.into_iter()
        .map(|i| Identifier {
            group: i.group,
            resource: i.resource,
            namespace: i.namespace,
            name: i.name,
        })
        .collect()
}

fn rfc3339(t: Option<Datetime>) -> Option<String> {
    t.map(|t| sim_cluster::format_utc(t.seconds))
}

fn progress(p: OperationProgress) -> Progress {
    Progress {
        completed: p.completed,
        err: p.err,
        n_completed: p.n_completed,
        n_total: p.n_total,
        operation_units: p.operation_units,
        description: p.description,
        started: rfc3339(p.started),
        updated: rfc3339(p.updated),
    }
}

async fn drive(scenario: &Request, cluster: Arc<SimCluster>) -> Result<Outcome, String> {
    let services = HostServices {
        cluster: Arc::new(Simulated(cluster)),
        logger: Arc::new(Discard),
        clock: Arc::new(Frozen),
    };
    let runtime = GuestRuntime::embedded(services)
        .await
        .map_err(|e| e.to_string())?;
    let input = &scenario.input;
    let action = scenario.action.as_str();
    let kind = runtime
        .actions()
        .iter()
        .find(|a| a.name == action)
        .map(|a| a.kind)
        .ok_or_else(|| format!("the component lists no action {action}"))?;
    let outcome = match (scenario.call, kind) {
        (CallKind::Execute, ActionKind::BackupItemActionV2) => runtime
            .execute_backup(action, &input.item, &input.owner)
            .await
            .map(|o| Outcome {
                item: Some(o.item),
                additional_items: ids(o.additional_items),
                operation_id: o.operation_id,
                post_operation_items: ids(o.post_operation_items),
                ..Outcome::default()
            }),
        (CallKind::Execute, ActionKind::RestoreItemActionV2) => {
            let request = RestoreInput {
                item: input.item.clone(),
                item_from_backup: input.item_from_backup.clone(),
                restore: input.owner.clone(),
            };
            runtime
                .execute_restore(action, &request)
                .await
                .map(|o| Outcome {
                    item: Some(o.item),
                    additional_items: ids(o.additional_items),
                    operation_id: o.operation_id,
                    skip_restore: o.skip_restore,
                    ..Outcome::default()
                })
        }
        (CallKind::Execute, ActionKind::DeleteItemAction) => runtime
            .execute_delete(action, &input.item, &input.owner)
            .await
            .map(|()| Outcome::default()),
        (CallKind::Progress, _) => runtime
            .progress(action, &input.operation_id, &input.owner)
            .await
            .map(|p| Outcome {
                progress: Some(progress(p)),
                ..Outcome::default()
            }),
        (CallKind::Cancel, _) => runtime
            .cancel(action, &input.operation_id, &input.owner)
            .await
            .map(|()| Outcome::default()),
        (CallKind::Ready, _) => {
            let items: Vec<_> = input
                .additional_items
                .iter()
                .map(|i| ResourceIdentifier {
                    group: i.group.clone(),
                    resource: i.resource.clone(),
                    namespace: i.namespace.clone(),
                    name: i.name.clone(),
                })
                .collect();
            runtime
                .are_additional_items_ready(action, &items, &input.owner)
                .await
                .map(|ready| Outcome {
                    ready: Some(ready),
                    ..Outcome::default()
                })
        }
    };
    outcome.map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    static TOKIO: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    scenarios::run(|scenario, cluster| {
        let tokio = TOKIO.get_or_init(|| tokio::runtime::Runtime::new().expect("tokio runtime"));
        tokio.block_on(drive(scenario, cluster))
    })
}
