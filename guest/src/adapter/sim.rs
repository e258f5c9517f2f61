//! [`Imports`] over the simulated cluster, for running the actions natively (feature `sim`).

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use sim_cluster::{Cluster, Gvr};

use crate::adapter::imports::{Datetime, Imports, Level, ServerSettings};
use crate::model::kube::{ApiResource, Condition, Kube, KubeError, ObjectRef};

/// 2024-05-01T09:30:00Z, the scenarios' frozen clock ([scenarios §5.0](../../../docs/scenarios.md#50-shared-fixtures)) for operation IDs.
pub const FROZEN_NOW: i64 = 1_714_555_800;

/// Runs actions against a simulated cluster, recording what they log.
pub struct SimImports {
    cluster: Arc<Cluster>,
    logs: RefCell<Vec<(Level, String)>>,
    now: Datetime,
    settings: ServerSettings,
}

impl SimImports {
    /// A host over `cluster` whose clock reads [`FROZEN_NOW`] in UTC.
    pub fn new(cluster: Arc<Cluster>) -> Self {
        Self {
            cluster,
            logs: RefCell::new(Vec::new()),
            now: Datetime {
                seconds: FROZEN_NOW,
                nanos: 0,
                utc_offset_seconds: 0,
            },
            settings: ServerSettings {
                features: Vec::new(),
                global_volume_policies: None,
            },
        }
    }

    /// The same host with the Velero server's `settings` (no features, no global volume
    /// policy unless given).
    pub fn with_settings(mut self, settings: ServerSettings) -> Self {
        self.settings = settings;
        self
    }

    /// The simulated cluster.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// Every record logged so far.
    pub fn logs(&self) -> Vec<(Level, String)> {
        self.logs.borrow().clone()
    }
}

fn gvr(api: &ApiResource) -> Gvr {
    Gvr::new(&api.group, &api.version, &api.resource)
}

sim_cluster::kube_error_from_sim!(fn kube_error -> KubeError);

/// The simulation's form of a wait condition.
fn sim_condition(condition: &Condition) -> Result<sim_cluster::Condition, KubeError> {
    Ok(match condition {
        Condition::FieldPresent(pointer) => sim_cluster::Condition::FieldPresent(pointer.clone()),
        Condition::FieldEquals(field) => {
            let value = serde_json::from_str(&field.value)
                .map_err(|e| KubeError::Invalid(format!("condition value is not JSON: {e}")))?;
            sim_cluster::Condition::FieldEquals(field.pointer.clone(), value)
        }
        Condition::Deleted => sim_cluster::Condition::Deleted,
    })
}

impl Kube for SimImports {
    fn get(&self, target: &ObjectRef) -> Result<Value, KubeError> {
        self.cluster
            .get(&gvr(&target.api), target.namespace.as_deref(), &target.name)
            .map_err(kube_error)
    }

    fn list(
        &self,
        api: &ApiResource,
        namespace: Option<&str>,
        label_selector: Option<&str>,
    ) -> Result<Vec<Value>, KubeError> {
        self.cluster
            .list(&gvr(api), namespace, label_selector)
            .map_err(kube_error)
    }

    fn create(
        &self,
        api: &ApiResource,
        namespace: Option<&str>,
        object: &Value,
    ) -> Result<Value, KubeError> {
        self.cluster
            .create(&gvr(api), namespace, object.clone())
            .map_err(kube_error)
    }

    fn merge_patch(&self, target: &ObjectRef, patch: &Value) -> Result<Value, KubeError> {
        self.cluster
            .merge_patch(
                &gvr(&target.api),
                target.namespace.as_deref(),
                &target.name,
                patch,
            )
            .map_err(kube_error)
    }

    fn delete(&self, target: &ObjectRef) -> Result<(), KubeError> {
        self.cluster
            .delete(&gvr(&target.api), target.namespace.as_deref(), &target.name)
            .map_err(kube_error)
    }

    fn wait_until(
        &self,
        target: &ObjectRef,
        condition: &Condition,
        timeout: Duration,
    ) -> Result<Option<Value>, KubeError> {
        let condition = sim_condition(condition)?;
        self.cluster
            .wait_until(
                &gvr(&target.api),
                target.namespace.as_deref(),
                &target.name,
                &condition,
                timeout,
            )
            .map_err(kube_error)
    }
}

impl Imports for SimImports {
    fn log(&self, level: Level, message: &str) {
        self.logs.borrow_mut().push((level, message.to_owned()));
    }

    fn now(&self) -> Datetime {
        self.now
    }

    fn settings(&self) -> ServerSettings {
        self.settings.clone()
    }
}
