// Work orders, phone first: overdue, today's and upcoming visits.
import { api, boot, h, t, fmtTime, message, errorText, serverClock, shanghaiDay, getAll } from './core.js';

const OPEN = ['planned', 'assigned', 'in_progress'];

export function woTitle(w) {
  const lvl = w.level ? ` · ${w.level}` : '';
  return `${w.kind || ''}${lvl}`;
}

function item(w) {
  return h('li', { dataset: { wo: String(w.id) } }, h('a', { class: 'item', attrs: { href: '/work-orders/' + encodeURIComponent(w.id) } },
    h('b', { text: `#${w.id} ${w.lift}` }), ' ', h('span', { class: 'badge', text: w.state }),
    h('div', { text: [w.estate_name, w.building, w.unit].filter(Boolean).join(' ') || w.estate || '' }),
    h('div', { class: 'muted', text: `${woTitle(w)} · ${t('wo.due')} ${fmtTime(w.due)}` })));
}

boot('workorders', async () => {
  const msg = document.getElementById('msg');
  let list;
  try {
    try { await serverClock.sync(); } catch { /* browser time */ }
    list = await getAll('/api/v1/work-orders?limit=1000');
  } catch (e) {
    message(msg, e.status === 404 ? t('common.unavailable', { what: '/api/v1/work-orders' }) : errorText(e), 'error');
    return;
  }
  const now = serverClock.now();
  const today = shanghaiDay(new Date(now));
  const groups = { overdue: [], today: [], upcoming: [] };
  for (const w of list.filter((x) => OPEN.includes(x.state)).sort((a, b) => (a.due < b.due ? -1 : 1))) {
    const due = Date.parse(w.due);
    const start = w.window_start ? Date.parse(w.window_start) : due;
    if (w.overdue || due <= now) groups.overdue.push(w);
    else if (shanghaiDay(new Date(due)) === today || (start <= now && due > now)) groups.today.push(w);
    else groups.upcoming.push(w);
  }
  for (const [k, ws] of Object.entries(groups)) {
    document.getElementById(k).replaceChildren(...(ws.length ? ws.map(item) : [h('li', { class: 'muted', text: t('wo.empty') })]));
  }
});
