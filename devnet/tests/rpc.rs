//! The HTTP JSON-RPC surface: authentication, request and reply shapes, status codes, parameter
//! errors, and raw block and header bytes that form a valid header chain.

mod common;

use bitcoin::consensus::encode::deserialize;
use bitcoin::hashes::Hash;
use bitcoin::{Block, BlockHash};
use common::{http, Rpc, Wallet};
use lnedge_devnet::{Devnet, DevnetConfig, RpcAuth, RpcServer, RpcServerConfig};
use serde_json::{json, Value};

async fn server(devnet: &Devnet) -> (RpcServer, Rpc) {
    let server = RpcServer::start(
        devnet.clone(),
        RpcServerConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            auth: RpcAuth::UserPass {
                user: "user".into(),
                password: "pass".into(),
            },
        },
    )
    .await
    .unwrap();
    let rpc = Rpc {
        addr: server.local_addr(),
        auth: server.credentials_base64(),
    };
    (server, rpc)
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn authentication_and_http_shapes_follow_core() {
    let devnet = Devnet::in_memory();
    let (server, rpc) = server(&devnet).await;
    let body = json!({"method": "getblockcount", "params": [], "id": 1}).to_string();
    // No or wrong credentials: 401 with a Basic challenge.
    let reply = http(server.local_addr(), "POST", "/", None, &body).await;
    assert_eq!(reply.status, 401);
    assert!(reply
        .headers
        .iter()
        .any(|h| h == "www-authenticate: basic realm=\"jsonrpc\""));
    let reply = http(
        server.local_addr(),
        "POST",
        "/",
        Some("dXNlcjp3cm9uZw=="),
        &body,
    )
    .await;
    assert_eq!(reply.status, 401);
    // GET is refused.
    let reply = http(server.local_addr(), "GET", "/", Some(&rpc.auth), "").await;
    assert_eq!(reply.status, 405);
    // JSON-RPC 1.0 success: result, error null, id echoed.
    let reply = http(server.local_addr(), "POST", "/", Some(&rpc.auth), &body).await;
    assert_eq!(reply.status, 200);
    assert_eq!(reply.json(), json!({"result": 0, "error": null, "id": 1}));
    // Unknown method: 404 and -32601.
    let (status, reply) = rpc.raw("getfoo", json!([])).await;
    assert_eq!(status, 404);
    assert_eq!(
        reply["error"],
        json!({"code": -32601, "message": "Method not found"})
    );
    // Malformed JSON: 500 and -32700.
    let reply = http(
        server.local_addr(),
        "POST",
        "/",
        Some(&rpc.auth),
        "{not json",
    )
    .await;
    assert_eq!(reply.status, 500);
    assert_eq!(reply.json()["error"]["code"], json!(-32700));
    // Other RPC errors: 500 under JSON-RPC 1.0.
    let (status, reply) = rpc.raw("getblockhash", json!([5])).await;
    assert_eq!(status, 500);
    assert_eq!(
        reply["error"],
        json!({"code": -8, "message": "Block height out of range"})
    );
    // JSON-RPC 2.0: 200 for errors too, no `result` key on error, no reply to notifications.
    let v2 =
        json!({"jsonrpc": "2.0", "method": "getblockhash", "params": [5], "id": "x"}).to_string();
    let reply = http(server.local_addr(), "POST", "/", Some(&rpc.auth), &v2).await;
    assert_eq!(reply.status, 200);
    let v = reply.json();
    assert_eq!(v["jsonrpc"], json!("2.0"));
    assert!(v.get("result").is_none());
    assert_eq!(v["error"]["code"], json!(-8));
    let note = json!({"jsonrpc": "2.0", "method": "getblockcount"}).to_string();
    let reply = http(server.local_addr(), "POST", "/", Some(&rpc.auth), &note).await;
    assert_eq!(reply.status, 204);
    // Batch.
    let batch = json!([
        {"method": "getblockcount", "id": 1},
        {"method": "nope", "id": 2},
    ])
    .to_string();
    let reply = http(server.local_addr(), "POST", "/", Some(&rpc.auth), &batch).await;
    assert_eq!(reply.status, 200);
    let v = reply.json();
    assert_eq!(v[0]["result"], json!(0));
    assert_eq!(v[1]["error"]["code"], json!(-32601));
    // Named parameters.
    let hash = rpc.call("getblockhash", json!({"height": 0})).await;
    assert_eq!(hash, json!(devnet.tip().to_string()));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cookie_file_is_written_private_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let devnet = Devnet::in_memory();
    let server = RpcServer::start(
        devnet,
        RpcServerConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            auth: RpcAuth::Cookie {
                dir: dir.path().into(),
            },
        },
    )
    .await
    .unwrap();
    let path = server.cookie_path().unwrap().to_path_buf();
    let cookie = std::fs::read_to_string(&path).unwrap();
    let (user, password) = cookie.split_once(':').unwrap();
    assert_eq!(user, "__cookie__");
    assert_eq!(password.len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }
    let rpc = Rpc {
        addr: server.local_addr(),
        auth: server.credentials_base64(),
    };
    assert_eq!(rpc.call("getblockcount", json!([])).await, json!(0));
    server.shutdown().await;
    assert!(!path.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_parameters_give_json_rpc_errors() {
    let devnet = Devnet::in_memory();
    let (_server, rpc) = server(&devnet).await;
    let cases: Vec<(&str, Value, i64)> = vec![
        ("getblockhash", json!([]), -1),
        ("getblockhash", json!(["x"]), -3),
        ("getblockhash", json!([-1]), -8),
        ("getblockcount", json!([1]), -1),
        ("getblock", json!(["foo"]), -8),
        ("getblock", json!(["zz".repeat(32)]), -8),
        ("getblock", json!(["00".repeat(32)]), -5),
        ("getblock", json!([7]), -3),
        ("getblockheader", json!(["00".repeat(32)]), -5),
        (
            "getblockheader",
            json!([devnet.tip().to_string(), "yes"]),
            -3,
        ),
        ("getrawtransaction", json!(["00".repeat(32)]), -5),
        ("getrawtransaction", json!([[]]), -3),
        ("sendrawtransaction", json!(["zz"]), -22),
        ("sendrawtransaction", json!(["00"]), -22),
        ("sendrawtransaction", json!([{}]), -3),
        ("testmempoolaccept", json!(["00"]), -3),
        ("getmempoolentry", json!(["00".repeat(32)]), -5),
        ("estimatesmartfee", json!([0]), -8),
        ("estimatesmartfee", json!([2000]), -8),
        ("estimatesmartfee", json!([6, "fast"]), -8),
        ("setfeecurve", json!([]), -1),
        ("setfeecurve", json!([{}]), -3),
        ("setfeecurve", json!([[]]), -8),
        ("setfeecurve", json!([[[1, 2.0, 3]]]), -8),
        ("setfeecurve", json!([[[0, 2.0]]]), -8),
        ("setfeecurve", json!([[[1, -2.0]]]), -8),
        ("generatetoaddress", json!([1, "notanaddress"]), -5),
        (
            "generatetoaddress",
            json!([1, "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"]),
            -5,
        ),
        ("invalidateblock", json!(["00".repeat(32)]), -5),
        ("gettxout", json!(["00".repeat(32)]), -1),
        ("getblockhash", json!({"heigth": 0}), -8),
        ("getblockcount", json!("string params"), -32600),
    ];
    for (method, params, code) in cases {
        let (got, message) = rpc.error(method, params.clone()).await;
        assert_eq!(got, code, "{method} {params}: {message}");
    }
    let (_, message) = rpc.error("getblock", json!(["foo"])).await;
    assert_eq!(message, "blockhash must be of length 64 (not 3, for 'foo')");
    let (_, message) = rpc.error("getblockhash", json!(["x"])).await;
    assert_eq!(
        message,
        "JSON value of type string is not of expected type number"
    );
    // Non-object members of a batch and non-string methods.
    let batch = json!([1, {"method": 5, "id": 1}]).to_string();
    let reply = http(rpc.addr, "POST", "/", Some(&rpc.auth), &batch).await;
    let v = reply.json();
    assert_eq!(v[0]["error"]["code"], json!(-32600));
    assert_eq!(v[1]["error"]["code"], json!(-32600));
}

#[tokio::test(flavor = "multi_thread")]
async fn raw_headers_and_blocks_form_a_valid_chain() {
    let devnet = Devnet::in_memory();
    let (_server, rpc) = server(&devnet).await;
    let wallet = Wallet::new(3);
    rpc.call(
        "generatetoaddress",
        json!([160, wallet.address.to_string()]),
    )
    .await;
    // A segwit spend so one block carries a witness commitment.
    let coin = common::coinbase_at(&devnet, 1);
    let tx = wallet.spend(&[coin], vec![wallet.output(4_999_000_000)]);
    rpc.call(
        "sendrawtransaction",
        json!([bitcoin::consensus::encode::serialize_hex(&tx)]),
    )
    .await;
    rpc.call("generatetoaddress", json!([1, wallet.address.to_string()]))
        .await;

    let count = rpc.call("getblockcount", json!([])).await.as_u64().unwrap();
    assert_eq!(count, 161);
    let mut prev = BlockHash::all_zeros();
    let mut prev_time = 0;
    for height in 0..=count {
        let hash_hex = rpc.call("getblockhash", json!([height])).await;
        let hash: BlockHash = hash_hex.as_str().unwrap().parse().unwrap();
        let header_hex = rpc.call("getblockheader", json!([hash_hex, false])).await;
        let header_bytes = unhex(header_hex.as_str().unwrap());
        assert_eq!(header_bytes.len(), 80);
        let header: bitcoin::block::Header = deserialize(&header_bytes).unwrap();
        assert_eq!(header.block_hash(), hash);
        assert_eq!(header.prev_blockhash, prev);
        assert_eq!(header.bits.to_consensus(), 0x207f_ffff);
        header.validate_pow(header.target()).unwrap();
        assert!(header.time > prev_time || height == 0);
        let block_hex = rpc.call("getblock", json!([hash_hex, 0])).await;
        let block: Block = deserialize(&unhex(block_hex.as_str().unwrap())).unwrap();
        assert_eq!(block.header, header);
        assert!(block.check_merkle_root());
        assert!(block.check_witness_commitment());
        if height > 0 {
            // BIP 34 and the regtest halving at 150.
            let script = &block.txdata[0].input[0].script_sig;
            let expected = lnedge_devnet::block::bip34_height_push(height as u32);
            assert!(script.as_bytes().starts_with(expected.as_bytes()));
            let paid: u64 = block.txdata[0]
                .output
                .iter()
                .map(|o| o.value.to_sat())
                .sum();
            let subsidy = if height < 150 {
                5_000_000_000
            } else {
                2_500_000_000
            };
            let fees = if height == 161 { 1_000_000 } else { 0 };
            assert_eq!(paid, subsidy + fees, "height {height}");
        }
        if height == 161 {
            assert_eq!(block.txdata.len(), 2);
            assert!(block.txdata[0].output.iter().any(|o| o
                .script_pubkey
                .as_bytes()
                .starts_with(&[0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed])));
        }
        let verbose = rpc.call("getblockheader", json!([hash_hex])).await;
        assert_eq!(verbose["height"], json!(height));
        assert_eq!(verbose["merkleroot"], json!(header.merkle_root.to_string()));
        assert_eq!(verbose["bits"], json!("207fffff"));
        assert_eq!(verbose["confirmations"], json!(count - height + 1));
        prev = hash;
        prev_time = header.time;
    }
    let info = rpc.call("getblockchaininfo", json!([])).await;
    assert_eq!(info["chain"], json!("regtest"));
    assert_eq!(info["blocks"], json!(161));
    assert_eq!(info["bestblockhash"], json!(prev.to_string()));
    assert_eq!(info["chainwork"].as_str().unwrap().len(), 64);
    let genesis = rpc
        .call(
            "getblock",
            json!([rpc.call("getblockhash", json!([0])).await, 1]),
        )
        .await;
    assert_eq!(
        genesis["hash"],
        json!("0f9188f13cb7b2c71f2a335e3a4fc328bf5beb436012afca590b1a11466e2206")
    );
    assert!(genesis.get("previousblockhash").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn informational_methods_answer() {
    let devnet = Devnet::new(DevnetConfig {
        fee_curve: lnedge_devnet::FeeCurve::new(vec![(1, 30.0), (6, 8.0)]),
        ..DevnetConfig::default()
    })
    .unwrap();
    let (_server, rpc) = server(&devnet).await;
    let fee = rpc.call("estimatesmartfee", json!([1])).await;
    assert_eq!(fee, json!({"feerate": 0.0003, "blocks": 2}));
    let fee = rpc
        .call("estimatesmartfee", json!([10, "economical"]))
        .await;
    assert_eq!(fee, json!({"feerate": 0.00008, "blocks": 10}));
    let info = rpc.call("getnetworkinfo", json!([])).await;
    assert_eq!(info["version"], json!(250100));
    assert!(rpc.call("uptime", json!([])).await.is_u64());
    let pool = rpc.call("getmempoolinfo", json!([])).await;
    assert_eq!(pool["size"], json!(0));
    // The mempool minimum (read by the node for anchor channels) is the min relay fee.
    assert_eq!(pool["mempoolminfee"], json!(0.00001));
    assert_eq!(pool["minrelaytxfee"], json!(0.00001));
    let difficulty = rpc.call("getdifficulty", json!([])).await.as_f64().unwrap();
    assert!((difficulty - 4.656542373906925e-10).abs() < 1e-20);
    assert!(rpc
        .call("help", json!([]))
        .await
        .as_str()
        .unwrap()
        .contains("getblockchaininfo"));
}

#[tokio::test(flavor = "multi_thread")]
async fn setfeecurve_replaces_the_estimates() {
    let devnet = Devnet::in_memory();
    let (_server, rpc) = server(&devnet).await;
    // The default curve: 2 sat/vB for 144 blocks.
    let fee = rpc.call("estimatesmartfee", json!([144])).await;
    assert_eq!(fee, json!({"feerate": 0.00002, "blocks": 144}));
    let reply = rpc
        .call("setfeecurve", json!([[[1008, 1.5], [1, 40], [6, 12.0]]]))
        .await;
    assert_eq!(reply, Value::Null);
    for (target, feerate) in [(1, 0.0004), (5, 0.0004), (6, 0.00012), (144, 0.00012)] {
        let fee = rpc.call("estimatesmartfee", json!([target])).await;
        assert_eq!(fee["feerate"], json!(feerate), "target {target}");
    }
    // Still never below the min relay fee (1 sat/vB).
    let fee = rpc.call("estimatesmartfee", json!([1008])).await;
    assert_eq!(fee["feerate"], json!(0.000015));
    rpc.call("setfeecurve", json!({"points": [[1, 0.5]]})).await;
    let fee = rpc.call("estimatesmartfee", json!([1])).await;
    assert_eq!(fee["feerate"], json!(0.00001));

    // A refused curve names the problem and leaves the previous one in place.
    for (points, problem) in [
        (
            json!([]),
            "at least one [target_blocks, sat_per_vbyte] pair",
        ),
        (
            json!([[1, 2], 3]),
            "points[1] must be a [target_blocks, sat_per_vbyte] pair",
        ),
        (
            json!([[2000, 2]]),
            "points[0]: target_blocks must be an integer between 1 and 1008",
        ),
        (
            json!([[1, "2"]]),
            "points[0]: sat_per_vbyte must be a positive number",
        ),
        (
            json!([[1, 0]]),
            "points[0]: sat_per_vbyte must be a positive number",
        ),
        (
            json!([[6, 2], [6, 3]]),
            "points[1]: target_blocks 6 given twice",
        ),
    ] {
        let (code, message) = rpc.error("setfeecurve", json!([points])).await;
        assert_eq!(code, -8, "{points}: {message}");
        assert!(message.contains(problem), "{points}: {message}");
    }
    assert_eq!(devnet.lock().fee_curve, lnedge_devnet::FeeCurve::flat(0.5));
}

#[tokio::test(flavor = "multi_thread")]
async fn chain_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = DevnetConfig {
        data_dir: Some(dir.path().into()),
        ..DevnetConfig::default()
    };
    let wallet = Wallet::new(4);
    let (tip, invalidated) = {
        let devnet = Devnet::new(config.clone()).unwrap();
        devnet.mine(105, &wallet.script).unwrap();
        let tx = wallet.spend(
            &[common::coinbase_at(&devnet, 1)],
            vec![wallet.output(4_999_000_000)],
        );
        devnet.send_transaction(&tx).unwrap();
        devnet.mine(1, &wallet.script).unwrap();
        let invalidated = devnet.lock().chain.hash_at(106).unwrap();
        devnet.invalidate_block(&invalidated).unwrap();
        devnet.mine(2, &wallet.script).unwrap();
        (devnet.tip(), invalidated)
    };
    let devnet = Devnet::new(config).unwrap();
    assert_eq!(devnet.height(), 107);
    assert_eq!(devnet.tip(), tip);
    let state = devnet.lock();
    assert!(state.chain.entry(&invalidated).unwrap().invalid);
    assert!(!state.chain.is_active(&invalidated));
}

#[tokio::test(flavor = "multi_thread")]
async fn every_method_answers_odd_parameters_with_json() {
    let devnet = Devnet::in_memory();
    let (_server, rpc) = server(&devnet).await;
    let wallet = Wallet::new(5);
    devnet.mine(3, &wallet.script).unwrap();
    let tip = devnet.tip().to_string();
    let shapes = vec![
        json!([]),
        json!(null),
        json!({}),
        json!([null]),
        json!([true]),
        json!([-1]),
        json!([1.5]),
        json!([u64::MAX]),
        json!(["00"]),
        json!([tip]),
        json!([tip, 2]),
        json!([tip, true, tip]),
        json!([tip, -5]),
        json!([[tip], {"a": 1}]),
        json!([2, wallet.address.to_string()]),
        json!([2, wallet.address.to_string(), "x"]),
        json!([wallet.address.to_string(), []]),
        json!([wallet.address.to_string(), [tip]]),
        json!([1, 2, 3, 4, 5, 6]),
        json!({"nonsense": 1}),
    ];
    let methods: Vec<&str> = lnedge_devnet::rpc::methods::method_names().collect();
    for method in methods {
        for params in &shapes {
            let (status, reply) = rpc.raw(method, params.clone()).await;
            assert!(reply.is_object(), "{method} {params}: {reply}");
            if status == 200 {
                assert!(reply["error"].is_null(), "{method} {params}: {reply}");
            } else {
                assert!(
                    reply["error"]["code"].is_i64(),
                    "{method} {params}: {reply}"
                );
                assert!(
                    reply["error"]["message"].is_string(),
                    "{method} {params}: {reply}"
                );
            }
        }
    }
    // Still serving.
    assert!(rpc.call("getblockcount", json!([])).await.as_u64().unwrap() >= 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn generate_is_bounded_and_lets_other_calls_in() {
    let devnet = Devnet::in_memory();
    let (server, rpc) = server(&devnet).await;
    let address = Wallet::new(5).address.to_string();

    // More than 10 000 blocks in one call is refused before anything is mined.
    let (code, message) = rpc
        .error("generatetoaddress", json!([10_001, address]))
        .await;
    assert_eq!(code, -8, "{message}");
    assert!(
        message.contains("at most 10000 blocks per call"),
        "{message}"
    );
    assert_eq!(devnet.height(), 0);

    // A long generate takes the chain lock one block at a time: a getblockcount sent while it
    // runs is answered before it ends.
    const LONG_RUN: u64 = 2000;
    let generating = {
        let rpc = Rpc {
            addr: rpc.addr,
            auth: rpc.auth.clone(),
        };
        let address = address.clone();
        tokio::spawn(async move {
            rpc.call("generatetoaddress", json!([LONG_RUN, address]))
                .await
        })
    };
    while devnet.height() == 0 {
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    let count = rpc.call("getblockcount", json!([])).await.as_u64().unwrap();
    assert!(
        !generating.is_finished() && count < LONG_RUN,
        "getblockcount ({count}) waited for the whole generate"
    );
    let hashes = generating.await.unwrap();
    assert_eq!(hashes.as_array().unwrap().len() as u64, LONG_RUN);
    assert_eq!(devnet.height() as u64, LONG_RUN);
    server.shutdown().await;
}
