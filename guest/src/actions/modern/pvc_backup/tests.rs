use serde_json::json;
use sim_cluster::{Fault, Gvr, SimError, SnapshotPlan, Verb};

use super::*;
use crate::adapter::imports::ServerSettings;
use crate::adapter::sim::SimImports;
use crate::csi::routing::tests::{ROUTED, policy, policy_configmap};
use crate::fixtures::{backup, claim, imports_with, item, snapshot_class, volume};

fn snapshots() -> Gvr {
    Gvr::new("snapshot.storage.k8s.io", "v1", "volumesnapshots")
}
fn contents() -> Gvr {
    Gvr::new("snapshot.storage.k8s.io", "v1", "volumesnapshotcontents")
}

/// A cluster with the claim, its volume, the labelled class and the routing policy.
fn host(features: &[&str]) -> SimImports {
    imports_with([
        volume(json!({})),
        claim(json!({})),
        snapshot_class(json!({})),
        policy_configmap("pol", &policy(ROUTED)),
    ])
    .with_settings(ServerSettings {
        features: features.iter().map(|f| (*f).to_owned()).collect(),
        global_volume_policies: Some("pol".into()),
    })
}

fn run(host: &SimImports, spec: Value) -> Result<Value, ActionError> {
    let output = ModernPvcBackup.execute(
        host,
        item(&claim(json!({}))),
        &backup(json!({"spec": spec})),
    )?;
    assert!(output.additional_items.is_empty() && output.operation_id.is_empty());
    Ok(serde_json::from_str(&output.item).unwrap())
}

#[test]
fn snapshots_and_leaves_only_the_storage_snapshot() {
    let host = host(&["EnableCSI"]);
    let out = run(&host, json!({})).unwrap();
    let annotations = &out["metadata"]["annotations"];
    assert_eq!(annotations[modern::SNAPSHOT_HANDLE], "snapshot-1");
    assert_eq!(annotations[modern::DRIVER], "hostpath.csi.k8s.io");
    assert_eq!(annotations[modern::SNAPSHOT_CLASS], "snap-default");
    assert_eq!(annotations[modern::RESTORE_SIZE], "5Gi");
    assert!(annotations.get(modern::DELETION_SECRET).is_none());
    assert!(host.cluster().objects(&snapshots()).is_empty());
    assert!(host.cluster().objects(&contents()).is_empty());
    assert_eq!(host.cluster().storage_snapshots(), ["snapshot-1"]);
    assert!(host.cluster().deleted_snapshots().is_empty());
    // The VS has the deterministic name and the label.
    let created = host
        .cluster()
        .calls()
        .into_iter()
        .find(|c| c.verb == Verb::Create)
        .unwrap();
    let body = created.body.unwrap();
    assert_eq!(
        body["metadata"]["name"],
        object_name(
            "backup",
            &["11111111-2222-3333-4444-555555555555", "app", "data"]
        )
    );
    assert_eq!(
        body["metadata"]["labels"][modern::BACKUP_UID],
        "11111111-2222-3333-4444-555555555555"
    );
    assert!(host.logs().iter().any(|(l, m)| *l == Level::Info
        && m.starts_with(
            "Modern mode: snapshotting PVC app/data: its first matching volume policy is custom"
        )));
}

#[test]
fn not_routed_with_core_csi_on_is_unchanged() {
    let host = imports_with([volume(json!({})), claim(json!({}))]).with_settings(ServerSettings {
        features: vec!["EnableCSI".into()],
        global_volume_policies: None,
    });
    let input = claim(json!({}));
    let output = ModernPvcBackup
        .execute(&host, item(&input), &backup(json!({})))
        .unwrap();
    assert_eq!(output.item, input.to_string());
}

#[test]
fn unbound_and_non_csi_claims_are_unchanged() {
    let host = host(&[]);
    let pending = claim(json!({"status": {"phase": "Pending"}}));
    let output = ModernPvcBackup
        .execute(&host, item(&pending), &backup(json!({})))
        .unwrap();
    assert_eq!(output.item, pending.to_string());
    host.cluster().seed([volume(
        json!({"spec": {"csi": null, "nfs": {"server": "x", "path": "/"}}}),
    )]);
    let output = ModernPvcBackup
        .execute(&host, item(&claim(json!({}))), &backup(json!({})))
        .unwrap();
    assert_eq!(output.item, claim(json!({})).to_string());
}

