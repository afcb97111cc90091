import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { budgetSummary, budgetTable, componentTable, computeBudget, memTotalNeeded } from './budget';
import {
  BACKUP_CRONJOBS,
  COMPONENT_NAMES,
  EXTERNAL_IMAGE_EVIDENCE,
  PROFILES,
  PROFILE_NAMES,
  IMAGE_EVIDENCE,
  type ImageEvidence,
  ZONES,
  type PotatoStackConfig,
  backupCronJobs,
  evidenceOf,
  evidenceSummary,
  peakMi,
  resolveConfig,
  steadyMi,
} from './config';
import { toMi } from './config/quantity';
import { RestoreRequest, renderRunbook, restorableApps, restoreRunbook } from './apps/backup/restore';
import { seedMapTable } from './seed-map';
import { buildApp, manifestsOf } from './stack';

/** Generated sections of the docs, keyed by marker name (`<!-- name:start -->` ... `<!-- name:end -->`). */
export function generatedSections(config: PotatoStackConfig): Record<string, string> {
  const manifests = manifestsOf(buildApp(config, '/nonexistent-outdir'));
  const budget = computeBudget(config, manifests);
  return {
    sizing: sizingTable(config),
    profiles: profilesTable(config),
    budget: `Per component:\n\n${componentTable(budget)}\n\nPer workload:\n\n${budgetTable(budget)}\n\n${budgetSummary(budget, config)}`,
    zones: zonesTable(),
    'seed-map': seedMapTable(),
    connectivity: connectivityTable(),
    secrets: secretsTable(secretReferences(config, manifests)),
    images: imageEvidenceTables(),
    ...backupDocSections(config),
  };
}

/**
 * What each profile runs and the MemTotal it needs, on this configuration's node model. The
 * profiles are taken as shipped (no component switches of the operator's), metrics-server as each
 * profile sets it.
 */
export function profilesTable(config: PotatoStackConfig): string {
  const { metricsServer: _profileDecides, ...node } = config.node;
  const lines = [
    `| profile | leaves out | requests: steady / with the largest job | MemTotal it needs | on this board (MemTotal ${config.node.memTotal}) |`,
    '|---|---|---:|---:|---|',
  ];
  for (const name of PROFILE_NAMES) {
    const profileConfig = resolveConfig({ profile: name, node });
    const report = computeBudget(profileConfig, manifestsOf(buildApp(profileConfig, '/nonexistent-outdir')));
    const needed = toMi(memTotalNeeded(report));
    const leavesOut = PROFILES[name].leavesOut;
    const verdict = report.problems.length === 0 ? `fits, ${toMi(report.node.capacity) - needed}Mi to spare` : `does not fit: ${needed - toMi(report.node.capacity)}Mi short`;
    lines.push(
      `| \`${name}\` | ${leavesOut.length ? leavesOut.join(', ') : 'nothing'}${PROFILES[name].metricsServer ? '' : '; metrics-server'} | ${toMi(report.steadyRequests)}Mi / ${toMi(report.peakRequests)}Mi | ${needed}Mi | ${verdict} |`,
    );
  }
  return lines.join('\n');
}

/** Every container's size against its evidence row: what the sizing rule made of which figures. */
export function sizingTable(config: PotatoStackConfig): string {
  const lines = ['| component | container | request / limit | steady / peak (MiB, arm64) | evidence |', '|---|---|---|---|---|'];
  for (const component of COMPONENT_NAMES) {
    for (const [container, size] of Object.entries(config.components[component].containers)) {
      const e = evidenceOf(container);
      const figures = `${Math.round(steadyMi(e))} / ${Math.round(peakMi(e))}`;
      lines.push(`| ${component} | ${container} | ${size.requests.memory} / ${size.limits.memory} | ${figures} | ${evidenceSummary(e).replace(/\|/g, '/')} |`);
    }
  }
  return lines.join('\n');
}

const cell = (text: string) => text.replace(/\|/g, '/');

