// Work orders, phone first: overdue, today's and upcoming visits, each with
// where the lift is (from the lift list) and what is due.
import { boot, h, t, fmtTime, message, errorText, serverClock, shanghaiDay, getAll, woTitle, may } from './core.js';

const OPEN = ['planned', 'assigned', 'in_progress'];
// SIGNOFF are the states a manager accepts or rejects.
const SIGNOFF = ['completed', 'unverified'];
let groups = null;
let where = new Map(); // lift id → lift view

function item(w) {
  const l = where.get(w.lift);
  return h('li', { dataset: { wo: String(w.id), state: w.state } }, h('a', { class: 'item', attrs: { href: '/work-orders/' + encodeURIComponent(w.id) } },
    h('b', { text: `#${w.id} ${w.lift}` }), ' ', h('span', { class: 'badge wo-' + w.state, text: t('wo.state.' + w.state) }),
    w.overdue ? h('span', { class: 'badge bad', text: t('wo.overdue') }) : null,
    h('div', { text: l ? `${l.estate_name} ${l.building}${l.unit} · ${l.address}` : w.estate }),
    h('div', { class: 'muted', text: `${woTitle(w)} · ${t('wo.due')} ${fmtTime(w.due)}` })));
}

function render() {
  document.getElementById('signoff-sec').hidden = !groups.signoff;
  for (const [k, ws] of Object.entries(groups)) {
    document.getElementById(k).replaceChildren(...(ws.length ? ws.map(item) : [h('li', { class: 'muted', text: t('wo.empty') })]));
  }
}

boot('workorders', async (me, again) => {
  if (again) { if (groups) render(); return; }
  const msg = document.getElementById('msg');
  let list;
  try {
    try { await serverClock.sync(); } catch { /* browser time */ }
    const [orders, lifts] = await Promise.all([getAll('/api/v1/work-orders?limit=1000'), getAll('/api/v1/lifts?limit=1000')]);
    list = orders;
    where = new Map(lifts.map((l) => [l.id, l]));
  } catch (e) {
    message(msg, errorText(e), 'error');
    return;
  }
  const now = serverClock.now();
  const today = shanghaiDay(new Date(now));
  groups = { overdue: [], today: [], upcoming: [] };
  // Whoever signs off (manager, admin) finds the completed visits to accept
  // first; the oldest completion first.
  if (may(me.user.role, 'sign_off_work_order')) {
    groups = { signoff: list.filter((x) => SIGNOFF.includes(x.state)).sort((a, b) => ((a.completed_at || a.due) < (b.completed_at || b.due) ? -1 : 1)), ...groups };
  }
  for (const w of list.filter((x) => OPEN.includes(x.state)).sort((a, b) => (a.due < b.due ? -1 : a.due > b.due ? 1 : a.id - b.id))) {
    const due = Date.parse(w.due);
    const start = Date.parse(w.window_start);
    if (w.overdue || due <= now) groups.overdue.push(w);
    else if (shanghaiDay(new Date(due)) === today || start <= now || w.state === 'in_progress') groups.today.push(w);
    else groups.upcoming.push(w);
  }
  render();
});
