//! The operator commands, run as an operator runs them: the binary without Velero's magic
//! cookie. `demo` spawns the binary itself as the plugin and drives it over gRPC against the
//! embedded cluster; `inspect` reports a component's actions and capability manifests.

use std::process::Command;

#[test]
fn the_demo_runs_the_main_job_end_to_end() {
    let output = Command::new(env!("CARGO_BIN_EXE_velero-plugin-for-csi"))
        .arg("demo")
        .env_remove("VELERO_PLUGIN")
        .output()
        .expect("the binary starts");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "demo failed: {stderr}\n{stdout}");
    for expected in [
        "it serves 10 actions",
        "created VolumeSnapshot demo-app/velero-data-abcde",
        "async operation: demo-app/velero-data-abcde/",
        "2 operations complete",
        "VolumeSnapshot demo-app/velero-data-abcde deleted",
        "re-created static: policy Retain, source handle snapshot-1",
        "bound to a new static VolumeSnapshotContent velero-velero-data-abcde-",
        "dataSource: VolumeSnapshot velero-data-abcde",
        "PersistentVolumeClaim demo-app/data Bound to",
        "provisioned from snapshot snapshot-1",
        "storage snapshot snapshot-1 deleted by the CSI driver",
        "no storage snapshot left",
        "Demo complete",
    ] {
        assert!(stdout.contains(expected), "no {expected:?} in:\n{stdout}");
    }
}

#[test]
fn without_the_cookie_other_arguments_get_the_notice() {
    let output = Command::new(env!("CARGO_BIN_EXE_velero-plugin-for-csi"))
        .arg("demonstrate")
        .env_remove("VELERO_PLUGIN")
        .output()
        .expect("the binary starts");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("This binary is a plugin"));
}

#[test]
fn inspect_prints_every_action_with_its_capability_manifest() {
    let output = Command::new(env!("CARGO_BIN_EXE_velero-plugin-for-csi"))
        .args(["inspect", "--json"])
        .env_remove("VELERO_PLUGIN")
        .output()
        .expect("the binary starts");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["component"], "embedded");
    assert!(report["digest"].as_str().unwrap().starts_with("sha256:"));
    let actions = report["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 10);
    let delete = actions
        .iter()
        .find(|a| a["name"] == "velero.io/csi-volumesnapshotcontent-delete")
        .unwrap();
    assert_eq!(delete["kind"], "DeleteItemAction");
    assert_eq!(
        delete["capabilities"],
        serde_json::json!([{"group": "snapshot.storage.k8s.io", "resource": "volumesnapshotcontents",
                            "verbs": ["patch", "delete"], "scope": "cluster"}])
    );

    let text = Command::new(env!("CARGO_BIN_EXE_velero-plugin-for-csi"))
        .arg("inspect")
        .env_remove("VELERO_PLUGIN")
        .output()
        .expect("the binary starts");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("velero.io/csi-pvc-backupper  (BackupItemAction v2)"),
        "{text}"
    );
    assert!(text.contains("may call:   nothing"), "{text}");
}

#[test]
fn inspect_names_an_unreadable_module() {
    let output = Command::new(env!("CARGO_BIN_EXE_velero-plugin-for-csi"))
        .args(["inspect", "/nonexistent/module.wasm"])
        .env_remove("VELERO_PLUGIN")
        .output()
        .expect("the binary starts");
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot read /nonexistent/module.wasm")
    );
}
