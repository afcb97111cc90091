import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveConfig } from '../../lib/config';
import { REQUIRED_SETTINGS, configFileFor, decideSettings, getProp, initCommand, lanOf, problemsOf, setProp } from '../../cli/init';
import { projectAt } from '../../cli/shared/project';
import { PACKAGE_NAME, ownPackageJson } from '../../lib/template/user-repository';

const flags = {
  domain: 'home.example.org',
  nodeName: 'lepotato',
  memTotal: '1996800Ki',
  lanCidr: '192.168.1.0/24',
  wireguardCidr: '10.6.0.0/24',
  mainPath: '/mnt/main',
  cachePath: '/mnt/cache',
  vpnProvider: 'mullvad',
};

test('every required setting comes from its flag', async () => {
  const { overrides, sources } = await decideSettings({}, flags, {}, undefined);
  const config = resolveConfig(overrides);
  expect([config.domain, config.storage.nodeName, config.node.memTotal, config.network.lanCidr, config.network.wireguardClientCidr, config.storage.mainPath, config.storage.cachePath, config.vpn.provider]).toEqual(
    Object.values(flags),
  );
  expect(Object.values(sources).every((s) => s.startsWith('--'))).toBe(true);
});

test('without a terminal, a setting with no flag, no detection and no current value is an error naming its flag', async () => {
  const { domain: _domain, wireguardCidr: _wg, ...rest } = flags;
  await expect(decideSettings({}, rest, {}, undefined)).rejects.toThrow(
    'these settings have no value and would silently keep their defaults: domain (--domain), network.wireguardClientCidr (--wireguard-cidr); pass the flags, or run init in a terminal to be asked',
  );
});

test('detected and current values stand in for missing flags; flags still win', async () => {
  const { nodeName: _n, lanCidr: _l, domain: _d, ...rest } = flags;
  const { overrides, sources } = await decideSettings({ domain: 'old.example.org' }, { ...rest, domain: undefined }, { 'storage.nodeName': 'board', 'network.lanCidr': '10.1.2.0/24' }, undefined);
  expect(getProp(overrides, 'storage.nodeName')).toBe('board');
  expect(sources['storage.nodeName']).toBe('detected');
  expect(getProp(overrides, 'domain')).toBe('old.example.org');
  expect(sources.domain).toBe('stack.config.ts');
  const flagged = await decideSettings({}, flags, { 'storage.nodeName': 'board' }, undefined);
  expect(getProp(flagged.overrides, 'storage.nodeName')).toBe('lepotato');
});

test('bad flag values fail with the config validation message', async () => {
  await expect(decideSettings({}, { ...flags, mainPath: '/var/lib/x' }, {}, undefined)).rejects.toThrow(/storage\.mainPath: '\/var\/lib\/x' is not allowed/);
});

test('in a terminal every setting without a flag is asked, offering the current, detected or default value, validated by the config', async () => {
  const asked: Array<[string, string, string | true, string | true]> = [];
  const ask = async (setting: { prop: string }, suggestion: string, validate: (v: string) => string | true) => {
    asked.push([setting.prop, suggestion, validate('not valid!'), validate(suggestion)]);
    return suggestion;
  };
  await decideSettings({ domain: 'mine.example.org' }, {}, { 'storage.nodeName': 'board' }, ask);
  expect(asked.map(([prop, suggestion]) => [prop, suggestion])).toEqual([
    ['domain', 'mine.example.org'],
    ['storage.nodeName', 'board'],
    ['node.memTotal', '1950Mi'],
    ['network.lanCidr', '192.168.178.0/24'],
    ['network.wireguardClientCidr', '10.8.0.0/24'],
    ['storage.mainPath', '/mnt/seconddrive'],
    ['storage.cachePath', '/mnt/cachehdd'],
    ['vpn.provider', 'surfshark'],
  ]);
  for (const [prop, , bad, good] of asked) {
    expect([prop, typeof bad === 'string' && bad.startsWith(`${prop}: 'not valid!' is not allowed`)]).toEqual([prop, true]);
    expect([prop, good]).toEqual([prop, true]);
  }
  expect(REQUIRED_SETTINGS).toHaveLength(8);
});

test('the written stack.config.ts loads back to the same overrides, other overrides kept', () => {
  const overrides = setProp({ components: { portainer: { enabled: false } }, vpn: { serverCountries: ["Côte d'Ivoire"] } }, 'domain', 'home.example.org');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-init-'));
  const file = path.join(dir, 'stack.config.ts');
  const rendered = configFileFor(projectAt(dir), overrides);
  fs.writeFileSync(file, rendered.replace("'./lib/config'", `'${path.join(__dirname, '..', '..', 'lib', 'config')}'`));
  expect(require(file).overrides).toEqual(overrides);
  expect(rendered).toContain("  domain: 'home.example.org',");
  expect(rendered).toContain("import type { PotatoStackOverrides } from './lib/config';");
});

