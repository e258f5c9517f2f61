//! The scenario corpus, run through the embedded component under wasmtime: each call goes
//! through the host's runtime and its capability-checked `kube` import to the same
//! simulated cluster the native runner uses, with the same expectations.

use std::process::ExitCode;
use std::sync::{Arc, OnceLock};

#[path = "support/corpus_guest.rs"]
mod corpus_guest;
#[path = "support/simulated.rs"]
mod simulated;

fn main() -> ExitCode {
    static TOKIO: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    scenarios::run(|scenario, cluster| {
        let tokio = TOKIO.get_or_init(|| tokio::runtime::Runtime::new().expect("tokio runtime"));
        tokio.block_on(corpus_guest::drive(
            scenario,
            Arc::new(simulated::Simulated(cluster)),
        ))
    })
}
