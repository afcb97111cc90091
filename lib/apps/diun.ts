import { Construct } from 'constructs';
import { NON_PUBLIC_IPV4 } from '../config/cidr';
import type { PotatoStackConfig } from '../config';
import { ALERT_RECEIVER_SECRET } from '../config/prometheus';
import {
  AppDeployment,
  AppPolicy,
  ApiIdentity,
  ApiRule,
  EnvValue,
  PotatoChart,
  Rule,
  apiServerEgress,
  goMemLimit,
  startupWindow,
  tcpProbe,
} from '../constructs';

export const DIUN_NAME = 'diun';
/** Diun's gRPC API (used by its own CLI: `diun image list`, `diun notif test`). */
export const DIUN_GRPC_PORT = 42286;
export const DIUN_UID = 65534;
/** Secret (in `management`) with the notification credentials; created out of band. */
export const DIUN_NOTIFIERS_SECRET = 'diun-notifiers';
/**
 * Keys of that Secret, one per credential of an enabled channel: the same key names as
 * Alertmanager's Secret, so the operator copies the same values under the same keys.
 */
export const DIUN_SECRET_KEYS = {
  smtpPassword: ALERT_RECEIVER_SECRET.keys.email,
  telegramToken: ALERT_RECEIVER_SECRET.keys.telegram,
  slackWebhookUrl: ALERT_RECEIVER_SECRET.keys.slack,
  discordWebhookUrl: ALERT_RECEIVER_SECRET.keys.discord,
} as const;

/** Diun's Kubernetes provider only lists and watches pods to read their images and annotations. */
export const DIUN_RULES: readonly ApiRule[] = [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }];

/** Tags Diun compares when it watches a repository: version-like ones, not `latest`, `edge`, ... */
export const DIUN_VERSION_TAGS = '^v?[0-9]';

/** The channels Diun notifies through: the same ones the operator configured for alerts. */
export interface DiunNotifiers {
  readonly email?: {
    readonly host: string;
    readonly port: number;
    readonly from: string;
    readonly to: readonly string[];
    /** SMTP login (not a secret); with one, the password comes from the Secret. `''`: no login. */
    readonly username: string;
    /** Implicit TLS (port 465); otherwise STARTTLS when the server offers it. */
    readonly ssl: boolean;
  };
  readonly telegram?: { readonly chatIds: readonly string[] };
  readonly slack?: Record<string, never>;
  readonly discord?: Record<string, never>;
}

function secret(key: string): EnvValue {
  return { secret: DIUN_NOTIFIERS_SECRET, key, optional: false };
}

/** Environment of Diun's container: provider, schedule, tag policy and one block per channel. */
export function diunEnvironment(config: PotatoStackConfig, notifiers: DiunNotifiers): Record<string, EnvValue> {
  const { diun } = config.management;
  const env: Record<string, EnvValue> = {
    TZ: config.timezone,
    LOG_LEVEL: 'info',
    LOG_JSON: 'false',
    GRPC_AUTHORITY: `:${DIUN_GRPC_PORT}`,
    DIUN_DB_PATH: '/data/diun.db',
    DIUN_WATCH_SCHEDULE: diun.schedule,
    DIUN_WATCH_JITTER: '30s',
    // A handful of images on a 4-core board: no need for the default 10 parallel workers.
    DIUN_WATCH_WORKERS: '4',
    // The database lives in an emptyDir: after a restart every image is "new" again; stay quiet.
    DIUN_WATCH_FIRSTCHECKNOTIF: 'false',
    DIUN_PROVIDERS_KUBERNETES: 'true',
    // Only pods annotated diun.enable=true (every pod template of this stack is).
    DIUN_PROVIDERS_KUBERNETES_WATCHBYDEFAULT: 'false',
    DIUN_DEFAULTS_NOTIFYON: 'new,update',
  };
  if (diun.watchRepo) {
    Object.assign(env, {
      DIUN_DEFAULTS_WATCHREPO: 'true',
      DIUN_DEFAULTS_SORTTAGS: 'semver',
      DIUN_DEFAULTS_MAXTAGS: String(diun.maxTags),
      DIUN_DEFAULTS_INCLUDETAGS: DIUN_VERSION_TAGS,
    });
  }
  const { email, telegram, slack, discord } = notifiers;
  if (email) {
    Object.assign(env, {
      DIUN_NOTIF_MAIL_HOST: email.host,
      DIUN_NOTIF_MAIL_PORT: String(email.port),
      DIUN_NOTIF_MAIL_SSL: String(email.ssl),
      DIUN_NOTIF_MAIL_INSECURESKIPVERIFY: 'false',
      DIUN_NOTIF_MAIL_FROM: email.from,
      DIUN_NOTIF_MAIL_TO: email.to.join(','),
    });
    if (email.username !== '') {
      env.DIUN_NOTIF_MAIL_USERNAME = email.username;
      env.DIUN_NOTIF_MAIL_PASSWORD = secret(DIUN_SECRET_KEYS.smtpPassword);
    }
  }
  if (telegram) {
    env.DIUN_NOTIF_TELEGRAM_TOKEN = secret(DIUN_SECRET_KEYS.telegramToken);
    env.DIUN_NOTIF_TELEGRAM_CHATIDS = telegram.chatIds.join(',');
  }
  if (slack) env.DIUN_NOTIF_SLACK_WEBHOOKURL = secret(DIUN_SECRET_KEYS.slackWebhookUrl);
  if (discord) env.DIUN_NOTIF_DISCORD_WEBHOOKURL = secret(DIUN_SECRET_KEYS.discordWebhookUrl);
  return env;
}

