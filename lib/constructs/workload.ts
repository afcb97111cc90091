import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { COMPONENTS, PriorityTierName, componentOfContainer } from '../config';
import { PotatoChart } from './chart';
import { LongRunningContainerProps, RunToCompletionContainerProps, SecurityException, renderContainer } from './container';
import { appLabels, selectorLabels, VERSION_LABEL, versionOf } from './labels';

/** Annotation Diun's Kubernetes provider reads to decide which pods to watch. */
export const DIUN_ANNOTATION = 'diun.enable';
/** Annotation prefix explaining each container's security exception. */
export const SECURITY_EXCEPTION_ANNOTATION = 'potatostack.io/security-exception';

/** A pod volume: a claim of the storage layout, an emptyDir, a ConfigMap, a Secret, or a host path. */
export type PodVolume =
  | { readonly name: string; readonly claim: string; readonly readOnly?: boolean }
  | { readonly name: string; readonly emptyDir: { readonly sizeLimit?: string; readonly medium?: 'Memory' } }
  | { readonly name: string; readonly configMap: string; readonly defaultMode?: number }
  | {
      readonly name: string;
      readonly secret: string;
      readonly optional?: boolean;
      readonly defaultMode?: number;
      /** Mount only these keys, each as its own file; a key missing from the Secret then blocks the pod with an event naming it. @default every key */
      readonly items?: readonly { readonly key: string; readonly path: string }[];
    }
  | {
      readonly name: string;
      readonly hostPath: string;
      /**
       * `DirectoryOrCreate` only for a folder of the root file system that a node may lack (never for
       * HDD data: a disk that is not mounted must stop the pod, not let it write to the SD card).
       */
      readonly type: 'Directory' | 'DirectoryOrCreate' | 'File' | 'CharDevice' | 'BlockDevice' | 'Socket';
    };

/** The identity of a pod: who it runs as when no container overrides it. */
export interface RunAs {
  readonly uid: number;
  readonly gid: number;
  /** Supplementary group applied to emptyDirs and Secrets; never used to chown host paths. @default gid */
  readonly fsGroup?: number;
}

export interface PodProps {
  /** Workload name; also app.kubernetes.io/name and the selector. */
  readonly name: string;
  readonly namespace: string;
  /** app.kubernetes.io/component: server, database, exporter, ... */
  readonly role: string;
  readonly containers: LongRunningContainerProps[];
  /** Native sidecars (init containers with restartPolicy Always), started in order before the containers. @default none */
  readonly sidecars?: LongRunningContainerProps[];
  /** Init containers that run to completion before the sidecars after them and the containers. @default none */
  readonly initContainers?: RunToCompletionContainerProps[];
  /**
   * Init containers that run to completion after the sidecars have started (each sidecar's
   * startup probe passed) and before the containers: steps that need a sidecar's service. @default none
   */
  readonly initContainersAfterSidecars?: RunToCompletionContainerProps[];
  /** @default none */
  readonly volumes?: PodVolume[];
  /** UID/GID of the pod. Required unless every container runs as root by an explicit exception. */
  readonly runAs?: RunAs;
  /** ServiceAccount whose token is mounted. @default none: no API token in the pod */
  readonly serviceAccountName?: string;
  /** Run in the node's network namespace (bypasses NetworkPolicy: exporters only). @default false */
  readonly hostNetwork?: boolean;
  /** Share the host PID namespace (node-exporter's process metrics). @default false */
  readonly hostPID?: boolean;
  /** @default cluster DNS */
  readonly dnsPolicy?: string;
  /** @default none */
  readonly dnsConfig?: k8s.PodDnsConfig;
  /** Whether Diun watches the images of this pod. @default true */
  readonly watchImages?: boolean;
  /** @default none */
  readonly annotations?: Record<string, string>;
  /** @default 30 */
  readonly terminationGracePeriodSeconds?: number;
  /** @default none */
  readonly tolerations?: k8s.Toleration[];
  /** Pins the pod to matching nodes (node agents bound to the storage node's disks). @default any node */
  readonly nodeSelector?: Record<string, string>;
  /** Eviction and preemption class. @default the tier of the component that sizes the first container */
  readonly priority?: PriorityTierName;
  /** Namespaced kernel parameters of the pod (only the Kubernetes "safe" set passes Pod Security). @default none */
  readonly sysctls?: Readonly<Record<string, string>>;
}