/** The catalog's arm64 evidence, then the images other tools install, then what is left to confirm. */
export function imageEvidenceTables(
  catalog: Readonly<Record<string, ImageEvidence>> = IMAGE_EVIDENCE,
  external: Readonly<Record<string, ImageEvidence & { installedBy: string }>> = EXTERNAL_IMAGE_EVIDENCE,
): string {
  const lines = ['| catalog name | image | linux/arm64 | upstream source | what it shows |', '|---|---|---|---|---|'];
  for (const [name, row] of Object.entries(catalog)) lines.push(`| ${name} | \`${row.image}\` | ${row.arm64} | ${cell(row.source)} | ${cell(row.shows)} |`);
  lines.push('', 'Installed by another tool, sized and patched by the stack:', '', '| image | installed by | linux/arm64 | upstream source | what it shows |', '|---|---|---|---|---|');
  for (const row of Object.values(external)) lines.push(`| \`${row.image}\` | \`${row.installedBy}\` | ${row.arm64} | ${cell(row.source)} | ${cell(row.shows)} |`);
  const unconfirmed = [...Object.values(catalog), ...Object.values(external)].filter((row) => row.arm64 === 'unconfirmed');
  lines.push('', unconfirmed.length ? 'Unconfirmed (check that the tag lists linux/arm64 before you rely on it, for example `docker manifest inspect IMAGE`):' : 'Every image is confirmed.', '');
  for (const row of unconfirmed) lines.push(`- \`${row.image}\``);
  return lines.join('\n');
}

/** Which file (relative to the repository root) holds which generated sections. */
export const GENERATED_FILES: Readonly<Record<string, readonly string[]>> = {
  'README.md': ['profiles'],
  'docs/budget.md': ['profiles', 'budget', 'sizing'],
  'docs/architecture.md': ['zones', 'connectivity', 'seed-map', 'images'],
  'docs/secrets.md': ['secrets'],
  'docs/backups.md': ['backup-jobs', 'restore-apps', 'restore-runbook'],
};

/** Each generated file as it is on disk and as `npm run docs` would write it. */
export function renderDocs(config: PotatoStackConfig, root = path.join(__dirname, '..')): Array<{ file: string; current: string; rendered: string }> {
  const sections = generatedSections(config);
  const missing = Object.keys(sections).filter((name) => !Object.values(GENERATED_FILES).some((names) => names.includes(name)));
  if (missing.length > 0) throw new Error(`generated sections without a file in GENERATED_FILES: ${missing.join(', ')}`);
  return Object.entries(GENERATED_FILES).map(([file, names]) => {
    const current = fs.readFileSync(path.join(root, file), 'utf8');
    const own = Object.fromEntries(names.map((name) => [name, sections[name]]));
    return { file, current, rendered: renderSections(file, current, own) };
  });
}

/** The namespaces of the zones with their Pod Security level and why a zone needs more than `restricted`. */
export function zonesTable(): string {
  const lines = ['| namespace | zone | Pod Security enforced | why not `restricted` |', '|---|---|---|---|'];
  for (const zone of Object.values(ZONES)) lines.push(`| \`${zone.namespace}\` | ${zone.title} | \`${zone.enforce}\` | ${zone.reason ?? '-'} |`);
  return lines.join('\n');
}

/** A Secret the stack expects the operator to create. */
export interface SecretReference {
  readonly namespace: string;
  readonly name: string;
  /** Keys read; empty when the whole Secret is mounted or imported. */
  readonly keys: string[];
  readonly usedBy: string[];
}

/** Every Secret the synthesized objects read (env, envFrom, volumes), plus the TLS Secret Traefik serves. */
export function secretReferences(config: PotatoStackConfig, manifests: readonly any[]): SecretReference[] {
  const refs = new Map<string, { namespace: string; name: string; keys: Set<string>; usedBy: Set<string> }>();
  const add = (namespace: string, name: string, key: string | undefined, user: string) => {
    const id = `${namespace}/${name}`;
    const entry = refs.get(id) ?? { namespace, name, keys: new Set<string>(), usedBy: new Set<string>() };
    if (key) entry.keys.add(key);
    entry.usedBy.add(user);
    refs.set(id, entry);
  };
  for (const m of manifests) {
    const pod = m.kind === 'CronJob' ? m.spec?.jobTemplate?.spec?.template?.spec : m.spec?.template?.spec;
    if (!pod || !['Deployment', 'DaemonSet', 'StatefulSet', 'CronJob', 'Job'].includes(m.kind)) continue;
    const ns = m.metadata.namespace;
    const user = m.metadata.name;
    for (const c of [...(pod.initContainers ?? []), ...(pod.containers ?? [])]) {
      for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) add(ns, e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key, user);
      for (const e of c.envFrom ?? []) if (e.secretRef) add(ns, e.secretRef.name, undefined, user);
    }
    for (const v of pod.volumes ?? []) {
      if (!v.secret) continue;
      if (v.secret.items?.length) for (const item of v.secret.items) add(ns, v.secret.secretName, item.key, user);
      else add(ns, v.secret.secretName, undefined, user);
    }
  }
  if (config.ingress.mode === 'traefik') add('kube-system', config.ingress.tlsSecretName, 'tls.crt', 'traefik (default certificate)');
  if (config.ingress.mode === 'traefik') add('kube-system', config.ingress.tlsSecretName, 'tls.key', 'traefik (default certificate)');
  return [...refs.values()]
    .map((r) => ({ namespace: r.namespace, name: r.name, keys: [...r.keys].sort(), usedBy: [...r.usedBy].sort() }))
    .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
}

