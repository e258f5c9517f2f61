//! Wasm-level tests: the embedded, precompiled component instantiated under wasmtime, with a
//! fake `kube` import that records every call and a log sink that records every record.

#[path = "support/captured_logs.rs"]
mod captured_logs;
mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use captured_logs::CapturedLogs;
use csi_common::actions::Action;
use serde_json::{Value, json};
use support::*;
use velero_plugin_for_csi::bindings::{
    ActionError, ActionKind, ApiResource, Condition, KubeError, ObjectRef, RestoreInput,
};
use velero_plugin_for_csi::imports::clock::SystemClock;
use velero_plugin_for_csi::imports::{Caller, HostServices};
use velero_plugin_for_csi::kubeapi::{KubeFuture, Kubernetes};
use velero_plugin_for_csi::logging::Level;
use velero_plugin_for_csi::router::manifests;
use velero_plugin_for_csi::sandbox::{CallError, GuestRuntime};

/// A call on behalf of the action registered as `name` (with its grants), or of a name
/// the host does not register (with none).
fn caller(name: &'static str) -> Caller {
    Action::from_name(name).map_or(
        Caller {
            action: name,
            grants: &[],
        },
        manifests::caller,
    )
}

/// A cluster that answers nothing and records every call that reached it.
#[derive(Default)]
struct FakeCluster {
    calls: Mutex<Vec<String>>,
}

impl FakeCluster {
    fn refuse<T: Send + 'static>(&self, call: String) -> KubeFuture<'_, T> {
        self.calls.lock().unwrap().push(call);
        Box::pin(async { Err(KubeError::Other("the fake cluster answers nothing".into())) })
    }

    fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }
}

impl Kubernetes for FakeCluster {
    fn get(&self, t: ObjectRef) -> KubeFuture<'_, String> {
        self.refuse(format!("get {}", t.name))
    }
    fn list(
        &self,
        a: ApiResource,
        _: Option<String>,
        _: Option<String>,
    ) -> KubeFuture<'_, Vec<String>> {
        self.refuse(format!("list {}", a.resource))
    }
    fn create(&self, a: ApiResource, _: Option<String>, _: String) -> KubeFuture<'_, String> {
        self.refuse(format!("create {}", a.resource))
    }
    fn merge_patch(&self, t: ObjectRef, _: String) -> KubeFuture<'_, String> {
        self.refuse(format!("patch {}", t.name))
    }
    fn delete(&self, t: ObjectRef) -> KubeFuture<'_, ()> {
        self.refuse(format!("delete {}", t.name))
    }
    fn wait_until(
        &self,
        t: ObjectRef,
        _: Condition,
        _: Duration,
    ) -> KubeFuture<'_, Option<String>> {
        self.refuse(format!("wait {}", t.name))
    }
}

struct Guest {
    runtime: GuestRuntime,
    cluster: Arc<FakeCluster>,
    logs: Arc<CapturedLogs>,
}

async fn guest() -> Guest {
    let cluster = Arc::new(FakeCluster::default());
    let logs = Arc::new(CapturedLogs::default());
    let services = HostServices {
        cluster: cluster.clone(),
        logger: logs.clone(),
        clock: Arc::new(SystemClock),
        server: velero_plugin_for_csi::bindings::velero::csi::server::ServerSettings::none(),
    };
    let runtime = GuestRuntime::embedded(services)
        .await
        .expect("the embedded component loads");
    Guest {
        runtime,
        cluster,
        logs,
    }
}

fn restore_input(item: &Value, restore_pvs: Value) -> RestoreInput {
    RestoreInput {
        item: item.to_string(),
        item_from_backup: item.to_string(),
        restore: restore(restore_pvs).to_string(),
    }
}

fn action_error(result: Result<impl std::fmt::Debug, CallError>) -> ActionError {
    match result {
        Err(CallError::Action(error)) => error,
        other => panic!("expected an action error, got {other:?}"),
    }
}

