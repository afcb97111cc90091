import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import { NAME_LABEL } from './labels';

/** Where traffic comes from or goes to. */
export type Peer =
  /** Pods of one app (by app.kubernetes.io/name) in a namespace. */
  | { readonly app: string; readonly namespace: string }
  /** Pods with these labels in a namespace (for components we do not label, such as k3s's). */
  | { readonly podLabels: Readonly<Record<string, string>>; readonly namespace: string }
  /** Every pod of a namespace. */
  | { readonly namespace: string }
  /** An address range, optionally with holes. */
  | { readonly cidr: string; readonly except?: readonly string[] };

export interface PortSpec {
  readonly port: number;
  /** @default 'TCP' */
  readonly protocol?: 'TCP' | 'UDP';
}

export interface Rule {
  readonly peers: readonly Peer[];
  readonly ports: readonly PortSpec[];
}

export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

function renderPeer(peer: Peer): k8s.NetworkPolicyPeer {
  if ('cidr' in peer) return { ipBlock: { cidr: peer.cidr, except: peer.except ? [...peer.except] : undefined } };
  const namespaceSelector = { matchLabels: { [NAMESPACE_NAME_LABEL]: peer.namespace } };
  if ('app' in peer) return { namespaceSelector, podSelector: { matchLabels: { [NAME_LABEL]: peer.app } } };
  if ('podLabels' in peer) return { namespaceSelector, podSelector: { matchLabels: { ...peer.podLabels } } };
  return { namespaceSelector };
}

function renderPorts(ports: readonly PortSpec[]): k8s.NetworkPolicyPort[] {
  return ports.map((p) => ({ port: k8s.IntOrString.fromNumber(p.port), protocol: p.protocol ?? 'TCP' }));
}

export interface AppPolicyProps {
  /** Policy name; by convention `<app>-<purpose>`. */
  readonly name: string;
  readonly namespace: string;
  /** The app (app.kubernetes.io/name) the policy applies to; undefined selects every pod of the namespace. */
  readonly app?: string;
  /** Allowed inbound flows. @default none */
  readonly ingress?: readonly Rule[];
  /** Allowed outbound flows. @default none */
  readonly egress?: readonly Rule[];
}

/**
 * An allow-list NetworkPolicy. Zones start from default-deny, so a policy only ever opens
 * the flows it lists; policyTypes names only the directions it opens.
 */
export class AppPolicy extends Construct {
  constructor(scope: Construct, id: string, props: AppPolicyProps) {
    super(scope, id);
    const policyTypes = [...(props.ingress ? ['Ingress'] : []), ...(props.egress ? ['Egress'] : [])];
    if (policyTypes.length === 0) throw new Error(`NetworkPolicy ${props.namespace}/${props.name} opens no direction`);
    new k8s.KubeNetworkPolicy(this, 'Resource', {
      metadata: { name: props.name, namespace: props.namespace, labels: props.app ? { [NAME_LABEL]: props.app } : undefined },
      spec: {
        podSelector: props.app ? { matchLabels: { [NAME_LABEL]: props.app } } : {},
        policyTypes,
        ingress: props.ingress?.map((r) => ({ from: r.peers.map(renderPeer), ports: renderPorts(r.ports) })),
        egress: props.egress?.map((r) => ({ to: r.peers.map(renderPeer), ports: renderPorts(r.ports) })),
      },
    });
  }
}

/** Peer for k3s's CoreDNS. */
export const KUBE_DNS: Peer = { podLabels: { 'k8s-app': 'kube-dns' }, namespace: 'kube-system' };
export const DNS_PORTS: readonly PortSpec[] = [
  { port: 53, protocol: 'UDP' },
  { port: 53, protocol: 'TCP' },
];
