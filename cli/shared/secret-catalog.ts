import { randomBytes } from 'node:crypto';
import { ALERT_RECEIVER_SECRET, type PotatoStackConfig } from '../../lib/config';
import type { SecretReference } from '../../lib/docs';
import { DOZZLE_USERS_KEY, DOZZLE_USERS_SECRET } from '../../lib/apps/dozzle';

/**
 * How the CLI fills every key of every Secret the stack reads. Internal credentials come from
 * the CSPRNG; values several Secrets must share (a database password the server and its app
 * both read) are generated once per group; what only the operator knows (the VPN key, a
 * Soulseek account, notification tokens) is an external input from an env file or a prompt.
 */

/** A value the operator supplies: `NAME=value` in the env file, or an answer to the prompt. */
export interface ExternalInput {
  /** What to ask for. */
  readonly prompt: string;
  /** Hidden while typed. */
  readonly secret: boolean;
}

export const EXTERNAL_INPUTS = {
  WIREGUARD_PRIVATE_KEY: { prompt: "WireGuard private key (your VPN provider's manual WireGuard setup)", secret: true },
  WIREGUARD_ADDRESSES: { prompt: 'WireGuard address the provider assigned to that key, e.g. 10.14.0.2/16', secret: false },
  OPENVPN_USER: { prompt: 'OpenVPN user name of your VPN provider', secret: false },
  OPENVPN_PASSWORD: { prompt: 'OpenVPN password of your VPN provider', secret: true },
  SOULSEEK_USERNAME: { prompt: 'Soulseek network account name (slskd logs in with it)', secret: false },
  SOULSEEK_PASSWORD: { prompt: 'Soulseek network account password', secret: true },
  SMTP_PASSWORD: { prompt: 'SMTP password for the alert e-mails', secret: true },
  TELEGRAM_BOT_TOKEN: { prompt: 'Telegram bot token (from @BotFather)', secret: true },
  SLACK_WEBHOOK_URL: { prompt: 'Slack incoming-webhook URL', secret: true },
  DISCORD_WEBHOOK_URL: { prompt: "Discord channel's webhook URL", secret: true },
  ADMIN_EMAIL: { prompt: "Administrator's e-mail address (nginx-proxy-manager login)", secret: false },
} as const satisfies Record<string, ExternalInput>;

export type ExternalName = keyof typeof EXTERNAL_INPUTS;

/** Optional file inputs: the TLS certificate Traefik serves. Without them a self-signed one is made. */
export const TLS_FILE_INPUTS = ['TLS_CERT_FILE', 'TLS_KEY_FILE'] as const;

/** Where one key's value comes from. */
export type KeySource =
  | { readonly kind: 'random'; readonly bytes: number; readonly encoding: 'base64url' | 'hex'; readonly group?: string }
  | { readonly kind: 'fixed'; readonly value: string }
  | { readonly kind: 'external'; readonly input: ExternalName; readonly group?: string }
  /** Made together with the other keys of its Secret (certificates, a users file). */
  | { readonly kind: 'derived'; readonly by: 'kopia-tls' | 'ingress-tls' | 'dozzle-users' };

export interface SecretSpec {
  readonly namespace: string;
  readonly name: string;
  /** Secret type; Opaque unless stated. */
  readonly type?: string;
  readonly keys: Readonly<Record<string, KeySource>>;
}

const password = (group?: string): KeySource => ({ kind: 'random', bytes: 24, encoding: 'base64url', group });
const admin: KeySource = { kind: 'fixed', value: 'admin' };