#[test]
fn a_failed_wait_leaves_no_snapshot_behind() {
    for plan in [
        SnapshotPlan {
            never_bind: true,
            ..SnapshotPlan::default()
        },
        SnapshotPlan {
            content_error: Some("quota exceeded".into()),
            ..SnapshotPlan::default()
        },
    ] {
        let host = host(&[]);
        host.cluster().set_snapshot_plan(plan.clone());
        let error = run(&host, json!({"csiSnapshotTimeout": "30s"})).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("timed out after 30s waiting for VolumeSnapshot app/velero-csi-wasm-"),
            "{error}"
        );
        if plan.content_error.is_some() {
            assert!(error.to_string().ends_with(": quota exceeded"), "{error}");
        }
        assert!(host.cluster().objects(&snapshots()).is_empty());
        assert!(host.cluster().objects(&contents()).is_empty());
        assert!(host.cluster().storage_snapshots().is_empty());
    }
}

#[test]
fn a_failed_release_deletes_the_storage_snapshot() {
    let host = host(&[]);
    host.cluster().inject(Fault {
        verb: Verb::Delete,
        resource: "volumesnapshotcontents".into(),
        name: None,
        error: SimError::Forbidden("no".into()),
        times: Some(1),
    });
    let error = run(&host, json!({})).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("error deleting VolumeSnapshotContent snapcontent-"),
        "{error}"
    );
    assert!(host.cluster().objects(&snapshots()).is_empty());
    assert!(host.cluster().objects(&contents()).is_empty());
    assert_eq!(host.cluster().deleted_snapshots(), ["snapshot-1"]);
}

#[test]
fn a_retried_call_reuses_the_snapshot() {
    let host = host(&[]);
    let name = object_name(
        "backup",
        &["11111111-2222-3333-4444-555555555555", "app", "data"],
    );
    host.cluster()
        .create(&snapshots(), Some("app"), json!({"metadata": {"name": name}, "spec": {"source": {"persistentVolumeClaimName": "data"}, "volumeSnapshotClassName": "snap-default"}}))
        .unwrap();
    let out = run(&host, json!({})).unwrap();
    assert_eq!(
        out["metadata"]["annotations"][modern::SNAPSHOT_HANDLE],
        "snapshot-1"
    );
    assert_eq!(host.cluster().storage_snapshots(), ["snapshot-1"]);
}

#[test]
fn the_default_class_annotation_is_a_fallback_and_secrets_are_recorded() {
    let host = imports_with([
        volume(json!({})),
        claim(json!({})),
        snapshot_class(json!({"metadata": {"name": "a", "labels": null}})),
        snapshot_class(
            json!({"metadata": {"name": "b", "labels": null, "annotations": {"snapshot.storage.kubernetes.io/is-default-class": "true"}}}),
        ),
    ]);
    let out = run(&host, json!({})).unwrap();
    assert_eq!(out["metadata"]["annotations"][modern::SNAPSHOT_CLASS], "b");

    // Without a usable class the item fails before anything is created.
    let host = imports_with([
        volume(json!({})),
        claim(json!({})),
        snapshot_class(json!({"metadata": {"name": "a", "labels": null}})),
        snapshot_class(json!({"metadata": {"name": "b", "labels": null}})),
    ]);
    let error = run(&host, json!({})).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("cannot choose a VolumeSnapshotClass for PVC \"app/data\": "),
        "{error}"
    );
    assert!(
        host.cluster()
            .calls()
            .iter()
            .all(|c| c.verb != Verb::Create)
    );
}

#[test]
fn snapshot_move_data_is_warned_about() {
    let host = host(&[]);
    run(&host, json!({"snapshotMoveData": true})).unwrap();
    assert!(
        host.logs()
            .iter()
            .any(|(l, m)| *l == Level::Warn && m.contains("plain CSI snapshots only"))
    );
}

#[test]
fn deletion_secrets_are_recorded() {
    let ready = Value::Object(Default::default());
    let content = json!({"metadata": {"annotations": {DELETION_SECRET_NAME: "s", DELETION_SECRET_NAMESPACE: "ns"}}, "spec": {"driver": "d"}, "status": {"snapshotHandle": "h", "restoreSize": 1024}});
    let recorded = read_snapshot(&ready, &content, "x");
    assert_eq!(recorded.deletion_secret.as_deref(), Some("ns/s"));
    assert_eq!(recorded.restore_size.as_deref(), Some("1024"));
    assert_eq!(recorded.driver, "d");
}
