//! Whether a claim is left to Velero's file-system backup ([behaviour §3.4](../../../docs/behaviour.md#34-file-system-backup-opt-in-and-opt-out)).
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
/// As in v0.7.1, only the first volume of each pod that mounts the claim is checked ([behaviour §7](../../../docs/behaviour.md#7-known-bugs-of-v071), L23).
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
    use crate::fixtures;

    /// The `Pod` fixture as `namespace/name`, with these annotations and volumes.
    fn pod(namespace: &str, name: &str, annotations: Value, volumes: Value) -> Value {
        fixtures::pod(json!({
            "metadata": {"namespace": namespace, "name": name, "annotations": annotations},
            "spec": {"volumes": volumes}
        }))
    }

    fn claim_volume(name: &str, claim: &str) -> Value {
        json!({"name": name, "persistentVolumeClaim": {"claimName": claim}})
    }

    /// [scenarios §5.13](../../../docs/scenarios.md#513-helper-scenarios), scenario 134: the corpus (`134-*.json`) finds the volume of pods that use
    /// the claim; a pod that does not use it, which no action passes, is an error.
    #[test]
    fn pod_volume_name_fails_for_a_pod_without_the_claim() {
        let none = pod("default", "none", Value::Null, Value::Null);
        assert_eq!(
            pod_volume_name_for_pvc(&none, "csi-pvc1")
                .unwrap_err()
                .to_string(),
            "Pod default/none does not use PVC default/csi-pvc1"
        );
        let other = pod(
            "default",
            "other",
            Value::Null,
            json!([claim_volume("csi-vol1", "csi-pvc1")]),
        );
        assert!(pod_volume_name_for_pvc(&other, "csi-pvc4").is_err());
    }

    fn single(annotations: Value, volumes: Value) -> SimImports {
        let cluster = Arc::new(Cluster::new());
        cluster.seed([pod("app", "web-0", annotations, volumes)]);
        SimImports::new(cluster)
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

        // [scenarios §5.1](../../../docs/scenarios.md#51-pvc-backup), scenarios 10 and 11.
        let host = single(Value::Null, json!([claim_volume("vol", "data")]));
        assert!(is_pvc_default_to_fs_backup(&host, "app", "data", true).unwrap());
        let host = single(
            json!({"backup.velero.io/backup-volumes-excludes": "vol"}),
            json!([claim_volume("vol", "data")]),
        );
        assert!(!is_pvc_default_to_fs_backup(&host, "app", "data", true).unwrap());
    }

    /// [scenarios §5.1](../../../docs/scenarios.md#51-pvc-backup), scenario 12: the list error comes back as it is.
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
