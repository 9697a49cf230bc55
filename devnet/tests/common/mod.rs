//! Helpers shared by the devnet integration tests: a one-key P2WPKH wallet that signs with
//! secp256k1, and a raw HTTP/1.1 JSON-RPC client.
#![allow(dead_code)]

use bitcoin::absolute::LockTime;
use bitcoin::hashes::Hash;
use bitcoin::secp256k1::{Message, Secp256k1, SecretKey};
use bitcoin::sighash::{EcdsaSighashType, SighashCache};
use bitcoin::transaction::Version;
use bitcoin::{
    Address, Amount, CompressedPublicKey, Network, OutPoint, ScriptBuf, Sequence, Transaction,
    TxIn, TxOut, Txid, Witness,
};
use lnedge_devnet::Devnet;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A single-key P2WPKH wallet.
pub struct Wallet {
    secp: Secp256k1<bitcoin::secp256k1::All>,
    key: SecretKey,
    pubkey: CompressedPublicKey,
    /// Its output script.
    pub script: ScriptBuf,
    /// Its regtest address.
    pub address: Address,
}

impl Wallet {
    /// A wallet whose secret key is 32 bytes of `seed`.
    pub fn new(seed: u8) -> Self {
        let secp = Secp256k1::new();
        let key = SecretKey::from_slice(&[seed; 32]).expect("valid key");
        let pubkey = CompressedPublicKey(key.public_key(&secp));
        let address = Address::p2wpkh(&pubkey, Network::Regtest);
        Wallet {
            secp,
            key,
            pubkey,
            script: address.script_pubkey(),
            address,
        }
    }

    /// Signs a version-2 transaction spending `prevouts` (all ours) to `outputs`.
    pub fn spend(&self, prevouts: &[(OutPoint, TxOut)], outputs: Vec<TxOut>) -> Transaction {
        self.spend_with(
            prevouts,
            outputs,
            LockTime::ZERO,
            Sequence::ENABLE_RBF_NO_LOCKTIME,
        )
    }

    /// Like [`spend`](Self::spend) with a locktime and one sequence for every input.
    pub fn spend_with(
        &self,
        prevouts: &[(OutPoint, TxOut)],
        outputs: Vec<TxOut>,
        lock_time: LockTime,
        sequence: Sequence,
    ) -> Transaction {
        let mut tx = Transaction {
            version: Version::TWO,
            lock_time,
            input: prevouts
                .iter()
                .map(|(op, _)| TxIn {
                    previous_output: *op,
                    script_sig: ScriptBuf::new(),
                    sequence,
                    witness: Witness::new(),
                })
                .collect(),
            output: outputs,
        };
        let mut witnesses = Vec::new();
        {
            let mut cache = SighashCache::new(&tx);
            for (index, (_, prev)) in prevouts.iter().enumerate() {
                let sighash = cache
                    .p2wpkh_signature_hash(
                        index,
                        &prev.script_pubkey,
                        prev.value,
                        EcdsaSighashType::All,
                    )
                    .expect("sighash");
                let msg = Message::from_digest(sighash.to_byte_array());
                let signature = self.secp.sign_ecdsa(&msg, &self.key);
                let sig = bitcoin::ecdsa::Signature {
                    signature,
                    sighash_type: EcdsaSighashType::All,
                };
                witnesses.push(Witness::p2wpkh(&sig, &self.pubkey.0));
            }
        }
        for (input, witness) in tx.input.iter_mut().zip(witnesses) {
            input.witness = witness;
        }
        tx
    }

    /// An output paying this wallet.
    pub fn output(&self, sats: u64) -> TxOut {
        TxOut {
            value: Amount::from_sat(sats),
            script_pubkey: self.script.clone(),
        }
    }
}

/// The coinbase output of the active block at `height`.
pub fn coinbase_at(devnet: &Devnet, height: u32) -> (OutPoint, TxOut) {
    let state = devnet.lock();
    let hash = state.chain.hash_at(height).expect("height exists");
    let block = &state.chain.entry(&hash).expect("block").block;
    let tx = &block.txdata[0];
    (
        OutPoint {
            txid: tx.compute_txid(),
            vout: 0,
        },
        tx.output[0].clone(),
    )
}

/// Output `vout` of a transaction as a prevout pair.
pub fn prevout(tx: &Transaction, vout: u32) -> (OutPoint, TxOut) {
    (
        OutPoint {
            txid: tx.compute_txid(),
            vout,
        },
        tx.output[vout as usize].clone(),
    )
}

/// An outpoint nobody created.
pub fn unknown_outpoint() -> OutPoint {
    OutPoint {
        txid: Txid::from_byte_array([7; 32]),
        vout: 0,
    }
}

/// A raw HTTP response.
pub struct HttpReply {
    /// Status code.
    pub status: u16,
    /// Header lines, lower-cased.
    pub headers: Vec<String>,
    /// Body text.
    pub body: String,
}

impl HttpReply {
    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("bad JSON {e}: {}", self.body))
    }
}

/// Sends one HTTP/1.1 request (`Connection: close`) and reads the whole reply.
pub async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    auth: Option<&str>,
    body: &str,
) -> HttpReply {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n", body.len());
    if let Some(auth) = auth {
        request.push_str(&format!("Authorization: Basic {auth}\r\n"));
    }
    request.push_str("\r\n");
    request.push_str(body);
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8(raw).expect("utf8");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let headers = lines.map(|l| l.to_ascii_lowercase()).collect();
    HttpReply {
        status,
        headers,
        body: body.to_string(),
    }
}

/// A JSON-RPC 1.0 client for tests.
pub struct Rpc {
    /// Server address.
    pub addr: std::net::SocketAddr,
    /// `base64(user:password)`.
    pub auth: String,
}

impl Rpc {
    /// Calls a method; returns HTTP status and the reply object.
    pub async fn raw(&self, method: &str, params: Value) -> (u16, Value) {
        let body =
            json!({"jsonrpc": "1.0", "id": "t", "method": method, "params": params}).to_string();
        let reply = http(self.addr, "POST", "/", Some(&self.auth), &body).await;
        (reply.status, reply.json())
    }

    /// Calls a method that must succeed; returns its result.
    pub async fn call(&self, method: &str, params: Value) -> Value {
        let (status, reply) = self.raw(method, params).await;
        assert_eq!(status, 200, "{method} failed: {reply}");
        assert!(reply["error"].is_null(), "{method} failed: {reply}");
        reply["result"].clone()
    }

    /// Calls a method that must fail; returns (code, message).
    pub async fn error(&self, method: &str, params: Value) -> (i64, String) {
        let (_, reply) = self.raw(method, params).await;
        let error = &reply["error"];
        assert!(!error.is_null(), "{method} unexpectedly succeeded: {reply}");
        (
            error["code"].as_i64().unwrap_or(0),
            error["message"].as_str().unwrap_or("").to_string(),
        )
    }
}
