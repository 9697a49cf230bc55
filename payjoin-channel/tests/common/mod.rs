//! Real parts for the integration tests: BDK wallets on an in-memory chain fed by the test, the
//! `payjoin` crate's v1 sender, the real hyper server over loopback. `TestChannelOpener` and
//! `TestChainWatch` are test doubles of this crate's trait boundaries.
#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bdk_wallet::bitcoin::{
    self, absolute, block, blockdata::opcodes, hashes::Hash, script::Builder, secp256k1,
    transaction, Address, Amount, Block, BlockHash, CompactTarget, FeeRate, Network, OutPoint,
    Psbt, ScriptBuf, Sequence, Transaction, TxIn, TxMerkleNode, TxOut, Txid, Witness,
};
use bdk_wallet::descriptor::IntoWalletDescriptor;
use bdk_wallet::signer::SignersContainer;
use bdk_wallet::{KeychainKind, SignOptions, Wallet};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use payjoin::receive::InputPair;
use payjoin::send::v1::SenderBuilder;
use payjoin_channel::tls::DevCertificate;
use payjoin_channel::{
    AbandonReason, BackendError, ChainWatch, ChannelOpener, ChannelRequest, ChannelScheduler,
    PayjoinReceiver, PendingChannel, ReceiverConfig, ReceiverStore, ReceiverWallet, ServerHandle,
    TxStatus,
};
use tokio_rustls::rustls;

pub const RECEIVER_DESC: &str = "wpkh(tprv8ZgxMBicQKsPdy6LMhUtFHAgpocR8GC6QmwMSFpZs7h6Eziw3SpThFfczTDh5rW2krkqffa11UpX3XkeTTB2FvzZKWXqPY54Y6Rq4AQ5R8L/84'/1'/0'/0/*)";
pub const RECEIVER_CHANGE: &str = "wpkh(tprv8ZgxMBicQKsPdy6LMhUtFHAgpocR8GC6QmwMSFpZs7h6Eziw3SpThFfczTDh5rW2krkqffa11UpX3XkeTTB2FvzZKWXqPY54Y6Rq4AQ5R8L/84'/1'/0'/1/*)";
pub const PKH_DESC: &str = "pkh(cNJFgo1driFnPcBdBX8BrJrpxchBWXwXCvNH5SoSkdcF6JXXwHMm)";

/// A BDK wallet with its signers (bdk_wallet 3.2 deprecates `Wallet::sign`: callers own the
/// signers and use `sign_with_signers`).
pub struct TestWallet {
    pub wallet: Wallet,
    signers: Vec<SignersContainer>,
}

impl TestWallet {
    fn new(descriptors: &[&str]) -> Self {
        let params = match descriptors {
            [single] => Wallet::create_single(single.to_string()),
            [external, internal, ..] => Wallet::create(external.to_string(), internal.to_string()),
            [] => panic!("no descriptor"),
        };
        let wallet = params
            .network(Network::Regtest)
            .create_wallet_no_persist()
            .expect("valid descriptors");
        let signers = descriptors
            .iter()
            .map(|d| {
                let (descriptor, keymap) = d
                    .into_wallet_descriptor(wallet.secp_ctx(), bitcoin::NetworkKind::Test)
                    .expect("valid descriptor");
                SignersContainer::build(keymap, &descriptor, wallet.secp_ctx())
            })
            .collect();
        Self { wallet, signers }
    }

    /// Signs (and finalizes) what it can; returns whether everything is finalized.
    pub fn sign(&self, psbt: &mut Psbt, options: SignOptions) -> Result<bool, String> {
        let signers: Vec<&SignersContainer> = self.signers.iter().collect();
        self.wallet
            .sign_with_signers(psbt, &signers, options)
            .map_err(|e| e.to_string())
    }
}

/// A sender wallet on account `account` (P2WPKH), distinct from the receiver's keys.
pub fn sender_wallet(account: u32) -> TestWallet {
    let key = "tprv8ZgxMBicQKsPdy6LMhUtFHAgpocR8GC6QmwMSFpZs7h6Eziw3SpThFfczTDh5rW2krkqffa11UpX3XkeTTB2FvzZKWXqPY54Y6Rq4AQ5R8L";
    let a = account + 1;
    TestWallet::new(&[
        &format!("wpkh({key}/84'/1'/{a}'/0/*)"),
        &format!("wpkh({key}/84'/1'/{a}'/1/*)"),
    ])
}

