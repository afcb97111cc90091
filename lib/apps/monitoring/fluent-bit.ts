import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { ZONES } from '../../config';
import { AppPolicy, NodeDaemonSet, PotatoChart, appLabels, httpProbe, startupWindow } from '../../constructs';
import { prometheusPeer, scrapeAnnotations } from './peers';
import { LOKI_PORT, LOKI_SERVICE } from './loki';

const NAMESPACE = ZONES.monitoring.namespace;
export const FLUENT_BIT_HTTP_PORT = 2020;
const CONFIG_DIR = '/fluent-bit/etc';
const STATE_DIR = '/fluent-bit/state';
/** Every container log file on the node: /var/log/pods/<ns>_<pod>_<uid>/<container>/<n>.log. */
export const POD_LOG_GLOB = '/var/log/pods/*/*/*.log';
/** The stream labels every log line gets in Loki. */
export const LOG_LABELS = ['namespace', 'pod', 'container', 'app'] as const;

/** Namespace, pod, pod UID and container from the log file path kubelet writes. */
export const POD_PATH_REGEX = '^/var/log/pods/(?<namespace>[^_/]+)_(?<pod>[^_/]+)_(?<pod_uid>[^_/]+)/(?<container>[^/]+)/';
/**
 * The owning app from the pod name: strips a ReplicaSet hash plus pod suffix (Deployment),
 * a CronJob's scheduled-minute number plus suffix, or a DaemonSet's suffix. Kubernetes draws
 * hashes and suffixes from an alphabet without vowels, so words such as `-exporter` or
 * `-postgres` are never mistaken for one. Pods named otherwise keep their full name.
 */
const HASH = '[bcdfghjklmnpqrstvwxz2456789]';
export const APP_FROM_POD_REGEX = `^(?<app>[a-z0-9-]+?)(?:(?:-${HASH}{6,10}|-[0-9]{8,})?-${HASH}{5})?$`;

/** Parsers of the pipeline (the CRI line parser is one of fluent-bit's built-in multiline parsers). */
export function fluentBitParsers(): string {
  return [
    '[PARSER]',
    '    Name   pod-log-path',
    '    Format regex',
    `    Regex  ${POD_PATH_REGEX}`,
    '',
    '[PARSER]',
    '    Name   app-from-pod',
    '    Format regex',
    `    Regex  ${APP_FROM_POD_REGEX}`,
    '',
  ].join('\n');
}

/**
 * The pipeline: tail the CRI logs, take the labels from the file path (no Kubernetes API
 * lookups), ship to Loki with only the log line as the entry.
 */
export function fluentBitConfig(): string {
  return [
    '[SERVICE]',
    '    Flush                  5',
    '    Log_Level              warn',
    `    Parsers_File           ${CONFIG_DIR}/parsers.conf`,
    '    HTTP_Server            On',
    '    HTTP_Listen            0.0.0.0',
    `    HTTP_Port              ${FLUENT_BIT_HTTP_PORT}`,
    // /api/v1/health turns unhealthy after 5 output errors or 5 failed retries within 60 s.
    '    Health_Check           On',
    '    HC_Errors_Count        5',
    '    HC_Retry_Failure_Count 5',
    '    HC_Period              60',
    '',
    '[INPUT]',
    '    Name              tail',
    '    Tag               kube.*',
    `    Path              ${POD_LOG_GLOB}`,
    '    multiline.parser  cri',
    '    Path_Key          filename',
    // Offsets survive container restarts (emptyDir); a new pod starts at the end of each file.
    `    DB                ${STATE_DIR}/tail.db`,
    '    DB.locking        true',
    '    Read_from_Head    false',
    // Back-pressure instead of memory growth while Loki is slow or down.
    '    Mem_Buf_Limit     4MB',
    '    Buffer_Chunk_Size 32k',
    '    Buffer_Max_Size   128k',
    '    Skip_Long_Lines   On',
    '    Refresh_Interval  10',
    '',
    '[FILTER]',
    '    Name         parser',
    '    Match        kube.*',
    '    Key_Name     filename',
    '    Parser       pod-log-path',
    '    Reserve_Data On',
    '',
    '[FILTER]',
    '    Name         parser',
    '    Match        kube.*',
    '    Key_Name     pod',
    '    Parser       app-from-pod',
    '    Reserve_Data On',
    '    Preserve_Key On',
    '',
    '[OUTPUT]',
    '    Name            loki',
    '    Match           kube.*',
    `    Host            ${LOKI_SERVICE}.${NAMESPACE}.svc`,
    `    Port            ${LOKI_PORT}`,
    `    Labels          job=fluent-bit, ${LOG_LABELS.map((l) => `${l}=$${l}`).join(', ')}`,
    `    Remove_Keys     ${[...LOG_LABELS, 'filename', 'pod_uid', 'stream', '_p'].join(', ')}`,
    // Only `log` is left: send it as the plain line, not as JSON.
    '    Drop_Single_Key raw',
    '    Line_Format     json',
    '    Retry_Limit     5',
    '    Workers         1',
    '',
  ].join('\n');
}

