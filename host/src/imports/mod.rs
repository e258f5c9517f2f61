//! Imports: what the host gives the guest (`kube` behind the capability check, `log`,
//! `clock`), served on behalf of one caller per guest call.

pub mod capabilities;
pub mod clock;
pub mod kube;
pub mod log;
pub mod server;

use std::sync::Arc;

use self::capabilities::Grant;
use self::clock::WallClock;
use crate::bindings::velero::csi::server::ServerSettings;
use crate::bindings::velero::csi::types;
use crate::kubeapi::Kubernetes;
use crate::logging::LogSink;

/// What the host gives the guest: the Kubernetes API behind the capability check, the log
/// and the clock.
#[derive(Clone)]
pub struct HostServices {
    /// The Kubernetes API the `kube` import forwards granted calls to.
    pub cluster: Arc<dyn Kubernetes>,
    /// Where the `log` import's records (and capability refusals) go.
    pub logger: Arc<dyn LogSink>,
    /// What the `clock` import tells the time by.
    pub clock: Arc<dyn WallClock>,
    /// What the `server` import answers: the Velero server's settings from the command line.
    pub server: ServerSettings,
}

/// On whose behalf a guest call runs: the action's registered name and the grants the
/// router's table gives it.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    /// The registered name the guest is called with.
    pub action: &'static str,
    /// What the `kube` import lets the call do.
    pub grants: &'static [Grant],
}

impl Caller {
    /// No action: the host itself (listing a component's actions), with no grants.
    pub const HOST: Caller = Caller {
        action: "",
        grants: &[],
    };
}

/// The imports' state for one guest call.
pub struct CallContext {
    caller: Caller,
    services: HostServices,
}

impl CallContext {
    /// A context for a call made on behalf of `caller`.
    pub fn new(caller: Caller, services: HostServices) -> Self {
        Self { caller, services }
    }
}

impl types::Host for CallContext {}
