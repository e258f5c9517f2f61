//! The Kubernetes API as the actions see it: objects as JSON values, typed errors, and the
//! resources the CSI actions use.

use std::time::Duration;

use serde_json::Value;

pub use crate::bindings::velero::csi::kube::{
    ApiResource, Condition, FieldValue, KubeError, ObjectRef,
};

/// Kubernetes API calls an action may make (subject to the host's capability check).
pub trait Kube {
    /// Reads one object.
    fn get(&self, target: &ObjectRef) -> Result<Value, KubeError>;
    /// Lists objects, optionally by label selector.
    fn list(
        &self,
        api: &ApiResource,
        namespace: Option<&str>,
        label_selector: Option<&str>,
    ) -> Result<Vec<Value>, KubeError>;
    /// Creates an object; returns it as created (with its generated name).
    fn create(
        &self,
        api: &ApiResource,
        namespace: Option<&str>,
        object: &Value,
    ) -> Result<Value, KubeError>;
    /// Applies a JSON merge patch; returns the patched object.
    fn merge_patch(&self, target: &ObjectRef, patch: &Value) -> Result<Value, KubeError>;
    /// Deletes one object.
    fn delete(&self, target: &ObjectRef) -> Result<(), KubeError>;
    /// Waits until `condition` holds for the object, at most `timeout`. `NotFound` as soon
    /// as the object does not exist (unless waiting for its deletion); `Timeout` when the
    /// time is up.
    fn wait_until(
        &self,
        target: &ObjectRef,
        condition: &Condition,
        timeout: Duration,
    ) -> Result<Option<Value>, KubeError>;
}

/// The message a [`KubeError`] carries.
pub fn message(error: &KubeError) -> &str {
    match error {
        KubeError::NotFound(m)
        | KubeError::AlreadyExists(m)
        | KubeError::Conflict(m)
        | KubeError::Forbidden(m)
        | KubeError::Invalid(m)
        | KubeError::Timeout(m)
        | KubeError::Unavailable(m)
        | KubeError::Other(m) => m,
    }
}

fn api(group: &str, version: &str, resource: &str) -> ApiResource {
    ApiResource {
        group: group.to_owned(),
        version: version.to_owned(),
        resource: resource.to_owned(),
    }
}

/// The resources the CSI actions use.
pub mod resources {
    use super::{ApiResource, api};

    pub fn persistent_volume_claims() -> ApiResource {
        api("", "v1", "persistentvolumeclaims")
    }
    pub fn persistent_volumes() -> ApiResource {
        api("", "v1", "persistentvolumes")
    }
    pub fn pods() -> ApiResource {
        api("", "v1", "pods")
    }
    pub fn config_maps() -> ApiResource {
        api("", "v1", "configmaps")
    }
    pub fn storage_classes() -> ApiResource {
        api("storage.k8s.io", "v1", "storageclasses")
    }
    pub fn volume_snapshots() -> ApiResource {
        api("snapshot.storage.k8s.io", "v1", "volumesnapshots")
    }
    pub fn volume_snapshot_contents() -> ApiResource {
        api("snapshot.storage.k8s.io", "v1", "volumesnapshotcontents")
    }
    pub fn volume_snapshot_classes() -> ApiResource {
        api("snapshot.storage.k8s.io", "v1", "volumesnapshotclasses")
    }
    pub fn data_uploads() -> ApiResource {
        api("velero.io", "v2alpha1", "datauploads")
    }
    pub fn data_downloads() -> ApiResource {
        api("velero.io", "v2alpha1", "datadownloads")
    }
    pub fn backups() -> ApiResource {
        api("velero.io", "v1", "backups")
    }
}

/// A namespaced object.
pub fn namespaced(api: ApiResource, namespace: &str, name: &str) -> ObjectRef {
    ObjectRef {
        api,
        namespace: Some(namespace.to_owned()),
        name: name.to_owned(),
    }
}

/// A cluster-scoped object.
pub fn cluster_scoped(api: ApiResource, name: &str) -> ObjectRef {
    ObjectRef {
        api,
        namespace: None,
        name: name.to_owned(),
    }
}
