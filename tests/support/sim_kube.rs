//! A kube-rs client for the simulated cluster served over HTTP, from the kubeconfig the
//! server hands out.

use sim_cluster::apiserver::ApiServer;

/// A client whose requests go to `server`.
pub async fn client(server: &ApiServer) -> Result<kube::Client, String> {
    let kubeconfig =
        kube::config::Kubeconfig::from_yaml(&server.kubeconfig()).map_err(|e| e.to_string())?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
        .await
        .map_err(|e| e.to_string())?;
    kube::Client::try_from(config).map_err(|e| e.to_string())
}
