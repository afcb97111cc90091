/**
 * Secrets in Git the way docs/gitops.md tells users to keep them: real age (v1.3.1) makes the key,
 * real sops (v3.13.3, the format Flux's kustomize-controller decrypts) encrypts a Secret manifest
 * with the .sops.yaml that writeUserRepository generates. The encrypted file holds no secret value,
 * keeps kind and names readable, passes the repository check, and decrypts to the original only
 * with the key.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { plaintextSecrets } from '../../lib/environments';
import { writeUserRepository } from '../../lib/template/user-repository';
import { requireTool } from './support/tools';

const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-sops-'));
const keyFile = path.join(repo, 'age.agekey');
const SECRET_FILE = 'secrets/potatostack.yaml';

// A stand-in for the CLI's `secrets --output yaml`: two Secrets, one with stringData, one with data.
const VALUES = { password: 'correct-horse-battery-staple', token: 'tok_5f1c9e7a2b' };
const plain = [
  `apiVersion: v1\nkind: Secret\nmetadata:\n  name: gitea-db\n  namespace: data\ntype: Opaque\nstringData:\n  password: ${VALUES.password}\n`,
  `apiVersion: v1\nkind: Secret\nmetadata:\n  name: diun\n  namespace: management\ntype: Opaque\ndata:\n  token: ${Buffer.from(VALUES.token).toString('base64')}\n`,
].join('---\n');

function sops(args: string[], env: Record<string, string> = {}) {
  const binary = requireTool('sops', 'SOPS_BIN');
  return spawnSync(binary, ['--disable-version-check', ...args], { cwd: repo, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: repo, ...env } });
}

let recipient = '';

beforeAll(() => {
  const keygen = spawnSync(requireTool('age-keygen', 'AGE_KEYGEN_BIN'), ['-o', keyFile], { encoding: 'utf8' });
  if (keygen.status !== 0) throw new Error(`age-keygen failed: ${keygen.stderr}`);
  recipient = /public key: (age1[0-9a-z]+)/.exec(fs.readFileSync(keyFile, 'utf8'))![1];
  writeUserRepository(repo, { ageRecipient: recipient, packageSpec: 'file:../unused.tgz' });
  fs.writeFileSync(path.join(repo, SECRET_FILE), plain);
});

test('the generated .sops.yaml encrypts the secrets file in place; no value, plain or base64, is left', () => {
  const run = sops(['--encrypt', '--in-place', SECRET_FILE]);
  expect([run.status, run.stderr]).toEqual([0, '']);
  const encrypted = fs.readFileSync(path.join(repo, SECRET_FILE), 'utf8');
  for (const value of Object.values(VALUES)) {
    expect(encrypted).not.toContain(value);
    expect(encrypted).not.toContain(Buffer.from(value).toString('base64'));
  }
  const docs = parseAllDocuments(encrypted).map((d) => d.toJS());
  expect(docs.map((d) => [d.kind, d.metadata.namespace, d.metadata.name])).toEqual([
    ['Secret', 'data', 'gitea-db'],
    ['Secret', 'management', 'diun'],
  ]);
  expect(docs.map((d) => d.sops.age.map((a: any) => a.recipient))).toEqual([[recipient], [recipient]]);
});

test('the repository check accepts the encrypted folder and refuses the plain one', () => {
  expect(plaintextSecrets(path.join(repo, 'secrets'))).toEqual([]);
  const plainDir = fs.mkdtempSync(path.join(os.tmpdir(), 'potato-plain-'));
  fs.writeFileSync(path.join(plainDir, 'potatostack.yaml'), plain);
  expect(plaintextSecrets(plainDir).length).toBe(4);
});

test('it decrypts to the original objects with the age key', () => {
  const run = sops(['--decrypt', SECRET_FILE], { SOPS_AGE_KEY_FILE: keyFile });
  expect([run.status, run.stderr]).toEqual([0, '']);
  const decrypted = parseAllDocuments(run.stdout).map((d) => d.toJS());
  expect(decrypted).toEqual(parseAllDocuments(plain).map((d) => d.toJS()));
});

test('proof: without the key it does not decrypt', () => {
  const run = sops(['--decrypt', SECRET_FILE]);
  expect(run.status).not.toBe(0);
  expect(run.stdout).not.toContain(VALUES.password);
});
