//! The examples in `docs/price-oracle.md` are what the code sends and accepts.

use rfq_engine::oracle::schema::{QueryAssetRatesRequest, QueryAssetRatesResponse};
use rfq_engine::{Intent, OracleError, OracleRate, RateHint, RateQuery, TransactionType};
use rfq_wire::{AssetId, AssetSpecifier, FixedPoint, Metadata};

/// The ```json blocks of the document, in order.
fn json_blocks() -> Vec<serde_json::Value> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/price-oracle.md");
    let doc = std::fs::read_to_string(path).expect("docs/price-oracle.md");
    doc.split("```json")
        .skip(1)
        .map(|rest| {
            let block = rest.split("```").next().unwrap();
            serde_json::from_str(block).unwrap_or_else(|e| panic!("{e} in {block}"))
        })
        .collect()
}

/// The query the document's example request comes from.
fn example_query() -> RateQuery {
    RateQuery {
        payment_max_msat: Some(250_000_000),
        rate_hint: Some(RateHint {
            rate: FixedPoint::new(67_918_900_000, 2),
            expiry: 1_767_225_600,
        }),
        metadata: Metadata(b"{\"customer_tier\":\"gold\"}".to_vec()),
        node_id: Some({
            let mut key = [0x11; 33];
            key[0] = 0x02;
            key
        }),
        ..RateQuery::new(
            TransactionType::Purchase,
            Intent::PayInvoice,
            AssetSpecifier::AssetId(AssetId([0xa1; 32])),
        )
    }
}

#[test]
fn documented_examples_match_the_code() {
    let blocks = json_blocks();
    assert_eq!(blocks.len(), 3, "request, ok response, error response");

    let request = serde_json::to_value(QueryAssetRatesRequest::from(&example_query())).unwrap();
    assert_eq!(blocks[0], request);

    let ok: QueryAssetRatesResponse = serde_json::from_value(blocks[1].clone()).unwrap();
    assert_eq!(
        ok.into_result(),
        Ok(OracleRate {
            rate: FixedPoint::new(68_250_000_000, 2),
            expiry: 1_767_225_900
        })
    );
    // "the node pays 1 465 201 msat for 10 000 units"
    let rate = FixedPoint::new(68_250_000_000, 2);
    assert_eq!(
        rfq_engine::rate::whole_units_to_msat(10_000, rate),
        Ok(1_465_201)
    );
    let error: QueryAssetRatesResponse = serde_json::from_value(blocks[2].clone()).unwrap();
    assert!(matches!(
        error.into_result(),
        Err(OracleError::UnsupportedAsset { .. })
    ));
}
