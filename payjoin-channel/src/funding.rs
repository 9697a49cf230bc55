//! The exact-amount output recipe: turning a payjoin into a channel funding transaction.
//!
//! The receiver output the payer meant to pay is replaced by one output per channel, each at
//! exactly the channel amount, plus a change output that is the *drain*: it absorbs the value of
//! a contributed receiver input and pays every fee the receiver owes (the wider funding outputs,
//! the new change output, the contributed input beyond what the payer's fee contribution
//! covers). Funding outputs are never the drain, so their value cannot move; this is checked
//! again on the final PSBT, together with the txid: with native segwit inputs only, the txid of
//! the unsigned proposal is the txid of the transaction the payer will broadcast.
//!
//! Sans-I/O: the functions here only transform `payjoin` typestates.

use bitcoin::hashes::Hash;
use bitcoin::{Amount, FeeRate, OutPoint, Psbt, ScriptBuf, Transaction, TxOut, Txid};
use payjoin::receive::v1::{ProvisionalProposal, WantsOutputs};
use payjoin::receive::{InputContributionError, InputPair, OutputSubstitutionError};

use crate::opener::PendingChannel;

/// Why a funding proposal could not be built.
#[derive(Debug, thiserror::Error)]
pub enum FundingError {
    /// The payer disabled output substitution (`pjos=0` or `disableoutputsubstitution`).
    #[error("output substitution is disabled")]
    SubstitutionDisabled,
    /// The payment does not cover the channels.
    #[error("payment {paid} does not cover the channels {channels}")]
    PaymentTooSmall {
        /// Paid to the schedule's address.
        paid: Amount,
        /// Sum of the channel amounts.
        channels: Amount,
    },
    /// A funding script is not a witness program (its txid would not be stable).
    #[error("funding script is not segwit")]
    FundingScriptNotSegwit,
    /// The `payjoin` crate refused the substitution.
    #[error("output substitution: {0}")]
    Substitution(#[from] OutputSubstitutionError),
    /// The `payjoin` crate refused the contributed input.
    #[error("input contribution: {0}")]
    Contribution(#[from] InputContributionError),
    /// The fee range could not be applied (the change cannot pay the fee).
    #[error("fee: {0}")]
    Fee(#[source] payjoin::receive::Error),
    /// A funding output is missing or does not have exactly its amount.
    #[error("funding output for channel {0} missing or changed")]
    FundingOutputChanged(String),
    /// The change left after fees would be dust.
    #[error("change {0} is dust")]
    ChangeIsDust(Amount),
}

/// Inputs to [`build_funding_proposal`].
#[derive(Debug, Clone)]
pub struct FundingPlan<'a> {
    /// The accepted channels (script and exact amount).
    pub channels: &'a [PendingChannel],
    /// What the payer paid to the schedule's address.
    pub paid: Amount,
    /// Other receiver outputs of the original, kept unchanged.
    pub kept: Vec<TxOut>,
    /// The receiver's change script (the drain).
    pub change_script: ScriptBuf,
    /// A receiver input to contribute, if any (native segwit).
    pub contribution: Option<InputPair>,
    /// Minimum fee rate of the proposal.
    pub min_fee_rate: Option<FeeRate>,
    /// The highest effective fee rate the receiver pays for its additions.
    pub max_effective_fee_rate: FeeRate,
}

/// Replaces the receiver output by the funding outputs and the change, contributes the input,
/// applies the fee range and checks the result (funding outputs exact, change not dust).
pub fn build_funding_proposal(
    wants: WantsOutputs,
    plan: FundingPlan<'_>,
) -> Result<ProvisionalProposal, FundingError> {
    if wants.output_substitution() == payjoin::OutputSubstitution::Disabled {
        return Err(FundingError::SubstitutionDisabled);
    }
    let channels_total: Amount = plan.channels.iter().map(|c| c.amount).sum();
    let change_value =
        plan.paid
            .checked_sub(channels_total)
            .ok_or(FundingError::PaymentTooSmall {
                paid: plan.paid,
                channels: channels_total,
            })?;
    let mut outputs: Vec<TxOut> = plan
        .channels
        .iter()
        .map(|c| {
            if c.funding_script.is_witness_program() {
                Ok(TxOut {
                    value: c.amount,
                    script_pubkey: c.funding_script.clone(),
                })
            } else {
                Err(FundingError::FundingScriptNotSegwit)
            }
        })
        .collect::<Result<_, _>>()?;
    outputs.push(TxOut {
        value: change_value,
        script_pubkey: plan.change_script.clone(),
    });
    outputs.extend(plan.kept);
    let wants = wants.replace_receiver_outputs(outputs, &plan.change_script)?;
    let mut inputs = wants.commit_outputs();
    if let Some(input) = plan.contribution {
        inputs = inputs.contribute_inputs([input])?;
    }
    let proposal = inputs
        .commit_inputs()
        .apply_fee_range(plan.min_fee_rate, Some(plan.max_effective_fee_rate))
        .map_err(FundingError::Fee)?;
    let psbt = proposal.psbt_to_sign();
    funding_outpoints(&psbt.unsigned_tx, plan.channels)?;
    let change = psbt
        .unsigned_tx
        .output
        .iter()
        .find(|o| o.script_pubkey == plan.change_script)
        .map(|o| o.value)
        .unwrap_or(Amount::ZERO);
    if change < plan.change_script.minimal_non_dust() {
        return Err(FundingError::ChangeIsDust(change));
    }
    Ok(proposal)
}

/// The funding outpoint of each channel in `tx`, in the order of `channels`: the output with the
/// channel's script and exactly its amount (the output order is randomised by `payjoin`).
pub fn funding_outpoints(
    tx: &Transaction,
    channels: &[PendingChannel],
) -> Result<Vec<OutPoint>, FundingError> {
    let txid = tx.compute_txid();
    let mut used = vec![false; tx.output.len()];
    channels
        .iter()
        .map(|c| {
            let vout = tx
                .output
                .iter()
                .enumerate()
                .position(|(i, o)| {
                    !used[i] && o.script_pubkey == c.funding_script && o.value == c.amount
                })
                .ok_or_else(|| FundingError::FundingOutputChanged(c.id.clone()))?;
            used[vout] = true;
            let vout = u32::try_from(vout)
                .map_err(|_| FundingError::FundingOutputChanged(c.id.clone()))?;
            Ok(OutPoint { txid, vout })
        })
        .collect()
}

/// Virtual size one funding output adds (P2WSH or P2TR: 8 value + 1 length + 34 script).
pub const FUNDING_OUTPUT_VBYTES: u64 = 43;
/// Virtual size of the P2WPKH output the payer pays (8 + 1 + 22).
pub const P2WPKH_OUTPUT_VBYTES: u64 = 31;
/// Virtual size of a P2WPKH input the receiver contributes (rounded up).
pub const P2WPKH_INPUT_VBYTES: u64 = 68;

/// A fee margin for a schedule of `channels` channels paid at up to `fee_rate`: the fee of what
/// the receiver adds (funding outputs replacing one P2WPKH output, a P2WPKH change output, one
/// contributed P2WPKH input, all paid by the receiver in the worst case) plus a non-dust change.
/// Anything above that ends up as change.
pub fn suggested_fee_margin(channels: usize, fee_rate: FeeRate) -> Amount {
    let channels = channels.max(1) as u64;
    let funding = FUNDING_OUTPUT_VBYTES * channels - P2WPKH_OUTPUT_VBYTES;
    let vbytes = funding + P2WPKH_OUTPUT_VBYTES + P2WPKH_INPUT_VBYTES;
    let fee = fee_rate.fee_vb(vbytes).unwrap_or(Amount::MAX_MONEY);
    let dust =
        ScriptBuf::new_p2wpkh(&bitcoin::WPubkeyHash::from_byte_array([0; 20])).minimal_non_dust();
    fee.checked_add(dust).unwrap_or(Amount::MAX_MONEY)
}

/// Whether every input of the payer's signed original is native segwit (empty `script_sig`,
/// non-empty witness), i.e. whether the payjoin's txid is fixed before anyone signs.
pub fn inputs_are_native_segwit(original: &Transaction) -> bool {
    !original.input.is_empty()
        && original
            .input
            .iter()
            .all(|i| i.script_sig.is_empty() && !i.witness.is_empty())
}

/// The txid the payjoin will have once the payer signed it (valid when
/// [`inputs_are_native_segwit`] holds for the original and the receiver contributed only native
/// segwit inputs).
pub fn stable_txid(proposal: &Psbt) -> Txid {
    proposal.unsigned_tx.compute_txid()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn margin_covers_outputs_input_and_dust() {
        let rate = FeeRate::from_sat_per_vb_u32(2);
        // 1 channel: (43 − 31 funding growth + 31 change + 68 input) vB × 2 + 294 dust.
        assert_eq!(
            suggested_fee_margin(1, rate),
            Amount::from_sat(111 * 2 + 294)
        );
        assert_eq!(
            suggested_fee_margin(2, rate),
            Amount::from_sat((111 + 43) * 2 + 294)
        );
    }
}
