#!/usr/bin/env bash
# Trunk's post-build hook (Trunk.toml): finishes the bundle in Trunk's staging folder, for every
# build, `trunk build` and `trunk serve` alike.
#
# 1. The Content-Security-Policy. Trunk writes the script that starts the app inline, and its
#    file names carry content hashes, so that script changes with every build: the policy can
#    only name it by its hash once it is written. index.html holds the policy with the marker
#    'inline-script-hashes', replaced here by the SHA-256 of every inline script.
# 2. The service worker's list of files to keep for offline use (sw.js's PRECACHE), and its
#    VERSION, a hash of every file: a new build is a new service worker, which replaces the
#    cached app in one piece (never a new script beside an old wasm module).
#
# Only coreutils, findutils and perl-base, which every Debian machine has.
set -euo pipefail

staging="${TRUNK_STAGING_DIR:?run by Trunk as a post_build hook}"
cd "$staging"

# --- 1. the policy ---
hashes=""
scripts="$(mktemp -d)"
trap 'rm -rf "$scripts"' EXIT
# Every <script> without a src, its text written to a file of its own, byte for byte.
OUT="$scripts" perl -0777 -ne '
  my $n = 0;
  while (/<script\b([^>]*)>(.*?)<\/script>/gs) {
    my ($attrs, $body) = ($1, $2);
    next if $attrs =~ /\bsrc\s*=/;
    open(my $out, ">", sprintf("%s/%03d", $ENV{OUT}, $n++)) or die;
    binmode $out;
    print $out $body;
    close $out;
  }' index.html
for script in "$scripts"/*; do
  [ -e "$script" ] || continue
  hex="$(sha256sum "$script" | cut -d' ' -f1)"
  b64="$(perl -e 'print pack("H*", $ARGV[0])' "$hex" | base64 -w0)"
  hashes="$hashes 'sha256-$b64'"
done
hashes="${hashes# }"
grep -q "'inline-script-hashes'" index.html || { echo "index.html has no 'inline-script-hashes' marker in its policy" >&2; exit 1; }
HASHES="$hashes" perl -0777 -pi -e 's/\x27inline-script-hashes\x27/$ENV{HASHES}/g' index.html

# --- 2. the service worker's list and version ---
if [ -f sw.js ]; then
  files="$(find . -type f ! -name sw.js -printf '%P\n' | LC_ALL=C sort)"
  version="$(printf '%s\n' "$files" | while read -r f; do sha256sum "$f"; done | sha256sum | cut -c1-16)"
  list="$(printf '%s\n' "$files" | sed 's/.*/  "&",/')"
  LIST="$list" VERSION="$version" perl -0777 -pi -e '
    s/const VERSION = .*?;/const VERSION = "$ENV{VERSION}";/;
    s/const PRECACHE = \[\];/const PRECACHE = [\n$ENV{LIST}\n];/;' sw.js
  # .ci/serve sets TUNELAB_SERVE: a page under development asks the network first.
  if [ -n "${TUNELAB_SERVE:-}" ]; then
    perl -pi -e 's/const NETWORK_FIRST = false;/const NETWORK_FIRST = true;/' sw.js
  fi
fi
