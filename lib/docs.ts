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
  };
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
