//! payjoin-channel's request entry (`PayjoinReceiver::handle_original`, what the hyper service
//! calls with the POST body, the query string and the headers) on arbitrary requests: it never
//! panics and always yields a BIP 78 reply (a 2xx with a PSBT, or a JSON error).
//!
//! Input layout: `content-type\ncontent-length\nquery\nbody` (missing lines are missing headers
//! or an empty query / body). The doubles below stand in for the wallet, the Lightning opener and
//! the chain. Each input gets a fresh receiver (in-memory SQLite) with one channel schedule, so
//! the seen-input record does not refuse every later input spending a seed's coin.
//!
//! Keys are derived from fixed secrets (`[200; 32]` plain receive address, `[201; 32]` schedule
//! address, `[202; 32]` the receiver's own coin); the seeds in `seeds/payjoin_original/` are
//! written by `payjoin-channel/tests/fuzz_seeds.rs` with the same secrets.
#![no_main]
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use payjoin_channel::payjoin::bitcoin::hashes::Hash;
use payjoin_channel::payjoin::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use payjoin_channel::payjoin::bitcoin::{
    Address, Amount, CompressedPublicKey, Network, OutPoint, Psbt, Script, ScriptBuf, Transaction,
    TxOut, Txid, Witness,
};
use payjoin_channel::payjoin::receive::v1::Headers;
use payjoin_channel::payjoin::receive::InputPair;
use payjoin_channel::{
    AbandonReason, BackendError, ChainWatch, ChannelOpener, ChannelRequest, ChannelScheduler,
    PayjoinReceiver, PendingChannel, ReceiverConfig, ReceiverStore, ReceiverWallet, TxStatus,
};

struct Keys {
    plain: Address,
    scheduled: Address,
    coin: TxOut,
    coin_outpoint: OutPoint,
    peer: PublicKey,
}

fn key(byte: u8) -> PublicKey {
    let secp = Secp256k1::new();
    PublicKey::from_secret_key(
        &secp,
        &SecretKey::from_slice(&[byte; 32]).expect("valid key"),
    )
}

fn p2wpkh(byte: u8) -> Address {
    Address::p2wpkh(&CompressedPublicKey(key(byte)), Network::Regtest)
}

fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| Keys {
        plain: p2wpkh(200),
        scheduled: p2wpkh(201),
        coin: TxOut {
            value: Amount::from_sat(300_000),
            script_pubkey: p2wpkh(202).script_pubkey(),
        },
        coin_outpoint: OutPoint {
            txid: Txid::from_byte_array([202; 32]),
            vout: 0,
        },
        peer: key(203),
    })
}

/// Test double of `ReceiverWallet`: owns the two addresses and one P2WPKH coin; "signs" by
/// putting a placeholder witness on its own input (nothing checks receiver signatures here).
struct DoubleWallet;

impl ReceiverWallet for DoubleWallet {
    async fn fresh_address(&self) -> Result<Address, BackendError> {
        Ok(keys().plain.clone())
    }

    async fn is_our_script(&self, script: &Script) -> Result<bool, BackendError> {
        let k = keys();
        Ok(script == k.plain.script_pubkey().as_script()
            || script == k.scheduled.script_pubkey().as_script()
            || script == k.coin.script_pubkey.as_script())
    }

    async fn is_our_outpoint(&self, outpoint: &OutPoint) -> Result<bool, BackendError> {
        Ok(*outpoint == keys().coin_outpoint)
    }

    async fn candidate_inputs(&self) -> Result<Vec<InputPair>, BackendError> {
        let k = keys();
        Ok(InputPair::new_p2wpkh(k.coin.clone(), k.coin_outpoint)
            .into_iter()
            .collect())
    }

    async fn sign_and_finalize(&self, mut psbt: Psbt) -> Result<Psbt, BackendError> {
        let ours = keys().coin_outpoint;
        for (txin, input) in psbt.unsigned_tx.input.iter().zip(psbt.inputs.iter_mut()) {
            if txin.previous_output == ours {
                input.final_script_witness = Some(Witness::from_slice(&[[1u8; 72], [2u8; 72]]));
            }
        }
        Ok(psbt)
    }

    async fn can_broadcast(&self, _tx: &Transaction) -> Result<bool, BackendError> {
        Ok(true)
    }
}

/// Test double of `ChannelOpener`: every peer accepts at once with a P2WSH funding script and
/// signs at once.
struct DoubleOpener;

impl ChannelOpener for DoubleOpener {
    async fn open(&self, request: &ChannelRequest) -> Result<PendingChannel, BackendError> {
        Ok(PendingChannel {
            id: "double".into(),
            peer: request.peer,
            amount: request.amount,
            funding_script: ScriptBuf::new_p2wsh(&ScriptBuf::from_bytes(vec![0x51]).wscript_hash()),
        })
    }

    async fn funding_outpoint(
        &self,
        _channel: &PendingChannel,
        _outpoint: OutPoint,
    ) -> Result<(), BackendError> {
        Ok(())
    }

    async fn abandon(
        &self,
        _channel: &PendingChannel,
        _reason: AbandonReason,
    ) -> Result<(), BackendError> {
        Ok(())
    }
}

/// Test double of `ChainWatch`: nothing is ever seen.
struct DoubleChain;

impl ChainWatch for DoubleChain {
    async fn tx_status(&self, _txid: Txid) -> Result<TxStatus, BackendError> {
        Ok(TxStatus::Unseen)
    }
}

struct FuzzHeaders<'a> {
    content_type: Option<&'a str>,
    content_length: Option<&'a str>,
}

impl Headers for FuzzHeaders<'_> {
    fn get_header(&self, key: &str) -> Option<&str> {
        match key {
            "content-type" => self.content_type,
            "content-length" => self.content_length,
            _ => None,
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(4, |&b| b == b'\n');
    let content_type = parts.next().and_then(|h| std::str::from_utf8(h).ok());
    let content_length = parts.next().and_then(|h| std::str::from_utf8(h).ok());
    // The transport hands the query over as a str (hyper's URI); the body as raw bytes.
    let query = parts
        .next()
        .map(String::from_utf8_lossy)
        .unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    let headers = FuzzHeaders {
        content_type,
        content_length,
    };

    let k = keys();
    let store = ReceiverStore::in_memory().expect("in-memory store");
    let scheduler = ChannelScheduler::new(store, "https://localhost/pj");
    scheduler
        .schedule(
            k.scheduled.clone(),
            vec![ChannelRequest {
                peer: k.peer,
                amount: Amount::from_sat(100_000),
                push_msat: 0,
                announce: false,
            }],
            Amount::from_sat(5_000),
            Duration::from_secs(3600),
        )
        .expect("schedule");
    let config = ReceiverConfig {
        open_timeout: Duration::from_secs(1),
        funding_signature_timeout: Duration::from_secs(1),
        ..ReceiverConfig::default()
    };
    let receiver = PayjoinReceiver::new(DoubleOpener, DoubleWallet, DoubleChain, scheduler, config);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let reply = runtime.block_on(receiver.handle_original(body, &query, headers));
    assert!(
        (200..600).contains(&reply.status),
        "status {}",
        reply.status
    );
    if reply.status == 200 {
        assert_eq!(reply.content_type, "text/plain");
    } else {
        assert_eq!(reply.content_type, "application/json");
        let json: serde_json::Value = serde_json::from_str(&reply.body).expect("JSON error body");
        assert!(json.get("errorCode").is_some_and(|c| c.is_string()));
    }
});
