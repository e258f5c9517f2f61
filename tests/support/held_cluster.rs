//! A cluster whose deletes are held until the test releases them (the hostile component's
//! `stall` attack deletes a VolumeSnapshot): a guest call parked in a host call, on demand.
//! Every other request fails as unavailable.

use std::time::Duration;

use tokio::sync::watch;
use velero_plugin_for_csi::bindings::{ApiResource, Condition, KubeError, ObjectRef};
use velero_plugin_for_csi::kubeapi::{KubeFuture, Kubernetes};

/// Holds deletes until [`HeldCluster::release`].
pub struct HeldCluster {
    released: watch::Sender<bool>,
    entered: watch::Sender<usize>,
}

impl HeldCluster {
    pub fn new() -> Self {
        Self {
            released: watch::Sender::new(false),
            entered: watch::Sender::new(0),
        }
    }

    /// Lets every held delete, and every later one, complete.
    pub fn release(&self) {
        self.released.send_replace(true);
    }

    /// Waits until `count` deletes have arrived.
    #[allow(dead_code)] // Not every test binary that includes this file waits.
    pub async fn entered(&self, count: usize) {
        let mut entered = self.entered.subscribe();
        entered
            .wait_for(|n| *n >= count)
            .await
            .expect("sender lives");
    }
}

fn unavailable<'a, T: Send + 'a>() -> KubeFuture<'a, T> {
    Box::pin(async { Err(KubeError::Unavailable("held cluster".into())) })
}

impl Kubernetes for HeldCluster {
    fn get(&self, _: ObjectRef) -> KubeFuture<'_, String> {
        unavailable()
    }

    fn list(
        &self,
        _: ApiResource,
        _: Option<String>,
        _: Option<String>,
    ) -> KubeFuture<'_, Vec<String>> {
        unavailable()
    }

    fn create(&self, _: ApiResource, _: Option<String>, _: String) -> KubeFuture<'_, String> {
        unavailable()
    }

    fn merge_patch(&self, _: ObjectRef, _: String) -> KubeFuture<'_, String> {
        unavailable()
    }

    fn delete(&self, _: ObjectRef) -> KubeFuture<'_, ()> {
        let mut released = self.released.subscribe();
        self.entered.send_modify(|n| *n += 1);
        Box::pin(async move {
            released.wait_for(|r| *r).await.expect("sender lives");
            Ok(())
        })
    }

    fn wait_until(
        &self,
        _: ObjectRef,
        _: Condition,
        _: Duration,
    ) -> KubeFuture<'_, Option<String>> {
        unavailable()
    }
}
