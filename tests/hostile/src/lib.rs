//! A hostile component: it registers one action under a real name
//! (`velero.io/csi-volumesnapshot-delete`, whose manifest grants only `delete` on
//! VolumeSnapshots and `patch` on VolumeSnapshotContents) and, on `execute-delete`, does
//! what the item's `attack` field says:
//!
//! * `overreach`: makes Kubernetes calls outside that manifest, then one inside it, and fails
//!   with a JSON report of each call's outcome (`ok` or the error variant);
//! * `trap`: panics;
//! * `spin`: loops forever;
//! * `memory-bomb`: allocates 16 MiB blocks until something stops it;
//! * `sandbox`: tries to read a file, read the environment and open a network connection, and
//!   fails with a JSON report of what it got;
//! * `stall`: deletes the VolumeSnapshot `stall` (a call inside its manifest, which the tests'
//!   cluster holds until they release it), then fails with `hostile: done`.
//!
//! Built with the `impostor` feature it also lists an action no host would grant
//! (`velero.io/csi-everything`), so that validation refuses it.
//!
//! The host's tests load it in place of the embedded component. It is never shipped.
//!
//! It is a component only for `wasm32`: built natively (as `cargo build --workspace` does)
//! the crate is empty, since a native linker rejects the component's export names.

#![cfg(target_arch = "wasm32")]

use serde_json::{Value, json};

mod bindings {
    wit_bindgen::generate!({
        path: "../../wit",
        world: "csi-plugin",
        generate_all,
    });
}

use bindings::exports::velero::csi::actions::{
    ActionError, ActionInfo, ActionKind, BackupOutput, Guest, OperationProgress, ResourceSelector,
    RestoreInput, RestoreOutput,
};
use bindings::velero::csi::kube::{self, ApiResource, KubeError, ObjectRef};
use bindings::velero::csi::types::ResourceIdentifier;

const NAME: &str = "velero.io/csi-volumesnapshot-delete";

struct Hostile;

fn api(group: &str, version: &str, resource: &str) -> ApiResource {
    ApiResource {
        group: group.into(),
        version: version.into(),
        resource: resource.into(),
    }
}

fn target(api: ApiResource, namespace: Option<&str>, name: &str) -> ObjectRef {
    ObjectRef {
        api,
        namespace: namespace.map(str::to_owned),
        name: name.into(),
    }
}

fn outcome<T>(result: Result<T, KubeError>) -> Value {
    match result {
        Ok(_) => json!("ok"),
        Err(KubeError::Forbidden(m)) => json!({"forbidden": m}),
        Err(KubeError::NotFound(m)) => json!({"not-found": m}),
        Err(error) => json!({"other": format!("{error:?}")}),
    }
}

fn overreach() -> Value {
    let snapshots = || api("snapshot.storage.k8s.io", "v1", "volumesnapshots");
    let contents = || api("snapshot.storage.k8s.io", "v1", "volumesnapshotcontents");
    json!({
        "list-secrets-everywhere": outcome(kube::list(&api("", "v1", "secrets"), None, None)),
        "get-snapshot": outcome(kube::get(&target(snapshots(), Some("app"), "vs"))),
        "delete-content": outcome(kube::delete(&target(contents(), None, "c1"))),
        "patch-content-in-a-namespace": outcome(kube::merge_patch(&target(contents(), Some("app"), "c1"), "{}")),
        "create-pod": outcome(kube::create(&api("", "v1", "pods"), Some("app"), r#"{"metadata":{"name":"x"}}"#)),
        "delete-namespace": outcome(kube::delete(&target(api("", "v1", "namespaces"), None, "kube-system"))),
        "delete-snapshot": outcome(kube::delete(&target(snapshots(), Some("app"), "vs"))),
    })
}

fn sandbox() -> Value {
    let file = std::fs::read_to_string("/etc/passwd")
        .map(|_| "read")
        .unwrap_or("refused");
    let environment = std::env::vars().count();
    let network = std::net::TcpStream::connect("127.0.0.1:80")
        .map(|_| "connected")
        .unwrap_or("refused");
    json!({"file": file, "environment-variables": environment, "network": network})
}

fn spin() -> ! {
    let mut counter = 0u64;
    loop {
        counter = std::hint::black_box(counter.wrapping_add(1));
    }
}

fn memory_bomb() -> Value {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        hoard.push(std::hint::black_box(vec![1u8; 16 << 20]));
        if hoard.len() > 1 << 16 {
            return json!({"allocated-blocks": hoard.len()});
        }
    }
}

fn stall() -> Value {
    let snapshots = api("snapshot.storage.k8s.io", "v1", "volumesnapshots");
    let deleted = outcome(kube::delete(&target(snapshots, Some("app"), "stall")));
    json!({"hostile": "done", "delete": deleted})
}

fn action(name: &str, kind: ActionKind) -> ActionInfo {
    ActionInfo {
        name: name.into(),
        kind,
        selector: ResourceSelector {
            included_namespaces: vec![],
            excluded_namespaces: vec![],
            included_resources: vec!["volumesnapshots.snapshot.storage.k8s.io".into()],
            excluded_resources: vec![],
            label_selector: String::new(),
        },
    }
}

impl Guest for Hostile {
    fn list_actions() -> Vec<ActionInfo> {
        let mut actions = vec![action(NAME, ActionKind::DeleteItemAction)];
        if cfg!(feature = "impostor") {
            actions.push(action(
                "velero.io/csi-everything",
                ActionKind::BackupItemActionV2,
            ));
        }
        actions
    }

    fn applies_to(_: String) -> Result<ResourceSelector, ActionError> {
        Ok(Self::list_actions().remove(0).selector)
    }

    fn execute_backup(_: String, _: String, _: String) -> Result<BackupOutput, ActionError> {
        Err(ActionError::UnknownAction(NAME.into()))
    }

    fn execute_restore(_: String, _: RestoreInput) -> Result<RestoreOutput, ActionError> {
        Err(ActionError::UnknownAction(NAME.into()))
    }

    fn execute_delete(_: String, item: String, _: String) -> Result<(), ActionError> {
        let item: Value = serde_json::from_str(&item).unwrap_or_default();
        let report = match item.get("attack").and_then(Value::as_str) {
            Some("overreach") => overreach(),
            Some("trap") => panic!("hostile component trapped on purpose"),
            Some("sandbox") => sandbox(),
            Some("spin") => spin(),
            Some("memory-bomb") => memory_bomb(),
            Some("stall") => stall(),
            other => json!({"unknown attack": other}),
        };
        Err(ActionError::Failed(report.to_string()))
    }

    fn progress(_: String, _: String, _: String) -> Result<OperationProgress, ActionError> {
        Err(ActionError::UnknownAction(NAME.into()))
    }

    fn cancel(_: String, _: String, _: String) -> Result<(), ActionError> {
        Err(ActionError::UnknownAction(NAME.into()))
    }

    fn are_additional_items_ready(
        _: String,
        _: Vec<ResourceIdentifier>,
        _: String,
    ) -> Result<bool, ActionError> {
        Err(ActionError::UnknownAction(NAME.into()))
    }
}

bindings::export!(Hostile with_types_in bindings);
