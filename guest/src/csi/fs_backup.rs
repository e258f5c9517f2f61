//! Whether a claim is left to Velero's file-system backup (spec §3.4).
//!
//! Mirrors Velero v1.13's pod-volume rules as v0.7.1 uses them: opt-in through the pod
//! annotation `backup.velero.io/backup-volumes`, or, when the backup defaults volumes to
//! file-system backup, opt-out through `backup.velero.io/backup-volumes-excludes`.

use serde_json::Value;

use crate::adapter::imports::Imports;
use crate::model::error::ActionError;
use crate::model::json::{annotation, str_at};
use crate::model::kube::{message, resources};
use csi_common::keys;

/// Pod volume sources that file-system backup never takes (their data comes from the API
/// or from the node).
const NEVER_BACKED_UP: [&str; 5] = [
    "hostPath",
    "secret",
    "configMap",
    "projected",
    "downwardAPI",
];

/// The pod's volumes, or none.
fn volumes(pod: &Value) -> &[Value] {
    pod.pointer("/spec/volumes")
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The claim a pod volume mounts, if it is a `persistentVolumeClaim` volume.
fn claim_of(volume: &Value) -> Option<&str> {
    let source = volume
        .get("persistentVolumeClaim")
        .filter(|s| !s.is_null())?;
    Some(str_at(source, &["claimName"]).unwrap_or_default())
}

/// Whether the pod has a volume that mounts the claim `claim`.
fn uses_claim(pod: &Value, claim: &str) -> bool {
    volumes(pod).iter().any(|v| claim_of(v) == Some(claim))
}

/// The pods of `namespace` that mount the claim `claim` (one LIST of every pod in the
/// namespace, no selector). A list error is returned as it is.
pub fn pods_using_pvc(
    host: &dyn Imports,
    namespace: &str,
    claim: &str,
) -> Result<Vec<Value>, crate::model::kube::KubeError> {
    let pods = host.list(&resources::pods(), Some(namespace), None)?;
    Ok(pods
        .into_iter()
        .filter(|pod| uses_claim(pod, claim))
        .collect())
}

/// The name of the **first** volume of `pod` that mounts the claim `claim`.
pub fn pod_volume_name_for_pvc<'a>(pod: &'a Value, claim: &str) -> Result<&'a str, ActionError> {
    volumes(pod)
        .iter()
        .find(|v| claim_of(v) == Some(claim))
        .map(|v| str_at(v, &["name"]).unwrap_or_default())
        .ok_or_else(|| {
            let namespace = str_at(pod, &["metadata", "namespace"]).unwrap_or_default();
            let name = str_at(pod, &["metadata", "name"]).unwrap_or_default();
            ActionError::Failed(format!(
                "Pod {namespace}/{name} does not use PVC {namespace}/{claim}"
            ))
        })
}

/// A comma-separated annotation as a list; empty or absent gives none. Items are not
/// trimmed (`a, b` gives `a` and ` b`), as in Velero.
fn split_annotation<'a>(pod: &'a Value, key: &str) -> Vec<&'a str> {
    match annotation(pod, key) {
        None | Some("") => Vec::new(),
        Some(list) => list.split(',').collect(),
    }
}

/// The pod volumes file-system backup takes: the opted-in ones, or with
/// `default_to_fs_backup` every volume that is not opted out, not of a kind it never takes and
/// not a `default-token…` volume.
pub fn volumes_by_pod(pod: &Value, default_to_fs_backup: bool) -> Vec<&str> {
    if !default_to_fs_backup {
        return split_annotation(pod, keys::FS_BACKUP_VOLUMES);
    }
    let excluded = split_annotation(pod, keys::FS_BACKUP_VOLUMES_EXCLUDES);
    volumes(pod)
        .iter()
        .filter(|v| {
            !NEVER_BACKED_UP
                .iter()
                .any(|kind| v.get(*kind).is_some_and(|s| !s.is_null()))
        })
        .map(|v| str_at(v, &["name"]).unwrap_or_default())
        .filter(|name| !excluded.contains(name) && !name.starts_with("default-token"))
        .collect()
}

