//! The node's on-chain wallet: `bdk_wallet` with descriptors derived from the node seed,
//! persisted in the node's SQLite database, fed the same blocks as LDK.
//!
//! It funds channel opens (`FundingGenerationReady`), is the output sweeper's change
//! destination, and serves the API's address, balance and send.

mod bump;
mod handle;
mod persister;

pub use handle::Wallet;
pub use persister::{SqliteWalletPersister, WalletStoreError};

use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use bdk_wallet::bitcoin::bip32::Xpriv;
use bdk_wallet::bitcoin::hashes::{sha256, Hash, HashEngine};
use bdk_wallet::chain::BlockId;
use bdk_wallet::descriptor::IntoWalletDescriptor;
use bdk_wallet::signer::SignersContainer;
use bdk_wallet::{KeychainKind, PersistedWallet, SignOptions, Wallet as BdkWallet};
use bitcoin::block::Header;
use bitcoin::psbt::Psbt;
use bitcoin::{Address, Amount, Block, FeeRate, Network, ScriptBuf, Transaction};
use lightning::chain::chaininterface::{ConfirmationTarget, FeeEstimator};
use lightning::chain::transaction::TransactionData;
use lightning::chain::{BlockLocator, Listen};
use lightning::sign::ChangeDestinationSourceSync;
use lnedge_storage::clock::unix_now;
use serde::Serialize;

use crate::chain::ChainClient;
pub use crate::error::WalletError;

/// Balances in satoshis.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct WalletBalance {
    /// Confirmed and spendable.
    pub confirmed_sat: u64,
    /// Unconfirmed, from our own transactions (change).
    pub trusted_pending_sat: u64,
    /// Unconfirmed, from others.
    pub untrusted_pending_sat: u64,
    /// Coinbase outputs not yet mature.
    pub immature_sat: u64,
    /// Sum of all of the above.
    pub total_sat: u64,
}

struct Inner {
    wallet: PersistedWallet<SqliteWalletPersister>,
    db: SqliteWalletPersister,
}

impl Inner {
    fn persist(&mut self) -> Result<(), WalletError> {
        self.wallet.persist(&mut self.db)?;
        Ok(())
    }
}

/// The BDK wallet of the node.
pub struct OnchainWallet {
    inner: Mutex<Inner>,
    signers: Vec<Arc<SignersContainer>>,
    chain: Arc<ChainClient>,
    network: Network,
}

impl std::fmt::Debug for OnchainWallet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnchainWallet")
            .field("network", &self.network)
            .finish_non_exhaustive()
    }
}

fn descriptors(seed: &[u8; 32], network: Network) -> Result<(String, String), WalletError> {
    // A key of its own for the wallet, derived from the node seed (KeysManager uses the seed
    // directly; the wallet never shares its keys).
    let mut engine = sha256::Hash::engine();
    engine.input(b"lnedge/onchain-wallet/v1");
    engine.input(seed);
    let wallet_seed = sha256::Hash::from_engine(engine);
    let xprv = Xpriv::new_master(network, wallet_seed.as_byte_array())
        .map_err(|e| WalletError::Setup(e.to_string()))?;
    let coin = if network == Network::Bitcoin { 0 } else { 1 };
    Ok((
        format!("wpkh({xprv}/84'/{coin}'/0'/0/*)"),
        format!("wpkh({xprv}/84'/{coin}'/0'/1/*)"),
    ))
}

impl OnchainWallet {
    /// Opens the wallet in the SQLite database `path`, creating it (with its chain starting at
    /// `birthday`) the first time.
    pub fn open(
        path: &Path,
        seed: &[u8; 32],
        network: Network,
        birthday: BlockLocator,
        chain: Arc<ChainClient>,
    ) -> Result<Self, WalletError> {
        let (external, internal) = descriptors(seed, network)?;
        let mut db = SqliteWalletPersister::open(path)?;
        let loaded = BdkWallet::load()
            .descriptor(KeychainKind::External, Some(external.clone()))
            .descriptor(KeychainKind::Internal, Some(internal.clone()))
            .check_network(network)
            .load_wallet(&mut db)
            .map_err(|e| WalletError::Setup(e.to_string()))?;
        let mut wallet = match loaded {
            Some(wallet) => wallet,
            None => {
                let mut wallet = BdkWallet::create(external.clone(), internal.clone())
                    .network(network)
                    .create_wallet(&mut db)
                    .map_err(|e| WalletError::Setup(e.to_string()))?;
                if birthday.height > 0 {
                    let update = bdk_wallet::Update {
                        chain: Some(wallet.latest_checkpoint().insert(BlockId {
                            height: birthday.height,
                            hash: birthday.block_hash,
                        })),
                        ..Default::default()
                    };
                    wallet
                        .apply_update(update)
                        .map_err(|e| WalletError::Setup(e.to_string()))?;
                }
                wallet
            }
        };
        let secp = wallet.secp_ctx().clone();
        let mut signers = Vec::new();
        for (desc, kind) in [
            (external, KeychainKind::External),
            (internal, KeychainKind::Internal),
        ] {
            let (_, keymap) = desc
                .into_wallet_descriptor(&secp, network.into())
                .map_err(|e| WalletError::Setup(e.to_string()))?;
            signers.push(Arc::new(SignersContainer::build(
                keymap,
                wallet.public_descriptor(kind),
                &secp,
            )));
        }
        wallet.persist(&mut db)?;
        Ok(Self {
            inner: Mutex::new(Inner { wallet, db }),
            signers,
            chain,
            network,
        })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().expect("wallet lock")
    }

