// One lift: live status, recent events, and its charts (trips, door cycles,
// faults per day, monthly availability).
import { api, boot, h, t, fmtTime, stream, message, errorText, liftState, serverClock, liveBadge, faultName, alertTitle } from './core.js';
import { points, perDay, availability, bars } from './charts.js';

const id = decodeURIComponent(location.pathname.split('/')[2] || '');
let lift = null;
let history = { recent: [], trips: [], doors: [], faults: [] };

function info() {
  document.getElementById('title').textContent = `${lift.id} · ${lift.estate_name} ${lift.building}${lift.unit}`;
  const st = liftState(lift);
  const badge = document.getElementById('state');
  badge.className = 'badge st-' + st; badge.textContent = t('lstate.' + st); badge.dataset.state = st;
  document.getElementById('info').replaceChildren(h('dl', { class: 'kv' },
    h('dt', { text: t('lift.address') }), h('dd', { text: lift.address }),
    h('dt', { text: t('lift.contractor') }), h('dd', {}, lift.contractor || '—',
      lift.contractor_phone ? h('span', {}, ' · ', h('a', { class: 'phone', text: lift.contractor_phone, attrs: { href: 'tel:' + lift.contractor_phone.replace(/[^0-9+]/g, '') } })) : null),
    h('dt', { text: t('lift.manager') }), h('dd', { text: lift.property_manager }),
    h('dt', { text: t('lift.installed') }), h('dd', { text: lift.install_date })));
  const s = lift.status || {};
  document.getElementById('status').replaceChildren(
    h('dt', { text: t('lift.floor') }), h('dd', { text: s.floor ?? '—' }),
    h('dt', { text: t('lift.door') }), h('dd', { text: s.door ? t('door.' + s.door) : '—' }),
    h('dt', { text: t('lift.mode') }), h('dd', { text: s.mode ? t('mode.' + s.mode) : '—' }),
    // The terminal reports a trapped passenger: said beside the mode, which
    // alone would read as normal.
    ...(lift.reports_entrapment ? [h('dt', { text: t('lift.reports') }), h('dd', { class: 'bad trapped', text: t('lstate.trapped') })] : []),
    h('dt', { text: t('lift.last_seen') }), h('dd', { text: fmtTime(lift.last_seen) || '—' }),
    h('dt', { text: t('lift.open_alerts') }), h('dd', { text: lift.open_alerts ?? 0 }));
}

function events() {
  const ol = document.getElementById('events');
  if (!history.recent.length) { ol.replaceChildren(h('li', { class: 'muted', text: t('lift.noevents') })); return; }
  ol.replaceChildren(...history.recent.map((p) => h('li', {},
    h('b', { text: t('lift.kind.' + p.kind) }), ' ', h('span', { class: 'muted', text: fmtTime(p.time) }), ' ',
    h('span', { text: [p.code ? faultName(p.code) : p.code, p.state && p.kind === 'fault' ? t('fstate.' + p.state) : p.state, p.source, p.detail, p.from !== undefined ? `${p.from}→${p.to}` : null].filter((x) => x !== undefined && x !== null).join(' ') }))));
}

function charts() {
  const el = document.getElementById('charts');
  el.replaceChildren();
  const now = serverClock.now();
  bars(el, t('lift.trips'), perDay(history.trips, 14, now));
  bars(el, t('lift.doors'), perDay(history.doors, 14, now), { color: '#6b4fbb' });
  bars(el, t('lift.faults'), perDay(history.faults, 30, now, (p) => p.state === 'active'), { color: '#c0182b' });
  const av = availability(history.faults, 6, now);
  bars(el, t('lift.availability'), [av.map((m) => Date.parse(m.month + '-15T00:00:00+08:00') / 1000), av.map((m) => Math.round(m.pct * 100) / 100)],
    { color: '#1a7f37', dateOnly: false, yRange: [Math.min(95, ...av.map((m) => Math.floor(m.pct))), 100] });
}

async function load(msg) {
  ({ data: lift } = await api('/api/v1/lifts/' + encodeURIComponent(id)));
  info();
  const now = serverClock.now();
  const [recent, trips, doors, faults] = await Promise.all([
    api(`/api/v1/lifts/${encodeURIComponent(id)}/history?kind=fault&kind=alarm&kind=trip&kind=door&limit=30`).then((r) => r.data.points),
    points(id, ['trip'], now - 14 * 86400000), points(id, ['door'], now - 14 * 86400000), points(id, ['fault'], now - 185 * 86400000),
  ]).catch((e) => { message(msg, errorText(e), 'error'); return [[], [], [], []]; });
  history = { recent, trips, doors, faults };
  events();
  charts();
}

// pages shows who was paged for the lift's open rescue and critical
// alerts (hidden for a role that may not read alerts, or with none).
async function pages() {
  const panel = document.getElementById('pages-panel');
  try {
    const { data: open } = await api(`/api/v1/alerts?open=true&lift=${encodeURIComponent(id)}`);
    const paging = open.filter((a) => (a.rescue || a.severity === 'critical') && a.type !== 'paging_failed');
    const lists = await Promise.all(paging.map((a) => api(`/api/v1/alerts/${a.id}/pages`).then((r) => r.data)));
    const items = paging.flatMap((a, i) => lists[i].map((p) => h('li', { class: 'page', dataset: { alert: String(a.id), state: p.state } },
      h('b', { text: alertTitle(a.type) }), ' · ', h('span', { text: `${p.person} · ${t('page.role.' + p.role)}` }), ' · ',
      h('span', { class: 'muted', text: `${p.channel} ${p.to} · ${fmtTime(p.created_at)}` }), ' · ',
      h('span', { class: 'pstate', text: t('page.state.' + p.state), attrs: { title: p.error || null } }),
      p.acknowledged_by ? h('span', { text: ' · ' + t('pages.acked_by', { who: p.acknowledged_by }) }) : null)));
    panel.hidden = !paging.length;
    document.getElementById('pages').replaceChildren(...(items.length ? items : [h('li', { class: 'muted', text: t('pages.none') })]));
  } catch { panel.hidden = true; }
}

// denied shows why the lift cannot be shown instead of the page's panels:
// the API answers a lift out of scope as it answers an unknown one (404),
// so the page says both at once.
function denied(msg, e) {
  document.getElementById('main').dataset.denied = String(e.status || '');
  for (const el of document.querySelectorAll('#main > section:not(.bar)')) el.hidden = true;
  document.getElementById('title').textContent = id;
  message(msg, e.status === 403 || e.status === 404 ? t('lift.denied') : errorText(e), 'error');
}

boot('lift', async (me, again) => {
  if (again) { if (lift) { info(); events(); charts(); } return; }
  const msg = document.getElementById('msg');
  try { await serverClock.sync(); } catch { /* browser time */ }
  try { await load(msg); } catch (e) { denied(msg, e); return; }
  pages();
  setInterval(pages, 15000);
  // No replay on the lift stream: after a reconnection, read the lift again.
  stream('/api/v1/lifts/stream?lift=' + encodeURIComponent(id), ['lift'], (_, l) => { if (l.id === id) { lift = l; info(); } }, liveBadge,
    () => api('/api/v1/lifts/' + encodeURIComponent(id)).then(({ data }) => { lift = data; info(); }).catch(() => {}));
});
