#!/usr/bin/env bash
# Runs every fuzz target for RUNS executions (default 10 million) and prints libFuzzer's summary.
# Needs cargo-fuzz and a nightly toolchain: `cargo install cargo-fuzz`, `rustup toolchain install nightly`.
set -euo pipefail
cd "$(dirname "$0")"
runs=${RUNS:-10000000}
for target in $(cargo +nightly fuzz list); do
  echo "== $target"
  # Seed each corpus with the test vectors (binary) or their JSON forms.
  mkdir -p "corpus/$target"
  if [ "$target" = decode_json ]; then
    cp seeds/json/*.json "corpus/$target/"
  elif [ "$target" = devnet_rpc ]; then
    cp seeds/rpc/*.json "corpus/$target/"
  elif [ "$target" = admin_api_request ]; then
    cp seeds/admin_api/* "corpus/$target/"
  elif [ "$target" = payjoin_original ]; then
    cp seeds/payjoin_original/* "corpus/$target/"
  else
    cp seeds/*.bin "corpus/$target/"
  fi
  # --no-cfg-fuzzing: the `lightning` crate (in the tree through lnedge-node) refuses to build
  # under `--cfg fuzzing` unless its own fuzzing features are on; none of our code uses the cfg.
  cargo +nightly fuzz run --no-cfg-fuzzing "$target" -- -runs="$runs" -max_len=4096 -print_final_stats=1 2>&1 \
    | grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)|panicked|ERROR|SUMMARY" || true
done
