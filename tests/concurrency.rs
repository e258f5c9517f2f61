//! Velero 1.16+ may call Execute concurrently on one plugin process. 64 concurrent Executes
//! on one process, each with an item of its own: every call succeeds and every answer is
//! the one for its own item (its own name, its own list-secret as the additional item), so
//! no call saw another's state. Each call runs in a fresh component instance; the host
//! shares only immutable state (the engine, the pre-linked component, the capability table)
//! and the cluster client.

#[allow(dead_code)] // The fixtures are shared with tests/protocol.rs.
mod support;

use serde_json::{Value, json};
use support::{CLASS_BACKUPPER, MUST_INCLUDE, backup, snapshot_class};
use velero_plugin_for_csi::client::Launch;
use velero_plugin_for_csi::proto::generated::ResourceIdentifier;
use velero_plugin_for_csi::proto::v2::ExecuteRequest;
use velero_plugin_for_csi::proto::v2::backup_item_action_client::BackupItemActionClient;

const CALLS: usize = 64;

fn class(i: usize) -> Value {
    let mut class = snapshot_class(json!({
        "csi.storage.k8s.io/snapshotter-list-secret-name": format!("ls-{i}"),
        "csi.storage.k8s.io/snapshotter-list-secret-namespace": format!("ns-{i}"),
    }));
    class["metadata"]["name"] = json!(format!("snap-{i}"));
    class
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sixty_four_concurrent_executes_on_one_process() {
    let tmp = tempfile::tempdir().unwrap();
    let mut launch = Launch::velero_v071(env!("CARGO_BIN_EXE_velero-plugin-for-csi"));
    launch.env.push(("TMPDIR".into(), tmp.path().into()));
    let plugin = launch.start().await.expect("the plugin starts");
    let backup = backup().to_string().into_bytes();

    let calls = (0..CALLS).map(|i| {
        let mut client = BackupItemActionClient::new(plugin.channel());
        let request = ExecuteRequest {
            plugin: CLASS_BACKUPPER.into(),
            item: class(i).to_string().into_bytes(),
            backup: backup.clone(),
        };
        async move { (i, client.execute(request).await) }
    });
    let answers = futures::future::join_all(calls).await;

    assert_eq!(answers.len(), CALLS);
    for (i, answer) in answers {
        let out = answer
            .unwrap_or_else(|status| panic!("call {i} failed: {status:?}"))
            .into_inner();
        let item: Value = serde_json::from_slice(&out.item).expect("JSON item");
        let mut expected = class(i);
        expected["metadata"]["annotations"][MUST_INCLUDE] = json!("true");
        assert_eq!(item, expected, "call {i} answered with another item");
        assert_eq!(
            out.additional_items,
            [ResourceIdentifier {
                group: String::new(),
                resource: "secrets".into(),
                namespace: format!("ns-{i}"),
                name: format!("ls-{i}"),
            }],
            "call {i}"
        );
    }
    let exit = plugin.shutdown().await.unwrap();
    assert!(exit.graceful && exit.status.success(), "{exit:?}");
}
