//! `lnedge rfq convert`: msat ↔ asset units at a fixed-point rate, with tapd's arithmetic.

use anyhow::{anyhow, bail, Result};
use clap::Args;
use rfq_engine::rate;
use rfq_wire::FixedPoint;
use serde::Serialize;

/// Arguments of `lnedge rfq convert`.
#[derive(Args)]
#[command(group(clap::ArgGroup::new("amount").required(true).args(["msat", "units"])))]
pub struct ConvertArgs {
    /// The rate in asset units per BTC, as COEFFICIENT:SCALE (e.g. 67918900000:2 = 679189000.00).
    #[arg(long, value_name = "COEF:SCALE")]
    rate: String,
    /// Convert this many millisatoshis to asset units.
    #[arg(long)]
    msat: Option<u64>,
    /// Convert this many asset units to millisatoshis; N:SCALE for fractional units.
    #[arg(long, value_name = "N[:SCALE]")]
    units: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Conversion {
    rate: FixedPoint,
    #[serde(skip_serializing_if = "Option::is_none")]
    msat: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    units: Option<FixedPoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    whole_units: Option<u64>,
}

/// Runs the conversion and prints it.
pub fn run(args: ConvertArgs) -> Result<()> {
    let rate = parse_fixed_point("--rate", &args.rate)?;
    rate::check_rate(rate).map_err(|e| anyhow!("--rate {}: {e}", args.rate))?;
    let conversion = match (args.msat, &args.units) {
        (Some(msat), None) => Conversion {
            rate,
            msat: Some(msat),
            units: Some(rate::msat_to_units(msat, rate)?),
            whole_units: Some(rate::msat_to_whole_units(msat, rate)?),
        },
        (None, Some(units)) => {
            let units = parse_fixed_point("--units", units)?;
            Conversion {
                rate,
                msat: Some(rate::units_to_msat(units, rate)?),
                units: Some(units),
                whole_units: None,
            }
        }
        _ => bail!("give exactly one of --msat and --units"),
    };
    if args.json {
        return crate::output::line(&serde_json::to_string_pretty(&conversion)?);
    }
    let units = conversion.units.expect("set on both paths");
    let text = match conversion.whole_units {
        Some(whole) => format!(
            "{} msat = {whole} units (exact {units} = {{{}, {}}}) at {rate} units/BTC",
            conversion.msat.expect("set"),
            units.coefficient,
            units.scale
        ),
        None => format!(
            "{units} units = {} msat at {rate} units/BTC",
            conversion.msat.expect("set")
        ),
    };
    crate::output::line(&text)
}

/// `N` (scale 0) or `N:SCALE`, N an unsigned decimal integer.
fn parse_fixed_point(flag: &str, text: &str) -> Result<FixedPoint> {
    let (coefficient, scale) = match text.split_once(':') {
        Some((c, s)) => (c, s),
        None if flag == "--units" => (text, "0"),
        None => bail!("{flag} {text:?}: expected COEFFICIENT:SCALE, e.g. 67918900000:2"),
    };
    let coefficient: u128 = coefficient.parse().map_err(|_| {
        anyhow!("{flag} {text:?}: {coefficient:?} is not an unsigned integer below 2^128")
    })?;
    let scale: u8 = scale
        .parse()
        .map_err(|_| anyhow!("{flag} {text:?}: scale {scale:?} is not a number from 0 to 255"))?;
    Ok(FixedPoint::new(coefficient, scale))
}
