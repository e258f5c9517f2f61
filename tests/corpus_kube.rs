//! The scenario corpus through the real Kubernetes client: each call goes through the
//! embedded component, the host's capability-checked `kube` import and its kube-rs client
//! (`KubeApi`), over HTTP to the simulated cluster served as a Kubernetes API server
//! (`sim_cluster::apiserver`). Same files, same expectations as the other two runners; the
//! only scenarios left out are those whose wait runs into its timeout, which would take the
//! timeout's real time through a real client.

use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

use sim_cluster::Cluster as SimCluster;
use sim_cluster::apiserver::ApiServer;
use velero_plugin_for_csi::kubeapi::KubeApi;

#[path = "support/corpus_guest.rs"]
mod corpus_guest;

async fn client(server: &ApiServer) -> Result<kube::Client, String> {
    let kubeconfig =
        kube::config::Kubeconfig::from_yaml(&server.kubeconfig()).map_err(|e| e.to_string())?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .map_err(|e| e.to_string())?;
    kube::Client::try_from(config).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    static TOKIO: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    scenarios::run_except(
        |scenario| scenario.waits_out(),
        |request, cluster: Arc<SimCluster>| {
            let tokio =
                TOKIO.get_or_init(|| tokio::runtime::Runtime::new().expect("tokio runtime"));
            tokio.block_on(async {
                let server = ApiServer::start(cluster).await.map_err(|e| e.to_string())?;
                let api = KubeApi::with_client(client(&server).await?);
                corpus_guest::drive(request, Arc::new(api)).await
            })
        },
    )
}
