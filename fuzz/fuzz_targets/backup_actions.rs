//! The backup item actions' inputs, natively against the simulated cluster (see the crate docs).
#![no_main]

use velero_csi_fuzz::{Family, init, run_action};

libfuzzer_sys::fuzz_target!(
    init: init(Family::Backup.name()),
    |data: &[u8]| run_action(Family::Backup, data)
);
