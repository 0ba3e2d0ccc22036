// The owner's page: my lift today, its availability this month, its
// maintenance record (the plan: each level's last visit and next due), my
// household's fund statement over the last twelve months.
import { api, boot, h, t, fmtTime, message, errorText, liftState, yuan, stream, serverClock, shanghaiDay, liveBadge, getAll } from './core.js';
import { points, availability } from './charts.js';

let lift = null;
let plan = null;
let statement = null;

function today() {
  const st = liftState(lift);
  const works = st !== 'fault' && st !== 'offline' && st !== 'trapped';
  const says = st === 'trapped' ? t('owner.trapped') : works ? t('owner.works') : t('owner.broken');
  document.getElementById('today').replaceChildren(
    h('h2', { text: `${lift.estate_name} ${lift.building}${lift.unit} · ${lift.id}` }),
    h('p', { class: 'figure ' + (works ? 'ok' : 'bad'), dataset: { state: st }, text: says }),
    h('p', { class: 'muted', text: `${t('lstate.' + st)} · ${t('lift.last_seen')} ${fmtTime(lift.last_seen) || '—'}` }),
    h('p', { class: 'muted' }, `${t('lift.contractor')}: ${lift.contractor || '—'}`,
      lift.contractor_phone ? h('span', {}, ' · ', h('a', { class: 'phone', text: lift.contractor_phone, attrs: { href: 'tel:' + lift.contractor_phone.replace(/[^0-9+]/g, '') } })) : null));
}

// record shows the plan: the next visit, and per level the last one done.
function record() {
  const el = document.getElementById('record');
  if (!plan) return;
  el.replaceChildren(
    h('li', { class: 'next', dataset: { due: plan.due } }, h('b', { text: t('owner.next_visit') }), ' ', `${plan.due} · ${t('level.' + plan.level)}`),
    ...plan.levels.map((l) => h('li', { dataset: { level: l.level } },
      h('b', { text: t('level.' + l.level) }), ' ',
      h('span', { text: l.last_done ? t('owner.last_done', { d: l.last_done }) : t('owner.never_done') }), ' · ',
      h('span', { class: 'muted', text: t('owner.due', { d: l.due }) }))));
}

function statementTable() {
  const st = statement;
  const lines = [...st.lines].reverse(); // newest first
  document.getElementById('statement').replaceChildren(h('div', {},
    h('p', { class: 'figure', dataset: { balance: String(st.closing_fen) }, text: `${t('owner.balance')} ¥${yuan(st.closing_fen)}` }),
    h('p', { class: 'muted', text: t('owner.period', { from: st.from, to: st.to, unit: st.household.unit, in: yuan(st.in_fen), out: yuan(-st.out_fen) }) }),
    h('div', { class: 'scroll' }, h('table', { class: 'statement' },
      h('thead', {}, h('tr', {}, h('th', { text: t('owner.date') }), h('th', { text: t('owner.item') }), h('th', { class: 'num', text: t('owner.amount') }), h('th', { class: 'num', text: t('owner.balance') }))),
      h('tbody', {}, lines.length ? lines.map((l) => h('tr', { dataset: { entry: String(l.entry) } }, h('td', { text: l.date }), h('td', { text: l.reason || t('fund.cat.' + l.category) }),
        h('td', { class: 'num', text: yuan(l.amount_fen) }), h('td', { class: 'num', text: yuan(l.balance_fen) })))
        : [h('tr', {}, h('td', { attrs: { colspan: 4 }, class: 'muted', text: t('common.none') }))])))));
}

boot('owner', async (me, again) => {
  const msg = document.getElementById('msg');
  if (again) { if (lift) today(); record(); if (statement) statementTable(); return; }
  const scope = me.user.scope || {};
  if (!scope.lift) { message(msg, t('common.forbidden'), 'error'); return; }
  try { await serverClock.sync(); } catch { /* browser time */ }
  const lid = encodeURIComponent(scope.lift);
  try {
    ({ data: lift } = await api('/api/v1/lifts/' + lid));
    today();
  } catch (e) { message(msg, errorText(e), 'error'); return; }
  const now = serverClock.now();
  points(lift.id, ['fault'], now - 32 * 86400000).then((f) => {
    const av = availability(f, 1, now)[0];
    document.getElementById('availability').textContent = `${av.pct.toFixed(2)}%`;
  }).catch((e) => { document.getElementById('availability').textContent = errorText(e); });
  api(`/api/v1/lifts/${lid}/plan`).then(({ data }) => { plan = data; record(); })
    .catch((e) => { document.getElementById('record').replaceChildren(h('li', { class: 'muted', text: errorText(e) })); });
  // The statement: the household of my scope (its id from the households
  // list, which shows an owner only their own), the last twelve months.
  const box = document.getElementById('statement');
  try {
    const hs = await getAll(`/api/v1/households?lift=${lid}`);
    const mine = hs.find((x) => x.unit === scope.household);
    if (!mine) { message(box, t('owner.no_household', { unit: scope.household || '—' }), 'error'); } else {
      const to = shanghaiDay(new Date(now));
      const from = `${Number(to.slice(0, 4)) - 1}${to.slice(4, 7)}-01`;
      const q = new URLSearchParams({ from, to });
      document.getElementById('csv').setAttribute('href', `/api/v1/export/statement.csv?household=${mine.id}&${q}`);
      ({ data: statement } = await api(`/api/v1/households/${mine.id}/statement?${q}`));
      statementTable();
    }
  } catch (e) { message(box, errorText(e), 'error'); }
  stream(`/api/v1/lifts/stream?lift=${lid}`, ['lift'], (_, l) => { if (l.id === lift.id) { lift = l; today(); } }, liveBadge,
    () => api('/api/v1/lifts/' + lid).then(({ data }) => { lift = data; today(); }).catch(() => {}));
});
