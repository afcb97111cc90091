import { BACKUP_CRONJOBS, PotatoStackOverrides, resolveConfig } from '../lib/config';
import { OFFSITE_SECRET_KEYS, cacheDiskTarget, offsiteTarget } from '../lib/apps/backup/targets';
import { SCRIPT_FILES } from '../lib/apps/backup/jobs';
import { find, podSpecOf, synthObjects } from './helpers';

/**
 * The off-site copy's `kopia repository sync-to <type>` flags and credentials. There is no
 * network here, so these are checked against kopia 0.21's flags (cli/storage_*.go: bucket,
 * endpoint, region, prefix; host, port, username, path, keyfile, known-hosts; url) and the
 * environment variables it reads (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, B2_KEY_ID / B2_KEY,
 * KOPIA_WEBDAV_USERNAME / KOPIA_WEBDAV_PASSWORD); the filesystem type runs for real in the
 * restore drill (the cache-disk copy uses it).
 */

const offsite = (o: Record<string, unknown>): PotatoStackOverrides => ({ kopia: { offsite: o } });
const env = (container: any): Record<string, any> => Object.fromEntries(container.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

const CASES = {
  s3: {
    props: { type: 's3', bucket: 'potato-backups', endpoint: 's3.eu-central-1.amazonaws.com', region: 'eu-central-1', prefix: 'potatostack/' },
    args: "sync-to s3 --bucket='potato-backups' --endpoint='s3.eu-central-1.amazonaws.com' --region='eu-central-1' --prefix='potatostack/' --delete",
    env: { AWS_ACCESS_KEY_ID: 'access-key-id', AWS_SECRET_ACCESS_KEY: 'secret-access-key' },
    port: 443,
  },
  b2: {
    props: { type: 'b2', bucket: 'potato-backups' },
    args: "sync-to b2 --bucket='potato-backups' --delete",
    env: { B2_KEY_ID: 'key-id', B2_KEY: 'key' },
    port: 443,
  },
  sftp: {
    props: { type: 'sftp', host: 'backup.example.org', port: 2222, username: 'potato', path: '/srv/backups/potatostack' },
    args: "sync-to sftp --host='backup.example.org' --port=2222 --username='potato' --path='/srv/backups/potatostack' --keyfile=/app/offsite/ssh-private-key --known-hosts=/app/offsite/known-hosts --delete",
    env: {},
    port: 2222,
  },
  webdav: {
    props: { type: 'webdav', url: 'https://dav.example.org:8443/potatostack' },
    args: "sync-to webdav --url='https://dav.example.org:8443/potatostack' --delete",
    env: { KOPIA_WEBDAV_USERNAME: 'username', KOPIA_WEBDAV_PASSWORD: 'password' },
    port: 8443,
  },
} as const;

describe.each(Object.entries(CASES))('off-site %s', (type, c) => {
  const objects = synthObjects(offsite(c.props));
  const cron = find(objects, 'CronJob', BACKUP_CRONJOBS.offsite, 'apps');
  const container = podSpecOf(cron).containers[0];
  const script = find(objects, 'ConfigMap', 'kopia-scripts', 'apps').data[SCRIPT_FILES.offsite] as string;

  test('the script syncs with exactly the target flags, read-only from the main repository', () => {
    expect(script).toContain(`kopia repository ${c.args} --parallel=1 --no-progress`);
    expect(script).toMatch(/connect filesystem --path="\$REPOSITORY" --readonly/);
    expect(container.command).toEqual(['/bin/sh', `/scripts/${SCRIPT_FILES.offsite}`]);
  });

  test('credentials come from the kopia-offsite Secret in the variables Kopia reads, never from the manifests', () => {
    for (const [variable, key] of Object.entries(c.env)) expect(env(container)[variable]).toEqual({ secretKeyRef: { name: 'kopia-offsite', key } });
    // The Secret keys the docs list for the type are the ones read (sftp's are files, below).
    if (type !== 'sftp') expect((Object.values(c.env) as string[]).sort()).toEqual([...OFFSITE_SECRET_KEYS[type as 's3' | 'b2' | 'webdav']].sort());
    expect(JSON.stringify(container.env)).not.toMatch(/"value":"[^"]*(secret|password)/i);
  });

  test('egress only to the target port outside the cluster ranges', () => {
    const policy = find(objects, 'NetworkPolicy', BACKUP_CRONJOBS.offsite, 'apps');
    expect(policy.spec.egress).toEqual([{ to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.42.0.0/16', '10.43.0.0/16'] } }], ports: [{ port: c.port, protocol: 'TCP' }] }]);
  });

  test('its own identity and cache, on its own daily schedule', () => {
    expect(script).toContain('--override-username=kopia-offsite');
    expect(container.volumeMounts.find((m: any) => m.name === 'cache').subPath).toBe('offsite-job');
    expect(cron.spec.schedule).toBe('0 7 * * *');
  });
});

test('sftp reads its key and known_hosts from the Secret as files (Kopia has no variable for them)', () => {
  const objects = synthObjects(offsite(CASES.sftp.props));
  const spec = podSpecOf(find(objects, 'CronJob', BACKUP_CRONJOBS.offsite, 'apps'));
  expect(spec.volumes.find((v: any) => v.name === 'offsite-credentials').secret).toEqual({
    secretName: 'kopia-offsite',
    defaultMode: 0o400,
    items: [
      { key: 'ssh-private-key', path: 'ssh-private-key' },
      { key: 'known-hosts', path: 'known-hosts' },
    ],
  });
  expect(spec.containers[0].volumeMounts).toContainEqual({ name: 'offsite-credentials', mountPath: '/app/offsite', readOnly: true });
});

test('a filesystem target is a folder on the storage node: its own PV (no class, kept by GitOps), no network', () => {
  const objects = synthObjects(offsite({ type: 'filesystem', path: '/mnt/nas/potatostack' }));
  const pv = find(objects, 'PersistentVolume', 'kopia-offsite');
  expect([pv.spec.hostPath, pv.spec.storageClassName, pv.spec.persistentVolumeReclaimPolicy]).toEqual([{ path: '/mnt/nas/potatostack', type: 'Directory' }, '', 'Retain']);
  expect(pv.metadata.annotations).toEqual(expect.objectContaining({ 'kustomize.toolkit.fluxcd.io/prune': 'disabled' }));
  expect(find(objects, 'PersistentVolumeClaim', 'kopia-offsite', 'apps').spec.storageClassName).toBe('');
  const script = find(objects, 'ConfigMap', 'kopia-scripts', 'apps').data[SCRIPT_FILES.offsite];
  expect(script).toContain('kopia repository sync-to filesystem --path="$COPY" --delete');
  expect(objects.filter((o) => o.kind === 'NetworkPolicy' && o.metadata.name === BACKUP_CRONJOBS.offsite)).toEqual([]);
});

test('the cache-disk copy is the same filesystem target on its claim', () => {
  expect(cacheDiskTarget().target).toEqual({ type: 'filesystem', args: ['--path="$COPY"'], description: 'the cache HDD' });
  expect(() => offsiteTarget(resolveConfig().kopia.offsite)).toThrow(/kopia\.offsite\.type 'none' has no copy target/);
});

test.each([
  ['an unknown type', { type: 'ftp' }, /kopia\.offsite\.type: 'ftp' is not allowed; expected one of 'none', 's3', 'b2', 'sftp', 'webdav', 'filesystem'/],
  ['s3 without a bucket', { type: 's3' }, /kopia\.offsite\.bucket: '' is not allowed; expected a value: kopia\.offsite\.type 's3' needs it/],
  ['an endpoint with a scheme', { type: 's3', bucket: 'potato-backups', endpoint: 'https://s3.example.org' }, /kopia\.offsite\.endpoint: 'https:\/\/s3\.example\.org' is not allowed; expected a host name with an optional port and no scheme/],
  ['sftp without host', { type: 'sftp', username: 'potato', path: '/srv' }, /kopia\.offsite\.host: '' is not allowed; expected a value/],
  ['sftp on port 0', { type: 'sftp', host: 'h.example.org', username: 'potato', path: '/srv', port: 0 }, /kopia\.offsite\.port: 0 is not allowed; expected a TCP port between 1 and 65535/],
  ['a relative sftp path', { type: 'sftp', host: 'h.example.org', username: 'potato', path: 'srv/x' }, /kopia\.offsite\.path: 'srv\/x' is not allowed; expected an absolute folder/],
  ['plain-http WebDAV', { type: 'webdav', url: 'http://dav.example.org/x' }, /kopia\.offsite\.url: 'http:\/\/dav\.example\.org\/x' is not allowed; expected an https URL/],
  ['a filesystem target on the main HDD', { type: 'filesystem', path: '/mnt/seconddrive/offsite' }, /kopia\.offsite\.path: '\/mnt\/seconddrive\/offsite' is not allowed; expected a folder off the stack's HDDs/],
  ['a weekly off-site copy', { type: 'b2', bucket: 'potato-backups', schedule: '0 7 * * 0' }, /kopia\.offsite\.schedule: '0 7 \* \* 0' is not allowed; expected a run every day/],
  ['a bad Secret name', { type: 'b2', bucket: 'potato-backups', secretName: 'Kopia_Offsite' }, /kopia\.offsite\.secretName: 'Kopia_Offsite' is not allowed; expected a Secret name/],
])('rejects %s with the prop, the value and what is allowed', (_name, props, message) => {
  expect(() => resolveConfig(offsite(props))).toThrow(message);
});