#[tokio::test]
async fn lists_all_fifteen_actions() {
    let g = guest().await;
    let listed: Vec<_> = g
        .runtime
        .actions()
        .iter()
        .map(|a| {
            (
                a.kind,
                a.name.as_str(),
                a.selector.included_resources.join(","),
            )
        })
        .collect();
    let (bia, ria, dia) = (
        ActionKind::BackupItemActionV2,
        ActionKind::RestoreItemActionV2,
        ActionKind::DeleteItemAction,
    );
    let (pvcs, snapshots, contents, classes) = (
        "persistentvolumeclaims",
        "volumesnapshots.snapshot.storage.k8s.io",
        "volumesnapshotcontents.snapshot.storage.k8s.io",
        "volumesnapshotclasses.snapshot.storage.k8s.io",
    );
    let expected = [
        (bia, "velero.io/csi-pvc-backupper", pvcs),
        (bia, "velero.io/csi-volumesnapshot-backupper", snapshots),
        (bia, CLASS_BACKUPPER, classes),
        (
            bia,
            "velero.io/csi-volumesnapshotcontent-backupper",
            contents,
        ),
        (ria, "velero.io/csi-pvc-restorer", pvcs),
        (ria, "velero.io/csi-volumesnapshot-restorer", snapshots),
        (ria, CLASS_RESTORER, classes),
        (
            ria,
            "velero.io/csi-volumesnapshotcontent-restorer",
            contents,
        ),
        (dia, "velero.io/csi-volumesnapshot-delete", snapshots),
        (dia, "velero.io/csi-volumesnapshotcontent-delete", contents),
        // The modern set, after the v0.7.1 one (the host lists one set to Velero).
        (bia, "velero-csi-wasm.io/pv-backupper", "persistentvolumes"),
        (bia, "velero-csi-wasm.io/pvc-backupper", pvcs),
        (ria, "velero-csi-wasm.io/pv-restorer", "persistentvolumes"),
        (ria, "velero-csi-wasm.io/pvc-restorer", pvcs),
        (dia, "velero-csi-wasm.io/pvc-delete", pvcs),
    ];
    let expected: Vec<_> = expected
        .iter()
        .map(|(k, n, r)| (*k, *n, (*r).to_owned()))
        .collect();
    assert_eq!(listed, expected);
    let selector = g.runtime.applies_to(caller(CLASS_BACKUPPER)).await.unwrap();
    assert!(selector.included_namespaces.is_empty() && selector.label_selector.is_empty());
}

#[tokio::test]
async fn class_backup_adds_the_list_secret_and_keeps_everything_else() {
    let g = guest().await;
    let class = snapshot_class(list_secret_annotations());
    let out = g
        .runtime
        .execute_backup(
            caller(CLASS_BACKUPPER),
            &class.to_string(),
            &backup().to_string(),
        )
        .await
        .unwrap();

    let ids: Vec<_> = out
        .additional_items
        .iter()
        .map(|i| {
            (
                i.group.as_str(),
                i.resource.as_str(),
                i.namespace.as_str(),
                i.name.as_str(),
            )
        })
        .collect();
    assert_eq!(ids, [("", "secrets", "kube-system", "ls")]);
    assert!(out.operation_id.is_empty() && out.post_operation_items.is_empty());

    let mut expected = class.clone();
    expected["metadata"]["annotations"][MUST_INCLUDE] = json!("true");
    let returned: Value = serde_json::from_str(&out.item).unwrap();
    assert_eq!(
        returned, expected,
        "only the must-include annotation may change"
    );
    assert!(
        out.item.contains("9007199254740993"),
        "integers keep full precision"
    );
    assert!(
        g.cluster.calls().is_empty(),
        "the class actions make no API call"
    );
}

#[tokio::test]
async fn class_backup_without_a_secret_returns_the_item_byte_for_byte() {
    let g = guest().await;
    let item = snapshot_class(json!({"csi.storage.k8s.io/snapshotter-list-secret-name": "ls"}))
        .to_string();
    let out = g
        .runtime
        .execute_backup(caller(CLASS_BACKUPPER), &item, &backup().to_string())
        .await
        .unwrap();
    assert_eq!(out.item, item);
    assert!(out.additional_items.is_empty());
}

#[tokio::test]
async fn class_restore_brings_the_secret_or_skips() {
    let g = guest().await;
    let class = snapshot_class(list_secret_annotations());

    let out = g
        .runtime
        .execute_restore(caller(CLASS_RESTORER), &restore_input(&class, Value::Null))
        .await
        .unwrap();
    assert!(!out.skip_restore && !out.wait_for_additional_items);
    assert_eq!(out.item, class.to_string());
    assert_eq!(out.additional_items.len(), 1);
    assert_eq!(out.additional_items_ready_timeout_ms, None);

    let skipped = g
        .runtime
        .execute_restore(caller(CLASS_RESTORER), &restore_input(&class, json!(false)))
        .await
        .unwrap();
    assert!(skipped.skip_restore);
    assert!(skipped.additional_items.is_empty());
    assert!(g.cluster.calls().is_empty());
}