/// Whether the claim `namespace/claim` is backed up by the file-system uploader, so that the
/// CSI action leaves it alone. `default_to_fs_backup` is the Backup's
/// `spec.defaultVolumesToFsBackup` being explicitly true.
///
/// As in v0.7.1, only the first volume of each pod that mounts the claim is checked (§7, L23).
pub fn is_pvc_default_to_fs_backup(
    host: &dyn Imports,
    namespace: &str,
    claim: &str,
    default_to_fs_backup: bool,
) -> Result<bool, ActionError> {
    // v0.7.1 returns the list error unwrapped.
    let pods = pods_using_pvc(host, namespace, claim)
        .map_err(|e| ActionError::Failed(message(&e).to_owned()))?;
    for pod in &pods {
        let selected = volumes_by_pod(pod, default_to_fs_backup);
        if selected.is_empty() {
            continue;
        }
        let volume = pod_volume_name_for_pvc(pod, claim)?;
        if selected.contains(&volume) {
            return Ok(true);
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use serde_json::json;
    use sim_cluster::{Cluster, Fault, SimError, Verb};

    use super::*;
    use crate::adapter::sim::SimImports;

    fn pod(namespace: &str, name: &str, annotations: Value, volumes: Value) -> Value {
        json!({
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"namespace": namespace, "name": name, "annotations": annotations},
            "spec": {"volumes": volumes}
        })
    }

    fn claim_volume(name: &str, claim: &str) -> Value {
        json!({"name": name, "persistentVolumeClaim": {"claimName": claim}})
    }

    /// The upstream fixture: `default/pod1`, `default/pod2` use `csi-pvc1`, `default/pod3`
    /// uses an emptyDir, `awesome-ns/pod1` uses `csi-pvc1`; plus the FS-detection pods.
    fn host() -> SimImports {
        let cluster = Arc::new(Cluster::new());
        cluster.seed([
            pod(
                "default",
                "pod1",
                Value::Null,
                json!([claim_volume("csi-vol1", "csi-pvc1")]),
            ),
            pod(
                "default",
                "pod2",
                json!({"backup.velero.io/backup-volumes": "csi-vol1"}),
                json!([claim_volume("csi-vol1", "csi-pvc1")]),
            ),
            pod(
                "default",
                "pod3",
                Value::Null,
                json!([{"name": "scratch", "emptyDir": {}}]),
            ),
            pod(
                "awesome-ns",
                "pod1",
                Value::Null,
                json!([claim_volume("csi-vol1", "csi-pvc1")]),
            ),
            pod(
                "awesome-ns",
                "awesome-pod-1",
                Value::Null,
                json!([claim_volume("awesome-csi-vol1", "awesome-csi-pvc1")]),
            ),
            pod(
                "uploader-ns",
                "pod1",
                json!({"backup.velero.io/backup-volumes": "csi-vol1"}),
                json!([claim_volume("csi-vol1", "csi-pvc1")]),
            ),
            pod(
                "uploader-ns",
                "pod2",
                json!({"backup.velero.io/backup-volumes": "csi-vol1"}),
                json!([claim_volume("csi-vol1", "csi-pvc1")]),
            ),
        ]);
        SimImports::new(cluster)
    }

    fn names(pods: &[Value]) -> Vec<&str> {
        pods.iter().map(crate::model::json::name).collect()
    }

    /// Spec §5.13, scenario 133.
    #[test]
    fn scenario_133_pods_using_a_pvc() {
        let host = host();
        assert_eq!(
            names(&pods_using_pvc(&host, "default", "csi-pvc1").unwrap()),
            ["pod1", "pod2"]
        );
        assert_eq!(
            names(&pods_using_pvc(&host, "awesome-ns", "csi-pvc1").unwrap()),
            ["pod1"]
        );
        assert!(
            pods_using_pvc(&host, "default", "unused-pvc")
                .unwrap()
                .is_empty()
        );
        assert!(
            pods_using_pvc(&host, "does-not-exist", "csi-pvc1")
                .unwrap()
                .is_empty()
        );
        let calls = host.cluster().calls();
        assert!(
            calls
                .iter()
                .all(|c| c.verb == Verb::List && c.resource == "pods" && c.selector.is_none())
        );
        assert_eq!(calls[0].namespace.as_deref(), Some("default"));
    }

    /// Spec §5.13, scenario 134.
    #[test]
    fn scenario_134_pod_volume_name_for_a_pvc() {
        let three = pod(
            "default",
            "multi",
            Value::Null,
            json!([
                claim_volume("csi-vol1", "csi-pvc1"),
                claim_volume("csi-vol2", "csi-pvc2"),
                claim_volume("csi-vol3", "csi-pvc3")
            ]),
        );
        assert_eq!(
            pod_volume_name_for_pvc(&three, "csi-pvc2").unwrap(),
            "csi-vol2"
        );
        let single = pod(
            "default",
            "one",
            Value::Null,
            json!([claim_volume("csi-vol1", "csi-pvc1")]),
        );
        assert_eq!(
            pod_volume_name_for_pvc(&single, "csi-pvc1").unwrap(),
            "csi-vol1"
        );
        let none = pod("default", "none", Value::Null, Value::Null);
        assert_eq!(
            pod_volume_name_for_pvc(&none, "csi-pvc1")
                .unwrap_err()
                .to_string(),
            "Pod default/none does not use PVC default/csi-pvc1"
        );
        assert!(pod_volume_name_for_pvc(&three, "csi-pvc4").is_err());
    }

    /// Spec §5.13, scenario 135.
    #[test]
    fn scenario_135_opt_in_on_one_pod() {
        assert!(is_pvc_default_to_fs_backup(&host(), "default", "csi-pvc1", false).unwrap());
    }

    /// Spec §5.13, scenario 136.
    #[test]
    fn scenario_136_opt_in_on_every_pod() {
        assert!(is_pvc_default_to_fs_backup(&host(), "uploader-ns", "csi-pvc1", false).unwrap());
    }

    /// Spec §5.13, scenario 137.
    #[test]
    fn scenario_137_opt_out_default() {
        let host = host();
        assert!(
            !is_pvc_default_to_fs_backup(&host, "awesome-ns", "awesome-csi-pvc1", false).unwrap()
        );
        assert!(
            is_pvc_default_to_fs_backup(&host, "awesome-ns", "awesome-csi-pvc1", true).unwrap()
        );
    }

    /// Spec §5.13, scenario 138.
    #[test]
    fn scenario_138_unused_claim_is_never_fs_backed_up() {
        let host = host();
        assert!(!is_pvc_default_to_fs_backup(&host, "default", "does-not-exist", false).unwrap());
        assert!(!is_pvc_default_to_fs_backup(&host, "default", "does-not-exist", true).unwrap());
    }

    fn single(annotations: Value, volumes: Value) -> SimImports {
        let cluster = Arc::new(Cluster::new());
        cluster.seed([pod("app", "web-0", annotations, volumes)]);
        SimImports::new(cluster)
    }

    /// Spec §5.13, scenario 139: `default-token` prefix, untrimmed opt-in lists, only the
    /// first referencing volume (§7, L23, kept as in v0.7.1).
    #[test]
    fn scenario_139_edge_cases() {
        let host = single(
            Value::Null,
            json!([claim_volume("default-token-x", "data")]),
        );
        assert!(!is_pvc_default_to_fs_backup(&host, "app", "data", true).unwrap());

        let host = single(
            json!({"backup.velero.io/backup-volumes": "a, vol"}),
            json!([claim_volume("vol", "data")]),
        );
        assert!(!is_pvc_default_to_fs_backup(&host, "app", "data", false).unwrap());

        let host = single(
            json!({"backup.velero.io/backup-volumes": "v2"}),
            json!([claim_volume("v1", "data"), claim_volume("v2", "data")]),
        );
        assert!(!is_pvc_default_to_fs_backup(&host, "app", "data", false).unwrap());
    }

    /// Opt-out: volume kinds file-system backup never takes, and the exclusion list.
    #[test]
    fn opt_out_rules() {
        let p = pod(
            "app",
            "web-0",
            json!({"backup.velero.io/backup-volumes-excludes": "excluded,other"}),
            json!([
                {"name": "host", "hostPath": {"path": "/x"}},
                {"name": "sec", "secret": {"secretName": "s"}},
                {"name": "cm", "configMap": {"name": "c"}},
                {"name": "proj", "projected": {"sources": []}},
                {"name": "down", "downwardAPI": {"items": []}},
                {"name": "excluded", "persistentVolumeClaim": {"claimName": "x"}},
                {"name": "default-token-abc", "secret": null},
                {"name": "scratch", "emptyDir": {}},
                claim_volume("vol", "data"),
            ]),
        );
        assert_eq!(volumes_by_pod(&p, true), ["scratch", "vol"]);
        assert!(volumes_by_pod(&p, false).is_empty());
        let opted_in = pod(
            "app",
            "web-0",
            json!({"backup.velero.io/backup-volumes": ""}),
            json!([]),
        );
        assert!(volumes_by_pod(&opted_in, false).is_empty());

        // Spec §5.1, scenarios 10 and 11.
        let host = single(Value::Null, json!([claim_volume("vol", "data")]));
        assert!(is_pvc_default_to_fs_backup(&host, "app", "data", true).unwrap());
        let host = single(
            json!({"backup.velero.io/backup-volumes-excludes": "vol"}),
            json!([claim_volume("vol", "data")]),
        );
        assert!(!is_pvc_default_to_fs_backup(&host, "app", "data", true).unwrap());
    }

    /// Spec §5.1, scenario 12: the list error comes back as it is.
    #[test]
    fn list_errors_are_returned() {
        let host = single(Value::Null, json!([]));
        host.cluster().inject(Fault {
            verb: Verb::List,
            resource: "pods".into(),
            name: None,
            error: SimError::Forbidden("pods is forbidden".into()),
            times: None,
        });
        let error = is_pvc_default_to_fs_backup(&host, "app", "data", false).unwrap_err();
        assert_eq!(error.to_string(), "pods is forbidden");
    }
}