pub fn receiver_wallet() -> TestWallet {
    TestWallet::new(&[RECEIVER_DESC, RECEIVER_CHANGE])
}

pub fn legacy_wallet() -> TestWallet {
    TestWallet::new(&[PKH_DESC])
}

/// An in-memory chain: blocks mined on demand, a mempool that refuses double spends.
pub struct TestChain {
    blocks: Vec<Block>,
    mempool: Vec<Transaction>,
    confirmed: HashMap<Txid, u32>,
    in_mempool: HashSet<Txid>,
    spent: HashSet<OutPoint>,
    funding_counter: u32,
}

impl Default for TestChain {
    fn default() -> Self {
        Self::new()
    }
}

impl TestChain {
    pub fn new() -> Self {
        Self {
            blocks: vec![bitcoin::constants::genesis_block(Network::Regtest)],
            mempool: Vec::new(),
            confirmed: HashMap::new(),
            in_mempool: HashSet::new(),
            spent: HashSet::new(),
            funding_counter: 0,
        }
    }

    fn add_to_mempool(&mut self, tx: Transaction) {
        self.spent
            .extend(tx.input.iter().map(|i| i.previous_output));
        self.in_mempool.insert(tx.compute_txid());
        self.mempool.push(tx);
    }

    /// A transaction from nowhere paying `amount` to `script`, in the mempool.
    pub fn fund(&mut self, script: ScriptBuf, amount: Amount) -> Transaction {
        self.funding_counter += 1;
        let mut seed = [0u8; 32];
        seed[..4].copy_from_slice(&self.funding_counter.to_le_bytes());
        let tx = Transaction {
            version: transaction::Version::TWO,
            lock_time: absolute::LockTime::ZERO,
            input: vec![TxIn {
                previous_output: OutPoint {
                    txid: Txid::from_byte_array(seed),
                    vout: 0,
                },
                script_sig: ScriptBuf::new(),
                sequence: Sequence::MAX,
                witness: Witness::from_slice(&[[1u8; 72].as_slice()]),
            }],
            output: vec![TxOut {
                value: amount,
                script_pubkey: script,
            }],
        };
        self.add_to_mempool(tx.clone());
        tx
    }

    /// Whether `tx` could enter the mempool (not known, no input already spent).
    pub fn accepts(&self, tx: &Transaction) -> bool {
        self.status(tx.compute_txid()) == TxStatus::Unseen
            && tx
                .input
                .iter()
                .all(|i| !self.spent.contains(&i.previous_output))
    }

    pub fn broadcast(&mut self, tx: Transaction) -> Result<(), &'static str> {
        if !self.accepts(&tx) {
            return Err("double spend or duplicate");
        }
        self.add_to_mempool(tx);
        Ok(())
    }

    pub fn mine(&mut self) {
        let prev = self.blocks.last().expect("genesis").block_hash();
        let height = self.blocks.len() as u32;
        let txdata = std::mem::take(&mut self.mempool);
        for tx in &txdata {
            let txid = tx.compute_txid();
            self.in_mempool.remove(&txid);
            self.confirmed.insert(txid, height);
        }
        let block = Block {
            header: block::Header {
                version: block::Version::ONE,
                prev_blockhash: prev,
                merkle_root: TxMerkleNode::all_zeros(),
                time: 1_700_000_000 + height,
                bits: CompactTarget::from_consensus(0x207f_ffff),
                nonce: height,
            },
            txdata,
        };
        self.blocks.push(block);
    }

    pub fn status(&self, txid: Txid) -> TxStatus {
        let tip = self.blocks.len() as u32 - 1;
        if let Some(h) = self.confirmed.get(&txid) {
            TxStatus::Confirmed(tip - h + 1)
        } else if self.in_mempool.contains(&txid) {
            TxStatus::Mempool
        } else {
            TxStatus::Unseen
        }
    }

    /// Feeds `wallet` the blocks it has not seen and the mempool.
    pub fn sync(&self, wallet: &mut Wallet) {
        let from = wallet.latest_checkpoint().height() as usize + 1;
        for (h, b) in self.blocks.iter().enumerate().skip(from) {
            wallet.apply_block(b, h as u32).expect("blocks connect");
        }
        wallet.apply_unconfirmed_txs(self.mempool.iter().map(|t| (t.clone(), 1_700_000_000)));
    }

    pub fn block_hash(&self, height: usize) -> BlockHash {
        self.blocks[height].block_hash()
    }
}

