//! A plain BIP 78 payjoin, end to end: a devnet chain behind Bitcoin Core's RPC, the
//! `payjoin-channel` receiver served over loopback HTTPS with a BDK wallet, and the `payjoin`
//! crate's v1 sender paying it from a second BDK wallet. The mined transaction spends a coin of
//! each, so an observer cannot tell which inputs paid whom.
//!
//! Run with `cargo run -p lnedge-examples --example payjoin_receiver`.

use std::error::Error;
use std::sync::{Arc, Mutex, MutexGuard};

use bdk_bitcoind_rpc::bitcoincore_rpc::{jsonrpc, Auth, Client, Error as RpcError, RpcApi};
use bdk_bitcoind_rpc::{Emitter, NO_EXPECTED_MEMPOOL_TXS};
use bdk_wallet::bitcoin::{bip32::Xpriv, Address, Amount, FeeRate, Network, NetworkKind};
use bdk_wallet::bitcoin::{OutPoint, Psbt, Script, Transaction, Txid};
use bdk_wallet::descriptor::IntoWalletDescriptor;
use bdk_wallet::signer::{SignerError, SignersContainer};
use bdk_wallet::{KeychainKind, SignOptions, Wallet};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use lnedge_devnet::{Devnet, RpcAuth, RpcServer, RpcServerConfig};
use payjoin::receive::{v1::build_v1_pj_uri, InputPair};
use payjoin::{send::v1::SenderBuilder, OutputSubstitution};
use payjoin_channel::{tls::DevCertificate, *};
use tokio::task::block_in_place; // bitcoincore-rpc blocks: step off the async worker
use tokio_rustls::rustls::{pki_types::ServerName, ClientConfig, RootCertStore};

type Res<T> = Result<T, Box<dyn Error>>;

#[tokio::main]
async fn main() -> Res<()> {
    // A regtest chain in this process, reached only through its Bitcoin Core JSON-RPC.
    let (user, password) = ("example".to_string(), "example".to_string());
    let rpc_auth = Auth::UserPass(user.clone(), password.clone());
    let auth = RpcAuth::UserPass { user, password };
    let bind = "127.0.0.1:0".parse()?;
    let chain = RpcServer::start(Devnet::in_memory(), RpcServerConfig { bind, auth }).await?;
    let rpc = Arc::new(Client::new(&chain.url(), rpc_auth)?);

    // Two BDK wallets: a coinbase (50 BTC) for the receiver, then 101 for the payer (which
    // mature the receiver's).
    let (mut receiver, mut payer) = (Bdk::new(1)?, Bdk::new(2)?);
    rpc.generate_to_address(1, &receiver.address())?;
    rpc.generate_to_address(101, &payer.address())?;
    receiver.sync(&rpc)?;
    payer.sync(&rpc)?;
    let receiver_coins: Vec<_> = receiver.wallet.list_unspent().map(|u| u.outpoint).collect();
    let receiver = Arc::new(Mutex::new(receiver));

    // The receiver, served over HTTPS (BIP 78 requires it) with a self-signed certificate.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let endpoint = format!("https://127.0.0.1:{}/pj", listener.local_addr()?.port());
    let cert = DevCertificate::generate(&["127.0.0.1"])?;
    let scheduler = ChannelScheduler::new(ReceiverStore::in_memory()?, endpoint.as_str());
    let wallet = BdkReceiver(receiver.clone(), rpc.clone());
    let (watch, config) = (RpcChain(rpc.clone()), ReceiverConfig::default());
    let pj = PayjoinReceiver::new(OpensNoChannels, wallet, watch, scheduler, config);
    let server = serve_tls(listener, pj, cert.server_config.clone())?;

    // No channel is scheduled for this address, so a payment to it is a plain payjoin.
    let address = receiver.lock().unwrap().address();
    let mut uri = build_v1_pj_uri(&address, endpoint.as_str(), OutputSubstitution::Enabled)?;
    uri.set_amount(Amount::ONE_BTC);
    println!("receiver asks: {uri}");

    // The payer parses the URI, signs an ordinary transaction (the original) and posts it.
    let uri = payjoin::Uri::try_from(uri.to_string())?.require_network(Network::Regtest)?;
    let uri = uri.check_pj_supported().map_err(|_| "the URI has no pj=")?;
    let mut builder = payer.wallet.build_tx();
    builder.add_recipient(uri.address().script_pubkey(), Amount::ONE_BTC);
    builder.fee_rate(FeeRate::from_sat_per_vb_u32(2));
    let mut original = builder.finish()?;
    payer.sign(&mut original)?;
    let sender = SenderBuilder::new(original, uri).build_recommended(FeeRate::BROADCAST_MIN)?;
    let (request, context) = sender.create_v1_post_request();
    let reply = post(&request, &cert).await?;
    // The sender checks the receiver's proposal; the payer signs its inputs again, broadcasts.
    let mut proposal = context.process_response(&reply)?;
    payer.sign(&mut proposal)?;
    let txid = rpc.send_raw_transaction(&proposal.extract_tx()?)?;
    rpc.generate_to_address(1, &payer.address())?;
    server.shutdown().await;

    let mined = rpc.get_raw_transaction_info(&txid, None)?;
    let confirmations = mined.confirmations.unwrap_or(0);
    println!("payjoin {txid} mined, {confirmations} confirmation");
    let mut contributed = 0;
    for input in &mined.transaction()?.input {
        let ours = receiver_coins.contains(&input.previous_output);
        contributed += ours as usize;
        let whose = if ours { "receiver" } else { "payer" };
        println!("  input {} from the {whose}", input.previous_output);
    }
    chain.shutdown().await;
    if confirmations == 0 || contributed == 0 {
        return Err("the payjoin is not mined with a receiver input".into());
    }
    println!("payjoin_receiver: ok");
    Ok(())
}

