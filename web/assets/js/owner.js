// The owner's page: my lift today, its availability this month, its
// maintenance record, my household's fund statement.
import { api, boot, h, t, fmtTime, message, errorText, liftState, yuan, stream, serverClock } from './core.js';
import { points, availability } from './charts.js';

let lift = null;
let me;

function today() {
  const st = liftState(lift);
  const works = st !== 'fault' && st !== 'offline';
  document.getElementById('today').replaceChildren(
    h('h2', { text: `${lift.estate_name} ${lift.building}${lift.unit} · ${lift.id}` }),
    h('p', { class: 'figure ' + (works ? 'ok' : 'bad'), dataset: { state: st }, text: works ? t('owner.works') : t('owner.broken') }),
    h('p', { class: 'muted', text: `${t('lstate.' + st)} · ${t('lift.last_seen')} ${fmtTime(lift.last_seen) || '—'}` }));
}

function statementTable(st) {
  const lines = st.lines || st.entries || [];
  const closing = st.closing_fen ?? st.balance_fen;
  return h('div', {},
    h('p', { class: 'figure', dataset: { balance: String(closing) }, text: `${t('owner.balance')} ¥${yuan(closing)}` }),
    h('div', { class: 'scroll' }, h('table', {},
      h('thead', {}, h('tr', {}, h('th', { text: t('owner.date') }), h('th', { text: t('owner.item') }), h('th', { class: 'num', text: t('owner.amount') }), h('th', { class: 'num', text: t('owner.balance') }))),
      h('tbody', {}, lines.map((l) => h('tr', {}, h('td', { text: l.date }), h('td', { text: l.reason || l.category || l.kind }),
        h('td', { class: 'num', text: yuan(l.amount_fen) }), h('td', { class: 'num', text: yuan(l.balance_fen) })))))));
}

boot('owner', async (m, again) => {
  me = m;
  const msg = document.getElementById('msg');
  const scope = me.user.scope || {};
  if (again && lift) { today(); }
  if (again) return;
  if (!scope.lift) { message(msg, t('common.forbidden'), 'error'); return; }
  try {
    ({ data: lift } = await api('/api/v1/lifts/' + encodeURIComponent(scope.lift)));
    today();
  } catch (e) { message(msg, errorText(e), 'error'); return; }
  const now = serverClock.now();
  points(lift.id, ['fault'], now - 32 * 86400000).then((f) => {
    const av = availability(f, 1, now)[0];
    document.getElementById('availability').textContent = `${av.pct.toFixed(2)}%`;
  }).catch((e) => { document.getElementById('availability').textContent = errorText(e); });
  api('/api/v1/work-orders?lift=' + encodeURIComponent(lift.id)).then(({ data }) => {
    const done = (data || []).filter((w) => ['completed', 'unverified', 'verified'].includes(w.state));
    document.getElementById('record').replaceChildren(...(done.length ? done.map((w) => h('li', { dataset: { wo: String(w.id) } },
      h('b', { text: [w.kind, w.level].filter(Boolean).join(' · ') }), ' ', h('span', { class: 'muted', text: fmtTime(w.completed_at || w.due) }),
      ' ', h('span', { class: 'badge', text: w.state }))) : [h('li', { class: 'muted', text: t('common.none') })]));
  }).catch((e) => { document.getElementById('record').replaceChildren(h('li', { class: 'muted', text: errorText(e) })); });
  if (scope.household) {
    const hh = encodeURIComponent(scope.household);
    document.getElementById('csv').setAttribute('href', `/api/v1/export/statement.csv?household=${hh}`);
    api(`/api/v1/households/${hh}/statement`).then(({ data }) => {
      document.getElementById('statement').replaceChildren(statementTable(data));
    }).catch((e) => message(document.getElementById('statement'), errorText(e), 'error'));
  }
  stream('/api/v1/lifts/stream', ['lift'], (_, l) => { if (l.id === lift.id) { lift = l; today(); } },
    (ok) => { const live = document.getElementById('live'); live.textContent = ok ? t('common.live') : t('common.offline_stream'); live.classList.toggle('down', !ok); });
});
