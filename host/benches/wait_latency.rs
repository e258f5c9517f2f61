//! Wait latency: from the moment a snapshot's handle appears to the moment the
//! VolumeSnapshot backup action's Execute returns, through the real plugin process and a
//! real Kubernetes client.
//!
//! Run with `cargo bench -p velero-plugin-for-csi --bench wait_latency -- [runs] [go-plugin]`
//! (default 10 runs; the Go plugin v0.7.1 binary defaults to
//! `~/.cache/velero-csi-wasm/velero-plugin-for-csi-go-v0.7.1`, built by
//! `tests/bench-go-plugin/build`, and is skipped when absent).
//!
//! Each run serves a fresh simulated cluster (real time) over HTTP as a Kubernetes API
//! server, starts the plugin with a kubeconfig pointing there, and calls Execute on a
//! VolumeSnapshot created by the backup whose content has no handle yet. After a delay that
//! varies from run to run (so that a poller is caught at every phase of its period), the
//! handle is written and the clock starts; it stops when Execute returns. Prints a Markdown
//! table of median, 90th percentile and maximum per plugin.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sim_cluster::apiserver::ApiServer;
use sim_cluster::{Cluster, gvr_of_resource};
use velero_plugin_for_csi::client::Launch;
use velero_plugin_for_csi::proto::v2::ExecuteRequest;
use velero_plugin_for_csi::proto::v2::backup_item_action_client::BackupItemActionClient;

const BINARY: &str = env!("CARGO_BIN_EXE_velero-plugin-for-csi");

fn objects() -> Vec<Value> {
    vec![
        json!({
            "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
            "metadata": {"namespace": "app", "name": "velero-data-abcde",
                         "labels": {"velero.io/backup-name": "b1"}},
            "spec": {"source": {"persistentVolumeClaimName": "data"},
                     "volumeSnapshotClassName": "snap-default"},
            "status": {"boundVolumeSnapshotContentName": "c1", "readyToUse": false}
        }),
        json!({
            "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotContent",
            "metadata": {"name": "c1"},
            "spec": {"deletionPolicy": "Delete", "driver": "hostpath.csi.k8s.io",
                     "source": {"volumeHandle": "volume-1"},
                     "volumeSnapshotClassName": "snap-default",
                     "volumeSnapshotRef": {"kind": "VolumeSnapshot", "namespace": "app",
                                           "name": "velero-data-abcde"}},
            "status": {"readyToUse": false}
        }),
    ]
}

fn request() -> ExecuteRequest {
    let backup = json!({
        "apiVersion": "velero.io/v1", "kind": "Backup",
        "metadata": {"namespace": "velero", "name": "b1", "uid": "11111111-2222-3333-4444-555555555555"},
        "spec": {"csiSnapshotTimeout": "1m0s"},
        "status": {"phase": "InProgress"}
    });
    ExecuteRequest {
        plugin: "velero.io/csi-volumesnapshot-backupper".into(),
        item: objects()[0].to_string().into_bytes(),
        backup: backup.to_string().into_bytes(),
    }
}

/// One run: the latency from the handle's appearance to Execute's return.
async fn one_run(program: &Path, delay: Duration) -> Result<Duration, String> {
    let cluster = Arc::new(Cluster::real_time());
    cluster.seed(objects());
    let server = ApiServer::start(cluster.clone())
        .await
        .map_err(|e| e.to_string())?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, server.kubeconfig()).map_err(|e| e.to_string())?;
    let mut launch = Launch::velero_v071(program);
    launch
        .env
        .push(("KUBECONFIG".into(), kubeconfig.into_os_string()));
    launch.env_remove.push("KUBERNETES_SERVICE_HOST".into());
    let plugin = launch.start().await.map_err(|e| e.to_string())?;
    let mut client = BackupItemActionClient::new(plugin.channel());
    let call = tokio::spawn(async move {
        let result = client.execute(request()).await;
        (result, Instant::now())
    });
    tokio::time::sleep(delay).await;
    let contents = gvr_of_resource("volumesnapshotcontents").ok_or("no VSC resource")?;
    cluster
        .merge_patch(
            &contents,
            None,
            "c1",
            &json!({"status": {"snapshotHandle": "h1", "restoreSize": 1073741824}}),
        )
        .map_err(|e| e.to_string())?;
    let written = Instant::now();
    let (result, returned) = call.await.map_err(|e| e.to_string())?;
    result.map_err(|status| format!("Execute failed: {}", status.message()))?;
    plugin.shutdown().await.map_err(|e| e.to_string())?;
    Ok(returned.saturating_duration_since(written))
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn main() {
    let mut args = std::env::args().skip(1).filter(|a| a != "--bench");
    let runs: u32 = args.next().and_then(|r| r.parse().ok()).unwrap_or(10);
    let go = args.next().map(PathBuf::from).or_else(|| {
        std::env::var_os("HOME")
            .map(|home| {
                PathBuf::from(home).join(".cache/velero-csi-wasm/velero-plugin-for-csi-go-v0.7.1")
            })
            .filter(|p| p.exists())
    });
    let runtime = tokio::runtime::Runtime::new().expect("tokio runtime");
    let mut plugins = vec![("this plugin", PathBuf::from(BINARY))];
    if let Some(go) = go {
        plugins.push(("Go plugin v0.7.1", go));
    }
    println!("| plugin | runs | median | p90 | max |");
    println!("|---|---|---|---|---|");
    let mut medians = Vec::new();
    for (name, program) in &plugins {
        let mut samples = Vec::new();
        for run in 0..runs {
            // Delays spread over 0.3–5.3 s, so that a 5 s poller is met at every phase.
            let delay = Duration::from_millis(300 + u64::from(run) * 5000 / u64::from(runs));
            match runtime.block_on(one_run(program, delay)) {
                Ok(latency) => samples.push(latency),
                Err(error) => {
                    eprintln!("{name}: run {run} failed: {error}");
                    std::process::exit(1);
                }
            }
        }
        samples.sort();
        let ms = |d: Duration| format!("{:.1} ms", d.as_secs_f64() * 1e3);
        println!(
            "| {name} | {runs} | {} | {} | {} |",
            ms(percentile(&samples, 0.5)),
            ms(percentile(&samples, 0.9)),
            ms(samples[samples.len() - 1])
        );
        medians.push(percentile(&samples, 0.5));
    }
    if let [ours, go] = medians[..] {
        println!(
            "\nmedian ratio (this plugin / Go): {:.4}×",
            ours.as_secs_f64() / go.as_secs_f64()
        );
    }
}
