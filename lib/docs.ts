import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { budgetSummary, budgetTable, computeBudget } from './budget';
import type { PotatoStackConfig } from './config';
import { seedMapTable } from './seed-map';
import { buildApp, manifestsOf } from './stack';

/** Generated README sections, keyed by marker name (`<!-- name:start -->` ... `<!-- name:end -->`). */
export function generatedSections(config: PotatoStackConfig): Record<string, string> {
  const budget = computeBudget(config, manifestsOf(buildApp(config, '/nonexistent-outdir')));
  return {
    budget: `${budgetTable(budget)}\n\n${budgetSummary(budget)}`,
    'seed-map': seedMapTable(),
    connectivity: connectivityTable(),
  };
}

/** docs/expected-connectivity.yaml (checked against the real analyzer by the integration suite) as a table. */
export function connectivityTable(file = path.join(__dirname, '..', 'docs', 'expected-connectivity.yaml')): string {
  const doc = parse(fs.readFileSync(file, 'utf8')) as { flows: Array<{ id: string; flow: string; connections: Array<{ src: string; dst: string; conn: string }> }> };
  const name = (endpoint: string) => endpoint.replace(/\[(Deployment|DaemonSet|CronJob|StatefulSet)\]$/, '');
  const lines = ['| flow | from | to | ports |', '|---|---|---|---|'];
  for (const flow of doc.flows) {
    for (const c of flow.connections) lines.push(`| ${flow.id} | ${name(c.src)} | ${name(c.dst)} | ${c.conn} |`);
  }
  return [...doc.flows.map((f) => `- **${f.id}**: ${f.flow}`), '', ...lines].join('\n');
}

/** The README with every generated section replaced; throws when a marker pair is missing. */
export function renderReadme(readme: string, sections: Record<string, string>): string {
  let result = readme;
  for (const [name, body] of Object.entries(sections)) {
    const pattern = new RegExp(`(<!-- ${name}:start -->\\n)[\\s\\S]*?(<!-- ${name}:end -->)`);
    if (!pattern.test(result)) throw new Error(`README.md has no <!-- ${name}:start --> / <!-- ${name}:end --> markers`);
    result = result.replace(pattern, (_m, start: string, end: string) => `${start}${body}\n${end}`);
  }
  return result;
}
