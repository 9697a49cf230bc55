//! LDK's [`Logger`](lightning::util::logger::Logger) bridged into `tracing` (docs/design.md §8).

use lightning::util::logger::{Level, Logger, Record};

/// Forwards LDK log records to `tracing` under the target `ldk`.
#[derive(Debug, Default)]
pub struct TracingLogger {
    /// A label (the node's alias) prefixed to every line, so several nodes in one process can be
    /// told apart.
    pub label: String,
}

impl Logger for TracingLogger {
    fn log(&self, record: Record) {
        let label = &self.label;
        let module = record.module_path;
        match record.level {
            Level::Gossip | Level::Trace => {
                tracing::trace!(target: "ldk", "[{label}] {module}: {}", record.args)
            }
            Level::Debug => tracing::debug!(target: "ldk", "[{label}] {module}: {}", record.args),
            Level::Info => tracing::info!(target: "ldk", "[{label}] {module}: {}", record.args),
            Level::Warn => tracing::warn!(target: "ldk", "[{label}] {module}: {}", record.args),
            Level::Error => tracing::error!(target: "ldk", "[{label}] {module}: {}", record.args),
        }
    }
}
