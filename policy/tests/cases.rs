//! Runs the table of policy cases in `policy/cases/*.yaml`, one test per case, named
//! `<file>/<case>`.

use std::path::Path;

use libtest_mimic::{Arguments, Failed, Trial};

fn main() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("cases");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("read policy/cases")
        .map(|e| e.expect("read policy/cases entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let mut trials = Vec::new();
    for file in files {
        let stem = file
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_owned();
        let text = std::fs::read_to_string(&file).expect("read case file");
        let cases =
            volume_policy::cases::load(&text).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        for case in cases {
            trials.push(Trial::test(format!("{stem}/{}", case.name), move || {
                case.run().map_err(Failed::from)
            }));
        }
    }
    libtest_mimic::run(&Arguments::from_args(), trials).exit();
}
