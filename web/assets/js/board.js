// The alert board: open alerts, newest critical first, live over SSE; the
// rescue clocks (notify the maintainer, someone on site) counted down on the
// server's clock; each action in two taps (choose, confirm).
import { api, boot, h, t, fmtTime, serverClock, stream, message, errorText, alertTitle, may, getAll, liveBadge } from './core.js';

const SEV = { critical: 3, major: 2, minor: 1, warning: 0 };
const NEXT = { open: 'acknowledge', acknowledged: 'dispatch', dispatched: 'arrive', on_site: 'resolve' };
const alerts = new Map(); // id → alert view
const pending = new Map(); // id → {action, version, note}
const notes = new Map(); // id → {text, kind} the card's last message
const paged = new Map(); // id → the alert's pages (who was paged, how it went)
const pagesDue = new Map(); // id → a pending refetch of its pages
let me;
let heard = false; // the first list is loaded: later openings are new
let audio = null;

function order(a, b) {
  return (SEV[b.severity] ?? 0) - (SEV[a.severity] ?? 0) || (b.opened_at < a.opened_at ? -1 : b.opened_at > a.opened_at ? 1 : b.id - a.id);
}

function mmss(ms) {
  const s = Math.floor(Math.abs(ms) / 1000);
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}

// clockState: done, red (past due), amber (under 40% of the window left), ok.
export function clockState(openedMs, windowS, doneAt, nowMs) {
  const due = openedMs + windowS * 1000;
  if (doneAt) { const d = new Date(doneAt).getTime(); return { cls: d > due ? 'done red' : 'done', text: t('board.clock.done', { t: mmss(d - openedMs) }) }; }
  const left = due - nowMs;
  if (left < 0) return { cls: 'red', text: t('board.clock.over', { t: mmss(left) }) };
  return { cls: left < windowS * 400 ? 'amber' : 'ok', text: t('board.clock.left', { t: mmss(left) }) };
}

// isCriticalFault: a critical fault alert (overspeed, unintended movement,
// overtravel, door open while moving), which runs the notify clock and a
// technician-on-site clock like a rescue.
export const isCriticalFault = (a) => a.type.startsWith('fault.') && a.severity === 'critical';

// clockSpecs are an alert's clocks: [name, label, window in s, done at].
function clockSpecs(a, c) {
  if (a.rescue) return [['ack', 'board.clock.ack', c.ack_within_s, a.acknowledged_at], ['onsite', 'board.clock.onsite', c.on_site_within_s, a.on_site_at]];
  if (isCriticalFault(a)) {
    return [['ack', 'board.clock.ack', c.ack_within_s, a.acknowledged_at], ['onsite', 'board.clock.tech_onsite', c.critical_on_site_within_s ?? 7200, a.on_site_at]];
  }
  // Still reported after a rescue: it becomes a rescue again unless someone is on site to check.
  if (a.type === 'entrapment_still_reported') return [['rescue_again', 'board.clock.rescue_again', c.still_reported_after_s ?? 600, a.on_site_at]];
  return null;
}

function clocks(a) {
  const specs = clockSpecs(a, serverClock.of(a.estate));
  if (!specs) return null;
  const opened = new Date(a.opened_at).getTime();
  const now = serverClock.now();
  return h('div', { class: 'clocks' }, specs.map(([name, label, windowS, doneAt]) => {
    const st = clockState(opened, windowS, doneAt, now);
    return h('div', { class: 'clock ' + st.cls, dataset: { clock: name } }, h('small', { text: t(label) }), h('b', { text: st.text }));
  }));
}

// isNotice: a supervision alert (paperwork for the manager: contracts,
// unverified or overdue visits, inspections, the fund, problem lifts). It
// is listed apart, below the rescue and fault cards, without clocks or the
// big action buttons (docs/web.md).
export const isNotice = (a) => a.type.startsWith('supervision.');

