import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import bcrypt from 'bcryptjs';
import { parse } from 'yaml';
import { resolveConfig } from '../../lib/config';
import { secretReferences } from '../../lib/docs';
import { buildApp, manifestsOf } from '../../lib/stack';
import { inputsFrom, planSecretChanges, secretManifests, type Inputs, type SecretChange } from '../../cli/secrets';
import { requiredSecrets, secretProblems, type ExistingSecrets } from '../../cli/shared/secret-catalog';

// The full profile: every Secret there is (board-2gb leaves out slskd and Dozzle).
const config = resolveConfig({ profile: 'full', domain: 'home.example.org' });
const required = requiredSecrets(config, secretReferences(config, manifestsOf(buildApp(config, '/nonexistent-outdir'))));
const external: Record<string, string> = { WIREGUARD_PRIVATE_KEY: 'wg-key', WIREGUARD_ADDRESSES: '10.14.0.2/16', SOULSEEK_USERNAME: 'me', SOULSEEK_PASSWORD: 'slsk' };
const inputs = (values: Record<string, string> = external): Inputs => ({ value: async (name) => values[name], optional: (name) => values[name] });
const byId = (changes: SecretChange[]) => new Map(changes.map((c) => [`${c.namespace}/${c.name}`, c]));
/** The cluster after the changes: existing data plus what they add. */
function after(existing: ExistingSecrets, changes: SecretChange[]): ExistingSecrets {
  const result = new Map(existing);
  for (const c of changes) result.set(`${c.namespace}/${c.name}`, { ...(existing.get(`${c.namespace}/${c.name}`) ?? {}), ...c.add });
  return result;
}

describe('on an empty cluster', () => {
  let changes: SecretChange[];
  beforeAll(async () => {
    changes = await planSecretChanges(config, required, new Map(), inputs());
  });

  test('every required Secret and key is filled, and shared passwords match', () => {
    expect(secretProblems(required, after(new Map(), changes))).toEqual([]);
    const c = byId(changes);
    expect(c.get('apps/nextcloud-db')!.add.password).toBe(c.get('data/nextcloud-db')!.add.password);
    expect(c.get('apps/gitea-db')!.add.password).toBe(c.get('data/gitea-db')!.add.password);
    expect(c.get('apps/nextcloud-db')!.add.password).not.toBe(c.get('apps/gitea-db')!.add.password);
  });

  test('internal passwords are long random strings, logins are admin, external values come from the inputs', () => {
    const c = byId(changes);
    expect(c.get('apps/kopia')!.add['repository-password']).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(c.get('apps/gitea-secrets')!.add['secret-key']).toMatch(/^[0-9a-f]{64}$/);
    expect(c.get('apps/nextcloud-admin')!.add.username).toBe('admin');
    expect(c.get('vpn/vpn-credentials')!.add).toEqual({ WIREGUARD_PRIVATE_KEY: 'wg-key', WIREGUARD_ADDRESSES: '10.14.0.2/16' });
    expect(c.get('vpn/slskd')!.add.SLSKD_SLSK_PASSWORD).toBe('slsk');
  });

  test("Dozzle's users file holds a bcrypt hash of the stored password", () => {
    const dozzle = byId(changes).get('management/dozzle-users')!.add;
    const users = parse(dozzle['users.yml']);
    expect(users.users.admin.email).toBe('admin@home.example.org');
    expect(bcrypt.compareSync(dozzle['admin-password'], users.users.admin.password)).toBe(true);
    expect(bcrypt.compareSync('wrong', users.users.admin.password)).toBe(false);
  });

  test("Kopia's certificate is self-signed for its Service and its hostname, with the matching key", () => {
    const tls = byId(changes).get('apps/kopia-tls')!.add;
    const cert = new crypto.X509Certificate(tls['tls.crt']);
    expect(cert.subjectAltName).toBe('DNS:kopia.apps.svc, DNS:backup.home.example.org');
    expect(cert.checkPrivateKey(crypto.createPrivateKey(tls['tls.key']))).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(tls['ca.crt']).toBe(tls['tls.crt']);
    expect(new Date(cert.validTo).getTime()).toBeGreaterThan(Date.now() + 9 * 365 * 24 * 3600 * 1000);
  });

  test('without certificate files, the ingress certificate is a self-signed wildcard of the domain', () => {
    const tls = byId(changes).get('kube-system/potatostack-tls')!;
    expect(tls.type).toBe('kubernetes.io/tls');
    expect(new crypto.X509Certificate(tls.add['tls.crt']).subjectAltName).toBe('DNS:*.home.example.org, DNS:home.example.org');
  });

  test('the manifests are Secrets with stringData', () => {
    const [manifest] = secretManifests([byId(changes).get('kube-system/potatostack-tls')!]);
    expect(manifest).toMatchObject({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'potatostack-tls', namespace: 'kube-system' }, type: 'kubernetes.io/tls' });
    expect(Object.keys(manifest.stringData)).toEqual(['tls.crt', 'tls.key']);
  });
});

