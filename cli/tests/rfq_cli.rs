//! `lnedge rfq …` as an operator runs it: real process, real stdin/stdout, exit statuses.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn lnedge(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_lnedge"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lnedge runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn vector_path(name: &str) -> String {
    format!(
        "{}/../rfq-wire/testdata/{name}.hex",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn vector(name: &str) -> String {
    std::fs::read_to_string(vector_path(name))
        .unwrap()
        .trim()
        .to_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[test]
fn decode_then_encode_round_trips_with_and_without_type() {
    for (name, ty) in [
        ("derived-buy-request", "ce94"),
        ("derived-sell-request", "ce94"),
        ("tapd-v0.8-accept", "ce95"),
        ("derived-reject", "ce96"),
    ] {
        let hex = vector(name);
        let decoded = lnedge(&["rfq", "decode", &hex], "");
        assert!(decoded.status.success(), "{name}: {}", stderr(&decoded));
        let encoded = lnedge(&["rfq", "encode"], &stdout(&decoded));
        assert!(encoded.status.success(), "{name}: {}", stderr(&encoded));
        assert_eq!(stdout(&encoded).trim(), hex);

        let typed = format!("{ty}{hex}");
        let decoded = lnedge(&["rfq", "decode", "--with-type", &typed], "");
        assert!(decoded.status.success());
        let encoded = lnedge(&["rfq", "encode", "--with-type"], &stdout(&decoded));
        assert_eq!(stdout(&encoded).trim(), typed);
    }
}

#[test]
fn decode_shows_the_scid_and_reads_files_and_stdin() {
    let from_file = lnedge(
        &[
            "rfq",
            "decode",
            "--file",
            &vector_path("derived-buy-request"),
        ],
        "",
    );
    assert!(from_file.status.success());
    let json: serde_json::Value = serde_json::from_slice(&from_file.stdout).unwrap();
    assert_eq!(json["kind"], "request");
    assert_eq!(json["scid"]["value"], 17_592_186_044_416_000_001u64);
    assert_eq!(json["scid"]["short"], "16000000x0x1");
    assert_eq!(json["metadata"], "hello");
    let from_stdin = lnedge(&["rfq", "decode", "-"], &vector("derived-buy-request"));
    assert_eq!(from_stdin.stdout, from_file.stdout);
    let htlc = lnedge(&["rfq", "decode", &vector("tapd-v0.8-htlc")], "");
    let json: serde_json::Value = serde_json::from_slice(&htlc.stdout).unwrap();
    assert_eq!(json["kind"], "htlc_records");
    assert_eq!(json["asset_balances"][0]["amount"], 1000);
}

#[test]
fn scid_command() {
    let out = lnedge(
        &[
            "rfq",
            "scid",
            "c8d75023895d98dd9e52abe0ab1dddeed51f7a395fdef331f472e0ed1658343f",
        ],
        "",
    );
    assert!(out.status.success());
    assert_eq!(
        stdout(&out),
        "17614388401486181439 16020192x15537752x13375\n"
    );
}

#[test]
fn bad_input_exits_2_with_one_line() {
    let truncated = &vector("derived-buy-request")[..102];
    let wrong_len = vector("tapd-v0.8-reject").replacen("0220aa", "021faa", 1);
    let cases: Vec<(Vec<&str>, &str, &str)> = vec![
        (vec!["rfq", "decode", "abc"], "", "invalid hex: odd length"),
        (vec!["rfq", "decode", "zz"], "", "invalid hex"),
        (vec!["rfq", "decode", truncated], "", "truncated input"),
        (
            vec!["rfq", "decode", "--kind", "reject", &wrong_len],
            "",
            "TLV 2: bad length 31, expected exactly 32",
        ),
        (
            vec!["rfq", "decode", "--with-type", "0010"],
            "",
            "message type 16 is not an RFQ message",
        ),
        (vec!["rfq", "decode"], "", "give the message as hex"),
        (vec!["rfq", "encode"], "{not json", "invalid JSON"),
        (
            vec!["rfq", "encode"],
            r#"{"kind":"reject","id":"aa","code":1,"message":""}"#,
            "id: expected 64 hex characters",
        ),
        (
            vec!["rfq", "encode"],
            r#"{"kind":"quote"}"#,
            "unknown variant `quote`",
        ),
        (
            vec!["rfq", "scid", "1234"],
            "",
            "id: expected 64 hex characters",
        ),
        (
            vec!["rfq", "decode", "--file", "/nonexistent/x.hex"],
            "",
            "reading /nonexistent/x.hex",
        ),
    ];
    for (args, stdin, expect) in cases {
        let out = lnedge(&args, stdin);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
        assert!(err.contains(expect), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{args:?}: {err}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn convert_as_tapd_computes() {
    // spec §7.6: 10 000 units at {67 918 900 000, 2} = 1 472 344 msat, at either units scale.
    for units in ["10000", "10000000:3"] {
        let out = lnedge(
            &[
                "rfq",
                "convert",
                "--rate",
                "67918900000:2",
                "--units",
                units,
                "--json",
            ],
            "",
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(json["msat"], 1_472_344);
    }
    // 123 456 789 msat at {50 702 000 000 000, 6}: coefficient 62 595 061 158 at scale 6.
    let out = lnedge(
        &[
            "rfq",
            "convert",
            "--rate",
            "50702000000000:6",
            "--msat",
            "123456789",
        ],
        "",
    );
    assert_eq!(
        stdout(&out),
        "123456789 msat = 62595 units (exact 62595.061158 = {62595061158, 6}) at 50702000.000000 units/BTC\n"
    );
}

#[test]
fn convert_bad_input_exits_2() {
    for (args, expect) in [
        (
            vec!["--rate", "1:0", "--units", "1000000000"],
            "overflows u64",
        ),
        (
            vec!["--rate", "1:19", "--msat", "5"],
            "scale 19 is above the maximum of 18",
        ),
        (
            vec!["--rate", "abc", "--msat", "5"],
            "expected COEFFICIENT:SCALE",
        ),
        (
            vec!["--rate", "5:x", "--msat", "5"],
            "scale \"x\" is not a number",
        ),
        (vec!["--rate", "0:0", "--msat", "1"], "--rate 0:0"),
        (
            vec!["--rate", "1:0", "--units", "1.5"],
            "is not an unsigned integer",
        ),
    ] {
        let mut full = vec!["rfq", "convert"];
        full.extend(args.iter().copied());
        let out = lnedge(&full, "");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains(expect), "{args:?}: {err}");
        assert_eq!(err.lines().count(), 1, "{args:?}: {err}");
    }
    let missing = lnedge(&["rfq", "convert", "--rate", "1:0"], "");
    assert_eq!(missing.status.code(), Some(2));
}