pub type SharedChain = Arc<Mutex<TestChain>>;

/// Test double of [`ChainWatch`] over the [`TestChain`].
#[derive(Clone)]
pub struct TestChainWatch(pub SharedChain);

impl ChainWatch for TestChainWatch {
    async fn tx_status(&self, txid: Txid) -> Result<TxStatus, BackendError> {
        Ok(self.0.lock().unwrap().status(txid))
    }
}

/// The real BDK wallet behind [`ReceiverWallet`]; its broadcast check asks the test chain.
#[derive(Clone)]
pub struct BdkReceiverWallet {
    pub wallet: Arc<Mutex<TestWallet>>,
    pub chain: SharedChain,
    /// When set, the broadcast check fails (an internal error that must not leak).
    pub broken: Arc<AtomicBool>,
}

#[derive(Debug, thiserror::Error)]
#[error("wallet database at /secret/path is on fire")]
pub struct WalletOnFire;

#[derive(Debug, thiserror::Error)]
#[error("bdk signer: {0}")]
pub struct SignFailed(String);

impl ReceiverWallet for BdkReceiverWallet {
    async fn fresh_address(&self) -> Result<Address, BackendError> {
        Ok(self
            .wallet
            .lock()
            .unwrap()
            .wallet
            .reveal_next_address(KeychainKind::External)
            .address)
    }

    async fn is_our_script(&self, script: &bitcoin::Script) -> Result<bool, BackendError> {
        Ok(self
            .wallet
            .lock()
            .unwrap()
            .wallet
            .is_mine(script.to_owned()))
    }

    async fn is_our_outpoint(&self, outpoint: &OutPoint) -> Result<bool, BackendError> {
        Ok(self
            .wallet
            .lock()
            .unwrap()
            .wallet
            .get_utxo(*outpoint)
            .is_some())
    }

    async fn candidate_inputs(&self) -> Result<Vec<InputPair>, BackendError> {
        let wallet = self.wallet.lock().unwrap();
        Ok(wallet
            .wallet
            .list_unspent()
            .filter(|u| u.txout.script_pubkey.is_p2wpkh())
            .filter_map(|u| InputPair::new_p2wpkh(u.txout.clone(), u.outpoint).ok())
            .collect())
    }

    async fn sign_and_finalize(&self, mut psbt: Psbt) -> Result<Psbt, BackendError> {
        let options = SignOptions {
            trust_witness_utxo: true,
            ..Default::default()
        };
        self.wallet
            .lock()
            .unwrap()
            .sign(&mut psbt, options)
            .map_err(|e| BackendError::new(SignFailed(e)))?;
        Ok(psbt)
    }

    async fn can_broadcast(&self, tx: &Transaction) -> Result<bool, BackendError> {
        if self.broken.load(Ordering::SeqCst) {
            return Err(BackendError::new(WalletOnFire));
        }
        Ok(self.chain.lock().unwrap().accepts(tx))
    }
}

/// How the [`TestChannelOpener`] behaves.
#[derive(Clone, Default)]
pub struct OpenerBehaviour {
    /// Peers that refuse to open.
    pub refusing_peers: Vec<secp256k1::PublicKey>,
    /// Delay before a peer accepts.
    pub accept_delay: Duration,
    /// Peers never send their funding signature.
    pub withhold_signatures: bool,
}

#[derive(Default)]
pub struct OpenerLog {
    pub opened: Vec<PendingChannel>,
    pub funded: Vec<(String, OutPoint)>,
    pub abandoned: Vec<(String, AbandonReason)>,
}

/// Test double of [`ChannelOpener`]: funding scripts are real 2-of-2 P2WSH scripts.
#[derive(Clone)]
pub struct TestChannelOpener {
    pub behaviour: OpenerBehaviour,
    pub log: Arc<Mutex<OpenerLog>>,
    counter: Arc<Mutex<u32>>,
}

#[derive(Debug, thiserror::Error)]
#[error("peer refused the channel")]
pub struct PeerRefused;

impl TestChannelOpener {
    pub fn new(behaviour: OpenerBehaviour) -> Self {
        Self {
            behaviour,
            log: Default::default(),
            counter: Default::default(),
        }
    }
}