#[tokio::test]
async fn operations_and_readiness() {
    let g = guest().await;
    let owner = backup().to_string();
    let progress = g
        .runtime
        .progress(caller(CLASS_BACKUPPER), "x", &owner)
        .await
        .unwrap();
    assert!(!progress.completed && progress.started.is_none() && progress.err.is_empty());
    let error = action_error(
        g.runtime
            .progress(caller(CLASS_BACKUPPER), "", &owner)
            .await,
    );
    assert_eq!(
        error,
        ActionError::InvalidOperationId("operation ID  is invalid".into())
    );
    g.runtime
        .cancel(caller(CLASS_BACKUPPER), "x", &owner)
        .await
        .unwrap();

    let restore = restore(Value::Null).to_string();
    assert!(
        g.runtime
            .progress(caller(CLASS_RESTORER), "x", &restore)
            .await
            .is_ok()
    );
    g.runtime
        .cancel(caller(CLASS_RESTORER), "x", &restore)
        .await
        .unwrap();
    assert!(
        g.runtime
            .are_additional_items_ready(caller(CLASS_RESTORER), &[], &restore)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn bad_input_becomes_typed_errors() {
    let g = guest().await;
    let b = backup().to_string();
    let cases = [
        ("", "item: unexpected end of JSON input"),
        (r#"{"apiVersion":"v1""#, "item: invalid JSON"),
        ("[1,2]", "item: expected a JSON object, found an array"),
        (
            r#"{"apiVersion":"v1"}"#,
            r#"Object 'Kind' is missing in '{"apiVersion":"v1"}'"#,
        ),
    ];
    for (item, expected) in cases {
        match action_error(
            g.runtime
                .execute_backup(caller(CLASS_BACKUPPER), item, &b)
                .await,
        ) {
            ActionError::InvalidInput(message) => {
                assert!(message.starts_with(expected), "{item}: {message}")
            }
            other => panic!("{item}: {other:?}"),
        }
    }
    let class = snapshot_class(json!({})).to_string();
    let error = action_error(
        g.runtime
            .execute_backup(caller(CLASS_BACKUPPER), &class, "not json")
            .await,
    );
    assert!(matches!(error, ActionError::InvalidInput(m) if m.starts_with("backup: invalid JSON")));
}

#[tokio::test]
async fn unknown_names_and_kinds_are_refused() {
    let g = guest().await;
    let class = snapshot_class(json!({})).to_string();
    let b = backup().to_string();
    let unknown = action_error(
        g.runtime
            .execute_backup(caller("velero.io/nope"), &class, &b)
            .await,
    );
    assert_eq!(
        unknown,
        ActionError::UnknownAction(
            "this component has no backup item action (v2) named velero.io/nope".into()
        )
    );
    let wrong_kind = action_error(
        g.runtime
            .execute_backup(caller(CLASS_RESTORER), &class, &b)
            .await,
    );
    assert_eq!(
        wrong_kind,
        ActionError::UnknownAction(format!(
            "this component has no backup item action (v2) named {CLASS_RESTORER}"
        ))
    );
    let delete = action_error(
        g.runtime
            .execute_delete(caller(CLASS_BACKUPPER), &class, &b)
            .await,
    );
    assert_eq!(
        delete,
        ActionError::UnknownAction(format!(
            "this component has no delete item action named {CLASS_BACKUPPER}"
        ))
    );
}

#[tokio::test]
async fn guest_logs_reach_the_host_with_the_action_as_source() {
    let g = guest().await;
    g.runtime
        .execute_backup(
            caller(CLASS_BACKUPPER),
            &snapshot_class(json!({})).to_string(),
            &backup().to_string(),
        )
        .await
        .unwrap();
    let logs = g.logs.records();
    let seen: Vec<_> = logs
        .iter()
        .map(|r| (r.level, r.source.as_str(), r.message.as_str()))
        .collect();
    assert_eq!(
        seen,
        [
            (
                Level::Info,
                CLASS_BACKUPPER,
                "Executing VolumeSnapshotClassBackupItemAction"
            ),
            (
                Level::Info,
                CLASS_BACKUPPER,
                "Returning 0 additionalItems to backup"
            ),
        ]
    );
}

#[tokio::test]
async fn concurrent_calls_share_no_state() {
    let g = Arc::new(guest().await);
    let calls = (0..64).map(|i| {
        let g = g.clone();
        tokio::spawn(async move {
            let annotations = if i % 2 == 0 {
                json!({
                    "csi.storage.k8s.io/snapshotter-list-secret-name": format!("s{i}"),
                    "csi.storage.k8s.io/snapshotter-list-secret-namespace": "ns"
                })
            } else {
                json!({})
            };
            let mut class = snapshot_class(annotations);
            class["metadata"]["name"] = json!(format!("class-{i}"));
            let out = g
                .runtime
                .execute_backup(
                    caller(CLASS_BACKUPPER),
                    &class.to_string(),
                    &backup().to_string(),
                )
                .await
                .unwrap();
            let returned: Value = serde_json::from_str(&out.item).unwrap();
            assert_eq!(returned["metadata"]["name"], format!("class-{i}"));
            let secrets: Vec<_> = out
                .additional_items
                .iter()
                .map(|s| s.name.clone())
                .collect();
            let expected: Vec<String> = if i % 2 == 0 {
                vec![format!("s{i}")]
            } else {
                vec![]
            };
            assert_eq!(secrets, expected);
        })
    });
    for call in calls {
        call.await.unwrap();
    }
}
