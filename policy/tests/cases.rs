//! Runs the table of policy cases in `policy/cases/*.yaml`, one test per case, named
//! `<file>/<case>`.

use std::path::Path;

use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("cases");
    let mut trials = Vec::new();
    for file in volume_policy::cases::files(&dir).expect("read policy/cases") {
        let cases = volume_policy::cases::load_file(&file)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for (id, case) in cases {
            trials.push(Trial::test(id, move || case.run().map_err(Failed::from)));
        }
    }
    libtest_mimic::run(&Arguments::from_args(), trials).exit();
}
