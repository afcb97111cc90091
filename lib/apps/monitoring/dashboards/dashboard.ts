/**
 * A tiny builder for Grafana dashboard JSON: just the fields Grafana needs to render
 * timeseries, stat, table and logs panels from the provisioned datasources. Layout is
 * automatic (panels fill rows left to right), so a dashboard is a list of panels.
 */

/** UIDs the provisioned datasources are created with (see grafana.ts). */
export const DATASOURCE_UIDS = { prometheus: 'prometheus', loki: 'loki', alertmanager: 'alertmanager' } as const;

export type DatasourceKind = 'prometheus' | 'loki';

export interface Query {
  /** PromQL or LogQL. */
  readonly expr: string;
  /** Series name template, e.g. '{{pod}}'. @default Grafana's */
  readonly legend?: string;
  /** Table panels want the current value only. @default false */
  readonly instant?: boolean;
}

export interface Threshold {
  readonly value: number;
  readonly color: 'green' | 'yellow' | 'orange' | 'red';
}

export interface PanelSpec {
  readonly title: string;
  readonly type: 'timeseries' | 'stat' | 'table' | 'bargauge' | 'logs';
  readonly queries: readonly Query[];
  /** Grafana unit id: bytes, percent, s, dtdurations, celsius, short, Bps, none. @default none */
  readonly unit?: string;
  /** Colour steps above the base colour (green). @default none */
  readonly thresholds?: readonly Threshold[];
  /** Width in grid columns of 24. @default 12 (6 for stat) */
  readonly width?: number;
  /** Height in grid rows. @default 8 (4 for stat) */
  readonly height?: number;
  /** @default 'prometheus' ('loki' for logs panels) */
  readonly datasource?: DatasourceKind;
  /** Value mappings for stat panels, e.g. 1 -> PASSED. @default none */
  readonly valueText?: Readonly<Record<string, { text: string; color: Threshold['color'] }>>;
  readonly description?: string;
}

export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly panels: readonly PanelSpec[];
  /** Dashboard variables (label_values queries against Prometheus). @default none */
  readonly variables?: readonly { name: string; label: string; query: string }[];
  /** @default 'now-24h' */
  readonly from?: string;
}

function layout(panels: readonly PanelSpec[]): { x: number; y: number; w: number; h: number }[] {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  return panels.map((p) => {
    const w = p.width ?? (p.type === 'stat' ? 6 : 12);
    const h = p.height ?? (p.type === 'stat' ? 4 : 8);
    if (x + w > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const pos = { x, y, w, h };
    x += w;
    rowHeight = Math.max(rowHeight, h);
    return pos;
  });
}

function renderPanel(p: PanelSpec, id: number, gridPos: { x: number; y: number; w: number; h: number }): Record<string, unknown> {
  const kind: DatasourceKind = p.datasource ?? (p.type === 'logs' ? 'loki' : 'prometheus');
  const datasource = { type: kind, uid: DATASOURCE_UIDS[kind] };
  const mappings = p.valueText
    ? [{ type: 'value', options: Object.fromEntries(Object.entries(p.valueText).map(([v, m], i) => [v, { text: m.text, color: m.color, index: i }])) }]
    : [];
  return {
    id,
    type: p.type,
    title: p.title,
    description: p.description,
    datasource,
    gridPos,
    targets: p.queries.map((q, i) => ({
      refId: String.fromCharCode(65 + i),
      datasource,
      expr: q.expr,
      legendFormat: q.legend,
      instant: q.instant ?? p.type === 'table',
      range: !(q.instant ?? p.type === 'table'),
      format: p.type === 'table' ? 'table' : undefined,
    })),
    fieldConfig: {
      defaults: {
        unit: p.unit,
        mappings,
        thresholds: { mode: 'absolute', steps: [{ color: 'green', value: null }, ...(p.thresholds ?? []).map((t) => ({ color: t.color, value: t.value }))] },
      },
      overrides: [],
    },
    options: p.type === 'logs' ? { showTime: true, wrapLogMessage: true, sortOrder: 'Descending' } : {},
  };
}

/** The dashboard model Grafana's file provider loads. */
export function renderDashboard(spec: DashboardSpec): Record<string, unknown> {
  if (spec.panels.length === 0) throw new Error(`dashboard ${spec.uid} has no panels`);
  const positions = layout(spec.panels);
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: ['potatostack'],
    editable: false,
    timezone: 'browser',
    schemaVersion: 39,
    version: 1,
    refresh: '1m',
    time: { from: spec.from ?? 'now-24h', to: 'now' },
    templating: {
      list: (spec.variables ?? []).map((v) => ({
        name: v.name,
        label: v.label,
        type: 'query',
        datasource: { type: 'prometheus', uid: DATASOURCE_UIDS.prometheus },
        query: { query: v.query, refId: 'variable' },
        definition: v.query,
        includeAll: true,
        multi: true,
        allValue: '.*',
        current: { text: 'All', value: '$__all' },
        refresh: 2,
        sort: 1,
      })),
    },
    panels: spec.panels.map((p, i) => renderPanel(p, i + 1, positions[i])),
  };
}

/** Every PromQL/LogQL expression of a dashboard, for cross-checks (allow-lists, label names). */
export function expressionsOf(spec: DashboardSpec): string[] {
  return spec.panels.flatMap((p) => p.queries.map((q) => q.expr));
}
