//! `lnedge`: the operator's command line.
//!
//! It runs the node (`lnedge node run`), drives a running node over its admin API (`lnedge info`,
//! `peer`, `channel`, `invoice`, `pay`, `keysend`, `offer`, `payments`, `wallet`, `async`), and
//! carries the offline RFQ tools (`lnedge rfq …`) and the embedded regtest chain
//! (`lnedge devnet`). Every error prints one line to stderr and exits with status 2.

mod api_client;
mod api_commands;
mod convert;
mod demo;
mod devnet;
mod node_cmd;
mod output;
mod rfq;
mod signals;
mod table;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// lnedge: an edge node for Lightning — RFQ asset quotes, payjoin-funded channels, async
/// payments.
#[derive(Parser)]
#[command(name = "lnedge", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Admin API: the URL clients use, the address `node run` listens on
    /// [default: 127.0.0.1:9737].
    #[arg(long, global = true, value_name = "URL")]
    api: Option<String>,
    /// The node's data directory [default: ~/.lnedge].
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// The API token file [default: <data dir>/api_token].
    #[arg(long, global = true, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// Print the API's JSON replies instead of tables.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Taproot Assets RFQ tools: decode, encode, SCID of a quote id, rate conversion.
    #[command(subcommand)]
    Rfq(rfq::RfqCommand),
    /// Run devnet, an embedded regtest chain that serves Bitcoin Core's JSON-RPC, in the
    /// foreground until Ctrl-C or SIGTERM.
    Devnet(devnet::DevnetArgs),
    /// End-to-end demo: devnet and two nodes in this process, a funded wallet, a channel, a
    /// BOLT 11 and a BOLT 12 payment; then an async payments server and an often-offline
    /// recipient, paid while her node is stopped.
    Demo(demo::DemoArgs),
    /// Run the node.
    #[command(subcommand)]
    Node(node_cmd::NodeCommand),
    #[command(flatten)]
    Api(api_commands::ApiCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs (LDK's included, target `ldk`) go to stderr when RUST_LOG asks for them; `node run`
    // logs warnings by default.
    let default_filter = if matches!(cli.command, Command::Node(_)) {
        "warn"
    } else {
        "off"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a terminal: a log file or the journal gets plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
    let result = match cli.command {
        Command::Rfq(cmd) => rfq::run(cmd),
        Command::Devnet(args) => devnet::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Node(cmd) => node_cmd::run(cmd, cli.data_dir, cli.api),
        Command::Api(cmd) => api_commands::run(
            cmd,
            api_commands::ClientOptions {
                api: cli.api,
                token_file: cli.token_file,
                data_dir: cli.data_dir,
                json: cli.json,
            },
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {}", one_line(&e));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes on one line, `: `-separated, each said once: a cause whose text
/// its outer error already includes (`cannot build the node: <cause>`) is not repeated.
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || line.contains(&text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(&text);
    }
    line.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::one_line;

    /// An error whose text includes its source's, as `#[error("…: {0}")]` with `#[from]`.
    #[derive(Debug)]
    struct Outer(Inner);

    impl std::fmt::Display for Outer {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "cannot build the node: {}", self.0)
        }
    }

    impl std::error::Error for Outer {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.0)
        }
    }

    #[derive(Debug)]
    struct Inner;

    impl std::fmt::Display for Inner {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("401: wrong RPC credentials for http://127.0.0.1:1")
        }
    }

    impl std::error::Error for Inner {}

    #[test]
    fn causes_already_said_are_not_repeated() {
        let e = anyhow::Error::from(Outer(Inner)).context("starting the node");
        assert_eq!(
            one_line(&e),
            "starting the node: cannot build the node: 401: wrong RPC credentials for http://127.0.0.1:1"
        );
        let e = anyhow::anyhow!("outer").context("top");
        assert_eq!(one_line(&e), "top: outer");
    }
}
