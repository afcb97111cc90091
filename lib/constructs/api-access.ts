import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import type { PotatoStackConfig } from '../config';
import { cidrRange, numberToIpv4 } from '../config/cidr';
import { appLabels } from './labels';
import type { Rule } from './network-policy';

/** One RBAC rule, written out: no wildcards unless a caller spells them. */
export interface ApiRule {
  readonly apiGroups: readonly string[];
  readonly resources: readonly string[];
  readonly verbs: readonly string[];
}

export interface ApiIdentityProps {
  /** ServiceAccount, ClusterRole and binding name; by convention the app's. */
  readonly name: string;
  readonly namespace: string;
  /** Rules of the app's own ClusterRole. Exclusive with `clusterRole`. */
  readonly rules?: readonly ApiRule[];
  /** Bind an existing ClusterRole (such as `cluster-admin`) instead of creating one. */
  readonly clusterRole?: string;
}

/**
 * A ServiceAccount of one app bound cluster-wide to exactly the ClusterRole it needs: either
 * its own (from `rules`) or an existing one named on purpose. Pods name it through
 * `serviceAccountName`; no other pod gets a token.
 */
export class ApiIdentity extends Construct {
  readonly serviceAccountName: string;
  readonly clusterRoleName: string;

  constructor(scope: Construct, id: string, props: ApiIdentityProps) {
    super(scope, id);
    if ((props.rules === undefined) === (props.clusterRole === undefined)) {
      throw new Error(`ApiIdentity ${props.name}: give either rules or clusterRole`);
    }
    const labels = appLabels(props.name, 'api-access');
    this.serviceAccountName = props.name;
    this.clusterRoleName = props.clusterRole ?? props.name;
    new k8s.KubeServiceAccount(this, 'ServiceAccount', {
      metadata: { name: props.name, namespace: props.namespace, labels },
      // The token is mounted by the pod spec (automountServiceAccountToken there), not for every pod.
      automountServiceAccountToken: false,
    });
    if (props.rules) {
      new k8s.KubeClusterRole(this, 'ClusterRole', {
        metadata: { name: props.name, labels },
        rules: props.rules.map((r) => ({ apiGroups: [...r.apiGroups], resources: [...r.resources], verbs: [...r.verbs] })),
      });
    }
    new k8s.KubeClusterRoleBinding(this, 'Binding', {
      metadata: { name: props.name, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: this.clusterRoleName },
      subjects: [{ kind: 'ServiceAccount', name: props.name, namespace: props.namespace }],
    });
  }
}

/** The `kubernetes` Service's ClusterIP (always the first address of the service range), as a /32. */
export function kubernetesServiceIp(serviceCidr: string): string {
  return `${numberToIpv4(cidrRange(serviceCidr)[0] + 1)}/32`;
}

/**
 * Egress to the Kubernetes API: the `kubernetes` Service address on 443, and the node
 * address range on the API server port, because k3s DNATs the Service to the node's 6443
 * and the policy sees the translated address.
 */
export function apiServerEgress(config: PotatoStackConfig): Rule[] {
  const { network } = config;
  return [
    { peers: [{ cidr: kubernetesServiceIp(network.serviceCidr) }], ports: [{ port: 443 }] },
    { peers: [{ cidr: network.nodeCidr ?? network.lanCidr }], ports: [{ port: network.apiServerPort }] },
  ];
}
