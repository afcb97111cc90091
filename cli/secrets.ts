import * as fs from 'node:fs';
import { parseEnv } from 'node:util';
import { stringify } from 'yaml';
import bcrypt from 'bcryptjs';
import { WEB_UIS, type PotatoStackConfig } from '../lib/config';
import {
  EXTERNAL_INPUTS,
  type ExistingSecrets,
  type ExternalName,
  type KeySource,
  type RequiredSecret,
  randomValue,
  secretProblems,
} from './shared/secret-catalog';
import { CliError } from './shared/project';
import type { Kube, KubeObject } from './shared/kube';
import { ensureNamespaces, readSecrets, stackSecrets, type GlobalOptions, connect, print } from './shared/context';

/** Where external values come from: the env file, then the environment, then (interactively) a prompt. */
export interface Inputs {
  /** The value, or undefined when the operator gave none. */
  value(name: ExternalName): Promise<string | undefined>;
  /** A value that is never prompted for (optional file paths). */
  optional(name: string): string | undefined;
}

/** One Secret as `secrets` leaves it: created or completed with `add`, keys it could not fill in `missing`. */
export interface SecretChange {
  readonly namespace: string;
  readonly name: string;
  readonly type?: string;
  readonly exists: boolean;
  readonly add: Record<string, string>;
  readonly missing: string[];
  readonly notes: string[];
}

const BCRYPT_COST = 11;

/**
 * The values to add so every required key exists, never touching an existing key. Values that
 * several Secrets share are taken from whichever Secret already holds one, else generated once.
 */
export async function planSecretChanges(
  config: PotatoStackConfig,
  required: readonly RequiredSecret[],
  existing: ExistingSecrets,
  inputs: Inputs,
): Promise<SecretChange[]> {
  const shared = new Map<string, string>();
  const groupOf = (source: KeySource) => (source.kind === 'random' ? source.group : source.kind === 'external' ? `external:${source.input}` : undefined);
  for (const secret of required) {
    const data = existing.get(`${secret.namespace}/${secret.name}`) ?? {};
    for (const [key, source] of Object.entries(secret.keys)) {
      const group = groupOf(source);
      if (group && data[key] && !shared.has(group)) shared.set(group, data[key]);
    }
  }
  const changes: SecretChange[] = [];
  for (const secret of required) {
    const data = existing.get(`${secret.namespace}/${secret.name}`);
    const current = data ?? {};
    const add: Record<string, string> = {};
    const missing: string[] = [];
    const notes: string[] = [];
    const derived = new Set<'kopia-tls' | 'ingress-tls' | 'dozzle-users'>();
    for (const [key, source] of Object.entries(secret.keys)) {
      if (current[key]) continue;
      const group = groupOf(source);
      if (group && shared.has(group)) {
        add[key] = shared.get(group)!;
        continue;
      }
      let value: string | undefined;
      if (source.kind === 'fixed') value = source.value;
      else if (source.kind === 'random') value = randomValue(source.bytes, source.encoding);
      else if (source.kind === 'external') value = await inputs.value(source.input);
      else derived.add(source.by);
      if (value === undefined) {
        if (source.kind === 'external') missing.push(`${key} (set ${source.input})`);
        continue;
      }
      add[key] = value;
      if (group) shared.set(group, value);
    }
    for (const by of derived) {
      const result = await derive(by, config, current, inputs);
      Object.assign(add, result.add);
      missing.push(...result.missing);
      notes.push(...result.notes);
    }
    if (!data || Object.keys(add).length > 0 || missing.length > 0) {
      changes.push({ namespace: secret.namespace, name: secret.name, type: secret.type, exists: Boolean(data), add, missing, notes });
    }
  }
  return changes;
}

async function selfSigned(commonName: string, dnsNames: readonly string[]): Promise<{ cert: string; key: string }> {
  const { generate } = await import('selfsigned');
  const now = new Date();
  const result = await generate([{ name: 'commonName', value: commonName }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: now,
    notAfterDate: new Date(now.getTime() + 3650 * 24 * 3600 * 1000),
    extensions: [
      // Its own trust anchor (Traefik's ServersTransport trusts it as ca.crt), like `openssl req -x509`.
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, keyCertSign: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: dnsNames.map((value) => ({ type: 2 as const, value })) },
    ],
  });
  return { cert: result.cert, key: result.private };
}