/** The receivers' credentials, under the same key names in Alertmanager's and Diun's Secrets. */
const RECEIVER_KEYS: Record<string, KeySource> = {
  [ALERT_RECEIVER_SECRET.keys.email]: { kind: 'external', input: 'SMTP_PASSWORD' },
  [ALERT_RECEIVER_SECRET.keys.telegram]: { kind: 'external', input: 'TELEGRAM_BOT_TOKEN' },
  [ALERT_RECEIVER_SECRET.keys.slack]: { kind: 'external', input: 'SLACK_WEBHOOK_URL' },
  [ALERT_RECEIVER_SECRET.keys.discord]: { kind: 'external', input: 'DISCORD_WEBHOOK_URL' },
};

/** Every Secret the stack can read, for this config. */
export function secretCatalog(config: PotatoStackConfig): SecretSpec[] {
  return [
    { namespace: 'apps', name: 'nextcloud-admin', keys: { username: admin, password: password() } },
    { namespace: 'apps', name: 'nextcloud-db', keys: { password: password('nextcloud-db') } },
    { namespace: 'data', name: 'nextcloud-db', keys: { password: password('nextcloud-db'), 'root-password': password() } },
    { namespace: 'apps', name: 'gitea-db', keys: { password: password('gitea-db') } },
    { namespace: 'data', name: 'gitea-db', keys: { password: password('gitea-db') } },
    {
      namespace: 'apps',
      name: 'gitea-secrets',
      keys: { 'secret-key': { kind: 'random', bytes: 32, encoding: 'hex' }, 'internal-token': { kind: 'random', bytes: 48, encoding: 'hex' } },
    },
    {
      namespace: 'apps',
      name: 'kopia',
      keys: { 'repository-password': { kind: 'random', bytes: 32, encoding: 'base64url' }, 'server-username': admin, 'server-password': password() },
    },
    {
      namespace: 'apps',
      name: 'kopia-tls',
      keys: { 'tls.crt': { kind: 'derived', by: 'kopia-tls' }, 'tls.key': { kind: 'derived', by: 'kopia-tls' }, 'ca.crt': { kind: 'derived', by: 'kopia-tls' } },
    },
    {
      namespace: 'kube-system',
      name: config.ingress.tlsSecretName,
      type: 'kubernetes.io/tls',
      keys: { 'tls.crt': { kind: 'derived', by: 'ingress-tls' }, 'tls.key': { kind: 'derived', by: 'ingress-tls' } },
    },
    {
      namespace: 'management',
      name: DOZZLE_USERS_SECRET,
      // Made with a new password, which is kept beside the hash (key admin-password) so the
      // operator can read it back; Dozzle mounts only the users file.
      keys: { [DOZZLE_USERS_KEY]: { kind: 'derived', by: 'dozzle-users' } },
    },
    { namespace: 'monitoring', name: config.monitoring.grafanaAdminSecret, keys: { 'admin-user': admin, 'admin-password': password() } },
    { namespace: 'monitoring', name: ALERT_RECEIVER_SECRET.name, keys: RECEIVER_KEYS },
    { namespace: 'management', name: 'diun-notifiers', keys: RECEIVER_KEYS },
    {
      namespace: 'vpn',
      name: 'slskd',
      keys: {
        SLSKD_USERNAME: admin,
        SLSKD_PASSWORD: password(),
        SLSKD_JWT_KEY: { kind: 'random', bytes: 48, encoding: 'base64url' },
        SLSKD_SLSK_USERNAME: { kind: 'external', input: 'SOULSEEK_USERNAME' },
        SLSKD_SLSK_PASSWORD: { kind: 'external', input: 'SOULSEEK_PASSWORD' },
      },
    },
    {
      namespace: 'vpn',
      name: 'vpn-credentials',
      keys: {
        WIREGUARD_PRIVATE_KEY: { kind: 'external', input: 'WIREGUARD_PRIVATE_KEY' },
        WIREGUARD_ADDRESSES: { kind: 'external', input: 'WIREGUARD_ADDRESSES' },
        OPENVPN_USER: { kind: 'external', input: 'OPENVPN_USER' },
        OPENVPN_PASSWORD: { kind: 'external', input: 'OPENVPN_PASSWORD' },
      },
    },
    { namespace: 'dmz', name: 'nginx-proxy-manager-admin', keys: { email: { kind: 'external', input: 'ADMIN_EMAIL' }, password: password() } },
  ];
}

