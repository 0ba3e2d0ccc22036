// Charts with the vendored uPlot, and the figures they draw computed from
// the lift's telemetry history.
import uPlot from '../vendor/uplot/uPlot.esm.js';
import { api, h, t, shanghaiDay, TZ } from './core.js';

const DAY = 86400000;

// points reads a lift's history of kinds since a time, every page.
export async function points(lift, kinds, sinceMs, max = 6) {
  const out = [];
  let cursor = '';
  for (let i = 0; i < max; i++) {
    const q = new URLSearchParams();
    for (const k of kinds) q.append('kind', k);
    q.set('since', new Date(sinceMs).toISOString());
    q.set('limit', '10000');
    if (cursor) q.set('cursor', cursor);
    const { data } = await api(`/api/v1/lifts/${encodeURIComponent(lift)}/history?${q}`);
    out.push(...data.points);
    if (!data.next_cursor) break;
    cursor = data.next_cursor;
  }
  return out;
}

// perDay counts points per Shanghai day over the days ending today.
export function perDay(pts, days, nowMs, pred = () => true) {
  const keys = [];
  for (let i = days - 1; i >= 0; i--) keys.push(shanghaiDay(new Date(nowMs - i * DAY)));
  const n = Object.fromEntries(keys.map((k) => [k, 0]));
  for (const p of pts) { const k = shanghaiDay(new Date(p.time)); if (k in n && pred(p)) n[k]++; }
  // x: noon Shanghai of each day, in seconds.
  return [keys.map((k) => Date.parse(k + 'T12:00:00+08:00') / 1000), keys.map((k) => n[k])];
}

const month = (ms) => shanghaiDay(new Date(ms)).slice(0, 7);

// availability: per Shanghai month, the share of time the lift was not
// stopped by an active fault (fault points: active … cleared). Offline time
// is not counted as down (docs/web.md).
export function availability(faults, months, nowMs) {
  const evs = [...faults].sort((a, b) => (a.time < b.time ? -1 : 1));
  const down = []; // [start, end] intervals
  const open = new Map();
  for (const p of evs) {
    const at = Date.parse(p.time);
    if (p.state === 'active') { if (!open.has(p.code)) open.set(p.code, at); } else if (p.state === 'cleared' && open.has(p.code)) {
      down.push([open.get(p.code), at]); open.delete(p.code);
    }
  }
  for (const s of open.values()) down.push([s, nowMs]);
  const out = [];
  let start = Date.parse(month(nowMs) + '-01T00:00:00+08:00');
  const starts = [start];
  for (let i = 1; i < months; i++) { const d = new Date(start - DAY); starts.unshift(Date.parse(month(d.getTime()) + '-01T00:00:00+08:00')); start = starts[0]; }
  for (let i = 0; i < starts.length; i++) {
    const s = starts[i];
    const e = i + 1 < starts.length ? starts[i + 1] : nowMs;
    let d = 0;
    // overlapping intervals of several codes count once
    const iv = down.map(([a, b]) => [Math.max(a, s), Math.min(b, e)]).filter(([a, b]) => b > a).sort((x, y) => x[0] - y[0]);
    let cur = null;
    for (const [a, b] of iv) { if (cur && a <= cur[1]) cur[1] = Math.max(cur[1], b); else { if (cur) d += cur[1] - cur[0]; cur = [a, b]; } }
    if (cur) d += cur[1] - cur[0];
    out.push({ month: month(s), pct: e > s ? 100 * (1 - d / (e - s)) : 100 });
  }
  return out;
}

function width(el) { return Math.max(280, Math.min(560, el.clientWidth || 320)); }

// bars draws a bar chart of [x seconds, y] into el with a title.
export function bars(el, title, data, { color = '#0b5cad', fmt = (v) => v, dateOnly = true, yRange } = {}) {
  const box = h('div', { class: 'chart', dataset: { chart: title } }, h('h3', { text: title }));
  el.append(box);
  const opts = {
    width: width(el) - 10, height: 180, tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), TZ),
    legend: { show: false }, cursor: { show: true }, scales: { x: { time: true }, y: yRange ? { range: yRange } : {} },
    axes: [{ values: (u, vals) => vals.map((v) => new Intl.DateTimeFormat('en-CA', { timeZone: TZ, month: '2-digit', day: dateOnly ? '2-digit' : undefined }).format(new Date(v * 1000))) },
      { values: (u, vals) => vals.map(fmt), size: 50 }],
    series: [{}, { label: title, stroke: color, fill: color + '99', paths: uPlot.paths.bars({ size: [0.7, 40] }), points: { show: false } }],
  };
  return new uPlot(opts, data, box);
}

export const label = (k) => t(k);
