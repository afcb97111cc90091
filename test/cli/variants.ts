import type { PotatoStackOverrides } from '../../lib/config';
import { ALL_ALERT_RECEIVERS } from '../helpers';

/** Configs that together synthesize every kind of object and every Secret reference the stack has. */
export const STACK_VARIANTS: ReadonlyArray<[string, PotatoStackOverrides]> = [
  ['default (board-2gb)', {}],
  ['full profile', { profile: 'full' }],
  ['full profile in nginx-proxy-manager mode', { profile: 'full', ingress: { mode: 'nginx-proxy-manager' } }],
  ['full profile, optional monitoring on', { profile: 'full', components: { netdata: { enabled: true }, thanos: { enabled: true } } }],
  [
    'full profile, every alert receiver, OpenVPN',
    { profile: 'full', vpn: { type: 'openvpn' }, ...ALL_ALERT_RECEIVERS },
  ],
];
