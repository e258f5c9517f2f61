use serde_json::json;

use super::*;
use crate::adapter::imports::ServerSettings;
use crate::adapter::sim::SimImports;
use crate::fixtures::{backup, claim, imports_with, pod, volume};

/// A policy ConfigMap `velero/<name>` holding `document`.
pub(crate) fn policy_configmap(name: &str, document: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"namespace": "velero", "name": name},
           "data": {"policy.yaml": document}})
}

/// A document whose single policy gives every `hostpath.csi.k8s.io` volume `action`.
pub(crate) fn policy(action: &str) -> String {
    format!(
        "version: v1\nvolumePolicies:\n- conditions:\n    csi: {{driver: hostpath.csi.k8s.io}}\n  action: {action}\n"
    )
}

pub(crate) const ROUTED: &str = "{type: custom, parameters: {plugin: velero-csi-wasm.io}}";

fn settings(features: &[&str], global: Option<&str>) -> ServerSettings {
    ServerSettings {
        features: features.iter().map(|f| (*f).to_owned()).collect(),
        global_volume_policies: global.map(str::to_owned),
    }
}

fn sim_host(objects: Vec<Value>, features: &[&str], global: Option<&str>) -> SimImports {
    imports_with(objects).with_settings(settings(features, global))
}

const WITH_POLICY: &str = "pol";

fn backup_with_policy(spec: Value) -> Backup {
    let mut spec = spec;
    spec["resourcePolicy"] = json!({"kind": "configmap", "name": WITH_POLICY});
    backup(json!({"spec": spec}))
}

fn decide_with(host: &SimImports, backup: &Backup) -> Result<Decision, ActionError> {
    decide(host, &claim(json!({})), &volume(json!({})), backup)
}

#[test]
fn custom_routed_volumes_are_snapshotted_in_both_deployments() {
    for features in [&["EnableCSI"][..], &[]] {
        let host = sim_host(
            vec![policy_configmap(WITH_POLICY, &policy(ROUTED))],
            features,
            None,
        );
        let decision = decide_with(&host, &backup_with_policy(json!({}))).unwrap();
        assert!(decision.snapshot, "{features:?}: {decision:?}");
    }
}

#[test]
fn another_plugins_custom_action_is_not_ours() {
    let other = "{type: custom, parameters: {plugin: someone-else}}";
    for features in [&["EnableCSI"][..], &[]] {
        let host = sim_host(
            vec![policy_configmap(WITH_POLICY, &policy(other))],
            features,
            None,
        );
        let decision = decide_with(&host, &backup_with_policy(json!({}))).unwrap();
        assert!(!decision.snapshot, "{features:?}");
    }
}

#[test]
fn with_core_csi_on_everything_else_is_left_to_core() {
    let host = sim_host(vec![], &["EnableCSI"], None);
    let decision = decide_with(&host, &backup(json!({}))).unwrap();
    assert!(!decision.snapshot);
    assert!(decision.reason.contains("EnableCSI"), "{}", decision.reason);
    assert!(host.cluster().calls().is_empty());
}

