import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { PotatoStackConfig, PotatoStackOverrides, resolveConfig } from '../../lib/config';
import { synthesize } from '../../lib/stack';
import { PACKAGE_NAME, ownPackageJson } from '../../lib/template/user-repository';
import type { KubeObject } from './kube';

/** An operator error: printed as it is (no stack trace), exit code 1. */
export class CliError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/**
 * How a folder holds the stack: a clone of this repository (its package.json is this package), a
 * user's own repository (its package.json depends on this package, as `init --new` writes it), or
 * a bare folder with stack.config.ts and dist/.
 */
export type ProjectLayout = 'clone' | 'user-repository' | 'folder';

/** The folder with `stack.config.ts` and `dist/`, and what they hold. */
export interface Project {
  readonly dir: string;
  readonly configFile: string;
  readonly distDir: string;
  readonly layout: ProjectLayout;
}

function layoutOf(dir: string): ProjectLayout {
  const file = path.join(dir, 'package.json');
  if (!fs.existsSync(file)) return 'folder';
  let json: { name?: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
  try {
    json = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CliError(`${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (json.name === PACKAGE_NAME) return 'clone';
  if (json.dependencies?.[PACKAGE_NAME] !== undefined || json.devDependencies?.[PACKAGE_NAME] !== undefined) return 'user-repository';
  return 'folder';
}

export function projectAt(dir: string): Project {
  const root = path.resolve(dir);
  return { dir: root, configFile: path.join(root, 'stack.config.ts'), distDir: path.join(root, 'dist'), layout: layoutOf(root) };
}

/** What `require` needs from ts-node. */
interface TypeScriptLoader {
  register(options: { transpileOnly: boolean; projectSearchDir: string; compilerOptions: object }): unknown;
}

/**
 * Lets `require` load stack.config.ts. Under ts-node (a clone runs the CLI source that way) it
 * already can. The compiled CLI of the package registers the project's own ts-node, transpile-only
 * (a repository written by `init --new` has ts-node and typescript as devDependencies); it ships
 * no TypeScript compiler itself.
 */
export function registerTypeScript(project: Project): void {
  if (require.extensions['.ts']) return;
  let loader: string;
  try {
    loader = require.resolve('ts-node', { paths: [project.dir] });
  } catch {
    throw new CliError(
      `${project.configFile} is TypeScript, and loading it needs ts-node and typescript in ${project.dir}: run \`npm ci\` there (a repository written by \`potatostack init --new\` has them), or \`npm install --save-dev ts-node typescript\``,
    );
  }
  (require(loader) as TypeScriptLoader).register({ transpileOnly: true, projectSearchDir: project.dir, compilerOptions: { module: 'commonjs' } });
}

/** The operator's overrides from `stack.config.ts` ({} when the file does not exist). */
export function loadOverrides(project: Project): PotatoStackOverrides {
  if (!fs.existsSync(project.configFile)) return {};
  registerTypeScript(project);
  delete require.cache[require.resolve(project.configFile)];
  const module = require(project.configFile) as { overrides?: PotatoStackOverrides };
  if (!module.overrides || typeof module.overrides !== 'object') throw new CliError(`${project.configFile} does not export \`overrides\``);
  return module.overrides;
}

/**
 * A user repository synthesizes dist/ with the version of the package it installed, and this CLI
 * compares dist/ with its own synth: both must be the same version.
 */
export function checkPackageVersion(project: Project): void {
  if (project.layout !== 'user-repository') return;
  // Looked up by hand: inside the package, require.resolve of its own name finds the package itself.
  let installed: string | undefined;
  for (let dir = project.dir; !installed; dir = path.dirname(dir)) {
    const file = path.join(dir, 'node_modules', PACKAGE_NAME, 'package.json');
    if (fs.existsSync(file)) installed = file;
    else if (path.dirname(dir) === dir) throw new CliError(`${PACKAGE_NAME} is not installed in ${project.dir}: run \`npm ci\` there first`);
  }
  const version = (JSON.parse(fs.readFileSync(installed, 'utf8')) as { version: string }).version;
  const own = ownPackageJson().version;
  if (version !== own) {
    throw new CliError(`this potatostack CLI is ${PACKAGE_NAME} ${own}, but ${project.dir} installed ${version}: run the repository's own CLI there (\`npx potatostack\` after \`npm ci\`)`);
  }
}

/** The validated config of the project. */
export function loadConfig(project: Project): PotatoStackConfig {
  checkPackageVersion(project);
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
