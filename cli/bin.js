#!/usr/bin/env node
// Entry point of `npx potatostack`. The published package runs the CLI compiled by `npm run build`
// (build/cli/main.js). A clone of the repository has no build/: there, npx runs this file from the
// repository's own package.json, and it runs the TypeScript source through ts-node (swc, no
// type-check), the same way `npm run synth` runs the charts, so the CLI is never a stale build.
const fs = require('node:fs');
const path = require('node:path');
const source = path.join(__dirname, 'main.ts');
if (fs.existsSync(source)) {
  require('ts-node').register({ project: path.join(__dirname, '..', 'tsconfig.json'), transpileOnly: true, swc: true });
  require(source);
} else {
  require('../build/cli/main.js');
}