/** Keys made together: certificates and Dozzle's users file. A half-filled Secret is left for the operator. */
async function derive(
  by: 'kopia-tls' | 'ingress-tls' | 'dozzle-users',
  config: PotatoStackConfig,
  current: Readonly<Record<string, string>>,
  inputs: Inputs,
): Promise<{ add: Record<string, string>; missing: string[]; notes: string[] }> {
  if (by === 'dozzle-users') {
    const password = current['admin-password'] ?? randomValue(18, 'base64url');
    const users = { users: { admin: { name: 'Admin', email: `admin@${config.domain}`, password: bcrypt.hashSync(password, BCRYPT_COST) } } };
    return { add: { 'users.yml': stringify(users), ...(current['admin-password'] ? {} : { 'admin-password': password }) }, missing: [], notes: [] };
  }
  if (by === 'kopia-tls') {
    if (current['tls.crt'] && current['tls.key'] && !current['ca.crt']) return { add: { 'ca.crt': current['tls.crt'] }, missing: [], notes: ['ca.crt is the self-signed tls.crt'] };
    if (current['tls.crt'] || current['tls.key']) return { add: {}, missing: ['tls.crt/tls.key (half present: replace the Secret by hand)'], notes: [] };
    const kopiaHost = `${WEB_UIS.find((ui) => ui.component === 'kopia')!.subdomain}.${config.domain}`;
    const { cert, key } = await selfSigned('kopia.apps.svc', ['kopia.apps.svc', kopiaHost]);
    return { add: { 'tls.crt': cert, 'tls.key': key, 'ca.crt': cert }, missing: [], notes: [`self-signed for kopia.apps.svc and ${kopiaHost}, valid 10 years`] };
  }
  if (current['tls.crt'] || current['tls.key']) return { add: {}, missing: ['tls.crt/tls.key (half present: replace the Secret by hand)'], notes: [] };
  const certFile = inputs.optional('TLS_CERT_FILE');
  const keyFile = inputs.optional('TLS_KEY_FILE');
  if (certFile || keyFile) {
    if (!certFile || !keyFile) return { add: {}, missing: ['tls.crt/tls.key (set both TLS_CERT_FILE and TLS_KEY_FILE)'], notes: [] };
    return { add: { 'tls.crt': fs.readFileSync(certFile, 'utf8'), 'tls.key': fs.readFileSync(keyFile, 'utf8') }, missing: [], notes: [`from ${certFile}`] };
  }
  const { cert, key } = await selfSigned(`*.${config.domain}`, [`*.${config.domain}`, config.domain]);
  return {
    add: { 'tls.crt': cert, 'tls.key': key },
    missing: [],
    notes: [`self-signed for *.${config.domain} (browsers warn; see docs/ingress.md to use a trusted one)`],
  };
}

/** The Secret objects of the changes, as `kubectl apply` or SOPS take them. */
export function secretManifests(changes: readonly SecretChange[]): KubeObject[] {
  return changes.map((c) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: c.name, namespace: c.namespace, labels: { 'app.kubernetes.io/part-of': 'potatostack' } },
    ...(c.type ? { type: c.type } : {}),
    stringData: c.add,
  }));
}

/** Inputs from an env file and the environment, prompting for the rest when a terminal is attached. */
export function inputsFrom(envFile: string | undefined, interactive: boolean): Inputs {
  const fromFile = envFile ? parseEnv(fs.readFileSync(envFile, 'utf8')) : {};
  const lookup = (name: string) => fromFile[name] ?? process.env[name];
  return {
    optional: (name) => lookup(name) || undefined,
    async value(name) {
      const given = lookup(name);
      if (given) return given;
      if (!interactive) return undefined;
      const { input, password } = await import('@inquirer/prompts');
      const spec = EXTERNAL_INPUTS[name];
      // Questions go to stderr, so `--output yaml > file` keeps only the manifests in the file.
      const context = { output: process.stderr };
      const message = `${spec.prompt} (${name}; empty to skip)`;
      const answer = spec.secret ? await password({ message, mask: true }, context) : await input({ message }, context);
      return answer.trim() || undefined;
    },
  };
}

