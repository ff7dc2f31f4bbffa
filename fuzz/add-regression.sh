#!/usr/bin/env bash
# Records a fuzz crash as a regression that `cargo test -p oap-wire` replays:
#
#   fuzz/add-regression.sh TARGET ARTIFACT NAME
#
# writes suite/wire/tests/fuzz-regressions/TARGET/NAME (replayed by `cargo test -p oap-wire`),
# or fuzz/regressions/TARGET/NAME for the targets over the reference Tool and over the suite
# itself (vector_file, tool_response; replayed by
# `cargo test --manifest-path fuzz/Cargo.toml`): the artifact itself for the targets that
# read raw bytes, the case as JSON (the target's Debug output) for the structure-aware ones.
# Name the file after the bug (`duplicate-key-after-escape`), not after the hash.
set -euo pipefail

[ $# -eq 3 ] || { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
target="$1"
artifact="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
name="$3"

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
case "$target" in
  oap_ref_*|vector_file|tool_response) dir="fuzz/regressions/$target"; replay="cargo test --manifest-path fuzz/Cargo.toml --test regressions" ;;
  *) dir="suite/wire/tests/fuzz-regressions/$target"; replay="cargo test -p oap-wire --test fuzz_regressions" ;;
esac
mkdir -p "$dir"

case "$target" in
  strict_json|didkey|ids|content_digest|oap_ref_amp_message|vector_file|tool_response)
    cp "$artifact" "$dir/$name"
    ;;
  envelope_structured|httpsig_headers|credential_proof|receipt_chain|oap_ref_envelope)
    cargo fuzz build --sanitizer none "$target" >/dev/null
    host="$(rustc -vV | sed -n 's/^host: //p')"
    RUST_LIBFUZZER_DEBUG_PATH="$root/$dir/$name" \
      "fuzz/target/$host/release/$target" "$artifact" >/dev/null 2>&1
    ;;
  *)
    echo "unknown target $target" >&2
    exit 2
    ;;
esac
echo "recorded $dir/$name; replay with: $replay"
