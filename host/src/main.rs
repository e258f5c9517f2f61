//! `velero-plugin-for-csi`: the binary Velero starts from its plugin directory.

use std::process::ExitCode;
use std::sync::Arc;

use velero_plugin_for_csi::cli::{self, OperatorCommand};
use velero_plugin_for_csi::goplugin::{handshake, serve};
use velero_plugin_for_csi::kubeapi::KubeApi;
use velero_plugin_for_csi::logging::{Level, LogSink, StderrLogger};
use velero_plugin_for_csi::velero::Plugins;
use velero_plugin_for_csi::wasm::{HostServices, SystemClock};

fn main() -> ExitCode {
    let argv: Vec<_> = std::env::args_os().collect();
    let cookie = std::env::var(handshake::MAGIC_COOKIE_KEY).ok();
    if !handshake::cookie_matches(cookie.as_deref()) {
        return match cli::operator_command(&argv) {
            Some(OperatorCommand::Demo) => demo(),
            Some(OperatorCommand::Inspect { module, json }) => inspect(module.as_deref(), json),
            None => {
                eprintln!("{}", handshake::NOT_A_PLUGIN_NOTICE);
                ExitCode::FAILURE
            }
        };
    }
    let args = cli::parse(argv);

    let logger: Arc<dyn LogSink> = Arc::new(StderrLogger::new(args.log_level));
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
    };
    let plugins = Plugins::new(args.argv0, services);
    let result = runtime.block_on(serve(plugins, logger.clone()));
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            logger.emit(Level::Error, "main", &error.to_string());
            ExitCode::FAILURE
        }
    }
}

/// `demo`: the main job end to end on the embedded cluster, this binary as the plugin.
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
                        .block_on(velero_plugin_for_csi::demo::run(program))
                        .map_err(|e| e.to_string())
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

/// `inspect [MODULE] [--json]`: a component's actions and capability manifests.
fn inspect(module: Option<&std::path::Path>, json: bool) -> ExitCode {
    let outcome = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))
        .and_then(|runtime| {
            runtime
                .block_on(velero_plugin_for_csi::inspect::inspect(module))
                .map_err(|e| e.to_string())
        });
    match outcome {
        Ok(inspection) if json => {
            println!("{:#}", inspection.to_json());
            ExitCode::SUCCESS
        }
        Ok(inspection) => {
            print!("{}", inspection.to_text());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("inspect failed: {error}");
            ExitCode::FAILURE
        }
    }
}
