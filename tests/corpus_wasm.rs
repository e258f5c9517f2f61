//! The scenario corpus, run through the embedded component under wasmtime: each call goes
//! through the host's runtime and its capability-checked `kube` import to the same
//! simulated cluster the native runner uses, with the same expectations.

use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sim_cluster::{Cluster as SimCluster, Gvr};
use velero_plugin_for_csi::bindings::{ApiResource, Condition, KubeError, ObjectRef};
use velero_plugin_for_csi::kubeapi::{KubeFuture, Kubernetes};

#[path = "support/corpus_guest.rs"]
mod corpus_guest;

/// The host's view of the simulated cluster for one scenario.
struct Simulated(Arc<SimCluster>);

fn gvr(api: &ApiResource) -> Gvr {
    Gvr::new(&api.group, &api.version, &api.resource)
}

sim_cluster::kube_error_from_sim!(fn kube_error -> KubeError);

fn parse(json: &str) -> Result<serde_json::Value, KubeError> {
    serde_json::from_str(json).map_err(|e| KubeError::Invalid(e.to_string()))
}

fn ready<T: Send + 'static>(result: Result<T, KubeError>) -> KubeFuture<'static, T> {
    Box::pin(async move { result })
}

impl Kubernetes for Simulated {
    fn get(&self, t: ObjectRef) -> KubeFuture<'_, String> {
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
    ) -> KubeFuture<'_, Vec<String>> {
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
    ) -> KubeFuture<'_, String> {
        let result = parse(&object).and_then(|o| {
            self.0
                .create(&gvr(&api), namespace.as_deref(), o)
                .map_err(kube_error)
        });
        ready(result.map(|o| o.to_string()))
    }

    fn merge_patch(&self, t: ObjectRef, patch: String) -> KubeFuture<'_, String> {
        let result = parse(&patch).and_then(|p| {
            self.0
                .merge_patch(&gvr(&t.api), t.namespace.as_deref(), &t.name, &p)
                .map_err(kube_error)
        });
        ready(result.map(|o| o.to_string()))
    }

    fn delete(&self, t: ObjectRef) -> KubeFuture<'_, ()> {
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
    ) -> KubeFuture<'_, Option<String>> {
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

fn main() -> ExitCode {
    static TOKIO: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    scenarios::run(|scenario, cluster| {
        let tokio = TOKIO.get_or_init(|| tokio::runtime::Runtime::new().expect("tokio runtime"));
        tokio.block_on(corpus_guest::drive(scenario, Arc::new(Simulated(cluster))))
    })
}
