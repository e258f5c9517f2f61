//! `velero-plugin-for-csi`: the binary Velero starts from its plugin directory.

use std::process::ExitCode;
use std::sync::Arc;

use velero_plugin_for_csi::cli::{self, OperatorCommand};
use velero_plugin_for_csi::imports::HostServices;
use velero_plugin_for_csi::imports::clock::SystemClock;
use velero_plugin_for_csi::kubeapi::KubeApi;
use velero_plugin_for_csi::logging::bridge::{LibraryLog, library_level};
use velero_plugin_for_csi::logging::{Level, LogSink, StderrLogger, chain};
use velero_plugin_for_csi::operator::inspect::{self, Inspection};
use velero_plugin_for_csi::operator::precompile::{self, Precompiled};
use velero_plugin_for_csi::operator::version::Version;
use velero_plugin_for_csi::router::{ActiveNames, Router};
use velero_plugin_for_csi::wire::goplugin::{handshake, serve};
use velero_plugin_for_csi::wire::velero::VeleroServices;

fn main() -> ExitCode {
    let argv: Vec<_> = std::env::args_os().collect();
    let cookie = std::env::var(handshake::MAGIC_COOKIE_KEY).ok();
    if !handshake::cookie_matches(cookie.as_deref()) {
        return match cli::operator_command(&argv) {
            Some(OperatorCommand::Demo) => demo(),
            Some(OperatorCommand::Inspect { module, json }) => {
                let report =
                    block_on(|| inspect::inspect(module.as_deref(), ActiveNames::from_env()));
                print_report(
                    "inspect",
                    report,
                    json,
                    Inspection::to_json,
                    Inspection::to_text,
                )
            }
            Some(OperatorCommand::Precompile { module, json }) => {
                // The cache the plugin would use: `--module-cache`, else the environment.
                let env = |name: &str| std::env::var(name).ok();
                let cache = cli::parse(argv.iter().cloned()).overrides(env).cache;
                let report = block_on(|| precompile::precompile(&module, cache.clone()));
                print_report(
                    "precompile",
                    report,
                    json,
                    Precompiled::to_json,
                    Precompiled::to_text,
                )
            }
            Some(OperatorCommand::Version { json }) => {
                let report = block_on(|| Version::of_this_binary(ActiveNames::from_env()));
                print_report("version", report, json, Version::to_json, Version::to_text)
            }
            Some(OperatorCommand::Usage) => {
                eprint!("{}", cli::USAGE);
                ExitCode::FAILURE
            }
            None => {
                eprintln!("{}", handshake::NOT_A_PLUGIN_NOTICE);
                ExitCode::FAILURE
            }
        };
    }
    let args = cli::parse(argv);
    // Read once: the names this process registers for its whole life.
    let names = ActiveNames::from_env();

    let logger: Arc<dyn LogSink> = Arc::new(StderrLogger::new(args.log_level));
    if let Some(warning) = names.warning() {
        logger.emit(Level::Warn, "main", &warning);
    }
    let library_level = library_level(args.log_level);
    let library = LibraryLog::new(Arc::new(StderrLogger::new(library_level)), library_level);
    if let Err(error) = library.install() {
        logger.emit(Level::Warn, "main", &chain(&error));
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            logger.emit(
                Level::Error,
                "main",
                &format!("cannot start the async runtime: {error}"),
            );
            return ExitCode::FAILURE;
        }
    };
    let limit = args.rate_limit(|name| std::env::var(name).ok());
    let services = HostServices {
        cluster: Arc::new(KubeApi::new(limit)),
        logger: logger.clone(),
        clock: Arc::new(SystemClock),
        server: args.server_settings(),
    };
    let env = |name: &str| std::env::var(name).ok();
    let router = Router::new(
        services,
        cli::guest_limits(env),
        args.max_instances(env),
        args.overrides(env),
        names,
    );
    let services = VeleroServices::new(args.argv0.clone(), Arc::new(router));
    let result = runtime.block_on(serve(services, logger.clone()));
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            logger.emit(Level::Error, "main", &chain(&error));
            ExitCode::FAILURE
        }
    }
}

/// `demo`: the main job end to end on the embedded cluster, this binary as the plugin.
#[cfg(feature = "demo")]
fn demo() -> ExitCode {
    let outcome = std::env::current_exe()
        .map_err(|e| format!("cannot find this program's path: {e}"))
        .and_then(|program| {
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the async runtime: {e}"))
                .and_then(|runtime| {
                    runtime
                        .block_on(velero_plugin_for_csi::operator::demo::run(program))
                        .map_err(|e| chain(&e))
                })
        });
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("demo failed: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `demo`, in a binary built without the simulated cluster (the `demo` feature).
#[cfg(not(feature = "demo"))]
fn demo() -> ExitCode {
    eprintln!("demo failed: this binary was built without the `demo` feature");
    ExitCode::FAILURE
}

/// Runs an operator command's future on a single-threaded runtime.
fn block_on<F, T, E>(command: impl FnOnce() -> F) -> Result<T, String>
where
    F: Future<Output = Result<T, E>>,
    E: std::error::Error + 'static,
{
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
        .and_then(|runtime| runtime.block_on(command()).map_err(|e| chain(&e)))
}

/// Prints an operator command's report as text or JSON on stdout, or its error on stderr.
fn print_report<T>(
    command: &str,
    report: Result<T, String>,
    json: bool,
    to_json: impl Fn(&T) -> serde_json::Value,
    to_text: impl Fn(&T) -> String,
) -> ExitCode {
    match report {
        Ok(report) if json => {
            println!("{:#}", to_json(&report));
            ExitCode::SUCCESS
        }
        Ok(report) => {
            print!("{}", to_text(&report));
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{command} failed: {error}");
            ExitCode::FAILURE
        }
    }
}
