import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import type { Zone } from '../config';
import { GITOPS_KEEP_ANNOTATIONS } from './labels';
import { DNS_PORTS } from './network-policy';

/** Pod Security admission labels for a zone: enforce its level, warn and audit at restricted. */
export function podSecurityLabels(zone: Zone): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const mode of ['enforce', 'warn', 'audit'] as const) {
    labels[`pod-security.kubernetes.io/${mode}`] = mode === 'enforce' ? zone.enforce : 'restricted';
    labels[`pod-security.kubernetes.io/${mode}-version`] = 'latest';
  }
  return labels;
}

export const DEFAULT_DENY_POLICY = 'default-deny';
export const DNS_EGRESS_POLICY = 'allow-dns-egress';

export interface ZoneNamespaceProps {
  readonly zone: Zone;
  /**
   * App names in the zone that must not reach the cluster DNS (the VPN pod resolves through
   * its tunnel only). @default none
   */
  readonly noDnsApps?: readonly string[];
}

/**
 * A zone: its namespace with Pod Security labels, a default-deny policy for both directions,
 * and DNS egress to CoreDNS for every pod except the listed ones. Deleting a namespace deletes
 * every claim in it, so it carries the GitOps keep annotations like the volumes do.
 */
export class ZoneNamespace extends Construct {
  readonly namespace: string;

  constructor(scope: Construct, id: string, props: ZoneNamespaceProps) {
    super(scope, id);
    const { zone } = props;
    this.namespace = zone.namespace;
    new k8s.KubeNamespace(this, 'Namespace', {
      metadata: {
        name: zone.namespace,
        labels: { ...podSecurityLabels(zone), 'potatostack.io/zone': zone.title },
        annotations: { ...GITOPS_KEEP_ANNOTATIONS, ...(zone.reason ? { 'potatostack.io/pod-security-reason': zone.reason } : {}) },
      },
    });
    new k8s.KubeNetworkPolicy(this, 'DefaultDeny', {
      metadata: { name: DEFAULT_DENY_POLICY, namespace: zone.namespace },
      spec: { podSelector: {}, policyTypes: ['Ingress', 'Egress'] },
    });
    const noDns = props.noDnsApps ?? [];
    new k8s.KubeNetworkPolicy(this, 'DnsEgress', {
      metadata: { name: DNS_EGRESS_POLICY, namespace: zone.namespace },
      spec: {
        podSelector:
          noDns.length > 0 ? { matchExpressions: [{ key: 'app.kubernetes.io/name', operator: 'NotIn', values: [...noDns] }] } : {},
        policyTypes: ['Egress'],
        egress: [
          {
            to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
            ports: DNS_PORTS.map((p) => ({ port: k8s.IntOrString.fromNumber(p.port), protocol: p.protocol })),
          },
        ],
      },
    });
  }
}

