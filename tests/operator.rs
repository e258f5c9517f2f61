//! The operator commands, run as an operator runs them: the binary without Velero's magic
//! cookie. `demo` spawns the binary itself as the plugin and drives it over gRPC against the
//! embedded cluster; `inspect` reports a component's actions and capability manifests.

use std::process::{Command, Output};

use csi_common::actions::{Action, NameSet};
use serde_json::{Value, json};

/// Runs the binary by hand with `args`, `VELERO_CSI_NAMES` as given (removed when `None`).
fn run(args: &[&str], names: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_velero-plugin-for-csi"));
    command.args(args).env_remove("VELERO_PLUGIN");
    match names {
        Some(value) => command.env(NameSet::ENV, value),
        None => command.env_remove(NameSet::ENV),
    };
    let output = command.output().expect("the binary starts");
    assert!(
        output.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).expect("JSON")
}

/// The names of `set` among `listed`, in the set's order.
fn expected(set: NameSet, listed: &[String]) -> Vec<&'static str> {
    set.actions()
        .iter()
        .map(|a| a.name())
        .filter(|name| listed.iter().any(|l| l == name))
        .collect()
}

/// `inspect` and `--version` state the name set in force, how it was chosen and the names
/// registered: the set's that the embedded component lists.
#[test]
fn inspect_and_version_report_the_name_set() {
    let report = json_of(&run(&["inspect", "--json"], None));
    let listed: Vec<String> = report["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_owned())
        .collect();
    let modern = expected(NameSet::Modern, &listed);
    assert_eq!(
        report["nameSet"],
        json!({"active": "modern", "chosen": "default", "how": "default",
               "variable": "VELERO_CSI_NAMES", "registered": modern})
    );
    for action in report["actions"].as_array().unwrap() {
        let name = action["name"].as_str().unwrap();
        assert_eq!(action["registered"], modern.contains(&name), "{name}");
    }

    let report = json_of(&run(&["inspect", "--json"], Some("v0.7.1")));
    let ten: Vec<&str> = Action::V071.iter().map(|a| a.name()).collect();
    assert_eq!(report["nameSet"]["active"], "v0.7.1");
    assert_eq!(report["nameSet"]["chosen"], "env");
    assert_eq!(report["nameSet"]["how"], "from VELERO_CSI_NAMES");
    assert_eq!(report["nameSet"]["registered"], json!(ten));

    let report = json_of(&run(&["inspect", "--json"], Some("v1.13")));
    assert_eq!(report["nameSet"]["active"], "modern");
    assert_eq!(report["nameSet"]["chosen"], "fallback");
    assert_eq!(
        report["nameSet"]["how"],
        "default (VELERO_CSI_NAMES=\"v1.13\" is not a name set)"
    );

    let text = String::from_utf8(run(&["inspect"], Some("v0.7.1")).stdout).unwrap();
    assert!(
        text.contains("name set:  v0.7.1 (from VELERO_CSI_NAMES)"),
        "{text}"
    );
    assert!(
        text.contains(&format!("registers: {}", ten.join(", "))),
        "{text}"
    );
    assert!(text.contains("  registered: yes"), "{text}");

    let version = json_of(&run(&["--version", "--json"], None));
    assert_eq!(
        version["nameSet"],
        report_of(NameSet::Modern, "default", &modern)
    );
    let version = json_of(&run(&["--version", "--json"], Some("v0.7.1")));
    assert_eq!(version["nameSet"]["registered"], json!(ten));
    let text = String::from_utf8(run(&["--version"], None).stdout).unwrap();
    assert!(text.contains("  name set   modern (default)\n"), "{text}");
    let registers = if modern.is_empty() {
        "none (the component implements no action of the modern set)".to_owned()
    } else {
        modern.join(", ")
    };
    assert!(
        text.contains(&format!("  registers  {registers}\n")),
        "{text}"
    );
    let text = String::from_utf8(run(&["--version"], Some("v0.7.1")).stdout).unwrap();
    assert!(
        text.contains("  name set   v0.7.1 (from VELERO_CSI_NAMES)\n"),
        "{text}"
    );
}

fn report_of(set: NameSet, chosen: &str, registered: &[&str]) -> Value {
    json!({"active": set.as_str(), "chosen": chosen, "how": chosen,
           "variable": NameSet::ENV, "registered": registered})
}

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
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON");
    assert_eq!(report["component"], "embedded");
    assert!(report["digest"].as_str().unwrap().starts_with("sha256:"));
    let actions = report["actions"].as_array().unwrap();
    for action in Action::V071 {
        assert!(
            actions.iter().any(|a| a["name"] == action.name()),
            "{action:?}"
        );
    }
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