export interface SecretsOptions extends GlobalOptions {
  readonly envFile?: string;
  readonly dryRun?: boolean;
  readonly output?: string;
  readonly input?: boolean;
}

/** `potatostack secrets`: create every missing Secret and key the manifests read. */
export async function secretsCommand(options: SecretsOptions): Promise<number> {
  if (options.output !== undefined && options.output !== 'yaml') throw new CliError(`--output ${options.output} is not supported; expected yaml`);
  const { config, required, dist } = stackSecrets(options);
  const interactive = options.input !== false && Boolean(process.stdin.isTTY && process.stderr.isTTY) && !options.dryRun;
  const inputs = inputsFrom(options.envFile, interactive);
  if (options.output === 'yaml') {
    // For Secrets kept encrypted in git: nothing is read from or written to the cluster.
    const changes = await planSecretChanges(config, required, new Map(), inputs);
    process.stdout.write(secretManifests(changes).map((m) => `---\n${stringify(m)}`).join(''));
    return reportMissing(changes);
  }
  const kube = await connect(options);
  const existing = await readSecrets(kube, required);
  const changes = await planSecretChanges(config, required, existing, inputs);
  if (options.dryRun) {
    for (const change of changes) describeChange(change, 'would');
    if (changes.length === 0) print('every Secret and key exists; nothing to do');
    return 0;
  }
  await ensureNamespaces(kube, dist, [...new Set(changes.map((c) => c.namespace))]);
  for (const change of changes) {
    await writeChange(kube, change);
    describeChange(change, 'did');
  }
  const after = await readSecrets(kube, required);
  const problems = secretProblems(required, after);
  if (changes.length === 0) print('every Secret and key exists; nothing to do');
  else print('logins: read one with `kubectl get secret -n <namespace> <name> -o jsonpath={.data.<key>} | base64 -d`; keep the kopia repository-password off the board too');
  for (const problem of problems) print(`missing: ${problem}`);
  return problems.length > 0 ? 1 : 0;
}

function reportMissing(changes: readonly SecretChange[]): number {
  const missing = changes.flatMap((c) => c.missing.map((m) => `${c.namespace}/${c.name} ${m}`));
  for (const line of missing) process.stderr.write(`missing: ${line}\n`);
  return missing.length > 0 ? 1 : 0;
}

function describeChange(change: SecretChange, mode: 'would' | 'did'): void {
  const keys = Object.keys(change.add);
  const id = `${change.namespace}/${change.name}`;
  if (keys.length > 0) {
    const verb = change.exists ? (mode === 'would' ? 'would add' : 'added') : mode === 'would' ? 'would create' : 'created';
    print(`${verb} ${change.exists ? `${keys.length === 1 ? 'key' : 'keys'} ${keys.join(', ')} to ` : ''}Secret ${id}${change.exists ? '' : ` (${keys.join(', ')})`}${change.notes.length ? `: ${change.notes.join('; ')}` : ''}`);
  }
  for (const m of change.missing) print(`${mode === 'would' ? 'cannot fill' : 'not filled'}: Secret ${id} key ${m}`);
}

async function writeChange(kube: Kube, change: SecretChange): Promise<void> {
  if (Object.keys(change.add).length === 0) return;
  if (!change.exists) {
    await kube.create(secretManifests([change])[0]);
    return;
  }
  // A merge patch adds the new keys only; the resourceVersion makes it fail rather than race a concurrent writer.
  const current = await kube.get('v1', 'Secret', change.name, change.namespace);
  if (!current) throw new CliError(`Secret ${change.namespace}/${change.name} disappeared while adding keys; run secrets again`);
  const clash = Object.keys(change.add).filter((k) => current.data?.[k] !== undefined);
  if (clash.length > 0) throw new CliError(`Secret ${change.namespace}/${change.name} got ${clash.join(', ')} meanwhile; not overwriting`);
  const data = Object.fromEntries(Object.entries(change.add).map(([k, v]) => [k, Buffer.from(v).toString('base64')]));
  await kube.call('PATCH', await kube.objectPath(current), { metadata: { resourceVersion: current.metadata.resourceVersion }, data }, 'application/merge-patch+json');
}
