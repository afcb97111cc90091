// Regenerates the generated sections of README.md (budget table, seed mapping, ...).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveConfig } from '../lib/config';
import { generatedSections, renderReadme } from '../lib/docs';
import { overrides } from '../stack.config';

const file = path.join(__dirname, '..', 'README.md');
fs.writeFileSync(file, renderReadme(fs.readFileSync(file, 'utf8'), generatedSections(resolveConfig(overrides))));