pub fn key(i: u8) -> secp256k1::PublicKey {
    let secp = secp256k1::Secp256k1::new();
    let sk = secp256k1::SecretKey::from_slice(&[i.max(1); 32]).expect("valid key");
    secp256k1::PublicKey::from_secret_key(&secp, &sk)
}

impl ChannelOpener for TestChannelOpener {
    async fn open(&self, request: &ChannelRequest) -> Result<PendingChannel, BackendError> {
        tokio::time::sleep(self.behaviour.accept_delay).await;
        if self.behaviour.refusing_peers.contains(&request.peer) {
            return Err(BackendError::new(PeerRefused));
        }
        let n = {
            let mut c = self.counter.lock().unwrap();
            *c += 1;
            *c
        };
        let local = key(100 + n as u8);
        let witness_script = Builder::new()
            .push_int(2)
            .push_key(&bitcoin::PublicKey::new(local))
            .push_key(&bitcoin::PublicKey::new(request.peer))
            .push_int(2)
            .push_opcode(opcodes::all::OP_CHECKMULTISIG)
            .into_script();
        let channel = PendingChannel {
            id: format!("chan-{n}"),
            peer: request.peer,
            amount: request.amount,
            funding_script: ScriptBuf::new_p2wsh(&witness_script.wscript_hash()),
        };
        self.log.lock().unwrap().opened.push(channel.clone());
        Ok(channel)
    }

    async fn funding_outpoint(
        &self,
        channel: &PendingChannel,
        outpoint: OutPoint,
    ) -> Result<(), BackendError> {
        self.log
            .lock()
            .unwrap()
            .funded
            .push((channel.id.clone(), outpoint));
        if self.behaviour.withhold_signatures {
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
        Ok(())
    }

    async fn abandon(
        &self,
        channel: &PendingChannel,
        reason: AbandonReason,
    ) -> Result<(), BackendError> {
        self.log
            .lock()
            .unwrap()
            .abandoned
            .push((channel.id.clone(), reason));
        Ok(())
    }
}

pub type TestReceiver = PayjoinReceiver<TestChannelOpener, BdkReceiverWallet, TestChainWatch>;

/// Receiver, server, chain and a funded sender.
pub struct Harness {
    pub receiver: TestReceiver,
    pub server: Option<ServerHandle>,
    pub chain: SharedChain,
    pub opener: TestChannelOpener,
    pub receiver_wallet: Arc<Mutex<TestWallet>>,
    pub wallet_broken: Arc<AtomicBool>,
    pub endpoint: String,
    pub db: std::path::PathBuf,
    pub _dir: Option<tempfile::TempDir>,
}

pub fn fast_config() -> ReceiverConfig {
    ReceiverConfig {
        max_effective_fee_rate: FeeRate::from_sat_per_vb_u32(10),
        open_timeout: Duration::from_secs(5),
        funding_signature_timeout: Duration::from_secs(5),
        watchdog_poll_interval: Duration::from_millis(20),
        watchdog_timeout: Duration::from_secs(30),
        ..ReceiverConfig::default()
    }
}

impl Harness {
    /// A fresh external address of the receiver's wallet.
    pub fn fresh_address(&self) -> Address {
        self.receiver_wallet
            .lock()
            .unwrap()
            .wallet
            .reveal_next_address(KeychainKind::External)
            .address
    }

    /// A BIP 21 payjoin URI for `address` at this receiver's current endpoint, output
    /// substitution enabled.
    pub fn pj_uri(&self, address: &Address, amount: Amount) -> payjoin::PjUri {
        let mut uri = payjoin::receive::v1::build_v1_pj_uri(
            address,
            self.endpoint.as_str(),
            payjoin::OutputSubstitution::Enabled,
        )
        .unwrap();
        uri.set_amount(amount);
        uri
    }