#[test]
fn standing_in_for_core_follows_the_volume_helper() {
    // Policy actions.
    for (action, snapshot) in [
        ("{type: snapshot}", true),
        ("{type: skip}", false),
        ("{type: fs-backup}", false),
    ] {
        let host = sim_host(
            vec![policy_configmap(WITH_POLICY, &policy(action))],
            &[],
            None,
        );
        // A matching snapshot policy overrides snapshotVolumes: false.
        let decision = decide_with(
            &host,
            &backup_with_policy(json!({"snapshotVolumes": false})),
        )
        .unwrap();
        assert_eq!(decision.snapshot, snapshot, "{action}: {decision:?}");
    }
    // No policy.
    let host = sim_host(vec![], &[], None);
    assert!(decide_with(&host, &backup(json!({}))).unwrap().snapshot);
    assert!(
        !decide_with(&host, &backup(json!({"spec": {"snapshotVolumes": false}})))
            .unwrap()
            .snapshot
    );
    // defaultVolumesToFsBackup takes only volumes that a pod mounts.
    assert!(
        decide_with(
            &host,
            &backup(json!({"spec": {"defaultVolumesToFsBackup": true}}))
        )
        .unwrap()
        .snapshot
    );
    let host = sim_host(vec![pod(json!({}))], &[], None);
    let decision = decide_with(
        &host,
        &backup(json!({"spec": {"defaultVolumesToFsBackup": true}})),
    )
    .unwrap();
    assert!(!decision.snapshot);
    assert_eq!(decision.reason, "it is selected for file-system backup");
    // Pod opt-in.
    let host = sim_host(
        vec![pod(
            json!({"metadata": {"annotations": {"backup.velero.io/backup-volumes": "vol"}}}),
        )],
        &[],
        None,
    );
    assert!(!decide_with(&host, &backup(json!({}))).unwrap().snapshot);
    // Opt-out under defaultVolumesToFsBackup.
    let host = sim_host(
        vec![pod(
            json!({"metadata": {"annotations": {"backup.velero.io/backup-volumes-excludes": "vol"}}}),
        )],
        &[],
        None,
    );
    assert!(
        decide_with(
            &host,
            &backup(json!({"spec": {"defaultVolumesToFsBackup": true}}))
        )
        .unwrap()
        .snapshot
    );
}

#[test]
fn the_global_policy_comes_after_the_backups_own() {
    let own = policy_configmap(WITH_POLICY, &policy("{type: skip}"));
    let global = policy_configmap("global", &policy(ROUTED));
    // Server flag only.
    let h = sim_host(vec![global.clone()], &["EnableCSI"], Some("global"));
    assert!(decide_with(&h, &backup(json!({}))).unwrap().snapshot);
    // The Backup's annotation wins over the flag.
    let h = sim_host(vec![global.clone()], &["EnableCSI"], Some("missing"));
    let annotated =
        backup(json!({"metadata": {"annotations": {GLOBAL_POLICY_ANNOTATION: "global"}}}));
    assert!(decide_with(&h, &annotated).unwrap().snapshot);
    // The Backup's own policy is tried first.
    let h = sim_host(vec![own, global], &["EnableCSI"], Some("global"));
    assert!(
        !decide_with(&h, &backup_with_policy(json!({})))
            .unwrap()
            .snapshot
    );
}

#[test]
fn unusable_configmaps_fail_naming_them() {
    let h = sim_host(vec![], &[], None);
    let error = decide_with(&h, &backup_with_policy(json!({}))).unwrap_err();
    assert!(matches!(
        error,
        ActionError::PolicyConfigMap {
            source: PolicySourceError::Read { .. },
            ..
        }
    ));
    assert!(
        error
            .to_string()
            .starts_with("volume policy ConfigMap \"velero/pol\": cannot be read: "),
        "{error}"
    );

    let h = sim_host(
        vec![policy_configmap(WITH_POLICY, "version: v2\n")],
        &[],
        None,
    );
    let error = decide_with(&h, &backup_with_policy(json!({}))).unwrap_err();
    assert!(matches!(
        error,
        ActionError::PolicyConfigMap {
            source: PolicySourceError::Invalid(_),
            ..
        }
    ));
    assert!(
        error
            .to_string()
            .starts_with("volume policy ConfigMap \"velero/pol\": "),
        "{error}"
    );
    assert!(std::error::Error::source(&error).is_some());

    let empty = json!({"kind": "ConfigMap", "metadata": {"namespace": "velero", "name": "global"}, "data": {}});
    let h = sim_host(vec![empty], &[], Some("global"));
    let error = decide_with(&h, &backup(json!({}))).unwrap_err();
    assert!(
        error.to_string().starts_with(
            "volume policy ConfigMap \"velero/global\": illegal resource policies configmap"
        ),
        "{error}"
    );
}
