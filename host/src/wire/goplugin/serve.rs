//! Serving one plugin process: socket, handshake, gRPC services, shutdown.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::UnixListenerStream;
use tonic::transport::Server;

use super::authority::AnyAuthority;
use super::handshake::{bind_unique, handshake_line, socket_dir};
use super::services::{Broker, Controller, Stdio};
use crate::logging::{Level, LogSink};
use crate::proto::plugin::grpc_broker_server::GrpcBrokerServer;
use crate::proto::plugin::grpc_controller_server::GrpcControllerServer;
use crate::proto::plugin::grpc_stdio_server::GrpcStdioServer;
use crate::wire::velero::VeleroServices;

/// How long in-flight calls get to finish after `Shutdown` (Velero kills after 2 s).
const SHUTDOWN_GRACE: Duration = Duration::from_millis(500);

/// Why the plugin could not serve.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot create the plugin socket")]
    Socket(#[source] std::io::Error),
    #[error("cannot write the handshake to stdout")]
    Handshake(#[source] std::io::Error),
    #[error("the gRPC server failed")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves Velero's `services` with go-plugin's until Velero calls `Shutdown` (or the server
/// fails).
pub async fn serve(services: VeleroServices, logger: Arc<dyn LogSink>) -> Result<(), ServeError> {
    ignore_interrupts(logger.clone());

    let (listener, socket) =
        bind_unique(&socket_dir(|key| std::env::var(key).ok())).map_err(ServeError::Socket)?;
    let _socket_file = SocketFile(socket.clone());
    listener.set_nonblocking(true).map_err(ServeError::Socket)?;
    let listener = tokio::net::UnixListener::from_std(listener).map_err(ServeError::Socket)?;

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (health_reporter, health) = tonic_health::server::health_reporter();
    health_reporter
        .set_service_status("plugin", tonic_health::ServingStatus::Serving)
        .await;

    let routes = services
        .routes()
        .add_service(health)
        .add_service(GrpcControllerServer::new(Controller::new(shutdown_tx)))
        .add_service(GrpcStdioServer::new(Stdio))
        .add_service(GrpcBrokerServer::new(Broker));
    let router = Server::builder().add_routes(routes);

    // The socket listens before the line is printed: the client dials right after reading it.
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(handshake_line(&socket).as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(ServeError::Handshake)?;
    drop(stdout);
    logger.emit(
        Level::Debug,
        "goplugin",
        &format!("serving on {}", socket.display()),
    );

    let mut stop = shutdown_rx.clone();
    // Clients that send the socket path as `:authority` are served too (see `authority`).
    let incoming =
        UnixListenerStream::new(listener).map(|connection| connection.map(AnyAuthority::new));
    let server = router.serve_with_incoming_shutdown(incoming, async move {
        let mut rx = shutdown_rx;
        let _ = rx.wait_for(|stop| *stop).await;
    });
    tokio::pin!(server);
    tokio::select! {
        result = &mut server => return result.map_err(ServeError::from),
        _ = stop.wait_for(|stop| *stop) => {}
    }
    logger.emit(Level::Debug, "goplugin", "shutdown requested");
    // Streams Velero never closes (stdio, broker) must not hold the exit back.
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, server).await;
    Ok(())
}

/// go-plugin servers ignore SIGINT: an interactive Ctrl-C reaches the whole process group,
/// and the client wants to stop its plugins itself.
fn ignore_interrupts(logger: Arc<dyn LogSink>) {
    match signal(SignalKind::interrupt()) {
        Ok(mut interrupts) => {
            tokio::spawn(async move {
                while interrupts.recv().await.is_some() {
                    logger.emit(Level::Debug, "goplugin", "ignoring SIGINT");
                }
            });
        }
        Err(error) => logger.emit(
            Level::Warn,
            "goplugin",
            &format!("cannot ignore SIGINT: {error}"),
        ),
    }
}

/// Removes the socket file when serving ends.
struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}