    pub async fn start(config: ReceiverConfig, opener: TestChannelOpener) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("payjoin.sqlite");
        let chain = Arc::new(Mutex::new(TestChain::new()));
        let mut wallet = receiver_wallet();
        {
            let mut c = chain.lock().unwrap();
            let addr = wallet
                .wallet
                .reveal_next_address(KeychainKind::External)
                .address;
            c.fund(addr.script_pubkey(), Amount::from_sat(300_000));
            c.mine();
            c.sync(&mut wallet.wallet);
        }
        let wallet = Arc::new(Mutex::new(wallet));
        let broken = Arc::new(AtomicBool::new(false));
        let mut h = Self {
            receiver: Self::receiver_on(
                &db,
                "",
                config.clone(),
                opener.clone(),
                (&wallet, &broken),
                &chain,
            ),
            server: None,
            chain,
            opener,
            receiver_wallet: wallet,
            wallet_broken: broken,
            endpoint: String::new(),
            db,
            _dir: Some(dir),
        };
        h.restart(config).await;
        h
    }

    fn receiver_on(
        db: &std::path::Path,
        endpoint: &str,
        config: ReceiverConfig,
        opener: TestChannelOpener,
        (wallet, broken): (&Arc<Mutex<TestWallet>>, &Arc<AtomicBool>),
        chain: &SharedChain,
    ) -> TestReceiver {
        let store = ReceiverStore::open(db).expect("store");
        PayjoinReceiver::new(
            opener,
            BdkReceiverWallet {
                wallet: Arc::clone(wallet),
                chain: Arc::clone(chain),
                broken: Arc::clone(broken),
            },
            TestChainWatch(Arc::clone(chain)),
            ChannelScheduler::new(store, endpoint),
            config,
        )
    }

    /// (Re)starts receiver and server over the same database (a process restart).
    pub async fn restart(&mut self, config: ReceiverConfig) {
        if let Some(server) = self.server.take() {
            server.shutdown().await;
        }
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let port = listener.local_addr().expect("addr").port();
        self.endpoint = format!("https://localhost:{port}/pj");
        self.receiver = Self::receiver_on(
            &self.db,
            &self.endpoint,
            config,
            self.opener.clone(),
            (&self.receiver_wallet, &self.wallet_broken),
            &self.chain,
        );
        self.server = Some(
            payjoin_channel::serve_tls(
                listener,
                self.receiver.clone(),
                Arc::clone(&dev_cert().server_config),
            )
            .expect("serve"),
        );
    }

    /// A funded sender wallet.
    pub fn funded_sender(&self, account: u32, amount: Amount) -> TestWallet {
        let mut wallet = sender_wallet(account);
        self.fund_wallet(&mut wallet, amount);
        wallet
    }

    /// Gives `wallet` a confirmed coin of `amount`; returns its outpoint.
    pub fn fund_wallet(&self, wallet: &mut TestWallet, amount: Amount) -> OutPoint {
        let mut c = self.chain.lock().unwrap();
        let addr = wallet
            .wallet
            .reveal_next_address(KeychainKind::External)
            .address;
        let tx = c.fund(addr.script_pubkey(), amount);
        c.mine();
        c.sync(&mut wallet.wallet);
        OutPoint {
            txid: tx.compute_txid(),
            vout: 0,
        }
    }

    pub fn sync_receiver(&self) {
        self.chain
            .lock()
            .unwrap()
            .sync(&mut self.receiver_wallet.lock().unwrap().wallet);
    }
}

/// The sender's signed original paying `uri`.
pub fn original_for(sender: &mut TestWallet, uri: &payjoin::PjUri) -> Psbt {
    let amount = uri.amount().expect("uri has an amount");
    let mut builder = sender.wallet.build_tx();
    builder
        .add_recipient(uri.address().script_pubkey(), amount)
        .fee_rate(FeeRate::from_sat_per_vb_u32(2));
    let mut psbt = builder.finish().expect("original");
    let finalized = sender
        .sign(&mut psbt, SignOptions::default())
        .expect("sign");
    assert!(finalized, "original must be finalized");
    psbt
}

/// The sender's signed original paying `uri` from exactly the coin `coin`.
pub fn original_from_coin(sender: &mut TestWallet, uri: &payjoin::PjUri, coin: OutPoint) -> Psbt {
    let amount = uri.amount().expect("uri has an amount");
    let mut builder = sender.wallet.build_tx();
    builder
        .add_utxo(coin)
        .expect("coin known")
        .manually_selected_only()
        .add_recipient(uri.address().script_pubkey(), amount)
        .fee_rate(FeeRate::from_sat_per_vb_u32(2));
    let mut psbt = builder.finish().expect("original");
    let finalized = sender
        .sign(&mut psbt, SignOptions::default())
        .expect("sign");
    assert!(finalized, "original must be finalized");
    psbt
}

