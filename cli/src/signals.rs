//! The stop signals of the foreground commands (`node run`, `devnet`): SIGINT (Ctrl-C) and
//! SIGTERM (service managers, `kill`) both lead to the same clean stop.

use anyhow::Context;

/// SIGINT and SIGTERM handlers, installed before the command prints that it runs, so that a
/// signal sent as soon as it has printed is not lost (or, for SIGTERM, fatal).
pub struct StopSignals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl StopSignals {
    /// Installs the handlers (inside the tokio runtime).
    pub fn install() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(StopSignals {
                interrupt: signal(SignalKind::interrupt())
                    .context("installing a SIGINT handler")?,
                terminate: signal(SignalKind::terminate())
                    .context("installing a SIGTERM handler")?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignals {})
    }

    /// Waits for the first of SIGINT or SIGTERM; returns its name.
    pub async fn wait(mut self) -> anyhow::Result<&'static str> {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.interrupt.recv() => Ok("SIGINT"),
                _ = self.terminate.recv() => Ok("SIGTERM"),
            }
        }
        #[cfg(not(unix))]
        {
            tokio::signal::ctrl_c()
                .await
                .context("waiting for Ctrl-C")?;
            Ok("Ctrl-C")
        }
    }
}