/// A BDK wallet (one P2WPKH descriptor) and its signer, which BDK 3.2 leaves to the caller.
struct Bdk {
    wallet: Wallet,
    signer: SignersContainer,
}

impl Bdk {
    fn new(seed: u8) -> Res<Self> {
        let xprv = Xpriv::new_master(NetworkKind::Test, &[seed; 32])?;
        let descriptor = format!("wpkh({xprv}/84'/1'/0'/0/*)");
        let wallet = Wallet::create_single(descriptor.clone()).network(Network::Regtest);
        let wallet = wallet.create_wallet_no_persist()?;
        let (public, keys) =
            descriptor.into_wallet_descriptor(wallet.secp_ctx(), NetworkKind::Test)?;
        let signer = SignersContainer::build(keys, &public, wallet.secp_ctx());
        Ok(Self { wallet, signer })
    }

    fn address(&mut self) -> Address {
        self.wallet
            .reveal_next_address(KeychainKind::External)
            .address
    }

    /// Reads new blocks with BDK's bitcoind RPC emitter.
    fn sync(&mut self, rpc: &Client) -> Res<()> {
        let tip = self.wallet.latest_checkpoint();
        let mut emitter = Emitter::new(rpc, tip, 0, NO_EXPECTED_MEMPOOL_TXS);
        while let Some(b) = emitter.next_block()? {
            self.wallet
                .apply_block_connected_to(&b.block, b.block_height(), b.connected_to())?;
        }
        Ok(())
    }

    /// Signs and finalizes our inputs of `psbt` (others' inputs are left alone).
    fn sign(&self, psbt: &mut Psbt) -> Result<bool, SignerError> {
        let options = SignOptions {
            trust_witness_utxo: true,
            ..Default::default()
        };
        self.wallet
            .sign_with_signers(psbt, &[&self.signer], options)
    }
}

/// [`ReceiverWallet`]: the receiver's BDK wallet, and the chain's RPC for the broadcast check.
struct BdkReceiver(Arc<Mutex<Bdk>>, Arc<Client>);

impl BdkReceiver {
    fn bdk(&self) -> MutexGuard<'_, Bdk> {
        self.0.lock().unwrap()
    }
}

impl ReceiverWallet for BdkReceiver {
    async fn fresh_address(&self) -> Result<Address, BackendError> {
        Ok(self.bdk().address())
    }

    async fn is_our_script(&self, script: &Script) -> Result<bool, BackendError> {
        Ok(self.bdk().wallet.is_mine(script.to_owned()))
    }

