import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig } from '../../lib/config';
import { synthesize } from '../../lib/stack';
import { CliError, checkPackageVersion, loadDist, loadOverrides, projectAt, registerTypeScript, staleDistFiles } from '../../cli/shared/project';
import { PACKAGE_NAME, ownPackageJson } from '../../lib/template/user-repository';

const config = resolveConfig();
const project = projectAt(fs.mkdtempSync(path.join(os.tmpdir(), 'potato-project-')));
synthesize(config, project.distDir);

test('dist/ loads in apply order: files by name, documents in file order', () => {
  const dist = loadDist(project);
  const files = dist.map((d) => d.file);
  expect(files).toEqual([...files].sort());
  expect(files[0]).toBe('00-platform.yaml');
  expect(dist[0].object.kind).toBe('Namespace');
  expect(dist.some((d) => d.file.endsWith('.sh'))).toBe(false);
});

test('a fresh dist/ is current; a changed, a missing and an extra file are named', () => {
  expect(staleDistFiles(project, config)).toEqual([]);
  const copy = projectAt(fs.mkdtempSync(path.join(os.tmpdir(), 'potato-project-')));
  fs.cpSync(project.distDir, copy.distDir, { recursive: true });
  fs.appendFileSync(path.join(copy.distDir, '20-apps.yaml'), '# edited\n');
  fs.rmSync(path.join(copy.distDir, 'host', 'prepare-storage.sh'));
  fs.writeFileSync(path.join(copy.distDir, '99-extra.yaml'), 'x: 1\n');
  expect(staleDistFiles(copy, config)).toEqual(['20-apps.yaml', '99-extra.yaml', 'host/prepare-storage.sh']);
  expect(staleDistFiles(copy, resolveConfig({ components: { gitea: { enabled: false } } }))).toContain('20-apps.yaml');
});

test('a project without stack.config.ts has no overrides; without dist/ it says to synthesize', () => {
  const empty = projectAt(fs.mkdtempSync(path.join(os.tmpdir(), 'potato-project-')));
  expect(loadOverrides(empty)).toEqual({});
  expect(() => loadDist(empty)).toThrow(CliError);
  expect(() => loadDist(empty)).toThrow(/run `npm run synth` first/);
});

/** A folder with these files (path -> content). */
function folder(files: Record<string, string>): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-project-'));
  for (const [file, content] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    fs.writeFileSync(path.join(dir, file), content);
  }
  return dir;
}

test("the layout: this repository's clone, a user repository that depends on the package, or a bare folder", () => {
  expect(projectAt(path.join(__dirname, '..', '..')).layout).toBe('clone');
  expect(projectAt(folder({ 'package.json': JSON.stringify({ name: 'mine', dependencies: { [PACKAGE_NAME]: '^1.0.0' } }) })).layout).toBe('user-repository');
  expect(projectAt(folder({ 'package.json': JSON.stringify({ name: 'mine', devDependencies: { [PACKAGE_NAME]: '^1.0.0' } }) })).layout).toBe('user-repository');
  expect(projectAt(folder({ 'package.json': JSON.stringify({ name: 'other' }) })).layout).toBe('folder');
  expect(projectAt(folder({})).layout).toBe('folder');
  expect(() => projectAt(folder({ 'package.json': '{ not json' }))).toThrow(/package\.json is not valid JSON/);
});

test("a user repository must have installed the CLI's own version of the package", () => {
  const dependsOn = JSON.stringify({ name: 'mine', dependencies: { [PACKAGE_NAME]: '^1.0.0' } });
  const installed = (version: string) => JSON.stringify({ name: PACKAGE_NAME, version });
  const notInstalled = projectAt(folder({ 'package.json': dependsOn }));
  expect(() => checkPackageVersion(notInstalled)).toThrow(`${PACKAGE_NAME} is not installed in ${notInstalled.dir}: run \`npm ci\` there first`);
  const same = projectAt(folder({ 'package.json': dependsOn, [`node_modules/${PACKAGE_NAME}/package.json`]: installed(ownPackageJson().version) }));
  expect(() => checkPackageVersion(same)).not.toThrow();
  const other = projectAt(folder({ 'package.json': dependsOn, [`node_modules/${PACKAGE_NAME}/package.json`]: installed('0.0.1') }));
  expect(() => checkPackageVersion(other)).toThrow(new RegExp(`^this potatostack CLI is ${PACKAGE_NAME} \\S+, but ${other.dir} installed 0\\.0\\.1: run the repository's own CLI there`));
  // A bare folder is not checked: it has no installed package to compare with.
  expect(() => checkPackageVersion(projectAt(folder({})))).not.toThrow();
});

test('stack.config.ts without a TypeScript loader in its project: the error names the fix', () => {
  const bare = projectAt(folder({ 'stack.config.ts': 'export const overrides = {};\n' }));
  expect(() => registerTypeScript(bare)).toThrow(CliError);
  expect(() => loadOverrides(bare)).toThrow(`${bare.configFile} is TypeScript, and loading it needs ts-node and typescript in ${bare.dir}: run \`npm ci\` there`);
});
