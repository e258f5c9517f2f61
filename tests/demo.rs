//! The `demo` command, run as an operator runs it: the binary without Velero's magic cookie.
//! It spawns itself as the plugin and drives it over gRPC against the embedded cluster.

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