    /// The block the wallet last saw.
    pub fn best_block(&self) -> BlockLocator {
        let cp = self.lock().wallet.latest_checkpoint();
        BlockLocator::new(cp.hash(), cp.height())
    }

    /// A receive address: the lowest revealed one no transaction the wallet has seen pays yet,
    /// or a newly revealed one when every revealed address has been paid. Asking again before
    /// coins arrive gives the same address, so however often it is asked, the revealed
    /// addresses never run past the first unused one: a restore from the seed (which scans a
    /// gap of unused addresses) finds every coin.
    pub fn new_address(&self) -> Result<Address, WalletError> {
        self.address(|wallet| wallet.next_unused_address(KeychainKind::External))
    }

    /// A receive address never handed out before (the next derivation index), even if earlier
    /// ones are still unpaid. For callers that need distinct outputs at once; each one widens
    /// the gap a seed restore must scan.
    pub fn reveal_next_address(&self) -> Result<Address, WalletError> {
        self.address(|wallet| wallet.reveal_next_address(KeychainKind::External))
    }

    fn address(
        &self,
        pick: impl FnOnce(&mut PersistedWallet<SqliteWalletPersister>) -> bdk_wallet::AddressInfo,
    ) -> Result<Address, WalletError> {
        let mut inner = self.lock();
        let address = pick(&mut inner.wallet).address;
        // Revealing an address is staged: persist it before anyone sees the address.
        inner.persist()?;
        Ok(address)
    }

    /// Whether `script` is one of the wallet's (revealed or within the lookahead).
    pub fn owns_script(&self, script: &bitcoin::Script) -> bool {
        self.lock().wallet.is_mine(script.to_owned())
    }

    /// Current balances.
    pub fn balance(&self) -> WalletBalance {
        let b = self.lock().wallet.balance();
        WalletBalance {
            confirmed_sat: b.confirmed.to_sat(),
            trusted_pending_sat: b.trusted_pending.to_sat(),
            untrusted_pending_sat: b.untrusted_pending.to_sat(),
            immature_sat: b.immature.to_sat(),
            total_sat: b.total().to_sat(),
        }
    }

    /// The fee rate used for wallet transactions: the backend's 6-block estimate.
    pub fn default_fee_rate(&self) -> FeeRate {
        let sat_per_kw = self
            .chain
            .get_est_sat_per_1000_weight(ConfirmationTarget::NonAnchorChannelFee);
        FeeRate::from_sat_per_kwu(u64::from(sat_per_kw))
    }

    fn sign_and_extract(
        &self,
        inner: &mut Inner,
        mut psbt: Psbt,
    ) -> Result<Transaction, WalletError> {
        let signers: Vec<&SignersContainer> = self.signers.iter().map(|s| s.as_ref()).collect();
        let finalized = inner
            .wallet
            .sign_with_signers(&mut psbt, &signers, SignOptions::default())
            .map_err(|e| WalletError::Sign(e.to_string()))?;
        if !finalized {
            return Err(WalletError::Sign("not every input could be signed".into()));
        }
        let tx = psbt
            .extract_tx()
            .map_err(|e| WalletError::Sign(e.to_string()))?;
        inner
            .wallet
            .apply_unconfirmed_txs([(tx.clone(), unix_now())]);
        inner.persist()?;
        Ok(tx)
    }

