# Shared by scripts/setup, scripts/test, scripts/serve, scripts/build-web.
# Source it; it sets ROOT, PATH and a few helpers. No side effects beyond env.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export ROOT

# Tools: npm binaryen's wasm-opt (version 132) must shadow any Debian
# wasm-opt 108, which is broken with wasm-bindgen 0.2.130 output.
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
export PATH="$ROOT/node_modules/.bin:$CARGO_HOME/bin:$PATH"

# Browser for wasm-bindgen-test-runner (via chromedriver) and Playwright.
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="${WASM_BINDGEN_TEST_WEBDRIVER_JSON:-$ROOT/webdriver.json}"

# trunk cannot be newer: 0.22.x needs rustc 1.96.1, the toolchain is 1.95.0.
TRUNK_VERSION="0.21.14"

if [[ -t 2 ]]; then _B=$'\e[1m' _R=$'\e[31m' _G=$'\e[32m' _0=$'\e[0m'; else _B='' _R='' _G='' _0=''; fi

step() { printf '\n%s==> %s%s\n' "$_B" "$*" "$_0" >&2; }
info() { printf '    %s\n' "$*" >&2; }
run()  { printf '%s+ %s%s\n' "$_B" "$*" "$_0" >&2; "$@"; }
die()  { printf '%serror: %s%s\n' "$_R" "$*" "$_0" >&2; exit 1; }

# The version of a crate in Cargo.lock (first entry with that name).
locked_version() {
  awk -v name="\"$1\"" '
    $1 == "name" && $3 == name { found = 1; next }
    found && $1 == "version" { gsub(/"/, "", $3); print $3; exit }
  ' "$ROOT/Cargo.lock"
}

# The value of `key = "value"` in a TOML file (first match; flat keys only).
toml_value() {
  sed -n "s/^[[:space:]]*$2[[:space:]]*=[[:space:]]*\"\([^\"]*\)\".*/\1/p" "$1" | head -n 1
}

# The toolchain named by rust-toolchain.toml.
rust_channel() { toml_value "$ROOT/rust-toolchain.toml" channel; }

# Seconds since the epoch, for stage timings.
now() { date +%s; }

# Cargo's target directory (honours CARGO_TARGET_DIR and config).
cargo_target_dir() {
  (cd "$ROOT" && cargo metadata --format-version 1 --no-deps --offline 2>/dev/null |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).target_directory))') ||
    echo "$ROOT/target"
}