/** A Secret the manifests read, with the keys to fill (all of the catalog's when the whole Secret is mounted). */
export interface RequiredSecret {
  readonly namespace: string;
  readonly name: string;
  readonly type?: string;
  readonly keys: Record<string, KeySource>;
  readonly usedBy: string[];
}

/** The Secrets and keys to fill for these references; throws naming any the catalog cannot fill. */
export function requiredSecrets(config: PotatoStackConfig, refs: readonly SecretReference[]): RequiredSecret[] {
  const catalog = secretCatalog(config);
  const unknown: string[] = [];
  const result = refs.map((ref) => {
    const spec = catalog.find((s) => s.namespace === ref.namespace && s.name === ref.name);
    if (!spec) {
      unknown.push(`${ref.namespace}/${ref.name}`);
      return undefined;
    }
    const names = ref.keys.length > 0 ? ref.keys : Object.keys(spec.keys);
    const keys: Record<string, KeySource> = {};
    for (const key of names) {
      if (spec.keys[key]) keys[key] = spec.keys[key];
      else unknown.push(`${ref.namespace}/${ref.name} key ${key}`);
    }
    return { namespace: ref.namespace, name: ref.name, type: spec.type, keys, usedBy: ref.usedBy };
  });
  if (unknown.length > 0) throw new Error(`no generator for ${unknown.join(', ')}: add it to cli/shared/secret-catalog.ts`);
  return result as RequiredSecret[];
}

/** Random bytes from the operating system's CSPRNG, encoded. */
export function randomValue(bytes: number, encoding: 'base64url' | 'hex'): string {
  return randomBytes(bytes).toString(encoding);
}

/** Group of a key's value, if several Secrets must hold the same one. */
export function groupOf(source: KeySource): string | undefined {
  if (source.kind === 'random') return source.group;
  if (source.kind === 'external') return source.group ?? `external:${source.input}`;
  return undefined;
}

/** Existing Secret data, decoded: `namespace/name` -> key -> value. */
export type ExistingSecrets = ReadonlyMap<string, Readonly<Record<string, string>>>;

/**
 * What is wrong with the cluster's Secrets for these requirements, one line each: a Secret or
 * key missing, or two Secrets that must share a value holding different ones.
 */
export function secretProblems(required: readonly RequiredSecret[], existing: ExistingSecrets): string[] {
  const problems: string[] = [];
  const groups = new Map<string, Array<{ where: string; value: string }>>();
  for (const secret of required) {
    const id = `${secret.namespace}/${secret.name}`;
    const data = existing.get(id);
    const keys = Object.keys(secret.keys);
    if (!data) {
      problems.push(`Secret ${id} is missing (keys ${keys.join(', ')}; read by ${secret.usedBy.join(', ')})`);
      continue;
    }
    const missing = keys.filter((k) => data[k] === undefined || data[k] === '');
    if (missing.length > 0) problems.push(`Secret ${id} lacks ${missing.length === 1 ? 'key' : 'keys'} ${missing.join(', ')} (read by ${secret.usedBy.join(', ')})`);
    for (const [key, source] of Object.entries(secret.keys)) {
      // Only generated shared values must match (a login both sides use); external ones merely start equal.
      const group = source.kind === 'random' ? source.group : undefined;
      if (!group || data[key] === undefined) continue;
      groups.set(group, [...(groups.get(group) ?? []), { where: `${id} key ${key}`, value: data[key] }]);
    }
  }
  for (const members of groups.values()) {
    if (new Set(members.map((m) => m.value)).size > 1) problems.push(`${members.map((m) => m.where).join(' and ')} must hold the same value, and do not`);
  }
  return problems;
}
