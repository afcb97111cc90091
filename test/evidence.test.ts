import * as fs from 'node:fs';
import * as path from 'node:path';
import { COMPONENTS, COMPONENT_NAMES, EVIDENCE, LIMIT_MARGIN, evidenceOf, limitFloorMi, peakMi, requestFloorMi, resolveConfig, steadyMi } from '../lib/config';
import { memoryBytes } from '../lib/config/quantity';

const containers = COMPONENT_NAMES.flatMap((component) => Object.keys(COMPONENTS[component].containers).map((container) => ({ component, container })));
const mi = (q: string) => (memoryBytes(q) ?? NaN) / 1024 ** 2;

test('every container has exactly one evidence row, and every row sizes a container', () => {
  expect(containers.filter(({ container }) => !EVIDENCE[container]).map((c) => c.container)).toEqual([]);
  const sized = new Set(containers.map((c) => c.container));
  expect(Object.keys(EVIDENCE).filter((row) => !sized.has(row))).toEqual([]);
});

test.each(containers)('$component/$container: request covers the steady working set, limit the peak with margin', ({ component, container }) => {
  const size = COMPONENTS[component].containers[container as keyof (typeof COMPONENTS)[typeof component]['containers']] as any;
  const e = evidenceOf(container);
  expect(mi(size.requests.memory)).toBeGreaterThanOrEqual(steadyMi(e));
  expect(mi(size.limits.memory)).toBeGreaterThanOrEqual(peakMi(e) * LIMIT_MARGIN);
  expect(mi(size.requests.memory)).toBe(requestFloorMi(container));
  expect(mi(size.limits.memory)).toBeGreaterThanOrEqual(limitFloorMi(container));
});

test('the defaults the operator starts from are the evidence sizes', () => {
  const config = resolveConfig({ profile: 'full' });
  for (const { component, container } of containers) {
    expect([container, config.components[component].containers[container]]).toEqual([container, (COMPONENTS[component].containers as any)[container]]);
  }
});

test('published rows name sources and ranges that make sense; measured rows name their report', () => {
  for (const [container, e] of Object.entries(EVIDENCE)) {
    if (e.kind === 'published') {
      expect([container, e.sources.length > 0, e.idleMi[0] <= e.idleMi[1], e.peakMi[0] <= e.peakMi[1], e.idleMi[0] <= e.peakMi[1]]).toEqual([container, true, true, true, true]);
    } else {
      expect([container, /^\d{4}-\d{2}-\d{2}$/.test(e.date), e.idleMi <= e.peakMi]).toEqual([container, true, true]);
      const report = e.report.split(' ')[0];
      expect([container, report.startsWith('reports/') ? fs.existsSync(path.join(__dirname, '..', report)) : 'not a report file']).toEqual([container, true]);
    }
  }
});

test('a measured row agrees with the report it names (reports/footprint/*.json)', () => {
  let checked = 0;
  for (const [container, e] of Object.entries(EVIDENCE)) {
    if (e.kind !== 'measured' || !e.report.endsWith('.json')) continue;
    const run = JSON.parse(fs.readFileSync(path.join(__dirname, '..', e.report), 'utf8'));
    // steady: the idle working set, or the end of the load for servers whose caches stay filled
    const steady = e.steadyAfterLoad ? run.load.workingSetMiB : run.idle.workingSetMiB;
    // peak: the larger of the load's working set and its anonymous memory plus mapped code
    const codeAndData = Math.round((run.load.anonMiB + (run.load.mappedFileMiB ?? 0)) * 10) / 10;
    expect([container, steady, Math.max(run.load.workingSetMiB, codeAndData)]).toEqual([container, e.idleMi, e.peakMi]);
    checked++;
  }
  expect(checked).toBeGreaterThanOrEqual(10);
});
