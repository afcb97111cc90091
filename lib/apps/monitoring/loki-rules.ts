import { stringify } from 'yaml';
import type { PotatoStackConfig } from '../../config';
import { THRESHOLDS } from './rules';

/**
 * What a failed login looks like in each app's log, and where that log stream is. The stream
 * labels (`namespace`, `container`) are the ones fluent-bit attaches (LOG_LABELS in fluent-bit.ts).
 */
export const FAILED_LOGIN_PATTERNS = {
  // Nextcloud's JSON log line for a wrong password: "message":"Login failed: <user> (Remote IP: ...)".
  nextcloud: { namespace: 'apps', container: 'nextcloud', line: 'Login failed' },
  // Gitea (WARN): "Failed authentication attempt for <user> from <ip>: ...".
  gitea: { namespace: 'apps', container: 'gitea', line: 'Failed authentication attempt' },
  // Grafana 12: logger=authn.service msg="Failed to authenticate request" client=auth.client.form ...
  grafana: { namespace: 'monitoring', container: 'grafana', line: 'Failed to authenticate request' },
} as const;

export type LoginApp = keyof typeof FAILED_LOGIN_PATTERNS;

/** The apps whose logs are searched: those enabled in the config. */
export function watchedLoginApps(config: PotatoStackConfig): LoginApp[] {
  return (Object.keys(FAILED_LOGIN_PATTERNS) as LoginApp[]).filter((app) => config.components[app].enabled);
}

/** LogQL counting failed logins per app over a window. */
export function failedLoginsQuery(apps: readonly LoginApp[], window: string): string {
  return apps
    .map((app) => {
      const p = FAILED_LOGIN_PATTERNS[app];
      return `sum(count_over_time({namespace="${p.namespace}", container="${p.container}"} |= "${p.line}" [${window}]))`;
    })
    .join(' + ');
}

/**
 * Loki ruler rules (Prometheus rule-file format, LogQL expressions) for the seed's
 * "failed logins > 50/day" KPI. The sum covers all watched apps: a brute force spread
 * over several apps is still one attack. Evaluated every 10 minutes, because each run
 * scans a day of these apps' logs.
 */
export function lokiRuleFile(config: PotatoStackConfig): { groups: unknown[] } {
  const apps = watchedLoginApps(config);
  if (apps.length === 0) return { groups: [] };
  const limit = THRESHOLDS.failedLoginsPerDay;
  // Each term must exist, or the sum is empty: `or vector(0)` per app keeps a quiet app at 0.
  const perApp = apps.map((app) => `(${failedLoginsQuery([app], '1d')} or vector(0))`).join(' + ');
  return {
    groups: [
      {
        name: 'security',
        interval: '10m',
        rules: [
          {
            alert: 'FailedLoginsHigh',
            expr: `${perApp} > ${limit}`,
            labels: { severity: 'warning' },
            annotations: {
              summary: `More than ${limit} failed logins in the last 24 hours`,
              description: `{{ $value }} failed logins in 24 h across ${apps.join(', ')} (threshold ${limit}/day). Explore the logs in Grafana ({container=~"${apps.map((a) => FAILED_LOGIN_PATTERNS[a].container).join('|')}"}) for the source addresses; the proxy's rate limit and LAN/VPN-only access should already stop outsiders.`,
            },
          },
        ],
      },
    ],
  };
}

/** File name under Loki's rules directory for the tenant. */
export const LOKI_RULE_FILE_NAME = 'potatostack-logs.yml';

/** The Loki rule file, ready for Loki's `ruleFiles` prop: `{ [file name]: yaml }`. */
export function lokiRuleFiles(config: PotatoStackConfig): Record<string, string> {
  return { [LOKI_RULE_FILE_NAME]: stringify(lokiRuleFile(config), { lineWidth: 0 }) };
}
