//! Property tests: whatever bytes or parameters arrive, the RPC layer answers with a JSON-RPC
//! reply (or nothing, for a notification) and never panics.

use lnedge_devnet::rpc::methods::method_names;
use lnedge_devnet::rpc::server::answer_body;
use lnedge_devnet::{anyone_can_spend_script, Devnet};
use proptest::prelude::*;
use serde_json::{json, Value};

fn devnet() -> Devnet {
    let devnet = Devnet::in_memory();
    devnet.mine(3, &anyone_can_spend_script()).unwrap();
    devnet
}

fn check_reply(status: u16, reply: &Option<Value>) {
    match reply {
        None => assert_eq!(status, 204),
        Some(Value::Array(items)) => assert!(items.iter().all(Value::is_object)),
        Some(Value::Object(obj)) => {
            assert!(obj.contains_key("id"));
            assert!(obj.contains_key("result") || obj.contains_key("error"));
            if let Some(error) = obj.get("error").filter(|e| !e.is_null()) {
                assert!(
                    error["code"].is_i64() && error["message"].is_string(),
                    "{error}"
                );
            }
        }
        Some(other) => panic!("unexpected reply {other}"),
    }
}

/// JSON values small enough to be quick, with hashes and numbers that hit real code paths.
fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (0u64..200).prop_map(Value::from),
        any::<f64>().prop_map(|f| serde_json::Number::from_f64(f)
            .map(Value::Number)
            .unwrap_or(Value::Null)),
        "[0-9a-f]{0,70}".prop_map(Value::from),
        ".{0,20}".prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,12}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_get_a_reply(body in prop::collection::vec(any::<u8>(), 0..200)) {
        let devnet = devnet();
        let (status, reply) = answer_body(&devnet, &body);
        check_reply(status.as_u16(), &reply);
    }

    #[test]
    fn every_method_survives_arbitrary_params(
        method in prop::sample::select(method_names().filter(|m| !m.starts_with("generate")).collect::<Vec<_>>()),
        params in json_value(),
        v2 in any::<bool>(),
    ) {
        let devnet = devnet();
        let mut request = json!({"method": method, "params": params, "id": 1});
        if v2 {
            request["jsonrpc"] = json!("2.0");
        }
        let (status, reply) = answer_body(&devnet, request.to_string().as_bytes());
        check_reply(status.as_u16(), &reply);
    }

    #[test]
    fn generate_methods_survive_small_arbitrary_params(
        method in prop::sample::select(vec!["generatetoaddress", "generateblock"]),
        count in 0u32..3,
        rest in json_value(),
    ) {
        let devnet = devnet();
        let address = bitcoin::Address::from_script(&anyone_can_spend_script(), bitcoin::Network::Regtest).unwrap();
        let params = if method == "generatetoaddress" {
            json!([count, address.to_string(), rest])
        } else {
            json!([address.to_string(), rest])
        };
        let request = json!({"method": method, "params": params, "id": 1});
        let (status, reply) = answer_body(&devnet, request.to_string().as_bytes());
        check_reply(status.as_u16(), &reply);
    }
}
