//! `copy-plugins`: the entrypoint of the plugin image. See the library documentation.

use std::process::ExitCode;

use velero_plugin_copy::{Command, USAGE, args, copy_plugins};

fn main() -> ExitCode {
    let dirs = match args::parse(std::env::args_os().skip(1)) {
        Ok(Command::Help) => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Ok(Command::Copy(dirs)) => dirs,
        Err(err) => {
            eprintln!("copy-plugins: {err}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    let result = copy_plugins(
        &dirs.source,
        &dirs.target,
        |copied| {
            println!(
                "copied {} to {} ({} bytes, mode {:04o})",
                copied.source.display(),
                copied.target.display(),
                copied.bytes,
                copied.mode
            )
        },
        |skipped| {
            eprintln!(
                "copy-plugins: skipped {}: not a regular file",
                skipped.path.display()
            )
        },
    );
    match result {
        Ok(_) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("copy-plugins: error: {err}");
            ExitCode::FAILURE
        }
    }
}
