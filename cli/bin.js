#!/usr/bin/env node
// Entry point of `npx potatostack`: runs the TypeScript CLI through ts-node (swc, no type-check),
// the same way `npm run synth` runs the charts. The CLI works in a clone of the repository after
// `npm ci`; the published package carries the library only.
const fs = require('node:fs');
const path = require('node:path');
const main = path.join(__dirname, 'main.ts');
if (!fs.existsSync(main)) {
  process.stderr.write('the potatostack CLI runs from a clone of the PotatoStack repository (after `npm ci` there); this installed package holds the library only\n');
  process.exit(1);
}
require('ts-node').register({ project: path.join(__dirname, '..', 'tsconfig.json'), transpileOnly: true, swc: true });
require(main);
