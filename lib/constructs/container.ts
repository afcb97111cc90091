import { k8s } from 'cdk8s-plus-28';
import type { ContainerSize, ImageName } from '../config';
import { memoryBytes } from '../config/quantity';

/** Startup or readiness gate plus liveness: what replaces the seed's Autoheal. */
export type LongRunningProbes =
  | { readonly startup: k8s.Probe; readonly readiness?: k8s.Probe; readonly liveness: k8s.Probe }
  | { readonly readiness: k8s.Probe; readonly startup?: k8s.Probe; readonly liveness: k8s.Probe };

/**
 * A deliberate loosening of the hardened security context. `reason` is required and lands in
 * an annotation on the pod, so every exception is explained where it is deployed.
 */
export interface SecurityException {
  readonly reason: string;
  /** Run as root (UID 0). @default false */
  readonly runAsRoot?: boolean;
  /** Writable root filesystem, for images that write all over it. @default false (read-only) */
  readonly writableRootFilesystem?: boolean;
  /** Capabilities to add back after dropping ALL. @default none */
  readonly addCapabilities?: string[];
  /** Keep the runtime's default capability set instead of dropping ALL (for images that switch user themselves). @default false */
  readonly keepDefaultCapabilities?: boolean;
  /** Privileged container: only for raw device access that no capability grants. @default false */
  readonly privileged?: boolean;
}

export interface ContainerPort {
  readonly name: string;
  readonly port: number;
  /** @default 'TCP' */
  readonly protocol?: 'TCP' | 'UDP';
}

export interface VolumeMount {
  /** Name of a volume of the pod. */
  readonly volume: string;
  readonly path: string;
  /** @default false */
  readonly readOnly?: boolean;
  /** @default the whole volume */
  readonly subPath?: string;
  /** HostToContainer lets a host mount made after the pod started (an HDD) show up inside. @default none */
  readonly mountPropagation?: 'HostToContainer';
}

/** Environment value: a literal, or a key of a Secret / ConfigMap, or a field of the pod. */
export type EnvValue =
  | string
  | { readonly secret: string; readonly key: string; readonly optional?: boolean }
  | { readonly configMap: string; readonly key: string }
  | { readonly field: string };

/** What every container of the stack must state. */
export interface BaseContainerProps {
  readonly name: string;
  /** Image catalog entry; the reference is looked up in the config. */
  readonly image: ImageName;
  /** Requests and limits, from the component's configured size. */
  readonly size: ContainerSize;
  /** @default the image's entrypoint */
  readonly command?: string[];
  /** @default the image's arguments */
  readonly args?: string[];
  /** @default none */
  readonly env?: Readonly<Record<string, EnvValue>>;
  /** @default none */
  readonly ports?: ContainerPort[];
  /** @default none */
  readonly mounts?: VolumeMount[];
  /** @default the hardened context with no exception */
  readonly securityException?: SecurityException;
  /**
   * UID/GID of this container when it differs from the pod's (a pod whose steps run as
   * different users, such as a backup job's dump and snapshot steps). @default the pod's
   */
  readonly runAs?: { readonly uid: number; readonly gid: number };
  /** @default none */
  readonly lifecycle?: k8s.Lifecycle;
  /** @default the image's */
  readonly workingDir?: string;
}

/** A container that runs for the life of the pod: probes are mandatory. */
export interface LongRunningContainerProps extends BaseContainerProps {
  readonly probes: LongRunningProbes;
}

/** A container that runs to completion (Job, CronJob, init container): no probes. */
export type RunToCompletionContainerProps = BaseContainerProps;

function envVar(name: string, value: EnvValue): k8s.EnvVar {
  if (typeof value === 'string') return { name, value };
  if ('secret' in value) return { name, valueFrom: { secretKeyRef: { name: value.secret, key: value.key, optional: value.optional } } };
  if ('configMap' in value) return { name, valueFrom: { configMapKeyRef: { name: value.configMap, key: value.key } } };
  return { name, valueFrom: { fieldRef: { fieldPath: value.field } } };
}

function securityContext(exception: SecurityException | undefined, runAs?: { uid: number; gid: number }): k8s.SecurityContext {
  const addCapabilities = exception?.addCapabilities ?? [];
  const capabilities = exception?.keepDefaultCapabilities
    ? addCapabilities.length > 0
      ? { add: addCapabilities }
      : undefined
    : { drop: ['ALL'], add: addCapabilities.length > 0 ? addCapabilities : undefined };
  return {
    allowPrivilegeEscalation: exception?.privileged || exception?.keepDefaultCapabilities ? undefined : false,
    privileged: exception?.privileged ? true : undefined,
    readOnlyRootFilesystem: !exception?.writableRootFilesystem,
    runAsNonRoot: exception?.runAsRoot ? undefined : true,
    runAsUser: exception?.runAsRoot ? 0 : runAs?.uid,
    runAsGroup: exception?.runAsRoot ? undefined : runAs?.gid,
    capabilities,
    seccompProfile: { type: 'RuntimeDefault' },
  };
}