/** The Secret keys Diun needs for the given channels (what the operator must create). */
export function diunSecretKeys(notifiers: DiunNotifiers): string[] {
  return [
    ...(notifiers.email && notifiers.email.username !== '' ? [DIUN_SECRET_KEYS.smtpPassword] : []),
    ...(notifiers.telegram ? [DIUN_SECRET_KEYS.telegramToken] : []),
    ...(notifiers.slack ? [DIUN_SECRET_KEYS.slackWebhookUrl] : []),
    ...(notifiers.discord ? [DIUN_SECRET_KEYS.discordWebhookUrl] : []),
  ];
}

export interface DiunProps {
  readonly namespace: string;
  readonly notifiers: DiunNotifiers;
}

/**
 * Diun with the Kubernetes provider: on a schedule it reads the images of annotated pods
 * through the API and asks their registries for newer tags, then notifies through the
 * alerting channels. It has no UI and no HTTP server.
 */
export class Diun extends Construct {
  constructor(scope: Construct, id: string, props: DiunProps) {
    super(scope, id);
    const chart = PotatoChart.of(this);
    const { config } = chart;
    const { namespace } = props;
    const size = chart.size('diun', 'diun');

    const identity = new ApiIdentity(this, 'api', { name: DIUN_NAME, namespace, rules: DIUN_RULES });

    new AppDeployment(this, 'deployment', {
      name: DIUN_NAME,
      namespace,
      role: 'notifier',
      serviceAccountName: identity.serviceAccountName,
      runAs: { uid: DIUN_UID, gid: DIUN_UID },
      // Its bolt database only remembers which tags were already reported; losing it costs one
      // silent re-scan (first-check notifications are off), so it stays off the HDD.
      volumes: [{ name: 'data', emptyDir: { sizeLimit: '64Mi' } }],
      containers: [
        {
          name: 'diun',
          image: 'diun',
          size,
          args: ['serve'],
          env: { ...diunEnvironment(config, props.notifiers), GOMEMLIMIT: goMemLimit(size) },
          ports: [{ name: 'grpc', port: DIUN_GRPC_PORT }],
          mounts: [{ volume: 'data', path: '/data' }],
          probes: {
            // The gRPC server starts with the scheduler inside `diun serve` and stops with it:
            // a TCP check on it is the cheapest real sign of life (an exec of the CLI would
            // start a second Go process inside a 48 MiB limit).
            startup: startupWindow(tcpProbe('grpc'), 2),
            liveness: tcpProbe('grpc', { periodSeconds: 30 }),
          },
        },
      ],
    });

    const egress: Rule[] = [
      ...apiServerEgress(config),
      // Registries (and the HTTPS notification services) on the internet only.
      { peers: [{ cidr: '0.0.0.0/0', except: NON_PUBLIC_IPV4 }], ports: [{ port: 443 }] },
    ];
    const email = props.notifiers.email;
    if (email && email.port !== 443) {
      egress.push({ peers: [{ cidr: '0.0.0.0/0', except: NON_PUBLIC_IPV4 }], ports: [{ port: email.port }] });
    }
    new AppPolicy(this, 'policy', {
      name: `${DIUN_NAME}-traffic`,
      namespace,
      app: DIUN_NAME,
      egress,
    });
  }
}

/**
 * The alert receivers enabled in `monitoring.alerts`, as Diun notifiers: Diun reports image
 * updates wherever the operator gets alerts. (Slack's channel override has no Diun equivalent:
 * Diun posts to the webhook's own channel.)
 */
export function diunNotifiersFrom(config: PotatoStackConfig): DiunNotifiers {
  const { email, telegram, slack, discord } = config.monitoring.alerts;
  return {
    ...(email.enabled
      ? {
          email: {
            host: email.smtpHost,
            port: email.smtpPort,
            from: email.from,
            to: [email.to],
            username: email.username,
            // 465 is implicit TLS; 587 and 25 upgrade with STARTTLS.
            ssl: email.smtpPort === 465,
          },
        }
      : {}),
    ...(telegram.enabled ? { telegram: { chatIds: [String(telegram.chatId)] } } : {}),
    ...(slack.enabled ? { slack: {} } : {}),
    ...(discord.enabled ? { discord: {} } : {}),
  };
}
