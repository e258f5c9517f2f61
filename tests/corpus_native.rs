//! The scenario corpus, run natively: each call goes through the guest's dispatch with the
//! simulated cluster as its imports (`support/native_driver.rs`).

use std::process::ExitCode;

#[path = "support/native_driver.rs"]
mod native_driver;

fn main() -> ExitCode {
    scenarios::run(native_driver::drive)
}