pub fn parse_uri(uri: &str) -> payjoin::PjUri {
    payjoin::Uri::try_from(uri)
        .expect("bip21")
        .assume_checked()
        .check_pj_supported()
        .expect("pj supported")
}

/// The self-signed development certificate every test server uses (for `localhost`).
pub fn dev_cert() -> &'static DevCertificate {
    static CERT: OnceLock<DevCertificate> = OnceLock::new();
    CERT.get_or_init(|| DevCertificate::generate(&["localhost"]).expect("dev certificate"))
}

/// POSTs `req` over HTTPS to the loopback server, trusting only the development certificate.
pub async fn post(req: &payjoin::Request) -> (u16, Vec<u8>, hyper::HeaderMap) {
    send(
        hyper::Method::POST,
        &req.url,
        req.content_type,
        req.body.clone(),
    )
    .await
}

/// A new TLS connection to the loopback server on `port`, as a new payer makes it: a fresh client
/// configuration (no session to resume) trusting only the development certificate.
pub async fn tls_connect(port: u16) -> tokio_rustls::client::TlsStream<tokio::net::TcpStream> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(dev_cert().certificate_der.clone()).expect("root");
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocols")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    let server_name = rustls::pki_types::ServerName::try_from("localhost").expect("name");
    tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(server_name, tcp)
        .await
        .expect("TLS handshake")
}

/// Any request over HTTPS to the loopback server.
pub async fn send(
    method: hyper::Method,
    url: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, Vec<u8>, hyper::HeaderMap) {
    let rest = url.split_once("://").expect("absolute url").1;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let port: u16 = authority
        .rsplit_once(':')
        .expect("port")
        .1
        .parse()
        .expect("port");
    let tls = tls_connect(port).await;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .expect("HTTP handshake");
    tokio::spawn(conn);
    let request = hyper::Request::builder()
        .method(method)
        .uri(if path.is_empty() { "/" } else { path })
        .header("host", authority)
        .header("content-type", content_type)
        .header("content-length", body.len())
        .body(Full::new(Bytes::from(body)))
        .expect("request");
    let response = sender.send_request(request).await.expect("POST");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    (status, body, headers)
}

/// The outcome of one payjoin attempt by the real v1 sender.
pub struct Attempt {
    pub original: Psbt,
    pub status: u16,
    pub body: Vec<u8>,
    pub headers: hyper::HeaderMap,
    pub result: Result<Psbt, payjoin::send::ResponseError>,
}

pub async fn attempt(sender: &mut TestWallet, uri: &str, disable_substitution: bool) -> Attempt {
    let uri = parse_uri(uri);
    let original = original_for(sender, &uri);
    attempt_with(original, uri, disable_substitution).await
}

pub async fn attempt_with(original: Psbt, uri: payjoin::PjUri, disable: bool) -> Attempt {
    let mut builder = SenderBuilder::new(original.clone(), uri);
    if disable {
        builder = builder.always_disable_output_substitution();
    }
    let sender = builder
        .build_recommended(FeeRate::from_sat_per_vb_u32(2))
        .expect("sender");
    let (req, ctx) = sender.create_v1_post_request();
    let (status, body, headers) = post(&req).await;
    let result = ctx.process_response(&body);
    Attempt {
        original,
        status,
        body,
        headers,
        result,
    }
}

/// The sender signs the proposal and extracts the final transaction.
pub fn sign_proposal(sender: &TestWallet, mut proposal: Psbt) -> Transaction {
    let options = SignOptions {
        trust_witness_utxo: true,
        ..Default::default()
    };
    let finalized = sender.sign(&mut proposal, options).expect("sign proposal");
    assert!(finalized, "proposal must be finalized by the sender");
    proposal.extract_tx().expect("extract")
}

pub fn channel(peer: u8, sat: u64) -> ChannelRequest {
    ChannelRequest {
        peer: key(peer),
        amount: Amount::from_sat(sat),
        push_msat: 0,
        announce: false,
    }
}

pub async fn wait_for<T>(mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..500 {
        if let Some(t) = f() {
            return t;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("condition not met in time");
}

pub fn map_outputs(tx: &Transaction) -> HashMap<ScriptBuf, Amount> {
    tx.output
        .iter()
        .map(|o| (o.script_pubkey.clone(), o.value))
        .collect()
}
