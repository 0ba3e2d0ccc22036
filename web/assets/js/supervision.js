// Supervision and reports: contractor compliance, rescue times,
// availability per estate and month, fund balances, supervision events,
// CSV exports.
import { api, boot, h, t, message, errorText, yuan, serverClock, shanghaiDay, getAll, may, fmtTime } from './core.js';
import { points, availability } from './charts.js';

let lifts = [];
let me;

function table(cols, rows) {
  return h('div', { class: 'scroll' }, h('table', {},
    h('thead', {}, h('tr', {}, cols.map((c) => h('th', { class: c.num ? 'num' : '', text: c.label })))),
    h('tbody', {}, rows.map((r) => h('tr', {}, cols.map((c) => h('td', { class: c.num ? 'num' : '', text: c.get(r) })))))));
}

// pct shows a percentage figure (0-100); null (no denominator) as —.
const pct = (x) => (typeof x === 'number' ? `${x.toFixed(1)}%` : '—');
const share = (x) => (typeof x === 'number' ? `${(x * 100).toFixed(1)}%` : '—');
const num = (x, d = 1) => (typeof x === 'number' ? x.toFixed(d) : '—');

function estatesOf(sel) {
  const m = new Map();
  for (const l of lifts) if (!sel || l.estate === sel) m.set(l.estate, l.estate_name || l.estate);
  return [...m.entries()].sort();
}

async function pool(items, n, f) {
  const out = []; let i = 0;
  await Promise.all(Array.from({ length: n }, async () => { while (i < items.length) { const k = i++; out[k] = await f(items[k]).catch(() => null); } }));
  return out;
}

async function compliance(month, estate) {
  const el = document.getElementById('compliance');
  const q = new URLSearchParams({ month }); if (estate) q.set('estate', estate);
  document.getElementById('csv-compliance').setAttribute('href', '/api/v1/export/compliance.csv?' + q);
  const wq = new URLSearchParams(); for (const l of lifts) if (!estate || l.estate === estate) wq.append('lift', l.id);
  document.getElementById('csv-wo').setAttribute('href', '/api/v1/export/work-orders.csv' + (estate ? '?' + wq : ''));
  try {
    const rows = await getAll('/api/v1/reports/compliance?' + q);
    el.replaceChildren(table([
      { label: t('sup.contractor'), get: (r) => r.contractor },
      { label: t('sup.lifts'), num: true, get: (r) => r.lifts },
      { label: t('sup.due'), num: true, get: (r) => r.orders_due },
      { label: t('sup.done'), num: true, get: (r) => r.on_time },
      { label: t('sup.rate'), num: true, get: (r) => pct(r.on_time_pct) },
      { label: t('sup.verified'), num: true, get: (r) => `${r.verified}/${r.visits}` },
      { label: t('sup.verified_pct'), num: true, get: (r) => pct(r.verified_pct) },
      { label: t('sup.callouts'), num: true, get: (r) => r.callouts },
      { label: t('sup.avg_arrival'), num: true, get: (r) => num(r.mean_arrival_minutes) },
      { label: t('sup.late'), num: true, get: (r) => r.late_arrivals },
    ], rows));
  } catch (e) { message(el, errorText(e), 'error'); }
}

async function rescue(month, estate) {
  const el = document.getElementById('rescue');
  const rows = await pool(estatesOf(estate), 4, async ([slug, name]) => ({ name, ...(await api('/api/v1/reports/rescue?' + new URLSearchParams({ estate: slug, month }))).data }));
  el.replaceChildren(table([
    { label: t('common.estate'), get: (r) => r.name },
    { label: t('sup.entrapments'), num: true, get: (r) => r.entrapments },
    { label: t('sup.avg_arrival'), num: true, get: (r) => num(r.mean_arrival_minutes) },
    { label: t('sup.on_time'), num: true, get: (r) => (r.arrived ? share(r.share_on_site_within_limit) : '—') },
  ], rows.filter(Boolean)));
}

async function availabilityTable(month, estate) {
  const el = document.getElementById('availability');
  const now = serverClock.now();
  const start = Date.parse(month + '-01T00:00:00+08:00');
  const next = new Date(start + 32 * 86400000);
  const end = Math.min(now, Date.parse(shanghaiDay(next).slice(0, 7) + '-01T00:00:00+08:00'));
  const chosen = lifts.filter((l) => !estate || l.estate === estate);
  const per = await pool(chosen, 6, async (l) => {
    const f = await points(l.id, ['fault'], start - 7 * 86400000);
    const a = availability(f.filter((p) => Date.parse(p.time) < end), 1, end)[0];
    return { estate: l.estate, pct: a.pct };
  });
  const by = new Map();
  for (const r of per.filter(Boolean)) { const s = by.get(r.estate) || { sum: 0, n: 0 }; s.sum += r.pct; s.n++; by.set(r.estate, s); }
  el.replaceChildren(table([
    { label: t('common.estate'), get: (r) => r.name }, { label: t('sup.lifts'), num: true, get: (r) => r.n },
    { label: t('common.month'), get: () => month }, { label: t('lift.availability'), num: true, get: (r) => `${r.pct.toFixed(2)}%` },
  ], estatesOf(estate).filter(([s]) => by.has(s)).map(([s, name]) => ({ name, n: by.get(s).n, pct: by.get(s).sum / by.get(s).n }))));
}