    async fn is_our_outpoint(&self, outpoint: &OutPoint) -> Result<bool, BackendError> {
        Ok(self.bdk().wallet.get_utxo(*outpoint).is_some())
    }

    /// Our P2WPKH coins, one of which the receiver adds to the payer's transaction (a wallet
    /// holding young coinbases would leave those out: the payjoin could not be mined yet).
    async fn candidate_inputs(&self) -> Result<Vec<InputPair>, BackendError> {
        let bdk = self.bdk();
        let pairs = bdk
            .wallet
            .list_unspent()
            .map(|u| InputPair::new_p2wpkh(u.txout, u.outpoint));
        pairs.collect::<Result<_, _>>().map_err(BackendError::new)
    }

    async fn sign_and_finalize(&self, mut psbt: Psbt) -> Result<Psbt, BackendError> {
        self.bdk().sign(&mut psbt).map_err(BackendError::new)?;
        Ok(psbt)
    }

    /// The original must be broadcastable: it is what the receiver falls back on.
    async fn can_broadcast(&self, tx: &Transaction) -> Result<bool, BackendError> {
        let results = block_in_place(|| self.1.test_mempool_accept(&[tx]));
        Ok(results
            .map_err(BackendError::new)?
            .iter()
            .all(|r| r.allowed))
    }
}

/// [`ChainWatch`] over the RPC (`getrawtransaction`; -5 = unknown). The receiver watches only
/// channel proposals, so a plain payjoin never asks.
struct RpcChain(Arc<Client>);

impl ChainWatch for RpcChain {
    async fn tx_status(&self, txid: Txid) -> Result<TxStatus, BackendError> {
        match block_in_place(|| self.0.get_raw_transaction_info(&txid, None)) {
            Ok(info) => Ok(info
                .confirmations
                .filter(|&n| n > 0)
                .map_or(TxStatus::Mempool, TxStatus::Confirmed)),
            Err(RpcError::JsonRpc(jsonrpc::Error::Rpc(e))) if e.code == -5 => Ok(TxStatus::Unseen),
            Err(e) => Err(BackendError::new(e)),
        }
    }
}

/// [`ChannelOpener`] for a receiver that opens no channels (`PayjoinReceiver` needs one even
/// for plain payjoins): with nothing scheduled, none of this is called.
struct OpensNoChannels;

impl ChannelOpener for OpensNoChannels {
    async fn open(&self, _: &ChannelRequest) -> Result<PendingChannel, BackendError> {
        let refusal = std::io::Error::other("this receiver opens no channels");
        Err(BackendError::new(refusal))
    }

    async fn funding_outpoint(&self, _: &PendingChannel, _: OutPoint) -> Result<(), BackendError> {
        Ok(())
    }

    async fn abandon(&self, _: &PendingChannel, _: AbandonReason) -> Result<(), BackendError> {
        Ok(())
    }
}

/// POSTs the sender's request over HTTPS (hyper and rustls), trusting only our certificate.
async fn post(request: &payjoin::Request, cert: &DevCertificate) -> Res<Vec<u8>> {
    let url: hyper::Uri = request.url.parse()?;
    let authority = url.authority().ok_or("no host")?.as_str();
    let mut roots = RootCertStore::empty();
    roots.add(cert.certificate_der.clone())?;
    let tls = ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(authority).await?;
    let name = ServerName::try_from(url.host().unwrap_or_default().to_string())?;
    let stream = tokio_rustls::TlsConnector::from(Arc::new(tls))
        .connect(name, tcp)
        .await?;
    let io = hyper_util::rt::TokioIo::new(stream);
    let (mut http, connection) = hyper::client::conn::http1::handshake(io).await?;
    tokio::spawn(connection);
    let path = url.path_and_query().ok_or("no path")?.as_str();
    let post = hyper::Request::post(path).header(hyper::header::HOST, authority);
    let post = post.header(hyper::header::CONTENT_TYPE, request.content_type);
    let reply = http.send_request(post.body(Full::<Bytes>::from(request.body.clone()))?);
    let body = reply.await?.into_body().collect().await?;
    Ok(body.to_bytes().to_vec())
}
