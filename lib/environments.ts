import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { BudgetReport, budgetSummary, componentTable } from './budget';
import { DEFAULT_CONFIG, PotatoStackConfig, PotatoStackOverrides, resolveConfig } from './config';
import { synthesize } from './stack';

/** One target cluster: its validated config and the folder (relative to the repository root) its output goes to. */
export interface Environment {
  readonly name: string;
  readonly outdir: string;
  readonly config: PotatoStackConfig;
}

/** Where the staging output goes, beside `dist/`. */
export const STAGING_OUTDIR = 'staging';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function overlay(base: Record<string, unknown>, top: Record<string, unknown>): Record<string, unknown> {
  const result: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(top)) result[key] = isPlainObject(result[key]) && isPlainObject(value) ? overlay(result[key] as Record<string, unknown>, value) : value;
  return result;
}

/**
 * The board's overrides turned into a laptop staging cluster (k3d or kind, amd64; every image the
 * stack uses is multi-arch): the same components and sizes, small folders under
 * /var/lib/potatostack-staging, the shortest retention the rules allow, `staging.<domain>` names and
 * its own output folder. The node model stays the board's, so staging also proves the board's budget.
 */
export function stagingOverrides(board: PotatoStackOverrides = {}): PotatoStackOverrides {
  const domain = board.domain ?? DEFAULT_CONFIG.domain;
  return overlay(board as Record<string, unknown>, {
    domain: `staging.${domain}`,
    storage: {
      nodeName: 'k3d-potatostack-server-0',
      mainPath: '/var/lib/potatostack-staging/main',
      cachePath: '/var/lib/potatostack-staging/cache',
      // On a laptop the "disks" are plain folders of the k3d node.
      mountRoots: ['/var/lib/potatostack-staging'],
    },
    monitoring: { lokiRetention: '24h', prometheus: { retentionTime: '7d', retentionSize: '1GB' } },
    gitops: { repository: { path: STAGING_OUTDIR } },
  }) as PotatoStackOverrides;
}

/** The board (`dist/`) and the laptop staging cluster (`staging/`) from the same overrides. */
export function defaultEnvironments(overrides: PotatoStackOverrides = {}): Environment[] {
  return [
    { name: 'board', outdir: 'dist', config: resolveConfig(overrides) },
    { name: 'staging', outdir: STAGING_OUTDIR, config: resolveConfig(stagingOverrides(overrides)) },
  ];
}

/** Writes every environment's output below the repository root; returns each budget. */
export function synthesizeEnvironments(root: string, environments: readonly Environment[]): Record<string, BudgetReport> {
  const reports: Record<string, BudgetReport> = {};
  for (const env of environments) reports[env.name] = synthesize(env.config, path.resolve(root, env.outdir));
  return reports;
}

function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .sort();
}

/** Files of `committed` that differ from `fresh` (changed, missing or extra), relative paths. */
export function staleFiles(fresh: string, committed: string): string[] {
  const expected = listFiles(fresh);
  const actual = listFiles(committed);
  const changed = expected.filter((f) => !actual.includes(f) || !fs.readFileSync(path.join(fresh, f)).equals(fs.readFileSync(path.join(committed, f))));
  return [...changed, ...actual.filter((f) => !expected.includes(f))].sort();
}

/**
 * Secrets in the folder that are not SOPS-encrypted: a `kind: Secret` document without `sops`
 * metadata, or with a `data`/`stringData` value that is not an `ENC[...]` token.
 */
export function plaintextSecrets(dir: string): string[] {
  const findings: string[] = [];
  for (const file of listFiles(dir).filter((f) => /\.ya?ml$/.test(f))) {
    parseAllDocuments(fs.readFileSync(path.join(dir, file), 'utf8')).forEach((doc, index) => {
      const object = doc.toJS() as Record<string, any> | null;
      if (!object || object.kind !== 'Secret') return;
      const where = `${file} (document ${index + 1}, Secret ${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''})`;
      if (!isPlainObject(object.sops)) findings.push(`${where}: not encrypted with sops (no sops metadata)`);
      for (const field of ['data', 'stringData']) {
        for (const [key, value] of Object.entries((object[field] ?? {}) as Record<string, unknown>)) {
          if (typeof value !== 'string' || !value.startsWith('ENC[')) findings.push(`${where}: ${field}.${key} is in plain text`);
        }
      }
    });
  }
  return findings;
}

/** What a check found: problems (the check fails when there are any) and each environment's budget. */
export interface CheckResult {
  readonly problems: string[];
  readonly reports: Record<string, BudgetReport>;
}

/**
 * The repository's checks, as its CI runs them: each environment synthesizes (config validation
 * and memory budget), its committed output equals a fresh synth, GitOps paths point at the folder
 * the environment really writes, and every Secret in the Flux secrets folder is encrypted.
 */
export function checkEnvironments(root: string, environments: readonly Environment[]): CheckResult {
  const problems: string[] = [];
  const reports: Record<string, BudgetReport> = {};
  for (const env of environments) {
    const fresh = fs.mkdtempSync(path.join(os.tmpdir(), `potatostack-${env.name}-`));
    try {
      reports[env.name] = synthesize(env.config, fresh);
      const stale = staleFiles(fresh, path.resolve(root, env.outdir));
      if (stale.length > 0) problems.push(`${env.name}: ${env.outdir}/ is stale (run npm run synth and commit it): ${stale.join(', ')}`);
    } catch (error) {
      problems.push(`${env.name}: ${(error as Error).message}`);
    } finally {
      fs.rmSync(fresh, { recursive: true, force: true });
    }
    const { gitops } = env.config;
    if ((gitops.flux.enabled || gitops.argocd.enabled) && path.normalize(env.outdir) !== path.normalize(gitops.repository.path)) {
      problems.push(`${env.name}: gitops.repository.path is '${gitops.repository.path}' but this environment writes '${env.outdir}': Flux and ArgoCD would read the wrong folder`);
    }
    if (gitops.flux.enabled) {
      for (const finding of plaintextSecrets(path.join(root, gitops.flux.secretsPath))) problems.push(`${env.name}: ${gitops.flux.secretsPath}/${finding}`);
    }
  }
  return { problems, reports };
}

/** `npm run synth` of a repository: writes every environment, prints operator errors without a stack trace. */
export function runSynth(root: string, environments: () => Environment[]): void {
  try {
    for (const [name, report] of Object.entries(synthesizeEnvironments(root, environments()))) {
      console.log(`${name}: ${report.pods.length} pods, ${Math.round(report.peakRequests / 2 ** 20)}Mi of ${Math.round(report.available / 2 ** 20)}Mi requested`);
    }
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 1;
  }
}

/** The repository's CI check: prints each budget, then every problem; exit code 1 when there are any. */
export function runCheck(root: string, environments: () => Environment[]): void {
  let result: CheckResult;
  try {
    result = checkEnvironments(root, environments());
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 1;
    return;
  }
  const envs = environments();
  for (const [name, report] of Object.entries(result.reports)) {
    const config = envs.find((e) => e.name === name)!.config;
    console.log(`## ${name}\n\n${componentTable(report)}\n\n${budgetSummary(report, config)}\n`);
  }
  if (result.problems.length > 0) {
    console.error(`check failed:\n${result.problems.map((p) => `  - ${p}`).join('\n')}`);
    process.exitCode = 1;
  } else {
    console.log(`check passed: ${envs.map((e) => `${e.name} (${e.outdir}/)`).join(', ')} synthesized, within budget, committed output current`);
  }
}