// FUND_FIRST is how many lifts' balances load at first (one request each);
// the count of all and a "show all" button say the rest is there.
const FUND_FIRST = 40;
let fundAll = false;

async function fund(estate) {
  const el = document.getElementById('fund');
  if (!may(me.user.role, 'read_fund')) { el.replaceChildren(h('p', { class: 'muted', text: t('common.forbidden') })); return; }
  const all = lifts.filter((l) => !estate || l.estate === estate);
  const chosen = fundAll ? all : all.slice(0, FUND_FIRST);
  const rows = await pool(chosen, 6, async (l) => ({ lift: l, f: (await api(`/api/v1/lifts/${encodeURIComponent(l.id)}/fund`)).data }));
  const ok = rows.filter(Boolean);
  if (!ok.length) { message(el, t('common.none')); return; }
  const more = chosen.length < all.length ? h('p', { class: 'fundmore' },
    h('span', { class: 'muted', text: t('sup.showing', { n: chosen.length, total: all.length }) + ' ' }),
    h('button', { attrs: { type: 'button', id: 'fund-all' }, text: t('sup.show_all', { n: all.length }),
      on: { click: (e) => { e.target.disabled = true; fundAll = true; fund(estate).catch((x) => message(el, errorText(x), 'error')); } } })) : null;
  el.replaceChildren(more || '', table([
    { label: 'ID', get: (r) => r.lift.id }, { label: t('common.estate'), get: (r) => `${r.lift.estate_name} ${r.lift.building}${r.lift.unit}` },
    { label: t('sup.balance'), num: true, get: (r) => yuan(r.f.balance_fen) },
  ], ok));
  el.dataset.shown = String(ok.length);
  el.dataset.total = String(all.length);
}

// dedupe keeps one line per situation: the same kind on the same lift (and
// work order) from the maintenance record and from the contracts' findings
// (a contract about to expire is both) is shown once, the finding first
// (it carries the cover and days left).
export function dedupe(list) {
  const seen = new Set();
  const ranked = [...list].sort((a, b) => (a.source === 'trusteeship' ? 0 : 1) - (b.source === 'trusteeship' ? 0 : 1));
  const keep = new Set();
  for (const e of ranked) {
    const k = `${e.kind}|${e.lift}|${e.work_order || ''}`;
    if (seen.has(k)) continue;
    seen.add(k); keep.add(e);
  }
  return list.filter((e) => keep.has(e));
}

async function events(estate) {
  const el = document.getElementById('events');
  try {
    const list = dedupe(await getAll('/api/v1/supervision' + (estate ? '?estate=' + encodeURIComponent(estate) : ''), 3));
    el.replaceChildren(...(list.length ? list.slice(0, 100).map((e) => h('li', { dataset: { kind: e.kind } },
      h('b', { text: t('sup.kind.' + e.kind) }), ' ', h('a', { text: e.lift, attrs: { href: '/lifts/' + encodeURIComponent(e.lift) } }),
      e.work_order ? h('span', {}, ' · ', h('a', { text: '#' + e.work_order, attrs: { href: '/work-orders/' + e.work_order } })) : null,
      h('span', { class: 'muted', text: ` ${fmtTime(e.at)} ${e.contractor || ''}` }),
      typeof e.days_left === 'number' ? h('span', { class: 'badge', text: t('sup.days_left', { n: e.days_left, d: e.covered_until || '' }) }) : null,
      h('div', { text: e.summary || '' })))
      : [h('li', { class: 'muted', text: t('common.none') })]));
  } catch (e) { el.replaceChildren(h('li', { class: 'muted', text: errorText(e) })); }
}

function refresh() {
  const month = document.getElementById('month').value;
  const estate = document.getElementById('estate').value;
  const msg = document.getElementById('msg');
  msg.replaceChildren();
  const fail = (e) => message(msg, errorText(e), 'error');
  compliance(month, estate).catch(fail);
  rescue(month, estate).catch(fail);
  availabilityTable(month, estate).catch(fail);
  fund(estate).catch(fail);
  events(estate).catch(fail);
}

boot('supervision', async (m, again) => {
  me = m;
  if (again) { refresh(); return; }
  try { await serverClock.sync(); } catch { /* browser time */ }
  const month = document.getElementById('month');
  month.value = shanghaiDay(new Date(serverClock.now())).slice(0, 7);
  try { lifts = await getAll('/api/v1/lifts?limit=1000'); } catch (e) { message(document.getElementById('msg'), errorText(e), 'error'); return; }
  const sel = document.getElementById('estate');
  sel.replaceChildren(h('option', { text: t('common.all'), attrs: { value: '' } }), ...estatesOf('').map(([v, name]) => h('option', { text: name, attrs: { value: v } })));
  // Opens on all estates: the subdistrict's first look is the whole area.
  month.addEventListener('change', refresh);
  sel.addEventListener('change', () => { fundAll = false; refresh(); });
  refresh();
});
