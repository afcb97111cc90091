import { memoryBytes } from './quantity';
import type { PotatoStackConfig } from './types';
import type { Report } from './validate';
import { volumeSpec } from './volumes';

/** Prometheus storage and scraping (`monitoring.prometheus`). */
export interface PrometheusSettings {
  /**
   * How long samples are kept: whole hours, days or weeks (`15d`, `4w`). At least 7 days,
   * because the backup success-rate and uptime rules look back 7 days. @default '15d'
   */
  readonly retentionTime: string;
  /**
   * Ceiling on the TSDB's size on disk (blocks, WAL and head chunks), in MB or GB as Prometheus
   * counts them (powers of two). At most 80 % of the `prometheus-data` volume's capacity, so
   * compaction has room to write a block before deleting the old ones. The default stack
   * writes well under 20 MB a day at a 60 s interval: the ceiling only guards the main HDD.
   * @default '8GB'
   */
  readonly retentionSize: string;
  /**
   * Scrape and rule evaluation interval, in seconds or minutes, between 15s and 2m. The rules'
   * rate windows (10 m and more) need at least four samples each. Every halving of the
   * interval doubles the samples Prometheus holds in memory. @default '60s'
   */
  readonly scrapeInterval: string;
}

/** SMTP receiver (`monitoring.alerts.email`). The password is read from the Secret. */
export interface EmailReceiverSettings {
  /** @default false */
  readonly enabled: boolean;
  /** SMTP server host name. Required when enabled. @default '' */
  readonly smtpHost: string;
  /**
   * SMTP port: 587 (submission with STARTTLS), 465 (implicit TLS) or 25. The NetworkPolicy
   * opens exactly this port to the internet. @default 587
   */
  readonly smtpPort: number;
  /** Sender address. Required when enabled. @default '' */
  readonly from: string;
  /** Recipient address. Required when enabled. @default '' */
  readonly to: string;
  /**
   * SMTP login; with a login the password comes from the Secret key `smtp-password`.
   * `''` sends without authentication. @default ''
   */
  readonly username: string;
}

/** Telegram receiver (`monitoring.alerts.telegram`); the bot token is read from the Secret. */
export interface TelegramReceiverSettings {
  /** @default false */
  readonly enabled: boolean;
  /** Chat ID the bot posts to (negative for groups). Required when enabled. @default 0 */
  readonly chatId: number;
}

/** Slack receiver (`monitoring.alerts.slack`); the incoming-webhook URL is read from the Secret. */
export interface SlackReceiverSettings {
  /** @default false */
  readonly enabled: boolean;
  /** Channel override such as `#alerts`; `''` posts to the webhook's own channel. @default '' */
  readonly channel: string;
}

/** Discord receiver (`monitoring.alerts.discord`); the webhook URL is read from the Secret. */
export interface DiscordReceiverSettings {
  /** @default false */
  readonly enabled: boolean;
}

/**
 * Where Alertmanager sends notifications. Each receiver is off until enabled; credentials
 * live only in the Secret `alertmanager-receivers` (see ALERT_RECEIVER_SECRET).
 */
export interface AlertReceiverSettings {
  readonly email: EmailReceiverSettings;
  readonly telegram: TelegramReceiverSettings;
  readonly slack: SlackReceiverSettings;
  readonly discord: DiscordReceiverSettings;
}

export type AlertReceiverName = keyof AlertReceiverSettings;
export const ALERT_RECEIVER_NAMES: readonly AlertReceiverName[] = ['email', 'telegram', 'slack', 'discord'];

/**
 * The Secret (in `monitoring`) holding the receivers' credentials, created out of band. Only
 * the keys of the enabled receivers are needed; each one is mounted by key, so a missing key
 * keeps the pod from starting with an event naming it.
 */
export const ALERT_RECEIVER_SECRET = {
  name: 'alertmanager-receivers',
  keys: {
    email: 'smtp-password',
    telegram: 'telegram-bot-token',
    slack: 'slack-webhook-url',
    discord: 'discord-webhook-url',
  },
} as const satisfies { name: string; keys: Record<AlertReceiverName, string> };

/** Rules look this many days back; retention must cover it. */
export const RULE_LOOKBACK_DAYS = 7;
/** Ports an SMTP receiver may use; the NetworkPolicy opens the configured one. */
export const SMTP_PORTS = [25, 465, 587] as const;

export const DEFAULT_PROMETHEUS: PrometheusSettings = {
  retentionTime: '15d',
  retentionSize: '8GB',
  scrapeInterval: '60s',
};

export const DEFAULT_ALERT_RECEIVERS: AlertReceiverSettings = {
  email: { enabled: false, smtpHost: '', smtpPort: 587, from: '', to: '', username: '' },
  telegram: { enabled: false, chatId: 0 },
  slack: { enabled: false, channel: '' },
  discord: { enabled: false },
};

/** Receivers switched on in the config. */
export function enabledReceivers(receivers: AlertReceiverSettings): AlertReceiverName[] {
  return ALERT_RECEIVER_NAMES.filter((name) => receivers[name].enabled);
}

