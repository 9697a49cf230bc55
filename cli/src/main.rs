//! `lnedge`: the operator's command line.
//!
//! Today it carries the offline RFQ tools (`lnedge rfq …`); the node, devnet and demo commands
//! join as those crates land. Every error prints one line to stderr and exits with status 2.

mod convert;
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Rfq(cmd) => rfq::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
