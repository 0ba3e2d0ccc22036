// The fleet: every lift's state at a glance, grouped by estate, searchable,
// live over /api/v1/lifts/stream.
import { boot, h, t, stream, message, errorText, liftState, getAll, liveBadge } from './core.js';

const STATES = ['trapped', 'running', 'idle', 'fault', 'inspection', 'offline'];
const lifts = new Map();
let pendingRender = false;

function matches(l, q, estate) {
  if (estate && l.estate !== estate) return false;
  if (!q) return true;
  return [l.id, l.address, l.building, l.unit, l.estate_name, l.contractor].join(' ').toLowerCase().includes(q);
}

function render() {
  pendingRender = false;
  const q = document.getElementById('q').value.trim().toLowerCase();
  const estate = document.getElementById('estate').value;
  const groups = new Map();
  let n = 0;
  for (const l of [...lifts.values()].sort((a, b) => (a.id < b.id ? -1 : 1))) {
    if (!matches(l, q, estate)) continue;
    n++;
    if (!groups.has(l.estate)) groups.set(l.estate, { name: l.estate_name || l.estate, lifts: [] });
    groups.get(l.estate).lifts.push(l);
  }
  document.getElementById('count').textContent = t('fleet.lifts', { n });
  document.getElementById('estates').replaceChildren(...[...groups.entries()].map(([slug, g]) => {
    const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
    for (const l of g.lifts) counts[liftState(l)]++;
    return h('section', { class: 'estate', dataset: { estate: slug } },
      h('h2', {}, h('span', { text: g.name }), h('small', { class: 'muted', text: STATES.filter((s) => counts[s]).map((s) => `${t('lstate.' + s)} ${counts[s]}`).join(' · ') })),
      h('div', { class: 'tiles' }, g.lifts.map((l) => {
        const st = liftState(l);
        return h('a', { class: 'tile st-' + st, attrs: { href: '/lifts/' + encodeURIComponent(l.id), title: l.address }, dataset: { lift: l.id, state: st } },
          h('b', { text: l.id }), h('span', { text: `${l.building}${l.unit}` }), h('div', { text: t('lstate.' + st) + (l.status && st !== 'offline' ? ' · ' + t('fleet.floor', { f: l.status.floor }) : '') }));
      })));
  }));
}

function later() { if (!pendingRender) { pendingRender = true; requestAnimationFrame(render); } }

function estates() {
  const sel = document.getElementById('estate');
  const cur = sel.value;
  const seen = new Map();
  for (const l of lifts.values()) seen.set(l.estate, l.estate_name || l.estate);
  sel.replaceChildren(h('option', { text: t('common.all'), attrs: { value: '' } }),
    ...[...seen.entries()].sort().map(([v, name]) => h('option', { text: name, attrs: { value: v } })));
  sel.value = cur;
}

function legend() {
  document.getElementById('legend').replaceChildren(...STATES.map((s) => h('span', {}, h('span', { class: 'dot st-' + s }), t('lstate.' + s))));
}

boot('fleet', async (me, again) => {
  legend();
  if (again) { estates(); render(); return; }
  const msg = document.getElementById('msg');
  document.getElementById('q').addEventListener('input', later);
  document.getElementById('estate').addEventListener('change', later);
  // The lift stream has no replay: load the list first, and again after
  // every reconnection (what changed while the stream was down).
  const load = async () => {
    const list = await getAll('/api/v1/lifts?limit=1000');
    lifts.clear();
    for (const l of list) lifts.set(l.id, l);
    estates();
    later();
  };
  try { await load(); } catch (e) { message(msg, errorText(e), 'error'); return; }
  render();
  stream('/api/v1/lifts/stream', ['lift'], (_, l) => { lifts.set(l.id, l); later(); }, liveBadge,
    () => load().catch((e) => message(msg, errorText(e), 'error')));
});
