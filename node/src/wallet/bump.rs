//! The wallet as LDK's coin source for anchor channels: when a commitment or HTLC transaction
//! must be fee-bumped (`Event::BumpTransaction`), LDK's bump handler picks confirmed wallet
//! coins, builds the child (or the HTLC transaction with our inputs) and asks the wallet to sign
//! its inputs; LDK signs the anchor and HTLC inputs itself.

use bdk_wallet::signer::SignersContainer;
use bdk_wallet::SignOptions;
use bitcoin::hashes::Hash;
use bitcoin::psbt::Psbt;
use bitcoin::{OutPoint, ScriptBuf, Transaction, WPubkeyHash};
use lightning::sign::ChangeDestinationSourceSync;
use lightning::util::wallet_utils::{Utxo, WalletSourceSync};

use super::OnchainWallet;

impl WalletSourceSync for OnchainWallet {
    fn list_confirmed_utxos(&self) -> Result<Vec<Utxo>, ()> {
        let inner = self.lock();
        Ok(inner
            .wallet
            .list_unspent()
            .filter(|u| u.chain_position.is_confirmed())
            .filter_map(|u| {
                let script = &u.txout.script_pubkey;
                if !script.is_p2wpkh() {
                    return None;
                }
                let hash = <[u8; 20]>::try_from(&script.as_bytes()[2..22]).ok()?;
                Some(Utxo::new_v0_p2wpkh(
                    u.outpoint,
                    u.txout.value,
                    &WPubkeyHash::from_byte_array(hash),
                ))
            })
            .collect())
    }

    fn get_prevtx(&self, outpoint: OutPoint) -> Result<Transaction, ()> {
        let inner = self.lock();
        inner
            .wallet
            .get_tx(outpoint.txid)
            .map(|t| t.tx_node.tx.as_ref().clone())
            .ok_or(())
    }

    fn get_change_script(&self) -> Result<ScriptBuf, ()> {
        self.get_change_destination_script()
    }

    fn sign_psbt(&self, mut psbt: Psbt) -> Result<Transaction, ()> {
        let inner = self.lock();
        let signers: Vec<&SignersContainer> = self.signers.iter().map(|s| s.as_ref()).collect();
        // The PSBT comes from LDK: our inputs carry their previous transactions (`get_prevtx`),
        // the anchor or HTLC input only its witness UTXO, which BDK must accept here. LDK signs
        // that input after us, so the PSBT is not finalized yet.
        let options = SignOptions {
            trust_witness_utxo: true,
            ..SignOptions::default()
        };
        inner
            .wallet
            .sign_with_signers(&mut psbt, &signers, options)
            .map_err(|e| tracing::error!("signing a fee bump failed: {e}"))?;
        Ok(psbt.extract_tx_unchecked_fee_rate())
    }
}
