//! Start-up benchmark: the costs Velero pays on every plugin launch.
//!
//! Run with `cargo bench -p velero-plugin-for-csi --bench startup` (optionally followed by
//! `-- <runs>`, default 30). Prints a Markdown table of medians over the runs:
//! * cold start: `exec` → handshake line read;
//! * discovery cycle: start → `ListPlugins` → `Shutdown` → exit, as Velero's start-up does;
//! * first Execute: the first `Execute` on a fresh process (loads the component);
//! * warm Execute: a later `Execute` on the same process.

use std::time::{Duration, Instant};

use serde_json::json;
use velero_plugin_for_csi::client::Launch;
use velero_plugin_for_csi::proto::generated::Empty;
use velero_plugin_for_csi::proto::generated::plugin_lister_client::PluginListerClient;
use velero_plugin_for_csi::proto::v2::ExecuteRequest;
use velero_plugin_for_csi::proto::v2::backup_item_action_client::BackupItemActionClient;

const BINARY: &str = env!("CARGO_BIN_EXE_velero-plugin-for-csi");

#[derive(Default)]
struct Samples {
    cold_start: Vec<Duration>,
    discovery: Vec<Duration>,
    first_execute: Vec<Duration>,
    warm_execute: Vec<Duration>,
}

fn execute_request() -> ExecuteRequest {
    let class = json!({
        "apiVersion": "snapshot.storage.k8s.io/v1",
        "kind": "VolumeSnapshotClass",
        "metadata": {"name": "snap-default", "annotations": {
            "csi.storage.k8s.io/snapshotter-list-secret-name": "ls",
            "csi.storage.k8s.io/snapshotter-list-secret-namespace": "kube-system"
        }},
        "driver": "hostpath.csi.k8s.io",
        "deletionPolicy": "Delete"
    });
    let backup = json!({"metadata": {"name": "b1", "namespace": "velero"}, "spec": {}, "status": {"phase": "InProgress"}});
    ExecuteRequest {
        plugin: "velero.io/csi-volumesnapshotclass-backupper".into(),
        item: class.to_string().into_bytes(),
        backup: backup.to_string().into_bytes(),
    }
}

async fn one_run(launch: &Launch, samples: &mut Samples) {
    // Discovery cycle, as Velero's start-up runs it.
    let started = Instant::now();
    let plugin = launch.start().await.expect("plugin starts");
    samples.cold_start.push(plugin.handshake_latency());
    PluginListerClient::new(plugin.channel())
        .list_plugins(Empty {})
        .await
        .expect("ListPlugins");
    let exit = plugin.shutdown().await.expect("plugin stops");
    assert!(exit.graceful && exit.status.success());
    samples.discovery.push(started.elapsed());

    // Execute on a fresh process, then again on the same one.
    let plugin = launch.start().await.expect("plugin starts");
    let mut client = BackupItemActionClient::new(plugin.channel());
    for sink in [&mut samples.first_execute, &mut samples.warm_execute] {
        let started = Instant::now();
        client.execute(execute_request()).await.expect("Execute");
        sink.push(started.elapsed());
    }
    plugin.shutdown().await.expect("plugin stops");
}

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn millis(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let runs: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(30);
    let tmp = tempfile::tempdir().expect("temporary directory");
    let mut launch = Launch::velero_v071(BINARY);
    launch.env.push(("TMPDIR".into(), tmp.path().into()));

    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let mut samples = Samples::default();
    runtime.block_on(async {
        one_run(&launch, &mut Samples::default()).await; // warm the page cache
        for _ in 0..runs {
            one_run(&launch, &mut samples).await;
        }
    });

    println!("| measure ({runs} runs) | median | min | max |");
    println!("|---|---|---|---|");
    for (name, values) in [
        (
            "cold start (exec → handshake line)",
            &mut samples.cold_start,
        ),
        (
            "discovery cycle (start, ListPlugins, Shutdown, exit)",
            &mut samples.discovery,
        ),
        (
            "first Execute on a fresh process (loads the component)",
            &mut samples.first_execute,
        ),
        ("warm Execute", &mut samples.warm_execute),
    ] {
        let med = median(values);
        println!(
            "| {name} | {} | {} | {} |",
            millis(med),
            millis(values[0]),
            millis(values[values.len() - 1])
        );
    }
}
