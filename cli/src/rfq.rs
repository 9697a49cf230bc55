//! `lnedge rfq …`: offline tools for RFQ messages.

use anyhow::{anyhow, bail, Context, Result};
use bitcoin::hex::{DisplayHex, FromHex};
use clap::{Subcommand, ValueEnum};
use rfq_wire::{HtlcRecords, RfqId, RfqMessage, ACCEPT_TYPE, REJECT_TYPE, REQUEST_TYPE};
use serde::Serialize;
use std::io::Read;
use std::path::PathBuf;

/// RFQ subcommands.
#[derive(Subcommand)]
pub enum RfqCommand {
    /// Decode an RFQ message (or HTLC custom records) from hex and print it as JSON.
    Decode {
        /// The message as hex. Omit it to use --file, or `-` to read standard input.
        hex: Option<String>,
        /// Read the hex from this file instead.
        #[arg(long, conflicts_with = "hex")]
        file: Option<PathBuf>,
        /// The input starts with the 2-byte BOLT 1 message type.
        #[arg(long)]
        with_type: bool,
        /// What the data is, when it has no type prefix (guessed from its records otherwise).
        #[arg(long, conflicts_with = "with_type")]
        kind: Option<Kind>,
    },
    /// Read the JSON that `decode` prints from standard input and print the message as hex.
    Encode {
        /// Prefix the 2-byte BOLT 1 message type.
        #[arg(long)]
        with_type: bool,
    },
    /// Print the SCID alias of a quote id: as a u64 and as BLOCKxTXxOUT.
    Scid {
        /// The 32-byte quote id as hex.
        id: String,
    },
    /// Convert between msat and asset units at a rate, exactly as tapd computes it.
    Convert(crate::convert::ConvertArgs),
}

/// What bare data holds.
#[derive(Clone, Copy, ValueEnum)]
pub enum Kind {
    /// Quote request, type 52884.
    Request,
    /// Quote accept, type 52885.
    Accept,
    /// Quote reject, type 52886.
    Reject,
    /// `update_add_htlc` custom records (65536+).
    HtlcRecords,
}

const HTLC_KIND: &str = "htlc_records";

/// Runs one RFQ subcommand.
pub fn run(cmd: RfqCommand) -> Result<()> {
    match cmd {
        RfqCommand::Decode {
            hex,
            file,
            with_type,
            kind,
        } => {
            let text = read_input(hex, file)?;
            let bytes = parse_hex(&text)?;
            let decoded = decode(&bytes, with_type, kind)?;
            crate::output::line(&serde_json::to_string_pretty(&decoded)?)?;
        }
        RfqCommand::Encode { with_type } => {
            let mut input = String::new();
            std::io::stdin()
                .read_to_string(&mut input)
                .context("reading standard input")?;
            crate::output::line(&encode(&input, with_type)?.to_lower_hex_string())?;
        }
        RfqCommand::Convert(args) => crate::convert::run(args)?,
        RfqCommand::Scid { id } => {
            let id: RfqId = id.trim().parse()?;
            let scid = id.scid();
            crate::output::line(&format!("{} {}", scid.0, scid))?;
        }
    }
    Ok(())
}

fn read_input(hex: Option<String>, file: Option<PathBuf>) -> Result<String> {
    match (hex, file) {
        (Some(h), _) if h == "-" => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading standard input")?;
            Ok(s)
        }
        (Some(h), _) => Ok(h),
        (None, Some(path)) => {
            std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))
        }
        (None, None) => bail!("give the message as hex, `-` for standard input, or --file F"),
    }
}

fn parse_hex(text: &str) -> Result<Vec<u8>> {
    let text = text.trim();
    let text = text.strip_prefix("0x").unwrap_or(text);
    if text.is_empty() {
        bail!("no input: expected hex");
    }
    Vec::<u8>::from_hex(text).map_err(|e| anyhow!("invalid hex: {e}"))
}

/// What `decode` prints: an RFQ message (tagged with its `kind` by rfq-wire), or HTLC custom
/// records tagged here with `"kind": "htlc_records"`.
#[derive(Serialize)]
#[serde(untagged)]
// One value per command run; the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
enum Decoded {
    Message(RfqMessage),
    Htlc {
        kind: &'static str,
        #[serde(flatten)]
        records: HtlcRecords,
    },
}

fn decode(bytes: &[u8], with_type: bool, kind: Option<Kind>) -> Result<Decoded> {
    let message = if with_type {
        RfqMessage::decode_payload(bytes)?
    } else {
        let kind = match kind {
            Some(kind) => kind,
            None => guess_kind(bytes)?,
        };
        let ty = match kind {
            Kind::Request => REQUEST_TYPE,
            Kind::Accept => ACCEPT_TYPE,
            Kind::Reject => REJECT_TYPE,
            Kind::HtlcRecords => {
                return Ok(Decoded::Htlc {
                    kind: HTLC_KIND,
                    records: HtlcRecords::decode(bytes)?,
                })
            }
        };
        RfqMessage::decode_data(ty, bytes)?
    };
    Ok(Decoded::Message(message))
}

fn guess_kind(bytes: &[u8]) -> Result<Kind> {
    // Surface a malformed stream's own error rather than a failed guess.
    let mut first = None;
    for record in rfq_wire::tlv::TlvReader::new(bytes) {
        let record = record?;
        first.get_or_insert(record.tlv);
    }
    if first.is_some_and(|t| t >= rfq_wire::htlc::tlv::CUSTOM_RANGE_START) {
        return Ok(Kind::HtlcRecords);
    }
    match RfqMessage::guess_type(bytes) {
        Some(REQUEST_TYPE) => Ok(Kind::Request),
        Some(ACCEPT_TYPE) => Ok(Kind::Accept),
        Some(REJECT_TYPE) => Ok(Kind::Reject),
        _ => bail!(
            "cannot tell which RFQ message this is (no TLV 16, 8/10 or 5); pass --kind or --with-type"
        ),
    }
}

fn encode(input: &str, with_type: bool) -> Result<Vec<u8>> {
    let mut value: serde_json::Value =
        serde_json::from_str(input).map_err(|e| anyhow!("invalid JSON: {e}"))?;
    let is_htlc = value.get("kind").and_then(|k| k.as_str()) == Some(HTLC_KIND);
    if is_htlc {
        if with_type {
            bail!("HTLC custom records have no message type; drop --with-type");
        }
        value
            .as_object_mut()
            .expect("an object has a kind")
            .remove("kind");
        let records: HtlcRecords =
            serde_json::from_value(value).map_err(|e| anyhow!("invalid HTLC records: {e}"))?;
        return Ok(records.encode());
    }
    let message: RfqMessage =
        serde_json::from_value(value).map_err(|e| anyhow!("invalid RFQ message: {e}"))?;
    Ok(if with_type {
        message.encode_payload()
    } else {
        message.encode_data()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_encode_round_trip_every_vector() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../rfq-wire/testdata");
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "hex") {
                continue;
            }
            let bytes = parse_hex(&std::fs::read_to_string(&path).unwrap()).unwrap();
            let json = serde_json::to_string(&decode(&bytes, false, None).unwrap()).unwrap();
            let back = encode(&json, false).unwrap();
            assert_eq!(back, bytes, "{}", path.display());
        }
    }
}
