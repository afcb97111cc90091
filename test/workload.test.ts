import { App } from 'cdk8s';
import { resolveConfig } from '../lib/config';
import { AppDeployment, LongRunningContainerProps, NodeDaemonSet, PotatoChart, ScheduledJob, httpProbe, memoryLimitBytes, startupWindow, tcpProbe } from '../lib/constructs';

const config = resolveConfig();
const size = config.components.gitea.containers.gitea;

function chart(): PotatoChart {
  return new PotatoChart(new App({ outdir: '/nonexistent-outdir' }), 'test', config);
}

const web: LongRunningContainerProps = {
  name: 'web',
  image: 'gitea',
  size,
  ports: [{ name: 'http', port: 3000 }],
  probes: { startup: startupWindow(httpProbe('/healthz', 'http'), 5), liveness: tcpProbe('http') },
};

describe('priority class', () => {
  test("a pod takes the tier of the component that sizes its first container", () => {
    const c = chart();
    new AppDeployment(c, 'd', { name: 'gitea', namespace: 'apps', role: 'server', containers: [{ ...web, name: 'gitea' }], runAs: { uid: 1, gid: 1 } });
    expect(c.toJson()[0].spec.template.spec.priorityClassName).toBe('potatostack-apps');
  });

  test('an explicit tier wins, and a pod no component sizes must name one', () => {
    const c = chart();
    new AppDeployment(c, 'd', { name: 'gitea', namespace: 'apps', role: 'server', priority: 'potatostack-optional', containers: [{ ...web, name: 'gitea' }], runAs: { uid: 1, gid: 1 } });
    expect(c.toJson()[0].spec.template.spec.priorityClassName).toBe('potatostack-optional');
    expect(() => new AppDeployment(chart(), 'd', { name: 'demo', namespace: 'apps', role: 'server', containers: [web], runAs: { uid: 1, gid: 1 } })).toThrow(
      "demo: no component sizes container 'web', so its priority tier is unknown; pass priority",
    );
  });
});

describe('AppDeployment', () => {
  test('renders the house defaults', () => {
    const c = chart();
    new AppDeployment(c, 'd', { name: 'demo', namespace: 'apps', role: 'server', priority: 'potatostack-apps', containers: [web], runAs: { uid: 1000, gid: 1000 } });
    const [d] = c.toJson();
    expect(d.metadata).toMatchObject({ name: 'demo', namespace: 'apps' });
    expect(d.spec.replicas).toBe(1);
    expect(d.spec.strategy).toEqual({ type: 'Recreate' });
    expect(d.spec.selector.matchLabels).toEqual({ 'app.kubernetes.io/name': 'demo', 'app.kubernetes.io/instance': 'demo' });
    const pod = d.spec.template.spec;
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.enableServiceLinks).toBe(false);
    expect(pod.securityContext).toEqual({ runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, fsGroupChangePolicy: 'OnRootMismatch', seccompProfile: { type: 'RuntimeDefault' } });
    const [container] = pod.containers;
    expect(container.image).toBe(config.images.gitea);
    expect(container.imagePullPolicy).toBe('IfNotPresent');
    expect(container.resources).toEqual({ requests: size.requests, limits: size.limits });
    expect(container.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(container.startupProbe.failureThreshold).toBe(30);
    expect(d.spec.template.metadata.annotations).toEqual({ 'diun.enable': 'true' });
    expect(d.spec.template.metadata.labels['app.kubernetes.io/version']).toBe(config.images.gitea.split(':').pop());
  });

  test('native sidecars become init containers with restartPolicy Always, ahead of the app', () => {
    const c = chart();
    new AppDeployment(c, 'd', { name: 'demo', namespace: 'apps', role: 'server', priority: 'potatostack-apps', containers: [web], sidecars: [{ ...web, name: 'proxy' }], runAs: { uid: 1, gid: 1 } });
    const pod = c.toJson()[0].spec.template.spec;
    expect(pod.initContainers.map((x: any) => [x.name, x.restartPolicy])).toEqual([['proxy', 'Always']]);
    expect(pod.containers.map((x: any) => x.name)).toEqual(['web']);
  });

  test('a security exception loosens only what it names and is explained in an annotation', () => {
    const c = chart();
    new AppDeployment(c, 'd', {
      name: 'demo',
      namespace: 'apps',
      role: 'server',
      priority: 'potatostack-apps',
      runAs: { uid: 1, gid: 1 },
      containers: [{ ...web, securityException: { reason: 'needs to create a tun device', addCapabilities: ['NET_ADMIN'] } }],
    });
    const d = c.toJson()[0];
    expect(d.spec.template.spec.containers[0].securityContext.capabilities).toEqual({ drop: ['ALL'], add: ['NET_ADMIN'] });
    expect(d.spec.template.spec.containers[0].securityContext.runAsNonRoot).toBe(true);
    expect(d.spec.template.metadata.annotations['potatostack.io/security-exception.web']).toBe('needs to create a tun device');
  });

  test('bad pod definitions fail with the workload and the problem', () => {
    expect(() => new AppDeployment(chart(), 'd', { name: 'demo', namespace: 'apps', role: 'server', priority: 'potatostack-apps', containers: [web] })).toThrow(
      'demo: runAs is required unless every container runs as its own UID or has a runAsRoot security exception',
    );
    expect(() => new AppDeployment(chart(), 'd', { name: 'demo', namespace: 'apps', role: 'server', priority: 'potatostack-apps', containers: [web, web], runAs: { uid: 1, gid: 1 } })).toThrow(
      "demo: two containers are named 'web'",
    );
    expect(
      () =>
        new AppDeployment(chart(), 'd', { name: 'demo', namespace: 'apps', role: 'server', priority: 'potatostack-apps', containers: [{ ...web, mounts: [{ volume: 'data', path: '/data' }] }], runAs: { uid: 1, gid: 1 } }),
    ).toThrow("demo/web: mounts volume 'data' that the pod does not declare");
  });

  test('a ServiceAccount is mounted only when named', () => {
    const c = chart();
    new AppDeployment(c, 'd', { name: 'demo', namespace: 'apps', role: 'server', priority: 'potatostack-apps', containers: [web], runAs: { uid: 1, gid: 1 }, serviceAccountName: 'demo' });
    const pod = c.toJson()[0].spec.template.spec;
    expect([pod.serviceAccountName, pod.automountServiceAccountToken]).toEqual(['demo', true]);
  });
});

