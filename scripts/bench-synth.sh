#!/usr/bin/env bash
# Synth wall time: median of N runs of `npm run synth`'s command (ts-node with swc), next to an empty cdk8s app
# (one empty chart) run the same way with the same node_modules, on the same machine.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
empty="$(mktemp -d)"
trap 'rm -rf "$empty"' EXIT
ln -s "$PWD/node_modules" "$empty/node_modules"
echo '{"compilerOptions":{"target":"ES2022","module":"commonjs","strict":true,"skipLibCheck":true},"ts-node":{"swc":true}}' > "$empty/tsconfig.json"
cat > "$empty/main.ts" <<'TS'
import { App, Chart } from 'cdk8s';
const app = new App({ outdir: process.env.OUT ?? 'dist' });
new Chart(app, 'empty');
app.synth();
TS
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
time_ms() { local s e; s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
out="$(mktemp -d)"
project=$(for _ in $(seq "$runs"); do CDK8S_OUTDIR="$out/p" time_ms node -r ts-node/register main.ts; done | median)
baseline=$(for _ in $(seq "$runs"); do (cd "$empty" && OUT="$out/e" time_ms node -r ts-node/register main.ts); done | median)
echo "synth median of $runs: project ${project} ms, empty cdk8s app ${baseline} ms"