test("in a user's repository the config file imports its type from the package", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-init-'));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'mine', dependencies: { [PACKAGE_NAME]: '^1.0.0' } }));
  expect(configFileFor(projectAt(dir), { domain: 'home.example.org' })).toContain(`import type { PotatoStackOverrides } from '${PACKAGE_NAME}';`);
});

test('helpers', () => {
  expect(lanOf('192.168.1.23')).toBe('192.168.1.0/24');
  expect(problemsOf({ network: { lanCidr: '192.168.1.1/24' } }, 'network.lanCidr')[0]).toMatch(/^network\.lanCidr: '192\.168\.1\.1\/24' is not allowed/);
  expect(problemsOf({ network: { lanCidr: '192.168.1.0/24' } }, 'network.lanCidr')).toEqual([]);
});

test("the Traefik chart major follows a flag, else the config's value, else the cluster's chart", async () => {
  const detected = { 'ingress.traefikChart': '39' };
  expect(getProp((await decideSettings({}, flags, detected, undefined)).overrides, 'ingress.traefikChart')).toBe(39);
  expect(getProp((await decideSettings({}, { ...flags, traefikChart: '40' }, detected, undefined)).overrides, 'ingress.traefikChart')).toBe(40);
  expect(getProp((await decideSettings({ ingress: { traefikChart: 34 } }, flags, detected, undefined)).overrides, 'ingress.traefikChart')).toBe(34);
  expect(getProp((await decideSettings({}, flags, {}, undefined)).overrides, 'ingress.traefikChart')).toBeUndefined();
  await expect(decideSettings({}, { ...flags, traefikChart: '27' }, {}, undefined)).rejects.toThrow(/ingress\.traefikChart: 27 is not allowed/);
});

describe('init --new', () => {
  const quiet = () => jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
  afterEach(() => jest.restoreAllMocks());

  test('writes a user repository with the settings in stack.config.ts, depending on this package', async () => {
    quiet();
    const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'potato-init-new-')), 'My-Home');
    expect(await initCommand({ ...flags, new: dir, detect: false, input: false })).toBe(0);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    expect(pkg.name).toBe('my-home');
    expect(pkg.dependencies).toEqual({ [PACKAGE_NAME]: `^${ownPackageJson().version}` });
    const file = fs.readFileSync(path.join(dir, 'stack.config.ts'), 'utf8');
    expect(file).toContain(`import type { PotatoStackOverrides } from '${PACKAGE_NAME}';`);
    expect(file).toContain("  domain: 'home.example.org',");
    expect(file).toContain("    nodeName: 'lepotato',");
    expect(fs.existsSync(path.join(dir, '.sops.yaml'))).toBe(false);
  });

  test('never writes over an existing repository without --force, before asking anything; a bad age key names the flag', async () => {
    quiet();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-init-new-'));
    fs.writeFileSync(path.join(dir, 'main.ts'), '// mine\n');
    await expect(initCommand({ new: dir, detect: false, input: false })).rejects.toThrow(`${dir} already has main.ts; pass --force to overwrite them`);
    expect(fs.readFileSync(path.join(dir, 'main.ts'), 'utf8')).toBe('// mine\n');
    await expect(initCommand({ ...flags, new: dir, detect: false, input: false, ageRecipient: 'AGE-SECRET-KEY-1XYZ' })).rejects.toThrow(
      "--age-recipient: 'AGE-SECRET-KEY-1XYZ' is not allowed; expected an age public key",
    );
    await expect(initCommand({ new: fs.mkdtempSync(path.join(os.tmpdir(), 'potato-init-new-')), detect: false, input: false })).rejects.toThrow(/these settings have no value/);
  });

  test('with --force it overwrites and keeps each changed file as .bak; --package-spec and --age-recipient reach the repository', async () => {
    quiet();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-init-new-'));
    fs.writeFileSync(path.join(dir, 'main.ts'), '// mine\n');
    const recipient = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
    expect(await initCommand({ ...flags, new: dir, detect: false, input: false, force: true, packageSpec: 'file:../potatostack.tgz', ageRecipient: recipient })).toBe(0);
    expect(fs.readFileSync(path.join(dir, 'main.ts.bak'), 'utf8')).toBe('// mine\n');
    expect(JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).dependencies[PACKAGE_NAME]).toBe('file:../potatostack.tgz');
    expect(fs.readFileSync(path.join(dir, '.sops.yaml'), 'utf8')).toContain(recipient);
  });
});
