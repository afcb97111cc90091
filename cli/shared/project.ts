import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { PotatoStackConfig, PotatoStackOverrides, resolveConfig } from '../../lib/config';
import { synthesize } from '../../lib/stack';
import type { KubeObject } from './kube';

/** An operator error: printed as it is (no stack trace), exit code 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/** The folder with `stack.config.ts` and `dist/`, and what they hold. */
export interface Project {
  readonly dir: string;
  readonly configFile: string;
  readonly distDir: string;
}

export function projectAt(dir: string): Project {
  const root = path.resolve(dir);
  return { dir: root, configFile: path.join(root, 'stack.config.ts'), distDir: path.join(root, 'dist') };
}

/** The operator's overrides from `stack.config.ts` ({} when the file does not exist). */
export function loadOverrides(project: Project): PotatoStackOverrides {
  if (!fs.existsSync(project.configFile)) return {};
  // The CLI runs under ts-node (cli/bin.js), so the TypeScript config file loads like a module.
  delete require.cache[require.resolve(project.configFile)];
  const module = require(project.configFile) as { overrides?: PotatoStackOverrides };
  if (!module.overrides || typeof module.overrides !== 'object') throw new CliError(`${project.configFile} does not export \`overrides\``);
  return module.overrides;
}

/** The validated config of the project. */
export function loadConfig(project: Project): PotatoStackConfig {
  return resolveConfig(loadOverrides(project));
}

/** One object of dist/ with the file it came from. */
export interface DistObject {
  readonly file: string;
  readonly object: KubeObject;
}

/**
 * Every object of dist/, in apply order: the manifest files by name (numbered per chart),
 * documents in file order. Subfolders are not manifests: dist/host/ holds the board's own files.
 */
export function loadDist(project: Project): DistObject[] {
  if (!fs.existsSync(project.distDir)) throw new CliError(`${project.distDir} does not exist: run \`npm run synth\` first`);
  const result: DistObject[] = [];
  const files = fs.readdirSync(project.distDir, { withFileTypes: true }).filter((e) => e.isFile() && /\.ya?ml$/.test(e.name));
  for (const file of files.map((e) => e.name).sort()) {
    for (const doc of parseAllDocuments(fs.readFileSync(path.join(project.distDir, file), 'utf8'))) {
      if (doc.errors.length > 0) throw new CliError(`dist/${file}: ${doc.errors[0].message}`);
      const object = doc.toJS() as KubeObject | null;
      if (object) result.push({ file, object });
    }
  }
  if (result.length === 0) throw new CliError(`${project.distDir} holds no manifests: run \`npm run synth\``);
  return result;
}

/**
 * Files of dist/ that differ from what the config synthesizes now (changed, missing or extra);
 * empty when dist/ is current.
 */
export function staleDistFiles(project: Project, config: PotatoStackConfig): string[] {
  const fresh = fs.mkdtempSync(path.join(os.tmpdir(), 'potatostack-synth-'));
  try {
    synthesize(config, fresh);
    const files = (dir: string): string[] =>
      fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name))) : [];
    const expected = files(fresh);
    const actual = files(project.distDir);
    const stale = expected.filter((f) => !actual.includes(f) || fs.readFileSync(path.join(fresh, f), 'utf8') !== fs.readFileSync(path.join(project.distDir, f), 'utf8'));
    return [...stale, ...actual.filter((f) => !expected.includes(f))].sort();
  } finally {
    fs.rmSync(fresh, { recursive: true, force: true });
  }
}

/** `namespace/name` (or `name` for cluster-scoped objects). */
export function objectName(object: Pick<KubeObject, 'metadata'>): string {
  return object.metadata.namespace ? `${object.metadata.namespace}/${object.metadata.name}` : object.metadata.name;
}

/** `Kind namespace/name`. */
export function describeObject(object: Pick<KubeObject, 'kind' | 'metadata'>): string {
  return `${object.kind} ${objectName(object)}`;
}
