// Prints the memory budget of the configured stack: every workload's requests and limits, then the totals.
import { budgetSummary, budgetTable, componentTable, computeBudget } from '../lib/budget';
import { resolveConfig } from '../lib/config';
import { buildApp, manifestsOf } from '../lib/stack';
import { overrides } from '../stack.config';

const config = resolveConfig(overrides);
const report = computeBudget(config, manifestsOf(buildApp(config, '/nonexistent-outdir')));
console.log(componentTable(report));
console.log();
console.log(budgetTable(report));
console.log();
console.log(budgetSummary(report, config));
if (report.problems.length > 0) {
  console.log(`\nOVER BUDGET:\n${report.problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exitCode = 1;
}
