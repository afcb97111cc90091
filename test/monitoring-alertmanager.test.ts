import { parse } from 'yaml';
import { ALERT_RECEIVER_SECRET, ConfigError, PotatoStackOverrides } from '../lib/config';
import { NON_PUBLIC_IPV4 } from '../lib/config/cidr';
import { RECEIVER_SECRET_DIR } from '../lib/apps/monitoring/alertmanager';
import { alertRuleGroups } from '../lib/apps/monitoring/rules';
import { ALL_ALERT_RECEIVERS, Manifest, find, podSpecOf, fullConfig, synthFull } from './helpers';

const ALL = ALL_ALERT_RECEIVERS;

const amConfig = (objects: Manifest[]) => parse(find(objects, 'ConfigMap', 'alertmanager-config', 'monitoring').data['alertmanager.yml']);
const amPod = (objects: Manifest[]) => podSpecOf(find(objects, 'Deployment', 'alertmanager', 'monitoring'));
const receiver = (cfg: any, name: string) => cfg.receivers.find((r: any) => r.name === name);

describe('Alertmanager workload', () => {
  const objects = synthFull();
  const pod = amPod(objects);
  const c = pod.containers[0];

  test('single replica without gossip, data on alertmanager-data, probes on /-/ready and /-/healthy', () => {
    expect(c.args).toContain('--cluster.listen-address=');
    expect(c.args).toContain('--web.external-url=https://alerts.potato.lan/');
    const data = pod.volumes.find((v: any) => v.persistentVolumeClaim?.claimName === 'alertmanager-data');
    expect(c.volumeMounts).toContainEqual(expect.objectContaining({ name: data.name, mountPath: '/alertmanager' }));
    expect(c.readinessProbe.httpGet.path).toBe('/-/ready');
    expect(c.livenessProbe.httpGet.path).toBe('/-/healthy');
    expect(pod.securityContext.runAsUser).toBe(65534);
  });

  test('the UI is published on the alerts host through the proxy', () => {
    const ingress = find(objects, 'Ingress', 'alertmanager', 'monitoring');
    expect(ingress.spec.rules[0].host).toBe('alerts.potato.lan');
    expect(ingress.spec.rules[0].http.paths[0].backend.service).toEqual({ name: 'alertmanager', port: { name: 'http' } });
  });
});

describe('receivers and credentials', () => {
  test('by default every alert ends in a receiver without channels, and no Secret is needed', () => {
    const objects = synthFull();
    const cfg = amConfig(objects);
    expect(cfg.receivers.map((r: any) => Object.keys(r))).toEqual([['name'], ['name'], ['name']]);
    expect(amPod(objects).volumes.some((v: any) => v.secret)).toBe(false);
  });

  test('each enabled receiver reads its credential from the mounted Secret through a *_file field', () => {
    const cfg = amConfig(synthFull(ALL));
    const critical = receiver(cfg, 'critical');
    const keys = ALERT_RECEIVER_SECRET.keys;
    expect(critical.telegram_configs[0]).toMatchObject({ bot_token_file: `${RECEIVER_SECRET_DIR}/${keys.telegram}`, chat_id: -1001234567890 });
    expect(critical.slack_configs[0]).toMatchObject({ api_url_file: `${RECEIVER_SECRET_DIR}/${keys.slack}`, channel: '#alerts' });
    expect(critical.discord_configs[0]).toMatchObject({ webhook_url_file: `${RECEIVER_SECRET_DIR}/${keys.discord}` });
    expect(critical.email_configs[0]).toMatchObject({ to: 'me@example.org' });
    expect(cfg.global).toMatchObject({
      smtp_smarthost: 'smtp.example.org:465',
      smtp_from: 'potato@example.org',
      smtp_auth_username: 'potato',
      smtp_auth_password_file: `${RECEIVER_SECRET_DIR}/${keys.email}`,
      smtp_require_tls: false,
    });
  });

  test('no inline credential field is ever rendered', () => {
    const text = find(synthFull(ALL), 'ConfigMap', 'alertmanager-config', 'monitoring').data['alertmanager.yml'];
    for (const field of ['bot_token:', 'api_url:', 'webhook_url:', 'auth_password:', 'smtp_auth_password:', 'slack_api_url:']) expect(text).not.toContain(field);
  });

  test('exactly the needed Secret keys are mounted, by key, not optional', () => {
    const pod = amPod(synthFull(ALL));
    const volume = pod.volumes.find((v: any) => v.secret);
    expect(volume.secret.secretName).toBe(ALERT_RECEIVER_SECRET.name);
    expect(volume.secret.optional).toBe(false);
    expect(volume.secret.items.map((i: any) => i.key).sort()).toEqual(Object.values(ALERT_RECEIVER_SECRET.keys).sort());
    expect(pod.containers[0].volumeMounts).toContainEqual(expect.objectContaining({ name: volume.name, mountPath: RECEIVER_SECRET_DIR, readOnly: true }));
  });

  test('email without a login needs no password key', () => {
    const objects = synthFull({ monitoring: { alerts: { email: { ...ALL.monitoring!.alerts!.email, username: '' } } } });
    expect(amConfig(objects).global.smtp_auth_password_file).toBeUndefined();
    expect(amConfig(objects).global.smtp_require_tls).toBe(false);
    expect(amPod(objects).volumes.some((v: any) => v.secret)).toBe(false);
  });

  test('warnings reach Telegram silently, criticals with sound', () => {
    const cfg = amConfig(synthFull(ALL));
    expect(receiver(cfg, 'critical').telegram_configs[0].disable_notifications).toBe(false);
    expect(receiver(cfg, 'warning').telegram_configs[0].disable_notifications).toBe(true);
  });
});

