//! Velero's gRPC requests, served in process by the plugin's routes (see `src/grpc.rs`).
#![no_main]

libfuzzer_sys::fuzz_target!(
    init: velero_csi_fuzz::init("grpc_requests"),
    |data: &[u8]| velero_csi_fuzz::grpc::run(data)
);
