//! `lnedge`: the operator's command line.
//!
//! Today it carries the offline RFQ tools (`lnedge rfq …`) and the embedded regtest chain
//! (`lnedge devnet`); the node and demo commands join with the node. Every error prints one line
//! to stderr and exits with status 2.

mod convert;
mod devnet;
mod output;
mod rfq;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// lnedge: an edge node for Lightning — RFQ asset quotes, payjoin-funded channels, async
/// payments.
#[derive(Parser)]
#[command(name = "lnedge", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Taproot Assets RFQ tools: decode, encode, SCID of a quote id, rate conversion.
    #[command(subcommand)]
    Rfq(rfq::RfqCommand),
    /// Run devnet, an embedded regtest chain that serves Bitcoin Core's JSON-RPC, in the
    /// foreground until Ctrl-C.
    Devnet(devnet::DevnetArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Rfq(cmd) => rfq::run(cmd),
        Command::Devnet(args) => devnet::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