function card(a) {
  const phone = a.contractor_phone;
  const el = h('article', { class: `card sev-${a.severity}`, dataset: { alertId: String(a.id), state: a.state, type: a.type, lift: a.lift } },
    h('h3', {},
      h('span', { class: `badge sev-${a.severity}`, text: t('sev.' + a.severity) }),
      h('span', { class: 'title', text: alertTitle(a.type) }),
      h('a', { href: '', text: a.lift, attrs: { href: '/lifts/' + encodeURIComponent(a.lift) } }),
      h('span', { class: 'badge state', text: t('state.' + a.state) }),
      a.tier > 1 ? h('span', { class: 'badge tier', dataset: { tier: String(a.tier) }, text: t('board.tier', { n: a.tier }) }) : null),
    h('div', { class: 'where' }, h('b', { text: [a.estate_name, a.building, a.unit].filter(Boolean).join(' ') }), h('div', { class: 'muted', text: a.address })),
    h('div', { class: 'who' },
      h('span', { text: t('board.contractor') + ': ' }), h('span', { class: 'contractor', text: a.contractor || '—' }),
      phone ? h('span', {}, ' · ', h('a', { class: 'phone', text: phone, attrs: { href: 'tel:' + phone.replace(/[^0-9+]/g, '') } })) : null),
    h('div', { class: 'summary', text: `${t('board.opened')} ${fmtTime(a.opened_at)} · ${a.text ? t(a.text.code, a.text.params) : a.summary}` }),
    progress(a),
    pagesList(a),
    clocks(a),
    actions(a),
    h('div', { class: 'cardmsg' }));
  const n = notes.get(a.id);
  if (n) message(el.querySelector('.cardmsg'), n.text, n.kind);
  return el;
}

// progress says who did each step and when (free text: as text). The
// engine acknowledges an open alert on a dispatch or an arrival too; the
// card then says the step that was taken, not an acknowledgement no one
// made on its own.
function progress(a) {
  const parts = [];
  const at = (x) => fmtTime(x, { timeStyle: 'short' });
  const implicit = a.acknowledged_at && (a.acknowledged_at === a.dispatched_at || a.acknowledged_at === a.on_site_at);
  if (a.acknowledged_by && !implicit) parts.push(h('span', { class: 'ackby', text: t('board.ack_by', { who: a.acknowledged_by, at: at(a.acknowledged_at) }) }));
  if (a.dispatched_to) {
    const by = a.acknowledged_at && a.acknowledged_at === a.dispatched_at ? a.acknowledged_by : '';
    parts.push(h('span', { class: 'dispatched', text: by ? t('board.dispatched_by', { who: by, to: a.dispatched_to, at: at(a.dispatched_at) })
      : t('board.dispatched_to', { to: a.dispatched_to, at: at(a.dispatched_at) }) }));
  }
  if (a.on_site_by) parts.push(h('span', { class: 'onsiteby', text: t('board.on_site_by', { who: a.on_site_by, at: at(a.on_site_at) }) }));
  if (!parts.length) return null;
  return h('div', { class: 'progress muted' }, parts.flatMap((p, i) => (i ? [' · ', p] : [p])));
}

// paging says whether the alert is one the pager pages people for.
const paging = (a) => (a.rescue || a.severity === 'critical') && a.type !== 'paging_failed';

// pagesList says who was paged for the alert, on which channel, and what
// became of each page (delivered, failed, acknowledged).
function pagesList(a) {
  const list = paged.get(a.id);
  if (!paging(a) || !list) return null;
  if (!list.length) return h('div', { class: 'pages muted', text: t('pages.none') });
  return h('ul', { class: 'pages' }, list.map((p) => h('li', { class: 'page', dataset: { state: p.state, channel: p.channel } },
    h('span', { class: 'person', text: `${p.person} · ${t('page.role.' + p.role)}` }), ' · ',
    h('span', { class: 'muted', text: `${p.channel} ${p.to}` }), ' · ',
    h('span', { class: 'pstate', text: t('page.state.' + p.state), attrs: { title: p.error || null } }),
    p.attempts > 1 ? h('span', { class: 'muted', text: ' · ' + t('pages.attempts', { n: p.attempts }) }) : null,
    p.acknowledged_by ? h('span', { class: 'ackby', text: ' · ' + t('pages.acked_by', { who: p.acknowledged_by }) }) : null)));
}

