// Regenerates the generated sections of the docs (budget, zones, flows, seed map, Secrets); see GENERATED_FILES.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveConfig } from '../lib/config';
import { renderDocs } from '../lib/docs';
import { overrides } from '../stack.config';

for (const { file, current, rendered } of renderDocs(resolveConfig(overrides))) {
  if (rendered !== current) fs.writeFileSync(path.join(__dirname, '..', file), rendered);
}