describe('routing and inhibition', () => {
  const cfg = amConfig(synthFull(ALL));

  test('critical goes out fast to every channel, warning grouped, info and the rest to null', () => {
    expect(cfg.route.receiver).toBe('null');
    const route = (severity: string) => cfg.route.routes.find((r: any) => r.matchers.includes(`severity="${severity}"`));
    expect(route('critical').receiver).toBe('critical');
    expect(route('warning').receiver).toBe('warning');
    expect(route('info').receiver).toBe('null');
    const seconds = (d: string) => Number(d.slice(0, -1)) * ({ s: 1, m: 60, h: 3600 } as Record<string, number>)[d.slice(-1)];
    expect(seconds(route('critical').group_wait)).toBeLessThan(seconds(route('warning').group_wait));
    expect(seconds(route('critical').repeat_interval)).toBeLessThan(seconds(route('warning').repeat_interval));
  });

  test('every alert name an inhibit rule mentions is a rule of the stack', () => {
    const names = new Set(alertRuleGroups(fullConfig()).flatMap((g) => g.rules.map((r) => r.alert)));
    const mentioned = cfg.inhibit_rules
      .flatMap((r: any) => [...r.source_matchers, ...r.target_matchers])
      .filter((m: string) => m.startsWith('alertname'))
      .flatMap((m: string) => m.replace(/^alertname=~?"/, '').replace(/"$/, '').split('|'));
    expect(mentioned.length).toBeGreaterThan(5);
    for (const name of mentioned) expect([name, names.has(name)]).toEqual([name, true]);
  });

  test('critical inhibits warning only for the same alert and target', () => {
    const rule = cfg.inhibit_rules.find((r: any) => r.source_matchers.includes('severity="critical"') && r.target_matchers.includes('severity="warning"'));
    expect(rule.equal).toEqual(expect.arrayContaining(['alertname', 'instance', 'mountpoint']));
  });
});

describe('Alertmanager NetworkPolicy', () => {
  const policy = (overrides: PotatoStackOverrides) => find(synthFull(overrides), 'NetworkPolicy', 'alertmanager-flows', 'monitoring');

  test('ingress: the proxy to the UI, and Prometheus, Loki and Grafana on 9093', () => {
    const p = policy({});
    const from = p.spec.ingress.flatMap((r: any) => r.from.map((f: any) => f.podSelector.matchLabels['app.kubernetes.io/name']));
    expect(from.sort()).toEqual(['grafana', 'loki', 'prometheus', 'traefik']);
    for (const r of p.spec.ingress) expect(r.ports).toEqual([{ port: 9093, protocol: 'TCP' }]);
  });

  test('no receiver, no egress beyond DNS', () => {
    const p = policy({});
    expect(p.spec.policyTypes).toEqual(['Ingress']);
    expect(p.spec.egress).toBeUndefined();
  });

  test('receivers open the internet, never private ranges, on their ports only', () => {
    const p = policy(ALL);
    expect(p.spec.egress).toEqual([
      {
        to: [{ ipBlock: { cidr: '0.0.0.0/0', except: NON_PUBLIC_IPV4 } }],
        ports: [
          { port: 443, protocol: 'TCP' },
          { port: 465, protocol: 'TCP' },
        ],
      },
    ]);
    const telegramOnly = policy({ monitoring: { alerts: { telegram: { enabled: true, chatId: 42 } } } });
    expect(telegramOnly.spec.egress[0].ports).toEqual([{ port: 443, protocol: 'TCP' }]);
  });
});

describe('monitoring.alerts validation', () => {
  const problems = (overrides: PotatoStackOverrides): string => {
    try {
      fullConfig(overrides);
      return '';
    } catch (e) {
      if (e instanceof ConfigError) return e.problems.join('\n');
      throw e;
    }
  };

  test.each([
    [{ telegram: { enabled: true, chatId: 0 } }, 'monitoring.alerts.telegram.chatId'],
    [{ telegram: { enabled: true, chatId: 1.5 } }, 'monitoring.alerts.telegram.chatId'],
    [{ email: { enabled: true, smtpHost: 'smtp.example.org', smtpPort: 2525, from: 'a@example.org', to: 'b@example.org' } }, 'monitoring.alerts.email.smtpPort'],
    [{ email: { enabled: true, smtpHost: 'smtp.example.org', from: 'a@example.org', to: 'not-an-address' } }, 'monitoring.alerts.email.to'],
    [{ email: { enabled: true, from: 'a@example.org', to: 'b@example.org' } }, 'monitoring.alerts.email.smtpHost'],
    [{ slack: { enabled: true, channel: 'alerts channel' } }, 'monitoring.alerts.slack.channel'],
  ])('%j is refused naming %s', (alerts, prop) => {
    expect(problems({ monitoring: { alerts } as any })).toContain(prop);
  });

  test('disabled receivers are not validated; complete ones pass', () => {
    expect(problems({ monitoring: { alerts: { telegram: { enabled: false, chatId: 0 } } } })).toBe('');
    expect(problems(ALL)).toBe('');
  });
});
