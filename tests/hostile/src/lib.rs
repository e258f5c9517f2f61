//! A hostile component: it registers one action under a real name
//! (`velero.io/csi-volumesnapshot-delete`, whose manifest grants only `delete` on
//! VolumeSnapshots and `patch` on VolumeSnapshotContents) and, on `execute-delete`, does
//! what the item's `attack` field says:
//!
//! * `overreach`: makes Kubernetes calls outside that manifest, then one inside it, and fails
//!   with a JSON report of each call's outcome (`ok` or the error variant);
//! * `trap`: panics;
//! * `sandbox`: tries to read a file, read the environment and open a network connection, and
//!   fails with a JSON report of what it got.
//!
//! The host's tests load it in place of the embedded component. It is never shipped.

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

impl Guest for Hostile {
    fn list_actions() -> Vec<ActionInfo> {
        vec![ActionInfo {
            name: NAME.into(),
            kind: ActionKind::DeleteItemAction,
            selector: ResourceSelector {
                included_namespaces: vec![],
                excluded_namespaces: vec![],
                included_resources: vec!["volumesnapshots.snapshot.storage.k8s.io".into()],
                excluded_resources: vec![],
                label_selector: String::new(),
            },
        }]
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