function renderVolume(volume: PodVolume): k8s.Volume {
  if ('claim' in volume) return { name: volume.name, persistentVolumeClaim: { claimName: volume.claim, readOnly: volume.readOnly } };
  if ('emptyDir' in volume) {
    return {
      name: volume.name,
      emptyDir: { medium: volume.emptyDir.medium, sizeLimit: volume.emptyDir.sizeLimit ? k8s.Quantity.fromString(volume.emptyDir.sizeLimit) : undefined },
    };
  }
  if ('configMap' in volume) return { name: volume.name, configMap: { name: volume.configMap, defaultMode: volume.defaultMode } };
  if ('secret' in volume) {
    const items = volume.items?.map((i) => ({ key: i.key, path: i.path }));
    return { name: volume.name, secret: { secretName: volume.secret, optional: volume.optional, defaultMode: volume.defaultMode, items } };
  }
  return { name: volume.name, hostPath: { path: volume.hostPath, type: volume.type } };
}

function exceptionAnnotations(containers: { name: string; securityException?: SecurityException }[]): Record<string, string> {
  const result: Record<string, string> = {};
  for (const c of containers) {
    if (c.securityException) result[`${SECURITY_EXCEPTION_ANNOTATION}.${c.name}`] = c.securityException.reason;
  }
  return result;
}

/** Renders the pod template every workload kind shares. */
export function renderPodTemplate(scope: Construct, props: PodProps, restartPolicy?: string): k8s.PodTemplateSpec {
  const chart = PotatoChart.of(scope);
  const all = [...(props.initContainers ?? []), ...(props.sidecars ?? []), ...(props.initContainersAfterSidecars ?? []), ...props.containers];
  const names = new Set<string>();
  for (const c of all) {
    if (names.has(c.name)) throw new Error(`${props.name}: two containers are named '${c.name}'`);
    names.add(c.name);
  }
  const declared = new Set((props.volumes ?? []).map((v) => v.name));
  for (const c of all) {
    for (const m of c.mounts ?? []) {
      if (!declared.has(m.volume)) throw new Error(`${props.name}/${c.name}: mounts volume '${m.volume}' that the pod does not declare`);
    }
  }
  if (!props.runAs && !all.every((c) => c.securityException?.runAsRoot || c.runAs)) {
    throw new Error(`${props.name}: runAs is required unless every container runs as its own UID or has a runAsRoot security exception`);
  }
  const mainImage = chart.image(props.containers[0].image);
  const component = componentOfContainer(props.containers[0].name);
  const priority = props.priority ?? (component ? COMPONENTS[component].priority : undefined);
  if (!priority) throw new Error(`${props.name}: no component sizes container '${props.containers[0].name}', so its priority tier is unknown; pass priority`);
  return {
    metadata: {
      labels: { ...appLabels(props.name, props.role), [VERSION_LABEL]: versionOf(mainImage) },
      annotations: {
        ...(props.watchImages === false ? {} : { [DIUN_ANNOTATION]: 'true' }),
        ...exceptionAnnotations(all),
        ...props.annotations,
      },
    },
    spec: {
      priorityClassName: priority,
      automountServiceAccountToken: props.serviceAccountName !== undefined,
      serviceAccountName: props.serviceAccountName,
      enableServiceLinks: false,
      hostNetwork: props.hostNetwork,
      hostPid: props.hostPID,
      dnsPolicy: props.dnsPolicy,
      dnsConfig: props.dnsConfig,
      restartPolicy,
      terminationGracePeriodSeconds: props.terminationGracePeriodSeconds,
      tolerations: props.tolerations,
      nodeSelector: props.nodeSelector,
      securityContext: {
        runAsUser: props.runAs?.uid,
        runAsGroup: props.runAs?.gid,
        fsGroup: props.runAs ? (props.runAs.fsGroup ?? props.runAs.gid) : undefined,
        // hostPath volumes ignore fsGroup; the host preparation script sets their owners.
        fsGroupChangePolicy: props.runAs ? 'OnRootMismatch' : undefined,
        seccompProfile: { type: 'RuntimeDefault' },
        sysctls: props.sysctls ? Object.entries(props.sysctls).map(([name, value]) => ({ name, value })) : undefined,
      },
      initContainers: [
        ...(props.initContainers ?? []).map((c) => renderContainer(c, chart.image(c.image))),
        ...(props.sidecars ?? []).map((c) => renderContainer(c, chart.image(c.image), { restartPolicy: 'Always' })),
        ...(props.initContainersAfterSidecars ?? []).map((c) => renderContainer(c, chart.image(c.image))),
      ],
      containers: props.containers.map((c) => renderContainer(c, chart.image(c.image))),
      volumes: props.volumes?.map(renderVolume),
    },
  };
}

