//! LDK's [`Logger`](lightning::util::logger::Logger) bridged into `tracing` (docs/design.md §8).

use std::cell::RefCell;

use lightning::ln::types::ChannelId;
use lightning::util::logger::{Level, Logger, Record};

/// An error LDK logged while [`capture_errors`] watched.
#[derive(Debug, Clone)]
pub(crate) struct CapturedError {
    /// The channel the record is about, if LDK said.
    pub(crate) channel_id: Option<ChannelId>,
    /// The message.
    pub(crate) text: String,
}

thread_local! {
    static CAPTURED: RefCell<Option<Vec<CapturedError>>> = const { RefCell::new(None) };
}

/// Runs `f` and returns, with its result, the errors LDK logged on this thread meanwhile. LDK's
/// reads return a bare `DecodeError` and say what was wrong only in the log; start-up uses this
/// to turn that into a typed error naming the channel.
pub(crate) fn capture_errors<T>(f: impl FnOnce() -> T) -> (T, Vec<CapturedError>) {
    let outer = CAPTURED.with(|c| c.borrow_mut().replace(Vec::new()));
    let result = f();
    let captured = CAPTURED.with(|c| std::mem::replace(&mut *c.borrow_mut(), outer));
    (result, captured.unwrap_or_default())
}

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
        if record.level == Level::Error {
            CAPTURED.with(|c| {
                if let Some(captured) = c.borrow_mut().as_mut() {
                    captured.push(CapturedError {
                        channel_id: record.channel_id,
                        text: record.args.to_string(),
                    });
                }
            });
        }
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