test('never overwrites a key, and takes a shared value from the Secret that already holds it', async () => {
  const existing = new Map<string, Record<string, string>>([
    ['data/nextcloud-db', { password: 'chosen-by-hand', 'root-password': 'root' }],
    ['apps/kopia', { 'repository-password': 'keep-me' }],
  ]);
  const c = byId(await planSecretChanges(config, required, existing, inputs()));
  expect(c.get('apps/nextcloud-db')!.add).toEqual({ password: 'chosen-by-hand' });
  expect(c.has('data/nextcloud-db')).toBe(false);
  expect(c.get('apps/kopia')!.add['repository-password']).toBeUndefined();
  expect(Object.keys(c.get('apps/kopia')!.add).sort()).toEqual(['server-password', 'server-username']);
});

test('a second plan over the result changes nothing', async () => {
  const first = await planSecretChanges(config, required, new Map(), inputs());
  expect(await planSecretChanges(config, required, after(new Map(), first), inputs())).toEqual([]);
});

test('missing external inputs are named and their keys left out', async () => {
  const c = byId(await planSecretChanges(config, required, new Map(), inputs({})));
  expect(c.get('vpn/vpn-credentials')!.missing).toEqual(['WIREGUARD_ADDRESSES (set WIREGUARD_ADDRESSES)', 'WIREGUARD_PRIVATE_KEY (set WIREGUARD_PRIVATE_KEY)']);
  expect(c.get('vpn/vpn-credentials')!.add).toEqual({});
  expect(c.get('vpn/slskd')!.add.SLSKD_PASSWORD).toBeDefined();
});

test('the ingress certificate comes from files when given, and a half-present pair is left for the operator', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-tls-'));
  fs.writeFileSync(path.join(dir, 'c.pem'), 'CERT');
  fs.writeFileSync(path.join(dir, 'k.pem'), 'KEY');
  const files = { ...external, TLS_CERT_FILE: path.join(dir, 'c.pem'), TLS_KEY_FILE: path.join(dir, 'k.pem') };
  expect(byId(await planSecretChanges(config, required, new Map(), inputs(files))).get('kube-system/potatostack-tls')!.add).toEqual({ 'tls.crt': 'CERT', 'tls.key': 'KEY' });
  const half = byId(await planSecretChanges(config, required, new Map([['kube-system/potatostack-tls', { 'tls.crt': 'CERT' }]]), inputs()));
  expect(half.get('kube-system/potatostack-tls')!.missing).toEqual(['tls.crt/tls.key (half present: replace the Secret by hand)']);
});

test('inputs come from the env file before the environment, and nothing is asked without a terminal', async () => {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'potato-env-')), 'secrets.env');
  fs.writeFileSync(file, '# VPN\nWIREGUARD_PRIVATE_KEY="from file"\n');
  process.env.WIREGUARD_PRIVATE_KEY = 'from env';
  process.env.SOULSEEK_USERNAME = 'env-user';
  try {
    const given = inputsFrom(file, false);
    expect(await given.value('WIREGUARD_PRIVATE_KEY')).toBe('from file');
    expect(await given.value('SOULSEEK_USERNAME')).toBe('env-user');
    expect(await given.value('TELEGRAM_BOT_TOKEN')).toBeUndefined();
  } finally {
    delete process.env.WIREGUARD_PRIVATE_KEY;
    delete process.env.SOULSEEK_USERNAME;
  }
});
