import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parse } from 'yaml';
import { PACKAGE_NAME, ciCommands, existingUserRepositoryFiles, ownPackageJson, writeUserRepository } from '../lib/template/user-repository';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'potato-user-repo-'));
const RECIPIENT = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';

test('the package name the template depends on is this package', () => {
  expect(ownPackageJson().name).toBe(JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')).name);
  expect(PACKAGE_NAME).toBe(ownPackageJson().name);
});

test('writes the repository: a version range of this package, the config, the environments, CI and the update bot', () => {
  const dir = tmp();
  const written = writeUserRepository(dir, { overrides: { domain: 'home.example.org' } });
  expect(written).toEqual(expect.arrayContaining(['package.json', 'stack.config.ts', 'main.ts', 'check.ts', '.github/workflows/ci.yml', '.github/dependabot.yml', 'README.md']));
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
  expect(pkg.dependencies).toEqual({ [PACKAGE_NAME]: `^${ownPackageJson().version}` });
  expect(pkg.scripts.check).toContain('check.ts');
  expect(fs.readFileSync(path.join(dir, 'stack.config.ts'), 'utf8')).toContain(`import type { PotatoStackOverrides } from '${PACKAGE_NAME}';\n`);
  expect(fs.readFileSync(path.join(dir, 'stack.config.ts'), 'utf8')).toContain("export const overrides: PotatoStackOverrides = {\n  domain: 'home.example.org',\n};");
  expect(fs.readFileSync(path.join(dir, 'main.ts'), 'utf8')).toContain(`from '${PACKAGE_NAME}'`);
  expect(parse(fs.readFileSync(path.join(dir, '.github/dependabot.yml'), 'utf8')).updates.map((u: any) => u['package-ecosystem'])).toContain('npm');
  expect(fs.existsSync(path.join(dir, '.sops.yaml'))).toBe(false);
});

test('the CI workflow installs, type-checks and runs the check', () => {
  const dir = tmp();
  writeUserRepository(dir, {});
  expect(ciCommands(parse(fs.readFileSync(path.join(dir, '.github/workflows/ci.yml'), 'utf8')))).toEqual(['npm ci --no-audit --no-fund', 'npm run typecheck', 'npm run check']);
});

test('with an age recipient, .sops.yaml encrypts only data and stringData of files in secrets/', () => {
  const dir = tmp();
  writeUserRepository(dir, { ageRecipient: RECIPIENT, packageSpec: 'file:../potatostack-k3s.tgz' });
  expect(parse(fs.readFileSync(path.join(dir, '.sops.yaml'), 'utf8'))).toEqual({
    creation_rules: [{ path_regex: '^secrets/.*\\.ya?ml$', encrypted_regex: '^(data|stringData)$', age: RECIPIENT }],
  });
  expect(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).dependencies[PACKAGE_NAME]).toBe('file:../potatostack-k3s.tgz');
});

test('never overwrites without force, and with force keeps each changed file as .bak; a bad age key is named', () => {
  const dir = tmp();
  writeUserRepository(dir, {});
  fs.writeFileSync(path.join(dir, 'stack.config.ts'), '// mine\n');
  expect(existingUserRepositoryFiles(dir)).toEqual(expect.arrayContaining(['package.json', 'stack.config.ts', 'main.ts']));
  expect(existingUserRepositoryFiles(tmp())).toEqual([]);
  expect(() => writeUserRepository(dir, {})).toThrow(/already has package\.json.*stack\.config\.ts.*pass force/);
  expect(fs.readFileSync(path.join(dir, 'stack.config.ts'), 'utf8')).toBe('// mine\n');
  writeUserRepository(dir, { force: true });
  expect(fs.readFileSync(path.join(dir, 'stack.config.ts.bak'), 'utf8')).toBe('// mine\n');
  expect(fs.readFileSync(path.join(dir, 'stack.config.ts'), 'utf8')).toContain('export const overrides');
  expect(fs.existsSync(path.join(dir, 'main.ts.bak'))).toBe(false);
  expect(() => writeUserRepository(tmp(), { ageRecipient: 'AGE-SECRET-KEY-1XYZ' })).toThrow("ageRecipient: 'AGE-SECRET-KEY-1XYZ' is not allowed");
});
