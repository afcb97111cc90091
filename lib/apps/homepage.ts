import { createHash } from 'node:crypto';
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { stringify } from 'yaml';
import { COMPONENTS, PotatoStackConfig, WEB_UIS, WebUi, ZONES } from '../config';
import {
  ApiIdentity,
  ApiRule,
  AppDeployment,
  AppPolicy,
  PotatoChart,
  ProxiedWebUi,
  apiServerEgress,
  appLabels,
  hostFor,
  httpProbe,
  memoryLimitBytes,
  startupWindow,
} from '../constructs';

export const HOMEPAGE = 'homepage';
export const HOMEPAGE_SUBDOMAIN = 'home';
export const HOMEPAGE_PORT = 3000;
/** The image's `node` user. */
export const HOMEPAGE_UID = 1000;
/** Files of the generated configuration, each mounted into /app/config. */
export const HOMEPAGE_FILES = ['services.yaml', 'settings.yaml', 'kubernetes.yaml', 'widgets.yaml', 'bookmarks.yaml'] as const;

/**
 * What Homepage reads from the API: pod status of each listed app and the node/cluster
 * usage widget. Read-only, and nothing else (no Secrets, no ingress discovery).
 */
export const HOMEPAGE_CLUSTER_RULES: ApiRule[] = [
  { apiGroups: [''], resources: ['namespaces', 'pods', 'nodes'], verbs: ['get', 'list'] },
  { apiGroups: ['metrics.k8s.io'], resources: ['nodes', 'pods'], verbs: ['get', 'list'] },
];

/** The web UIs of the enabled components, in catalog order. */
export function enabledWebUis(config: PotatoStackConfig): WebUi[] {
  return WEB_UIS.filter((ui) => config.components[ui.component].enabled);
}

/** Namespace a component's pods run in. */
function namespaceOf(ui: WebUi): string {
  const zone = COMPONENTS[ui.component].zone;
  return zone === 'kube-system' || zone === 'flux-system' ? zone : ZONES[zone].namespace;
}

/**
 * services.yaml: one group per dashboard group, one entry per enabled web UI with its link;
 * `namespace` + `app` make Homepage show the pod's status and usage from the API (every pod
 * of the stack carries app.kubernetes.io/name = its component), so it probes no web ports.
 */
export function renderServices(config: PotatoStackConfig): string {
  const groups = new Map<string, Record<string, unknown>[]>();
  for (const ui of enabledWebUis(config)) {
    const entries = groups.get(ui.group) ?? [];
    entries.push({
      [ui.title]: {
        href: `https://${hostFor(config, ui.subdomain)}`,
        description: ui.description,
        namespace: namespaceOf(ui),
        app: ui.component,
      },
    });
    groups.set(ui.group, entries);
  }
  return stringify([...groups].map(([group, entries]) => ({ [group]: entries })));
}

export function renderSettings(): string {
  return stringify({ title: 'PotatoStack', theme: 'dark', color: 'slate', headerStyle: 'clean', hideVersion: true, statusStyle: 'dot' });
}

/** In-cluster ServiceAccount; ingress/IngressRoute/Gateway discovery off (the services list is generated). */
export function renderKubernetes(): string {
  return stringify({ mode: 'cluster', ingress: false, traefik: false, gateway: false });
}

export function renderWidgets(): string {
  return stringify([
    {
      kubernetes: {
        cluster: { show: true, cpu: true, memory: true, showLabel: true, label: 'k3s' },
        nodes: { show: true, cpu: true, memory: true, showLabel: true },
      },
    },
  ]);
}

export function renderBookmarks(): string {
  return stringify([]);
}

export function renderHomepageConfig(config: PotatoStackConfig): Record<(typeof HOMEPAGE_FILES)[number], string> {
  return {
    'services.yaml': renderServices(config),
    'settings.yaml': renderSettings(),
    'kubernetes.yaml': renderKubernetes(),
    'widgets.yaml': renderWidgets(),
    'bookmarks.yaml': renderBookmarks(),
  };
}

export interface HomepageProps {
  readonly namespace: string;
}

/**
 * Homepage dashboard. /app/config is an emptyDir (Homepage copies its skeleton files and
 * creates logs/ there at start) with the generated files mounted over it one by one
 * (subPath); a hash annotation restarts the pod when they change, since subPath mounts do
 * not follow ConfigMap updates.
 */
export class Homepage extends Construct {
  readonly serviceName = HOMEPAGE;

  constructor(scope: Construct, id: string, props: HomepageProps) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const { config } = chart;
    const { namespace } = props;
    const host = hostFor(config, HOMEPAGE_SUBDOMAIN);
    const size = chart.size('homepage', 'homepage');
    const files = renderHomepageConfig(config);
    const configMapName = `${HOMEPAGE}-config`;
    const hash = createHash('sha256').update(JSON.stringify(files)).digest('hex').slice(0, 16);
    const limitMi = Math.floor(memoryLimitBytes(size) / 1024 ** 2);

    new k8s.KubeConfigMap(this, 'Config', { metadata: { name: configMapName, namespace, labels: appLabels(HOMEPAGE, 'config') }, data: files });
    new ApiIdentity(this, 'ApiIdentity', { name: HOMEPAGE, namespace, rules: HOMEPAGE_CLUSTER_RULES });

    const probe = (extra: { periodSeconds?: number; failureThreshold?: number } = {}) =>
      httpProbe('/api/healthcheck', 'http', { headers: { Host: host }, ...extra });
    new AppDeployment(this, 'Deployment', {
      name: HOMEPAGE,
      namespace,
      role: 'dashboard',
      runAs: { uid: HOMEPAGE_UID, gid: HOMEPAGE_UID },
      serviceAccountName: HOMEPAGE,
      annotations: { 'potatostack.io/config-hash': hash },
      volumes: [
        { name: 'config-files', configMap: configMapName },
        { name: 'config', emptyDir: { sizeLimit: '16Mi' } },
        { name: 'next-cache', emptyDir: { sizeLimit: '64Mi' } },
        { name: 'tmp', emptyDir: { sizeLimit: '64Mi' } },
      ],
      containers: [
        {
          name: HOMEPAGE,
          image: 'homepage',
          size,
          env: {
            // Homepage answers only for these Host headers.
            HOMEPAGE_ALLOWED_HOSTS: host,
            LOG_TARGETS: 'stdout',
            // Keep V8's heap inside the container limit.
            NODE_OPTIONS: `--max-old-space-size=${Math.max(32, Math.floor(limitMi * 0.6))}`,
            TZ: config.timezone,
          },
          ports: [{ name: 'http', port: HOMEPAGE_PORT }],
          mounts: [
            { volume: 'config', path: '/app/config' },
            ...HOMEPAGE_FILES.map((file) => ({ volume: 'config-files', path: `/app/config/${file}`, subPath: file, readOnly: true })),
            { volume: 'next-cache', path: '/app/.next/cache' },
            { volume: 'tmp', path: '/tmp' },
          ],
          probes: { startup: startupWindow(probe(), 3), liveness: probe({ periodSeconds: 30 }) },
        },
      ],
    });

    const ui = new ProxiedWebUi(this, 'Ui', { name: HOMEPAGE, namespace, role: 'dashboard', subdomain: HOMEPAGE_SUBDOMAIN, port: HOMEPAGE_PORT });

    new AppPolicy(this, 'Policy', {
      name: HOMEPAGE,
      namespace,
      app: HOMEPAGE,
      ingress: [ui.ingressRule],
      egress: apiServerEgress(config),
    });
  }
}
