//! The wallet as LDK's coin source for anchor channels: when a commitment or HTLC transaction
//! must be fee-bumped (`Event::BumpTransaction`), LDK's bump handler picks confirmed wallet
//! coins (and of coinbase outputs only mature ones: 100 confirmations, so the child could be
//! mined in the next block), builds the child (or the HTLC transaction with our inputs) and asks the wallet to sign
//! its inputs; LDK signs the anchor and HTLC inputs itself.

use bdk_wallet::chain::ChainPosition;
use bdk_wallet::signer::SignersContainer;
use bdk_wallet::SignOptions;
use bitcoin::hashes::Hash;
use bitcoin::psbt::Psbt;
use bitcoin::{OutPoint, ScriptBuf, Transaction, WPubkeyHash};
use lightning::sign::ChangeDestinationSourceSync;
use lightning::util::wallet_utils::{Utxo, WalletSourceSync};

use super::OnchainWallet;

/// Confirmations a coinbase output needs before it may be spent (Bitcoin's
/// `COINBASE_MATURITY`): one confirmed at height `h` may be spent in block `h + 100`.
const COINBASE_MATURITY: u32 = 100;

impl WalletSourceSync for OnchainWallet {
    fn list_confirmed_utxos(&self) -> Result<Vec<Utxo>, ()> {
        let inner = self.lock();
        let tip = inner.wallet.latest_checkpoint().height();
        // A spend of it would be mined at `tip + 1` at the earliest.
        let spendable = |u: &bdk_wallet::LocalOutput| match u.chain_position {
            ChainPosition::Confirmed { anchor, .. } => {
                let coinbase = inner
                    .wallet
                    .get_tx(u.outpoint.txid)
                    .is_some_and(|t| t.tx_node.tx.is_coinbase());
                !coinbase || tip + 1 >= anchor.block_id.height + COINBASE_MATURITY
            }
            ChainPosition::Unconfirmed { .. } => false,
        };
        Ok(inner
            .wallet
            .list_unspent()
            .filter(spendable)
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bitcoin::Network;
    use lightning::chain::{BlockLocator, Listen};
    use lightning::util::wallet_utils::WalletSourceSync;
    use lnedge_devnet::{anyone_can_spend_script, Devnet};

    use crate::chain::ChainClient;
    use crate::wallet::OnchainWallet;

    /// Immature coinbase outputs (fewer than 100 confirmations) are not offered for fee bumps;
    /// a coinbase is offered from its 100th confirmation, as Bitcoin Core lets it be spent.
    #[tokio::test]
    async fn fee_bumps_get_only_mature_coinbase_outputs() {
        let devnet = Devnet::in_memory();
        let dir = tempfile::tempdir().unwrap();
        // The wallet reads no fees here; the client is never called.
        let chain = Arc::new(ChainClient::new(
            "http://127.0.0.1:1",
            "",
            tokio::runtime::Handle::current(),
        ));
        let genesis = devnet.tip();
        let wallet = OnchainWallet::open(
            &dir.path().join("wallet.sqlite"),
            &[7; 32],
            Network::Regtest,
            BlockLocator::new(genesis, 0),
            chain,
        )
        .unwrap();
        let mut height = 0;
        let mut mine = |n: u32, script: &bitcoin::ScriptBuf| {
            for hash in devnet.mine(n, script).unwrap() {
                height += 1;
                wallet.block_connected(&devnet.block(&hash).unwrap(), height);
            }
        };
        let ours = wallet.new_address().unwrap().script_pubkey();
        mine(1, &ours); // coinbase at height 1
        mine(98, &anyone_can_spend_script()); // 99 confirmations
        assert_eq!(wallet.balance().immature_sat, 50 * 100_000_000);
        assert!(
            wallet.list_confirmed_utxos().unwrap().is_empty(),
            "a coinbase with 99 confirmations is not spendable in the next block"
        );
        mine(1, &anyone_can_spend_script()); // 100 confirmations
        let coins = wallet.list_confirmed_utxos().unwrap();
        assert_eq!(coins.len(), 1);
        assert_eq!(coins[0].output.value.to_sat(), 50 * 100_000_000);
        // A second coinbase, immature: still only the first one.
        mine(1, &ours);
        assert_eq!(wallet.list_confirmed_utxos().unwrap().len(), 1);
        assert_eq!(wallet.balance().immature_sat, 50 * 100_000_000);
    }
}
