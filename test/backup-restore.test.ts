import * as fs from 'node:fs';
import * as path from 'node:path';
import { resolveConfig } from '../lib/config';
import { RestoreRequest, SNAPSHOT_SOURCE, renderRunbook, restorableApps, restoreManifests, restoreRunbook, restoreSteps } from '../lib/apps/backup/restore';
import { RESTORE_DOC_EXAMPLE, renderDocs } from '../lib/docs';
import { fullConfig, synthObjects } from './helpers';

const config = resolveConfig();
const request: RestoreRequest = { app: 'nextcloud', snapshot: 'latest', from: 'main', restoreId: '20261130T120000Z' };
const objects = restoreManifests(config, request);
const job = objects.find((o) => o.kind === 'Job');
const spec = job.spec.template.spec;
const env = (container: any): Record<string, any> => Object.fromEntries(container.env.map((e: any) => [e.name, e.value ?? e.valueFrom]));

describe('what can be restored', () => {
  test("every app with data on the main disk, with its database's dump where it has one", () => {
    expect(restorableApps(config).map((a) => a.app).sort()).toEqual(['gitea', 'nextcloud', 'vpn']);
    const apps = restorableApps(fullConfig());
    expect(apps.map((a) => a.app).sort()).toEqual(['alertmanager', 'gitea', 'grafana', 'loki', 'nextcloud', 'portainer', 'prometheus', 'slskd', 'uptime-kuma', 'vpn'].sort());
    expect(apps.find((a) => a.app === 'nextcloud')).toEqual(expect.objectContaining({ folders: ['nextcloud'], namespace: 'apps', deployments: ['nextcloud'], cronjobs: ['nextcloud-cron'] }));
    expect(apps.find((a) => a.app === 'nextcloud')?.database?.server).toBe('mariadb');
    expect(apps.find((a) => a.app === 'gitea')?.database?.server).toBe('postgres');
    expect(apps.find((a) => a.app === 'vpn')).toEqual(expect.objectContaining({ folders: ['qbittorrent'], namespace: 'vpn', deployments: ['vpn'], database: undefined }));
    expect(apps.find((a) => a.app === 'slskd')).toEqual(expect.objectContaining({ folders: ['slskd'], namespace: 'vpn', deployments: ['vpn'] }));
  });

  test.each([
    ['an app without data', { app: 'homepage' }, /restore app: 'homepage' is not allowed; expected one of /],
    ['a database on its own', { app: 'mariadb' }, /restore app: 'mariadb' is not allowed/],
    ['a made-up snapshot', { snapshot: 'yesterday' }, /restore snapshot: 'yesterday' is not allowed; expected 'latest' or a snapshot manifest ID/],
    ['an unknown repository', { from: 'tape' }, /restore from: 'tape' is not allowed; expected 'main' or 'copy'/],
    ['a path as restore ID', { restoreId: '../x' }, /restore restoreId: '..\/x' is not allowed/],
  ])('rejects %s, naming the value and what is allowed', (_name, change, message) => {
    expect(() => restoreManifests(config, { ...request, ...change } as RestoreRequest)).toThrow(message);
  });

  test('the copy is only a source while it is kept', () => {
    expect(() => restoreManifests(resolveConfig({ kopia: { copy: { enabled: false } } }), { ...request, from: 'copy' })).toThrow(/restore from: 'copy' is not allowed while kopia\.copy\.enabled is false/);
  });
});