/** Metadata of a workload object: its readable name and the house labels. */
function workloadMetadata(props: Pick<PodProps, 'name' | 'namespace' | 'role'>): k8s.ObjectMeta {
  return { name: props.name, namespace: props.namespace, labels: appLabels(props.name, props.role) };
}

/** What AppDeployment and NodeDaemonSet share: the pods' name, namespace and label selector. */
abstract class PodController extends Construct {
  readonly name: string;
  readonly namespace: string;
  readonly selector: Record<string, string>;

  protected constructor(scope: Construct, id: string, props: PodProps) {
    super(scope, id);
    this.name = props.name;
    this.namespace = props.namespace;
    this.selector = selectorLabels(props.name);
  }

  /**
   * The object's props: house metadata, and a spec that adds to the kind's own fields what
   * both kinds set alike (a short rollout history, the selector and the pod template).
   */
  protected objectProps<S>(props: PodProps, spec: S) {
    return {
      metadata: workloadMetadata(props),
      spec: { ...spec, revisionHistoryLimit: 3, selector: { matchLabels: this.selector }, template: renderPodTemplate(this, props) },
    };
  }
}

/** Deployment with the house defaults: one replica, Recreate, readable name, label selector. */
export class AppDeployment extends PodController {
  constructor(scope: Construct, id: string, props: PodProps) {
    super(scope, id, props);
    // Recreate: the pods of this stack hold RWO hostPath volumes or single-writer state.
    new k8s.KubeDeployment(this, 'Resource', this.objectProps(props, { replicas: 1, strategy: { type: 'Recreate' } }));
  }
}

/** DaemonSet for per-node agents (exporters, log shipper). */
export class NodeDaemonSet extends PodController {
  constructor(scope: Construct, id: string, props: PodProps) {
    super(scope, id, props);
    new k8s.KubeDaemonSet(this, 'Resource', this.objectProps(props, { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(1) } } }));
  }
}

export interface ScheduledJobProps extends Omit<PodProps, 'containers'> {
  readonly schedule: string;
  readonly containers: RunToCompletionContainerProps[];
  /** @default the configured time zone */
  readonly timeZone?: string;
  /** Seconds a run may take before it is killed. @default 3600 */
  readonly activeDeadlineSeconds?: number;
  /**
   * `OnFailure` restarts a failed container in the same pod; `Never` fails the pod and lets the
   * Job start a fresh one (needed when steps hand over through the pod's own state, such as a
   * sidecar that holds a maintenance window). @default 'OnFailure'
   */
  readonly restartPolicy?: 'OnFailure' | 'Never';
  /** Retries before the Job counts as failed. @default 2 */
  readonly backoffLimit?: number;
}

/** CronJob that never overlaps itself and keeps a short history. */
export class ScheduledJob extends Construct {
  constructor(scope: Construct, id: string, props: ScheduledJobProps) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const template = renderPodTemplate(this, { ...props, containers: props.containers as LongRunningContainerProps[] }, props.restartPolicy ?? 'OnFailure');
    new k8s.KubeCronJob(this, 'Resource', {
      metadata: workloadMetadata(props),
      spec: {
        schedule: props.schedule,
        timeZone: props.timeZone ?? chart.config.timezone,
        concurrencyPolicy: 'Forbid',
        successfulJobsHistoryLimit: 1,
        failedJobsHistoryLimit: 2,
        startingDeadlineSeconds: 300,
        jobTemplate: {
          spec: {
            backoffLimit: props.backoffLimit ?? 2,
            activeDeadlineSeconds: props.activeDeadlineSeconds ?? 3600,
            ttlSecondsAfterFinished: 86400,
            template,
          },
        },
      },
    });
  }
}

export interface OneOffJobProps extends Omit<PodProps, 'containers'> {
  readonly containers: RunToCompletionContainerProps[];
  /** Seconds the run may take before it is killed. */
  readonly activeDeadlineSeconds: number;
}

/**
 * A Job run once by hand (a restore): never retried on its own (a second attempt must be the
 * operator's decision), and kept after it ends so its logs can be read.
 */
export class OneOffJob extends Construct {
  constructor(scope: Construct, id: string, props: OneOffJobProps) {
    super(scope, id);
    const template = renderPodTemplate(this, { ...props, containers: props.containers as LongRunningContainerProps[] }, 'Never');
    new k8s.KubeJob(this, 'Resource', {
      metadata: workloadMetadata(props),
      spec: { backoffLimit: 0, activeDeadlineSeconds: props.activeDeadlineSeconds, template },
    });
  }
}