/** Secret keys the enabled receivers read (email only when it logs in). */
export function receiverSecretKeys(receivers: AlertReceiverSettings): string[] {
  return enabledReceivers(receivers)
    .filter((name) => name !== 'email' || receivers.email.username !== '')
    .map((name) => ALERT_RECEIVER_SECRET.keys[name]);
}

/** Seconds of a Prometheus duration made of one number and unit (`60s`, `15d`), or undefined. */
export function durationSeconds(value: string, units: readonly string[] = ['s', 'm', 'h', 'd', 'w']): number | undefined {
  const match = /^([1-9][0-9]*)(s|m|h|d|w|y)$/.exec(value);
  if (!match || !units.includes(match[2])) return undefined;
  const factor: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800, y: 31536000 };
  return Number(match[1]) * factor[match[2]];
}

/** Bytes of a Prometheus size such as `8GB` (powers of two, as Prometheus reads it), or undefined. */
export function prometheusSizeBytes(value: string): number | undefined {
  const match = /^([1-9][0-9]*)(MB|GB|TB)$/.exec(value);
  if (!match) return undefined;
  return Number(match[1]) * { MB: 1024 ** 2, GB: 1024 ** 3, TB: 1024 ** 4 }[match[2] as 'MB' | 'GB' | 'TB'];
}

const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const EMAIL = /^[^\s@<>]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/;

function checkPrometheusSettings(config: PotatoStackConfig, report: Report): void {
  const p = config.monitoring.prometheus;
  const retention = typeof p.retentionTime === 'string' ? durationSeconds(p.retentionTime, ['h', 'd', 'w']) : undefined;
  if (retention === undefined || retention < RULE_LOOKBACK_DAYS * 86400) {
    report('monitoring.prometheus.retentionTime', p.retentionTime, `whole hours, days or weeks of at least ${RULE_LOOKBACK_DAYS}d, such as '15d' or '4w' (the backup and uptime rules look back ${RULE_LOOKBACK_DAYS} days)`);
  }
  const size = typeof p.retentionSize === 'string' ? prometheusSizeBytes(p.retentionSize) : undefined;
  const capacity = memoryBytes(volumeSpec('prometheus-data').capacity) ?? 0;
  if (size === undefined) {
    report('monitoring.prometheus.retentionSize', p.retentionSize, "a size in MB or GB such as '8GB'");
  } else if (size > capacity * 0.8) {
    report('monitoring.prometheus.retentionSize', p.retentionSize, `at most 80 % of the prometheus-data volume (${volumeSpec('prometheus-data').capacity}), leaving room for compaction`);
  }
  const interval = typeof p.scrapeInterval === 'string' ? durationSeconds(p.scrapeInterval, ['s', 'm']) : undefined;
  if (interval === undefined || interval < 15 || interval > 120) {
    report('monitoring.prometheus.scrapeInterval', p.scrapeInterval, "seconds or minutes between 15s and 2m, such as '60s'");
  }
}

function checkReceivers(config: PotatoStackConfig, report: Report): void {
  const r = config.monitoring.alerts;
  for (const name of ALERT_RECEIVER_NAMES) {
    if (typeof r[name].enabled !== 'boolean') report(`monitoring.alerts.${name}.enabled`, r[name].enabled, 'true or false');
  }
  const { email, telegram, slack } = r;
  if (email.enabled === true) {
    if (typeof email.smtpHost !== 'string' || !HOST_NAME.test(email.smtpHost)) {
      report('monitoring.alerts.email.smtpHost', email.smtpHost, "the SMTP server's host name, such as 'smtp.example.org'");
    }
    if (!(SMTP_PORTS as readonly unknown[]).includes(email.smtpPort)) {
      report('monitoring.alerts.email.smtpPort', email.smtpPort, `one of the mail ports ${SMTP_PORTS.join(', ')} (the NetworkPolicy opens only mail ports)`);
    }
    for (const prop of ['from', 'to'] as const) {
      if (typeof email[prop] !== 'string' || !EMAIL.test(email[prop])) report(`monitoring.alerts.email.${prop}`, email[prop], "an e-mail address such as 'alerts@example.org'");
    }
    if (typeof email.username !== 'string' || /\s/.test(email.username)) {
      report('monitoring.alerts.email.username', email.username, "the SMTP login without spaces, or '' for no authentication");
    }
  }
  if (telegram.enabled === true && (typeof telegram.chatId !== 'number' || !Number.isSafeInteger(telegram.chatId) || telegram.chatId === 0)) {
    report('monitoring.alerts.telegram.chatId', telegram.chatId, 'the non-zero numeric chat ID of the chat the bot posts to (negative for groups)');
  }
  if (slack.enabled === true && (typeof slack.channel !== 'string' || !/^([#@][A-Za-z0-9._-]{1,80})?$/.test(slack.channel))) {
    report('monitoring.alerts.slack.channel', slack.channel, "a channel such as '#alerts', a user such as '@me', or '' for the webhook's channel");
  }
}

/** Validation of `monitoring.prometheus` and `monitoring.alerts`. */
export function checkPrometheusAndAlerts(config: PotatoStackConfig, report: Report): void {
  checkPrometheusSettings(config, report);
  checkReceivers(config, report);
}