/**
 * fluent-bit DaemonSet shipping every pod's log to Loki.
 *
 * Why no kubernetes filter: it would need a ServiceAccount, a ClusterRole on pods and
 * namespaces, API egress and a metadata cache in memory, just to learn what the file path
 * already says (namespace, pod, container). The `app` label comes from the pod name.
 */
export class FluentBit extends Construct {
  constructor(scope: Construct, id: string) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const name = 'fluent-bit';
    new k8s.KubeConfigMap(this, 'Config', {
      metadata: { name: 'fluent-bit-config', namespace: NAMESPACE, labels: appLabels(name, 'config') },
      data: { 'fluent-bit.conf': fluentBitConfig(), 'parsers.conf': fluentBitParsers() },
    });
    new NodeDaemonSet(this, 'DaemonSet', {
      name,
      namespace: NAMESPACE,
      role: 'log-shipper',
      annotations: scrapeAnnotations(FLUENT_BIT_HTTP_PORT, '/api/v2/metrics/prometheus'),
      containers: [
        {
          name,
          image: 'fluent-bit',
          size: chart.size('fluent-bit', 'fluent-bit'),
          args: ['--config', `${CONFIG_DIR}/fluent-bit.conf`],
          ports: [{ name: 'http', port: FLUENT_BIT_HTTP_PORT }],
          securityException: {
            reason:
              'reads /var/log/pods, whose log files kubelet creates root-owned with mode 0640: runs as UID 0 (no capabilities, read-only host mount, read-only root filesystem)',
            runAsRoot: true,
          },
          mounts: [
            { volume: 'pod-logs', path: '/var/log/pods', readOnly: true },
            { volume: 'config', path: CONFIG_DIR, readOnly: true },
            { volume: 'state', path: STATE_DIR },
          ],
          probes: {
            startup: startupWindow(httpProbe('/api/v1/uptime', 'http'), 2),
            // Unready (not restarted) while Loki refuses logs: restarting would not help.
            readiness: httpProbe('/api/v1/health', 'http', { periodSeconds: 30 }),
            liveness: httpProbe('/api/v1/uptime', 'http', { periodSeconds: 30 }),
          },
        },
      ],
      volumes: [
        // /var/log/pods holds symlink-free files; /var/log/containers (symlinks) is not needed.
        { name: 'pod-logs', hostPath: '/var/log/pods', type: 'Directory' },
        { name: 'config', configMap: 'fluent-bit-config' },
        { name: 'state', emptyDir: { sizeLimit: '16Mi' } },
      ],
    });
    new AppPolicy(this, 'Policy', {
      name: 'fluent-bit-flows',
      namespace: NAMESPACE,
      app: name,
      ingress: chart.enabled('prometheus') ? [{ peers: [prometheusPeer], ports: [{ port: FLUENT_BIT_HTTP_PORT }] }] : undefined,
      egress: [{ peers: [{ app: LOKI_SERVICE, namespace: NAMESPACE }], ports: [{ port: LOKI_PORT }] }],
    });
  }
}
