//! Runs the built `copy-plugins` binary as the image would, against temporary folders.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

fn run(args: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_copy-plugins"))
        .args(args)
        .output()
        .expect("the copy-plugins binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn plugin_folder() -> tempfile::TempDir {
    let source = tempfile::tempdir().unwrap();
    // A "binary" larger than the copy buffer, with every byte value.
    let binary: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
    let plugin = source.path().join("velero-plugin-for-csi");
    fs::write(&plugin, binary).unwrap();
    fs::set_permissions(&plugin, fs::Permissions::from_mode(0o755)).unwrap();
    source
}

#[test]
fn copies_the_plugin_binary_and_reports_it() {
    let source = plugin_folder();
    let target = tempfile::tempdir().unwrap();

    let out = run(&[source.path(), target.path()]);

    assert!(out.status.success(), "{out:?}");
    let copied = target.path().join("velero-plugin-for-csi");
    assert_eq!(
        text(&out.stdout),
        format!(
            "copied {} to {} (600000 bytes, mode 0755)\n",
            source.path().join("velero-plugin-for-csi").display(),
            copied.display()
        )
    );
    assert!(out.stderr.is_empty(), "{}", text(&out.stderr));
    assert_eq!(
        fs::read(&copied).unwrap(),
        fs::read(source.path().join("velero-plugin-for-csi")).unwrap()
    );
    assert_eq!(
        fs::metadata(&copied).unwrap().permissions().mode() & 0o777,
        0o755
    );
    let names: Vec<_> = fs::read_dir(target.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["velero-plugin-for-csi"], "no temporary file left");
}

#[test]
fn running_twice_replaces_the_copy() {
    let source = plugin_folder();
    let target = tempfile::tempdir().unwrap();
    assert!(run(&[source.path(), target.path()]).status.success());
    fs::write(source.path().join("velero-plugin-for-csi"), b"v2").unwrap();
    let out = run(&[source.path(), target.path()]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        fs::read(target.path().join("velero-plugin-for-csi")).unwrap(),
        b"v2"
    );
}

#[test]
fn a_missing_source_fails_with_its_path() {
    let target = tempfile::tempdir().unwrap();
    let missing = target.path().join("plugins");
    let out = run(&[&missing, target.path()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "copy-plugins: error: cannot read source folder {}: No such file or directory",
            missing.display()
        )),
        "{stderr}"
    );
}

#[test]
fn an_empty_source_fails() {
    let source = tempfile::tempdir().unwrap();
    let target = tempfile::tempdir().unwrap();
    let out = run(&[source.path(), target.path()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(
        text(&out.stderr),
        format!(
            "copy-plugins: error: source folder {} holds no file to copy\n",
            source.path().display()
        )
    );
}

#[test]
fn a_missing_target_fails_with_its_path() {
    let source = plugin_folder();
    let missing = source.path().join("target");
    let out = run(&[source.path(), &missing]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "copy-plugins: error: cannot use target folder {}: No such file or directory",
            missing.display()
        )),
        "{stderr}"
    );
}

#[test]
fn an_unwritable_target_fails_with_permission_denied() {
    let source = plugin_folder();
    let Some(target) = support::unwritable_dir() else {
        eprintln!("skipped: no folder here is unwritable for this user");
        return;
    };
    let out = run(&[source.path(), target.path()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "copy-plugins: error: cannot write {}: Permission denied",
            target
                .path()
                .join(".velero-plugin-for-csi.copy-plugins.tmp")
                .display()
        )),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    let out = Command::new(env!("CARGO_BIN_EXE_copy-plugins"))
        .args(["a", "b", "c"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(text(&out.stderr).contains("usage: copy-plugins [SOURCE_DIR [TARGET_DIR]]"));

    let out = Command::new(env!("CARGO_BIN_EXE_copy-plugins"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(text(&out.stdout).starts_with("usage: copy-plugins"));
}