    /// Builds and signs a transaction paying `amount` (or everything, when `None`) to
    /// `address`; does not broadcast.
    pub fn build_send(
        &self,
        address: &Address,
        amount: Option<Amount>,
        fee_rate: Option<FeeRate>,
    ) -> Result<Transaction, WalletError> {
        if !address.as_unchecked().is_valid_for_network(self.network) {
            return Err(WalletError::WrongNetwork(self.network));
        }
        let fee_rate = fee_rate.unwrap_or_else(|| self.default_fee_rate());
        let mut inner = self.lock();
        let psbt = {
            let mut builder = inner.wallet.build_tx();
            match amount {
                Some(amount) => {
                    builder.add_recipient(address.script_pubkey(), amount);
                }
                None => {
                    builder.drain_to(address.script_pubkey()).drain_wallet();
                }
            }
            builder.fee_rate(fee_rate);
            builder
                .finish()
                .map_err(|e| WalletError::Build(e.to_string()))?
        };
        self.sign_and_extract(&mut inner, psbt)
    }

    /// Sends `amount` (or everything) to `address` and broadcasts it.
    pub async fn send(
        &self,
        address: &Address,
        amount: Option<Amount>,
        fee_rate: Option<FeeRate>,
    ) -> Result<Transaction, WalletError> {
        let tx = self.build_send(address, amount, fee_rate)?;
        self.chain.send(&tx).await?;
        Ok(tx)
    }

    /// Builds and signs a channel funding transaction paying exactly `value` to `script`.
    pub fn fund(&self, script: ScriptBuf, value: Amount) -> Result<Transaction, WalletError> {
        let fee_rate = self.default_fee_rate();
        let mut inner = self.lock();
        let psbt = {
            let mut builder = inner.wallet.build_tx();
            builder.add_recipient(script, value).fee_rate(fee_rate);
            builder
                .finish()
                .map_err(|e| WalletError::Build(e.to_string()))?
        };
        self.sign_and_extract(&mut inner, psbt)
    }

    /// Signs our inputs of a PSBT; returns whether it is now finalized. Inputs that spend our
    /// own transactions get the full previous transaction from the wallet (so BDK's segwit v0
    /// fee-attack check passes without trusting the PSBT's witness UTXO).
    pub fn sign_psbt(&self, psbt: &mut Psbt) -> Result<bool, WalletError> {
        let inner = self.lock();
        let previous: Vec<_> = psbt
            .unsigned_tx
            .input
            .iter()
            .map(|i| i.previous_output)
            .collect();
        for (input, outpoint) in psbt.inputs.iter_mut().zip(previous) {
            if input.non_witness_utxo.is_some() {
                continue;
            }
            if let Some(prev) = inner.wallet.get_tx(outpoint.txid) {
                let tx = prev.tx_node.tx.as_ref().clone();
                if input.witness_utxo.is_none() {
                    input.witness_utxo = tx.output.get(outpoint.vout as usize).cloned();
                }
                input.non_witness_utxo = Some(tx);
            }
        }
        let signers: Vec<&SignersContainer> = self.signers.iter().map(|s| s.as_ref()).collect();
        inner
            .wallet
            .sign_with_signers(psbt, &signers, SignOptions::default())
            .map_err(|e| WalletError::Sign(e.to_string()))
    }

    fn connect(&self, block: &Block, height: u32) {
        let mut inner = self.lock();
        let connected_to = BlockId {
            height: height.saturating_sub(1),
            hash: block.header.prev_blockhash,
        };
        if let Err(e) = inner
            .wallet
            .apply_block_connected_to(block, height, connected_to)
        {
            tracing::warn!(height, "wallet could not connect block: {e}");
            return;
        }
        if let Err(e) = inner.persist() {
            tracing::error!(height, "wallet persist failed: {e}");
        }
    }
}

impl Listen for OnchainWallet {
    fn filtered_block_connected(&self, header: &Header, txdata: &TransactionData, height: u32) {
        let block = Block {
            header: *header,
            txdata: txdata.iter().map(|(_, tx)| (*tx).clone()).collect(),
        };
        self.connect(&block, height);
    }

    fn block_connected(&self, block: &Block, height: u32) {
        self.connect(block, height);
    }

    fn blocks_disconnected(&self, _fork_point: BlockLocator) {
        // The next connected block names its parent; BDK replaces the stale blocks then.
    }
}

impl ChangeDestinationSourceSync for OnchainWallet {
    fn get_change_destination_script(&self) -> Result<ScriptBuf, ()> {
        let mut inner = self.lock();
        let script = inner
            .wallet
            .reveal_next_address(KeychainKind::Internal)
            .script_pubkey();
        inner
            .persist()
            .map_err(|e| tracing::error!("wallet persist failed: {e}"))?;
        Ok(script)
    }
}
