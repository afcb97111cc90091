import { App } from 'cdk8s';
import { PotatoStackOverrides, resolveConfig } from '../lib/config';
import { buildApp, manifestsOf } from '../lib/stack';

export type Manifest = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: any; [key: string]: any };

/** Every object the stack synthesizes with the given overrides (in memory, nothing written). */
export function synthObjects(overrides: PotatoStackOverrides = {}): Manifest[] {
  const app: App = buildApp(resolveConfig(overrides), '/nonexistent-outdir');
  return manifestsOf(app);
}

/** Objects per chart file name (e.g. '00-platform'). */
export function synthCharts(overrides: PotatoStackOverrides = {}): Record<string, Manifest[]> {
  const app = buildApp(resolveConfig(overrides), '/nonexistent-outdir');
  return Object.fromEntries(app.charts.map((c) => [c.node.id, c.toJson()]));
}

export function find(objects: Manifest[], kind: string, name: string, namespace?: string): Manifest {
  const found = objects.find((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
  if (!found) throw new Error(`no ${kind} ${namespace ? `${namespace}/` : ''}${name} in the synthesized objects`);
  return found;
}

export const WORKLOAD_KINDS = ['Deployment', 'DaemonSet', 'StatefulSet', 'CronJob', 'Job'];

/** The pod template spec of a workload object. */
export function podSpecOf(o: Manifest): any {
  return o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.spec : o.spec.template.spec;
}

export function podMetadataOf(o: Manifest): any {
  return o.kind === 'CronJob' ? o.spec.jobTemplate.spec.template.metadata : o.spec.template.metadata;
}

/** Every component on: the tests of a component's objects use this, whatever the default profile leaves out. */
export const FULL_PROFILE: PotatoStackOverrides = { profile: 'full' };

/** Every alert receiver on, with made-up addresses: the Alertmanager tests and the CLI's stack variants. */
export const ALL_ALERT_RECEIVERS: PotatoStackOverrides = {
  monitoring: {
    alerts: {
      email: { enabled: true, smtpHost: 'smtp.example.org', smtpPort: 465, from: 'potato@example.org', to: 'me@example.org', username: 'potato' },
      telegram: { enabled: true, chatId: -1001234567890 },
      slack: { enabled: true, channel: '#alerts' },
      discord: { enabled: true },
    },
  },
};

export function fullConfig(overrides: PotatoStackOverrides = {}) {
  return resolveConfig({ ...FULL_PROFILE, ...overrides });
}

export function synthFull(overrides: PotatoStackOverrides = {}): Manifest[] {
  return synthObjects({ ...FULL_PROFILE, ...overrides });
}

export function synthChartsFull(overrides: PotatoStackOverrides = {}): Record<string, Manifest[]> {
  return synthCharts({ ...FULL_PROFILE, ...overrides });
}
