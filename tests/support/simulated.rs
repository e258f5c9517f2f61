//! The host's `Kubernetes` over the simulated cluster, in process: the corpus under wasmtime
//! and the host's fuzz target give the component this cluster.

use std::sync::Arc;
use std::time::Duration;

use sim_cluster::{Cluster as SimCluster, Gvr};
use velero_plugin_for_csi::bindings::{ApiResource, Condition, KubeError, ObjectRef};
use velero_plugin_for_csi::kubeapi::{KubeFuture, Kubernetes};

/// The host's view of the simulated cluster for one scenario.
pub struct Simulated(pub Arc<SimCluster>);

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