/** Renders a container with the house conventions: catalog image, IfNotPresent, stated resources, hardened context. */
export function renderContainer(
  props: BaseContainerProps & { readonly probes?: LongRunningProbes },
  image: string,
  extra: Partial<k8s.Container> = {},
): k8s.Container {
  const { size } = props;
  return {
    name: props.name,
    image,
    imagePullPolicy: 'IfNotPresent',
    command: props.command,
    args: props.args,
    workingDir: props.workingDir,
    env: props.env ? Object.entries(props.env).map(([name, value]) => envVar(name, value)) : undefined,
    ports: props.ports?.map((p) => ({ name: p.name, containerPort: p.port, protocol: p.protocol ?? 'TCP' })),
    volumeMounts: props.mounts?.map((m) => ({ name: m.volume, mountPath: m.path, readOnly: m.readOnly, subPath: m.subPath, mountPropagation: m.mountPropagation })),
    resources: {
      requests: { cpu: k8s.Quantity.fromString(size.requests.cpu), memory: k8s.Quantity.fromString(size.requests.memory) },
      limits: { cpu: k8s.Quantity.fromString(size.limits.cpu), memory: k8s.Quantity.fromString(size.limits.memory) },
    },
    startupProbe: props.probes?.startup,
    readinessProbe: props.probes?.readiness,
    livenessProbe: props.probes?.liveness,
    lifecycle: props.lifecycle,
    securityContext: securityContext(props.securityException, props.runAs),
    ...extra,
  };
}

/** Probe timings shared by the helpers; callers override what their app needs. */
export interface ProbeTiming {
  /** @default 10 */
  readonly periodSeconds?: number;
  /** @default 3 */
  readonly failureThreshold?: number;
  /** @default 5 */
  readonly timeoutSeconds?: number;
  /** @default 0 */
  readonly initialDelaySeconds?: number;
}

function timing(t: ProbeTiming): Pick<k8s.Probe, 'periodSeconds' | 'failureThreshold' | 'timeoutSeconds' | 'initialDelaySeconds'> {
  return {
    periodSeconds: t.periodSeconds ?? 10,
    failureThreshold: t.failureThreshold ?? 3,
    timeoutSeconds: t.timeoutSeconds ?? 5,
    initialDelaySeconds: t.initialDelaySeconds,
  };
}

/** HTTP GET probe on a named or numbered port, with optional request headers (e.g. a trusted Host). */
export function httpProbe(path: string, port: string | number, t: ProbeTiming & { headers?: Record<string, string>; scheme?: 'HTTP' | 'HTTPS' } = {}): k8s.Probe {
  return {
    httpGet: {
      path,
      port: typeof port === 'number' ? k8s.IntOrString.fromNumber(port) : k8s.IntOrString.fromString(port),
      scheme: t.scheme,
      httpHeaders: t.headers ? Object.entries(t.headers).map(([name, value]) => ({ name, value })) : undefined,
    },
    ...timing(t),
  };
}

export function tcpProbe(port: string | number, t: ProbeTiming = {}): k8s.Probe {
  return {
    tcpSocket: { port: typeof port === 'number' ? k8s.IntOrString.fromNumber(port) : k8s.IntOrString.fromString(port) },
    ...timing(t),
  };
}

export function execProbe(command: string[], t: ProbeTiming = {}): k8s.Probe {
  return { exec: { command }, ...timing(t) };
}

/** A startup probe that allows `minutes` before the liveness probe takes over. */
export function startupWindow(probe: k8s.Probe, minutes: number): k8s.Probe {
  const period = 10;
  return { ...probe, periodSeconds: period, failureThreshold: Math.ceil((minutes * 60) / period) };
}

/**
 * GOMEMLIMIT for a Go program: a soft heap target below the container's memory limit, so
 * the garbage collector works harder before the kernel OOM-kills the container.
 */
export function goMemLimit(size: ContainerSize, fraction = 0.8): string {
  return `${Math.floor((memoryLimitBytes(size) * fraction) / 1024 ** 2)}MiB`;
}

/** Bytes of a container's memory limit, the base of every heap or cache setting derived from it. */
export function memoryLimitBytes(size: ContainerSize): number {
  const bytes = memoryBytes(size.limits.memory);
  if (bytes === undefined) throw new Error(`unparsable memory limit '${size.limits.memory}'`);
  return bytes;
}