// loadPages fetches an alert's pages (at most once a second per alert) and
// redraws its card.
function loadPages(a) {
  if (!paging(a) || a.state === 'resolved' || pagesDue.has(a.id)) return;
  pagesDue.set(a.id, setTimeout(async () => {
    pagesDue.delete(a.id);
    try {
      const { data } = await api(`/api/v1/alerts/${a.id}/pages`);
      paged.set(a.id, data);
      const cur = alerts.get(a.id);
      const card = document.querySelector(`.card[data-alert-id="${a.id}"]`);
      const fresh = cur && pagesList(cur);
      if (!card || !fresh) return;
      const el = card.querySelector('.pages');
      if (el) el.replaceWith(fresh); else (card.querySelector('.clocks') || card.querySelector('.cardmsg')).before(fresh);
    } catch { /* the card shows the alert without its pages */ }
  }, paged.has(a.id) ? 1000 : 0));
}

// notice is a supervision alert's line in the notices section: no clocks,
// no action buttons.
function notice(a) {
  return h('li', { class: 'notice', dataset: { alertId: String(a.id), type: a.type, lift: a.lift } },
    h('b', { class: 'title', text: alertTitle(a.type) }), ' ',
    h('a', { text: a.lift, attrs: { href: '/lifts/' + encodeURIComponent(a.lift) } }),
    h('span', { class: 'muted', text: ` ${[a.estate_name, a.building, a.unit].filter(Boolean).join(' ')} · ${fmtTime(a.opened_at)}` }),
    h('div', { class: 'muted', text: a.summary }));
}

function actions(a) {
  if (!may(me.user.role, 'act_alert')) return h('div', { class: 'muted', text: t('board.readonly') });
  const p = pending.get(a.id);
  const next = p ? p.action : NEXT[a.state];
  if (!next) return null;
  const box = h('div', { class: 'actions' });
  if (!p) {
    box.append(h('button', { class: next === 'resolve' ? 'danger' : 'primary', text: t('board.act.' + next), dataset: { action: next },
      attrs: { type: 'button' }, on: { click: () => { pending.set(a.id, { action: next, version: a.version, input: defaults(a, next) }); render(); } } }));
    return box;
  }
  const conf = h('div', { class: 'confirm' }, h('div', { text: t('board.confirm.' + next) }));
  let input = null; let released = null;
  if (next === 'dispatch' || next === 'resolve') {
    input = h('input', { attrs: { value: p.input, name: next === 'dispatch' ? 'to' : 'note' }, on: { input: (e) => { p.input = e.target.value; } } });
    conf.append(input);
  }
  if (next === 'resolve' && a.rescue) {
    // Unticked: the manager confirms deliberately that everyone is out.
    released = h('input', { attrs: { type: 'checkbox', name: 'released' } });
    conf.append(h('label', {}, released, ' ', t('board.released')));
    if (a.condition_active) conf.append(h('p', { class: 'msg msg-error still', attrs: { role: 'alert' }, text: t('board.still_active') }));
  }
  conf.append(h('div', { class: 'actions' },
    h('button', { class: next === 'resolve' ? 'danger' : 'primary', text: t('common.confirm'), dataset: { confirm: next }, attrs: { type: 'button' },
      on: { click: (e) => { e.target.disabled = true; act(a, p, input && input.value, released && released.checked); } } }),
    h('button', { text: t('common.cancel'), attrs: { type: 'button' }, on: { click: () => { pending.delete(a.id); render(); } } })));
  box.append(conf);
  return box;
}

function defaults(a, action) {
  if (action === 'dispatch') return a.contractor || '';
  if (action === 'resolve') return a.rescue ? t('board.resolve_note') : '';
  return '';
}

async function act(a, p, input, released) {
  const body = {};
  if (p.action === 'dispatch') body.to = input || a.contractor;
  if (p.action === 'resolve') { body.note = input || ''; if (a.rescue) body.passengers_released = !!released; }
  const headers = {};
  if (p.version !== undefined && p.version !== null) headers['If-Match'] = `"${p.version}"`;
  try {
    const { data } = await api(`/api/v1/alerts/${a.id}/${p.action}`, { method: 'POST', body, headers });
    pending.delete(a.id);
    notes.set(a.id, { text: t('board.done', { action: t('board.act.' + p.action) }), kind: 'ok' });
    upsert(data);
  } catch (e) {
    pending.delete(a.id);
    if (e.status === 409) {
      notes.set(a.id, { text: t('board.conflict', { state: t('state.' + (e.state || 'open')) }), kind: 'error' });
      if (e.alert) { upsert(e.alert); return; } // the 409 carries the alert as it is now
      try { const { data } = await api(`/api/v1/alerts/${a.id}`); upsert(data); } catch { render(); }
      return;
    }
    notes.set(a.id, { text: errorText(e), kind: 'error' });
    render();
  }
}

