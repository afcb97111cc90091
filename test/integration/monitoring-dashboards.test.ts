import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { stringify } from 'yaml';
import { resolveConfig } from '../../lib/config';
import { dashboards } from '../../lib/apps/monitoring/dashboards';
import { requireTool } from './support/tools';

/**
 * Every PromQL query of the Grafana dashboards must parse: promtool checks them as the
 * expressions of recording rules (the only way it takes a bare expression). Dashboard
 * variables are replaced by the regex they take when "All" is selected.
 */
test('promtool parses every PromQL query of every dashboard', () => {
  const promtool = requireTool('promtool', 'PROMTOOL');
  const boards = dashboards(resolveConfig());
  const groups = Object.values(boards).map((board) => ({
    name: board.uid,
    rules: board.panels
      .filter((p) => (p.datasource ?? (p.type === 'logs' ? 'loki' : 'prometheus')) === 'prometheus')
      .flatMap((p) => p.queries)
      .map((q, i) => ({ record: `dashboard_check:${board.uid.replace(/-/g, '_')}:${i}`, expr: q.expr.replace(/\$namespace/g, '.*') })),
  }));
  expect(groups.every((g) => g.rules.length > 0)).toBe(true);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dashboards-'));
  const file = path.join(dir, 'dashboard-queries.yaml');
  fs.writeFileSync(file, stringify({ groups }));
  const out = execFileSync(promtool, ['check', 'rules', file], { encoding: 'utf8' });
  const total = groups.reduce((n, g) => n + g.rules.length, 0);
  expect(out).toContain(`SUCCESS: ${total} rules found`);
});