function secretsTable(refs: readonly SecretReference[]): string {
  const lines = ['| Secret | namespace | keys | read by |', '|---|---|---|---|'];
  for (const r of refs) {
    lines.push(`| \`${r.name}\` | \`${r.namespace}\` | ${r.keys.length ? r.keys.map((k) => `\`${k}\``).join(', ') : 'whole Secret'} | ${r.usedBy.join(', ')} |`);
  }
  return lines.join('\n');
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

/** `text` (the content of `file`) with each named section replaced; throws when a marker pair is missing. */
export function renderSections(file: string, text: string, sections: Record<string, string>): string {
  let result = text;
  for (const [name, body] of Object.entries(sections)) {
    const pattern = new RegExp(`(<!-- ${name}:start -->\\n)[\\s\\S]*?(<!-- ${name}:end -->)`);
    if (!pattern.test(result)) throw new Error(`${file} has no <!-- ${name}:start --> / <!-- ${name}:end --> markers`);
    result = result.replace(pattern, (_m, start: string, end: string) => `${start}${body}\n${end}`);
  }
  return result;
}

/** The restore docs/backups.md shows step by step (`npm run restore` prints the same for any request). */
export const RESTORE_DOC_EXAMPLE: RestoreRequest = { app: 'nextcloud', snapshot: 'latest', from: 'main', restoreId: '20261130T120000Z' };

/** The backup CronJobs of the config: schedule, what a success stands for, the alert on its age. */
export function backupJobsTable(config: PotatoStackConfig): string {
  const schedules: Record<string, string> = {
    [BACKUP_CRONJOBS.snapshot]: config.kopia.snapshot.schedule,
    [BACKUP_CRONJOBS.copy]: config.kopia.copy.schedule,
    [BACKUP_CRONJOBS.offsite]: config.kopia.offsite.schedule,
    [BACKUP_CRONJOBS.verify]: config.kopia.verify.schedule,
    [BACKUP_CRONJOBS.maintenance]: config.kopia.maintenance.schedule,
  };
  return [
    '| CronJob (`apps`) | schedule | a successful run means | BackupTooOld fires after |',
    '|---|---|---|---|',
    ...backupCronJobs(config).map((j) => `| \`${j.cronjob}\` | \`${schedules[j.cronjob]}\` | ${j.covers} | ${j.maxAgeHours} h without a success |`),
  ].join('\n');
}

/** What each restorable app brings back. */
export function restorableAppsTable(config: PotatoStackConfig): string {
  return [
    '| app | folders on the main disk | database dump | stopped during the restore |',
    '|---|---|---|---|',
    ...restorableApps(config).map(
      (a) =>
        `| \`${a.app}\` | ${a.folders.map((f) => `\`${f}/\``).join(', ')} | ${a.database ? `${a.database.server === 'mariadb' ? 'MariaDB' : 'PostgreSQL'} \`${a.database.database}\`` : '-'} | ${[...a.deployments.map((d) => `deployment/${d}`), ...a.cronjobs.map((c) => `cronjob/${c}`)].join(', ')} (in \`${a.namespace}\`) |`,
    ),
  ].join('\n');
}

/** Generated sections of docs/backups.md, keyed by marker name. */
export function backupDocSections(config: PotatoStackConfig): Record<string, string> {
  return {
    'backup-jobs': backupJobsTable(config),
    'restore-apps': restorableAppsTable(config),
    'restore-runbook': renderRunbook(restoreRunbook(config, RESTORE_DOC_EXAMPLE)),
  };
}

