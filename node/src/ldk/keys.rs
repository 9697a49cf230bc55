//! The node's [`SignerProvider`]: LDK's `KeysManager` for channel keys, the on-chain wallet for
//! the scripts closing channels pay to.
//!
//! With `KeysManager` alone, a cooperative close (and every claim the channel monitor makes to
//! its destination script) pays a key only `KeysManager` holds, and the output sweeper then
//! spends it into the wallet in a transaction of its own. Handing out wallet scripts instead puts
//! those funds in the wallet directly: one transaction and one fee fewer per close. Outputs of
//! channels opened before (paying `KeysManager`'s scripts) are still swept as before.

use std::sync::Arc;

use bitcoin::ScriptBuf;
use lightning::ln::script::ShutdownScript;
use lightning::sign::{ChangeDestinationSourceSync, InMemorySigner, KeysManager, SignerProvider};

use crate::wallet::OnchainWallet;

/// Channel keys from `KeysManager`; destination and shutdown scripts from the wallet.
pub struct NodeKeys {
    keys: Arc<KeysManager>,
    wallet: Arc<OnchainWallet>,
}

impl NodeKeys {
    /// Channel keys from `keys`, closing scripts from `wallet`.
    pub fn new(keys: Arc<KeysManager>, wallet: Arc<OnchainWallet>) -> Self {
        Self { keys, wallet }
    }

    /// A fresh internal (change) script of the wallet, persisted before it is handed out.
    fn wallet_script(&self) -> Result<ScriptBuf, ()> {
        self.wallet.get_change_destination_script()
    }
}

impl SignerProvider for NodeKeys {
    type EcdsaSigner = InMemorySigner;

    fn generate_channel_keys_id(&self, inbound: bool, user_channel_id: u128) -> [u8; 32] {
        self.keys.generate_channel_keys_id(inbound, user_channel_id)
    }

    fn derive_channel_signer(&self, channel_keys_id: [u8; 32]) -> Self::EcdsaSigner {
        self.keys.derive_channel_signer(channel_keys_id)
    }

    fn get_destination_script(&self, _channel_keys_id: [u8; 32]) -> Result<ScriptBuf, ()> {
        self.wallet_script()
    }

    fn get_shutdown_scriptpubkey(&self) -> Result<ShutdownScript, ()> {
        let script = self.wallet_script()?;
        ShutdownScript::try_from(script).map_err(|e| {
            tracing::error!("wallet script is not a valid shutdown script: {e:?}");
        })
    }
}
