#!/usr/bin/env bash
# Browser tests: tests/browser/run.sh BINARY [TEST_FILE...]
#
# Installs what it needs (Debian's chromium and fonts, the npm packages from package-lock.json),
# starts BINARY on a free loopback port with a fresh data dir, runs `node --test` on the test
# files (all *.test.mjs here by default), and always stops the server. Exits non-zero on any
# failure; never skips. Safe to run again; needs no input (works with CI=true).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"

die() { echo "run.sh: $*" >&2; exit 1; }

[ $# -ge 1 ] || die "usage: tests/browser/run.sh BINARY [TEST_FILE...]"
binary="$1"; shift
[ -x "$binary" ] || die "not an executable: $binary"
binary="$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")"

chromium_bin="${SKYHIGH_CHROMIUM:-/usr/bin/chromium}"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else
    die "need root to run: $*"; fi
}

# ---- system packages: chromium and fonts -------------------------------------------------------
need_apt=()
[ -x "$chromium_bin" ] || need_apt+=(chromium)
# Fonts: DejaVu for Latin text, Noto Color Emoji for the 🚀 in the header.
[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need_apt+=(fonts-dejavu-core)
[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || need_apt+=(fonts-noto-color-emoji)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "run.sh: installing ${need_apt[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -q || die "apt-get update failed"
  as_root apt-get install -y -q --no-install-recommends "${need_apt[@]}" \
    || die "apt-get install ${need_apt[*]} failed"
fi
[ -x "$chromium_bin" ] || die "chromium is still missing at $chromium_bin"
"$chromium_bin" --version 2>/dev/null | grep -q . || die "$chromium_bin does not run (--version printed nothing)"

# ---- node and the npm packages -----------------------------------------------------------------
command -v node >/dev/null || die "node is missing (Node.js 20 or newer is needed)"
command -v npm >/dev/null || die "npm is missing"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "Node.js $(node --version) is too old; 20 or newer is needed"

# npm ci when node_modules is missing or older than the lock file (npm writes its own copy of the
# lock, node_modules/.package-lock.json, on every install).
stamp="$here/node_modules/.package-lock.json"
if [ ! -f "$stamp" ] || [ "$here/package-lock.json" -nt "$stamp" ] || [ "$here/package.json" -nt "$stamp" ]; then
  echo "run.sh: npm ci in tests/browser"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
fi

# ---- the server ----------------------------------------------------------------------------------
free_port() {
  node -e '
    const s = require("net").createServer();
    s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# SKYHIGH_TEST_OUTPUT puts a run's output elsewhere (the aws run of scripts/test keeps its own).
output_dir="${SKYHIGH_TEST_OUTPUT:-$repo_root/test-output}"
mkdir -p "$output_dir"
# Screenshots and axe reports are those of this run only.
rm -rf "$output_dir/screenshots" "$output_dir/axe"
mkdir -p "$output_dir/screenshots"
data_dir="$(mktemp -d -t skyhigh-browser-data.XXXXXX)"
log_file="$output_dir/browser-server.log"
server_pid=""
tests_ran=false

# True while the process runs (an exited child that bash has not reaped yet is a zombie: not running).
running() {
  local stat
  stat="$(cat "/proc/$1/stat" 2>/dev/null)" || return 1
  stat="${stat##*) }"
  [ "${stat:0:1}" != "Z" ]
}

cleanup() {
  local status=$?
  if [ -n "$server_pid" ] && running "$server_pid"; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 1 50); do running "$server_pid" || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  # After a test failure node's summary stays the last thing printed; the log is in $log_file.
  if [ "$status" -ne 0 ] && ! $tests_ran && [ -f "$log_file" ]; then
    echo "run.sh: failed (exit $status); the last lines of the server log ($log_file):" >&2
    tail -n 40 "$log_file" >&2 || true
  fi
  rm -rf "$data_dir"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_server() {
  port="$(free_port)"
  # One address signs up every test user: the per-address sign-up limit is lifted for it.
  SKYHIGH_ADDR="127.0.0.1:$port" SKYHIGH_DATA_DIR="$data_dir" SKYHIGH_SIGNUPS_PER_HOUR=100000 \
    NO_COLOR=1 RUST_LOG="${RUST_LOG:-info}" \
    "$binary" >"$log_file" 2>&1 </dev/null &
  server_pid=$!
}

wait_healthy() {
  # Poll GET /healthz every 100 ms for up to 20 s (node, so no curl is needed). Exit status:
  # 0 healthy, 1 timed out, 2 the server process exited first.
  node --input-type=module - "$port" "$server_pid" <<'JS'
import { readFileSync } from 'node:fs';
const [port, pid] = process.argv.slice(2).map(Number);
const deadline = Date.now() + 20_000;
// Alive = the process exists and is not a zombie (an exited child that bash has not reaped yet).
const alive = () => {
  try { return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '')[0] !== 'Z'; }
  catch { return false; }
};
async function healthy() {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1000) });
    return res.status === 200 && (await res.text()).trim() === 'ok';
  } catch { return false; }
}
while (Date.now() < deadline) {
  if (!alive()) process.exit(2);
  if (await healthy()) process.exit(0);
  await new Promise((r) => setTimeout(r, 100));
}
process.exit(1);
JS
}