describe('the restore objects', () => {
  test('a PV of the main disk and its claim (Retain), the Job, and the Job\'s database egress: nothing else', () => {
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['PersistentVolume/kopia-restore-disk', 'PersistentVolumeClaim/kopia-restore-disk', 'Job/kopia-restore', 'NetworkPolicy/kopia-restore']);
    const pv = objects[0];
    expect([pv.spec.hostPath, pv.spec.persistentVolumeReclaimPolicy, pv.spec.claimRef]).toEqual([{ path: '/mnt/seconddrive', type: 'Directory' }, 'Retain', { name: 'kopia-restore-disk', namespace: 'apps' }]);
    expect(objects[3].spec.egress).toEqual([{ to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'data' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'mariadb' } } }], ports: [{ port: 3306, protocol: 'TCP' }] }]);
  });

  test('never part of dist/: no GitOps sync ever starts a restore', () => {
    expect(synthObjects().filter((o) => o.metadata.name === 'kopia-restore' && o.kind !== 'NetworkPolicy')).toEqual([]);
    expect(synthObjects().filter((o) => o.kind === 'Job')).toEqual([]);
  });

  test('the Job runs once, never retried by itself, and its steps are the generator\'s in order', () => {
    expect([job.spec.backoffLimit, spec.restartPolicy]).toEqual([0, 'Never']);
    expect([...spec.initContainers, ...spec.containers].map((c: any) => c.name)).toEqual(restoreSteps(config, request).map((s) => s.container));
    expect(restoreSteps(config, request).map((s) => s.container)).toEqual(['restore-files', 'restore-mariadb']);
    expect(restoreSteps(config, { ...request, app: 'vpn' }).map((s) => s.container)).toEqual(['restore-files']);
  });

  test('the file step reads the chosen repository read-only and writes the disk, as root with CHOWN, DAC_OVERRIDE and FOWNER', () => {
    const files = spec.initContainers[0];
    expect(env(files)).toEqual(expect.objectContaining({ SNAPSHOT: 'latest', SNAPSHOT_SOURCE, DISK: '/disk', FOLDERS: 'nextcloud', DUMPS_FOLDER: 'backups/databases', RESTORE_ID: '20261130T120000Z' }));
    expect(files.volumeMounts.find((m: any) => m.name === 'repository')).toEqual({ name: 'repository', mountPath: '/repository', readOnly: true });
    expect(spec.volumes.find((v: any) => v.name === 'repository').persistentVolumeClaim).toEqual({ claimName: 'kopia-repository', readOnly: true });
    expect(files.securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER'] });
    const fromCopy = restoreManifests(config, { ...request, from: 'copy' }).find((o) => o.kind === 'Job');
    expect(fromCopy.spec.template.spec.volumes.find((v: any) => v.name === 'repository').persistentVolumeClaim.claimName).toBe('kopia-copy');
  });

  test('the database step loads the staged dump as the app\'s user, read-only on the disk', () => {
    const db = spec.containers[0];
    expect(env(db)).toEqual(expect.objectContaining({ DUMPS: '/disk/.potatostack-restore/20261130T120000Z/dumps', DB_USER: 'nextcloud', MYSQL_PWD: { secretKeyRef: { name: 'nextcloud-db', key: 'password' } } }));
    expect(db.volumeMounts.find((m: any) => m.name === 'disk').readOnly).toBe(true);
    expect(db.securityContext.runAsNonRoot).toBe(true);
  });
});

describe('the runbook', () => {
  const steps = restoreRunbook(config, request);
  const commands = steps.flatMap((s) => s.commands);

  test('stops the app and every backup job before the restore, starts them after, and keeps what it replaced', () => {
    const at = (text: string) => commands.findIndex((c) => c.includes(text));
    expect(at('scale deployment nextcloud --replicas=0')).toBeLessThan(at('kubectl apply -f restore-nextcloud'));
    for (const cron of ['nextcloud-cron', 'kopia-snapshot', 'kopia-copy', 'kopia-verify', 'kopia-maintenance']) {
      expect(at(`patch cronjob ${cron} -p '{"spec":{"suspend":true}}'`)).toBeLessThan(at('kubectl apply -f'));
      expect(at(`patch cronjob ${cron} -p '{"spec":{"suspend":false}}'`)).toBeGreaterThan(at('kubectl delete -f'));
    }
    expect(at('wait --for=condition=complete job/kopia-restore')).toBeGreaterThan(at('kubectl apply -f'));
    expect(commands[commands.length - 1]).toBe('sudo rm -rf /mnt/seconddrive/.potatostack-restore/20261130T120000Z');
    expect(at('npm run --silent restore -- nextcloud --snapshot latest --from main --id 20261130T120000Z')).toBeGreaterThan(-1);
  });

  test('docs/backups.md shows the generated runbook and restore steps (run `npm run docs`)', () => {
    const doc = fs.readFileSync(path.join(__dirname, '..', 'docs', 'backups.md'), 'utf8');
    const generated = renderDocs(config).find((d) => d.file === 'docs/backups.md');
    expect(generated?.rendered).toBe(doc);
    expect(doc).toContain(renderRunbook(restoreRunbook(config, RESTORE_DOC_EXAMPLE)));
  });
});
