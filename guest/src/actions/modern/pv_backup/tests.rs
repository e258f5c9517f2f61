use serde_json::json;

use super::*;
use crate::adapter::imports::ServerSettings;
use crate::csi::routing::tests::{ROUTED, policy, policy_configmap};
use crate::fixtures::{backup, claim, imports_with, item, volume};

fn run(objects: Vec<Value>, features: &[&str], pv: &Value) -> String {
    let host = imports_with(objects).with_settings(ServerSettings {
        features: features.iter().map(|f| (*f).to_owned()).collect(),
        global_volume_policies: Some("pol".into()),
    });
    ModernPvBackup
        .execute(&host, item(pv), &backup(json!({})))
        .unwrap()
        .item
}

#[test]
fn volumes_of_snapshotted_claims_are_marked() {
    let routed = policy_configmap("pol", &policy(ROUTED));
    let out: Value = serde_json::from_str(&run(
        vec![claim(json!({})), routed],
        &["EnableCSI"],
        &volume(json!({})),
    ))
    .unwrap();
    assert_eq!(
        out["metadata"]["annotations"][modern::FROM_SNAPSHOT],
        "true"
    );
}

#[test]
fn other_volumes_are_unchanged() {
    let skip = policy_configmap("pol", &policy("{type: skip}"));
    let pv = volume(json!({}));
    // Core's CSI takes it.
    assert_eq!(
        run(vec![claim(json!({})), skip.clone()], &["EnableCSI"], &pv),
        pv.to_string()
    );
    // Standing in for core, a skip policy.
    assert_eq!(
        run(vec![claim(json!({})), skip.clone()], &[], &pv),
        pv.to_string()
    );
    // No claim, a claim bound elsewhere, no claimRef, not CSI.
    assert_eq!(run(vec![skip.clone()], &[], &pv), pv.to_string());
    let elsewhere = claim(json!({"spec": {"volumeName": "pv-2"}}));
    assert_eq!(run(vec![elsewhere, skip.clone()], &[], &pv), pv.to_string());
    let unclaimed = volume(json!({"spec": {"claimRef": null}}));
    assert_eq!(
        run(vec![skip.clone()], &[], &unclaimed),
        unclaimed.to_string()
    );
    let nfs = volume(json!({"spec": {"csi": null}}));
    assert_eq!(run(vec![skip], &[], &nfs), nfs.to_string());
}

#[test]
fn a_malformed_policy_fails_the_volume() {
    let host = imports_with([
        claim(json!({})),
        policy_configmap("pol", "volumePolicies: ["),
    ])
    .with_settings(ServerSettings {
        features: vec![],
        global_volume_policies: Some("pol".into()),
    });
    let error = ModernPvBackup
        .execute(&host, item(&volume(json!({}))), &backup(json!({})))
        .unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("volume policy ConfigMap \"velero/pol\": "),
        "{error}"
    );
}