# Another process may grab the free port between the check and the bind: try three ports.
for attempt in 1 2 3; do
  start_server
  if wait_healthy; then break; else rc=$?; fi
  if [ "$rc" -eq 1 ]; then
    die "the server did not answer GET /healthz with ok within 20 s (port $port)"
  fi
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  if ! grep -qi "address already in use\|addrinuse" "$log_file" || [ "$attempt" -eq 3 ]; then
    die "the server exited before it was healthy (port $port)"
  fi
  echo "run.sh: port $port was taken, trying another"
done
base_url="http://127.0.0.1:$port"
echo "run.sh: $binary is up at $base_url (data in $data_dir)"

# ---- the tests -----------------------------------------------------------------------------------
if [ $# -gt 0 ]; then
  tests=("$@")
else
  tests=("$here"/*.test.mjs)
fi
[ -e "${tests[0]}" ] || die "no test files found"

echo "run.sh: screenshots go to $output_dir/screenshots, axe reports to $output_dir/axe, the server log to $log_file"
# The spec report goes to the terminal, a TAP copy to a file for the counts. Node prints its own
# summary (and, when something failed, the failures again); the very last line is the plain
# "browser: N passed, N failed, N skipped, N todo" taken from the TAP copy. Node's exit code is ours.
tap_file="$output_dir/browser-tests.tap"
rm -f "$tap_file"
tests_ran=true
set +e
SKYHIGH_URL="$base_url" SKYHIGH_CHROMIUM="$chromium_bin" SKYHIGH_DATA_DIR="$data_dir" SKYHIGH_TEST_OUTPUT="$output_dir" \
  node --test --test-concurrency=1 \
    --test-reporter=spec --test-reporter-destination=stdout \
    --test-reporter=tap --test-reporter-destination="$tap_file" \
    "${tests[@]}"
status=$?
set -e
count() { sed -n "s/^# $1 \([0-9][0-9]*\)\$/\1/p" "$tap_file" 2>/dev/null | tail -n 1; }
passed="$(count pass)"; failed="$(count fail)"; skipped="$(count skipped)"; cancelled="$(count cancelled)"
todo="$(count todo)"
if [ -n "$passed" ] && [ -n "$failed" ]; then
  failed=$((failed + ${cancelled:-0}))
  [ "$status" -eq 0 ] || [ "$failed" -gt 0 ] || failed=1  # node failed outside any test
  echo
  # "todo" tests are checks of known app bugs: they run and are reported, but do not fail the run.
  echo "browser: $passed passed, $failed failed, ${skipped:-0} skipped, ${todo:-0} todo"
fi
exit "$status"