test('ScheduledJob never overlaps, uses the configured time zone and OnFailure restarts', () => {
  const c = chart();
  new ScheduledJob(c, 'j', {
    name: 'job',
    namespace: 'apps',
    role: 'cron',
    priority: 'potatostack-optional',
    schedule: '*/5 * * * *',
    runAs: { uid: 33, gid: 33 },
    containers: [{ name: 'run', image: 'busybox', size, command: ['true'] }],
  });
  const [job] = c.toJson();
  expect(job.kind).toBe('CronJob');
  expect(job.spec).toMatchObject({ schedule: '*/5 * * * *', timeZone: 'Europe/Berlin', concurrencyPolicy: 'Forbid' });
  expect(job.spec.jobTemplate.spec.template.spec.restartPolicy).toBe('OnFailure');
});

describe('NodeDaemonSet', () => {
  test('shares name, labels, selector and pod template with AppDeployment, but rolls one node at a time', () => {
    const c = chart();
    const props = { name: 'demo', namespace: 'monitoring', role: 'exporter', priority: 'potatostack-alerting' as const, containers: [web], runAs: { uid: 1000, gid: 1000 } };
    const deployment = new AppDeployment(c, 'd', props);
    const daemonSet = new NodeDaemonSet(c, 'ds', props);
    expect([daemonSet.name, daemonSet.namespace, daemonSet.selector]).toEqual([deployment.name, deployment.namespace, deployment.selector]);
    const [d, ds] = c.toJson();
    expect(ds.kind).toBe('DaemonSet');
    expect(ds.metadata).toEqual(d.metadata);
    expect(ds.spec.selector).toEqual(d.spec.selector);
    expect(ds.spec.template).toEqual(d.spec.template);
    expect(ds.spec.revisionHistoryLimit).toBe(3);
    expect(ds.spec.updateStrategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } });
    expect(ds.spec.replicas).toBeUndefined();
    expect(ds.spec.strategy).toBeUndefined();
  });
});

describe('memoryLimitBytes', () => {
  test('reads the limit, not the request, and refuses what it cannot parse', () => {
    expect(memoryLimitBytes({ requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '100m', memory: '96Mi' } })).toBe(96 * 1024 ** 2);
    expect(() => memoryLimitBytes({ requests: { cpu: '10m', memory: '32Mi' }, limits: { cpu: '100m', memory: '96MB' } })).toThrow("unparsable memory limit '96MB'");
  });
});