function upsert(a) {
  if (a.state === 'resolved') { alerts.delete(a.id); pending.delete(a.id); paged.delete(a.id); } else {
    const old = alerts.get(a.id);
    if (old && old.version !== undefined && a.version !== undefined && a.version < old.version) return; // older news
    alerts.set(a.id, a);
  }
  if (isNotice(a)) renderNotices(); else render();
}

function render() {
  const all = [...alerts.values()].sort(order);
  const list = all.filter((a) => !isNotice(a));
  const box = document.getElementById('alerts');
  const fresh = new Set([...box.querySelectorAll('.card.new')].map((e) => e.dataset.alertId));
  box.replaceChildren(...list.map((a) => { const c = card(a); if (fresh.has(String(a.id))) c.classList.add('new'); return c; }));
  document.getElementById('count').textContent = list.length ? t('board.count', { n: list.length }) : '';
  if (!list.length) message(box, t('board.empty'));
  renderNotices();
}

// renderNotices redraws only the notices section: a notice arriving live
// leaves the rescue cards (and a confirm strip being tapped) alone.
function renderNotices() {
  const ns = [...alerts.values()].filter(isNotice).sort(order);
  const sec = document.getElementById('notices');
  sec.hidden = !ns.length;
  document.getElementById('notices-count').textContent = t('board.notices', { n: ns.length });
  document.getElementById('notice-list').replaceChildren(...ns.map(notice));
}

// tick updates only the clocks, once a second.
function tick() {
  for (const el of document.querySelectorAll('.card')) {
    const a = alerts.get(Number(el.dataset.alertId));
    const old = el.querySelector('.clocks');
    if (!a || !old) continue;
    old.replaceWith(clocks(a));
  }
}

function beep() {
  if (!audio) return;
  const now = audio.currentTime;
  for (let i = 0; i < 3; i++) {
    const o = audio.createOscillator(); const g = audio.createGain();
    o.frequency.value = 880; o.type = 'square'; g.gain.value = 0.15;
    o.connect(g); g.connect(audio.destination);
    o.start(now + i * 0.4); o.stop(now + i * 0.4 + 0.25);
  }
}

function cue(a) {
  const el = document.getElementById('cue');
  el.textContent = `${t('board.new_entrapment')} ${a.lift} · ${[a.estate_name, a.building, a.unit].filter(Boolean).join(' ')}`;
  el.hidden = false;
  el.dataset.alertId = String(a.id);
  beep();
  const c = document.querySelector(`.card[data-alert-id="${a.id}"]`);
  if (c) c.classList.add('new');
}

function unlockAudio() {
  const sound = document.getElementById('sound');
  sound.textContent = t('board.sound_off');
  const on = () => {
    try { audio = audio || new AudioContext(); audio.resume(); } catch { return; }
    sound.textContent = t('board.sound_on');
    document.removeEventListener('pointerdown', on); document.removeEventListener('keydown', on);
  };
  document.addEventListener('pointerdown', on); document.addEventListener('keydown', on);
  document.getElementById('cue').addEventListener('click', (e) => { e.currentTarget.hidden = true; });
}

async function load() {
  const list = await getAll('/api/v1/alerts?open=true');
  alerts.clear();
  for (const a of list) { alerts.set(a.id, a); loadPages(a); }
  render();
  heard = true;
}

boot('board', async (m, again) => {
  me = m;
  if (again) { render(); unlockAudio(); return; }
  unlockAudio();
  const msg = document.getElementById('msg');
  try { await serverClock.sync(); } catch (e) { message(msg, errorText(e), 'error'); }
  setInterval(() => serverClock.sync().catch(() => {}), 15000);
  document.addEventListener('lw-clock', tick);
  setInterval(tick, 1000);
  stream('/api/v1/alerts/stream', ['alert', 'reset'], (name, d) => {
    if (name === 'reset') { load().catch((e) => message(msg, errorText(e), 'error')); return; }
    const isNew = heard && !alerts.has(d.alert.id) && d.event.action === 'opened';
    upsert(d.alert);
    loadPages(d.alert);
    if (isNew && d.alert.rescue && d.alert.state !== 'resolved') cue(d.alert);
  }, liveBadge);
  try { await load(); } catch (e) { message(msg, errorText(e), 'error'); }
});
