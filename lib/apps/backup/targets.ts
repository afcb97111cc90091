import type { KopiaOffsiteConfig, OffsiteType } from '../../config';
import type { EnvValue, PodVolume, PortSpec, VolumeMount } from '../../constructs';
import { CopyTarget, shellQuote } from './scripts';

/** Where the copy jobs see their target folder (a filesystem target's claim). */
export const COPY_MOUNT = '/copy';
/** Where the sftp target's key and known_hosts files are mounted. */
export const OFFSITE_SECRET_MOUNT = '/app/offsite';

/** Keys the off-site Secret must hold, per target type (the README and docs list them). */
export const OFFSITE_SECRET_KEYS: Readonly<Record<Exclude<OffsiteType, 'none' | 'filesystem'>, readonly string[]>> = {
  s3: ['access-key-id', 'secret-access-key'],
  b2: ['key-id', 'key'],
  sftp: ['ssh-private-key', 'known-hosts'],
  webdav: ['username', 'password'],
};

/** What one copy job needs besides the script: environment, volumes and its egress. */
export interface CopyTargetSpec {
  readonly target: CopyTarget;
  /** Credentials, as Secret-backed variables Kopia reads itself. */
  readonly env: Readonly<Record<string, EnvValue>>;
  readonly volumes: readonly PodVolume[];
  readonly mounts: readonly VolumeMount[];
  /** TCP port the target listens on (none for a filesystem target). */
  readonly port?: number;
}

/** The copy on the cache HDD: a filesystem repository at COPY_MOUNT. */
export function cacheDiskTarget(): CopyTargetSpec {
  return {
    target: { type: 'filesystem', args: ['--path="$COPY"'], description: 'the cache HDD' },
    env: { COPY: COPY_MOUNT },
    volumes: [{ name: 'copy', claim: 'kopia-copy' }],
    mounts: [{ volume: 'copy', path: COPY_MOUNT }],
  };
}

/** Claim of a filesystem off-site target (a PV of `kopia.offsite.path` on the storage node). */
export const OFFSITE_CLAIM = 'kopia-offsite';

/** Port of an https URL or endpoint (`host:port`), else 443. */
function httpsPort(hostOrUrl: string): number {
  const match = /^(?:https:\/\/)?[^/:]+:([0-9]+)/.exec(hostOrUrl);
  return match ? Number(match[1]) : 443;
}

function secretEnv(secret: string, pairs: Readonly<Record<string, string>>): Record<string, EnvValue> {
  return Object.fromEntries(Object.entries(pairs).map(([variable, key]) => [variable, { secret, key }]));
}

/**
 * `kopia repository sync-to <type>` flags of the off-site target, and how its credentials reach
 * Kopia: environment variables it reads itself (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY,
 * B2_KEY_ID / B2_KEY, KOPIA_WEBDAV_USERNAME / KOPIA_WEBDAV_PASSWORD) or, for sftp, whose
 * password flag has no variable, a private key and known_hosts file from the Secret.
 */
export function offsiteTarget(offsite: KopiaOffsiteConfig): CopyTargetSpec {
  const q = shellQuote;
  const secret = offsite.secretName;
  const prefix = offsite.prefix ? [`--prefix=${q(offsite.prefix)}`] : [];
  switch (offsite.type) {
    case 's3':
      return {
        target: {
          type: 's3',
          args: [`--bucket=${q(offsite.bucket)}`, `--endpoint=${q(offsite.endpoint)}`, ...(offsite.region ? [`--region=${q(offsite.region)}`] : []), ...prefix],
          description: `S3 bucket ${offsite.bucket} at ${offsite.endpoint}`,
        },
        env: secretEnv(secret, { AWS_ACCESS_KEY_ID: 'access-key-id', AWS_SECRET_ACCESS_KEY: 'secret-access-key' }),
        volumes: [],
        mounts: [],
        port: httpsPort(offsite.endpoint),
      };
    case 'b2':
      return {
        target: { type: 'b2', args: [`--bucket=${q(offsite.bucket)}`, ...prefix], description: `Backblaze B2 bucket ${offsite.bucket}` },
        env: secretEnv(secret, { B2_KEY_ID: 'key-id', B2_KEY: 'key' }),
        volumes: [],
        mounts: [],
        port: 443,
      };
    case 'sftp':
      return {
        target: {
          type: 'sftp',
          args: [
            `--host=${q(offsite.host)}`,
            `--port=${offsite.port}`,
            `--username=${q(offsite.username)}`,
            `--path=${q(offsite.path)}`,
            `--keyfile=${OFFSITE_SECRET_MOUNT}/ssh-private-key`,
            `--known-hosts=${OFFSITE_SECRET_MOUNT}/known-hosts`,
          ],
          description: `sftp://${offsite.username}@${offsite.host}:${offsite.port}${offsite.path}`,
        },
        env: {},
        volumes: [
          {
            name: 'offsite-credentials',
            secret,
            defaultMode: 0o400,
            items: OFFSITE_SECRET_KEYS.sftp.map((key) => ({ key, path: key })),
          },
        ],
        mounts: [{ volume: 'offsite-credentials', path: OFFSITE_SECRET_MOUNT, readOnly: true }],
        port: offsite.port,
      };
    case 'webdav':
      return {
        target: { type: 'webdav', args: [`--url=${q(offsite.url)}`], description: `WebDAV folder ${offsite.url}` },
        env: secretEnv(secret, { KOPIA_WEBDAV_USERNAME: 'username', KOPIA_WEBDAV_PASSWORD: 'password' }),
        volumes: [],
        mounts: [],
        port: httpsPort(offsite.url),
      };
    case 'filesystem':
      return {
        target: { type: 'filesystem', args: ['--path="$COPY"'], description: `the folder ${offsite.path} on the storage node` },
        env: { COPY: COPY_MOUNT },
        volumes: [{ name: 'copy', claim: OFFSITE_CLAIM }],
        mounts: [{ volume: 'copy', path: COPY_MOUNT }],
      };
    default:
      throw new Error(`kopia.offsite.type '${offsite.type}' has no copy target`);
  }
}

/** The egress port rule of a network target. */
export function targetPorts(spec: CopyTargetSpec): PortSpec[] {
  return spec.port === undefined ? [] : [{ port: spec.port }];
}
