// One work order on a phone: start, the checklist (result, measured value,
// photo reference), completion, whether telemetry verified the visit, and
// the manager's sign-off.
import { api, boot, h, t, fmtTime, message, errorText, lang, may, yuan, woTitle } from './core.js';

const id = decodeURIComponent(location.pathname.split('/')[2] || '');
let wo = null; // the work order's detail view
let lift = null; // its lift's view (address), if readable
let me;

const label = (x) => (lang() === 'zh' ? x.zh : x.en) || x.code;

function head() {
  document.getElementById('head').replaceChildren(
    h('h1', { text: `#${wo.id} ${wo.lift}` }),
    lift ? h('div', { class: 'where', text: `${lift.estate_name} ${lift.building}${lift.unit} · ${lift.address}` }) : null,
    h('dl', { class: 'kv' },
      h('dt', { text: t('wo.kind') }), h('dd', { text: woTitle(wo) }),
      h('dt', { text: t('wo.state') }), h('dd', { class: 'wo-state', dataset: { state: wo.state }, text: t('wo.state.' + wo.state) }),
      h('dt', { text: t('wo.window') }), h('dd', { text: `${fmtTime(wo.window_start)} – ${fmtTime(wo.due)}` + (wo.overdue ? ` (${t('wo.overdue')})` : '') }),
      h('dt', { text: t('wo.reason') }), h('dd', { text: wo.reason || '—' }),
      h('dt', { text: t('lift.contractor') }), h('dd', {}, wo.contractor || '—',
        lift && lift.contractor_phone ? h('span', {}, ' · ', h('a', { class: 'phone', text: lift.contractor_phone, attrs: { href: 'tel:' + lift.contractor_phone.replace(/[^0-9+]/g, '') } })) : null),
      h('dt', { text: t('wo.technician') }), h('dd', { class: 'technician', text: wo.technician || '—' }),
      wo.completed_at ? [h('dt', { text: t('wo.completed_at') }), h('dd', { text: fmtTime(wo.completed_at) })] : null,
      wo.findings ? [h('dt', { text: t('wo.findings') }), h('dd', { class: 'findings', text: wo.findings })] : null,
      wo.completed_at ? [h('dt', { text: t('wo.cost') }), h('dd', { text: `¥${yuan(wo.parts_fen)} + ¥${yuan(wo.labour_fen)}` })] : null));
  // Proof of visit: computed at completion of a routine visit.
  const p = wo.proof;
  const proof = document.getElementById('proof');
  if (!p) {
    proof.replaceChildren(h('p', { class: 'muted', text: wo.kind === 'routine' ? t('wo.proof_later') : t('wo.proof_none') }));
  } else {
    proof.replaceChildren(
      h('p', { class: 'figure ' + (p.verified ? 'ok' : 'bad'), dataset: { verified: String(p.verified) }, text: p.verified ? t('wo.verified') : t('wo.unverified') }),
      h('p', { class: 'muted', text: t('wo.inspection_min', { m: p.observed_minutes, r: p.required_minutes }) }));
  }
  document.getElementById('history').replaceChildren(...(wo.history || []).map((e) => h('li', {},
    h('b', { text: t('wo.act.' + e.action) }), ' ', h('span', { class: 'muted', text: `${fmtTime(e.at)} · ${e.actor}` }),
    e.note ? h('div', { class: 'note', text: e.note }) : null)));
}

function checklist() {
  const editable = may(me.user.role, 'write_work_order') && wo.state === 'in_progress';
  const ol = document.getElementById('items');
  if (!wo.checklist.length) { ol.replaceChildren(h('li', { class: 'muted', text: t('wo.no_items') })); return; }
  ol.replaceChildren(...wo.checklist.map((x, i) => {
    const name = 'r' + i;
    const choice = (v, k) => h('label', { class: 'choice' }, h('input', { attrs: { type: 'radio', name, value: v, checked: x.result === v, disabled: !editable } }), t(k));
    return h('li', { dataset: { item: x.code, result: x.result || '' } },
      h('div', { class: 'label', text: `${x.code} ${label(x)}` }),
      x.needs_value_or_photo ? h('div', { class: 'need', text: t('wo.needs_value_or_photo') }) : null,
      h('div', { class: 'choices' }, choice('pass', 'wo.pass'), choice('fail', 'wo.fail'), choice('na', 'wo.na')),
      h('div', { class: 'extra' },
        h('input', { class: 'value', attrs: { name: 'value' + i, placeholder: t('wo.value'), value: x.value || '', 'aria-label': t('wo.value'), disabled: !editable } }),
        h('input', { class: 'photo', attrs: { name: 'photo' + i, placeholder: t('wo.photo'), value: x.photo || '', 'aria-label': t('wo.photo'), disabled: !editable } })));
  }));
}

function forms() {
  const writer = may(me.user.role, 'write_work_order');
  const signer = may(me.user.role, 'sign_off_work_order');
  document.getElementById('start').hidden = !(writer && wo.state === 'assigned');
  // The technician is typed: the account is the company's, not the person
  // on site.
  document.getElementById('save').hidden = !(writer && wo.state === 'in_progress');
  document.getElementById('complete').hidden = !(writer && wo.state === 'in_progress');
  document.getElementById('signoff').hidden = !(signer && ['completed', 'unverified'].includes(wo.state));
}

function render() { head(); checklist(); forms(); }

// results are the rows with a result chosen, as the API takes them.
function results() {
  return wo.checklist.map((x, i) => {
    const li = document.querySelector(`#items li[data-item="${CSS.escape(x.code)}"]`);
    const r = { item: x.code, result: (li.querySelector(`input[name="r${i}"]:checked`) || {}).value || '' };
    const v = li.querySelector('.value').value.trim();
    const p = li.querySelector('.photo').value.trim();
    if (v) r.value = v;
    if (p) r.photo = p;
    return r;
  }).filter((r) => r.result);
}

// fen reads yuan as typed ("12.5", "12,50") as integer fen; NaN if not a
// sum of money.
const fen = (s) => {
  const v = String(s).trim().replace(',', '.');
  if (!/^\d+(\.\d{1,2})?$/.test(v)) return NaN;
  const [y, f = ''] = v.split('.');
  return Number(y) * 100 + Number((f + '00').slice(0, 2));
};

async function load() {
  ({ data: wo } = await api('/api/v1/work-orders/' + encodeURIComponent(id)));
  if (!lift) { try { ({ data: lift } = await api('/api/v1/lifts/' + encodeURIComponent(wo.lift))); } catch { lift = null; } }
  render();
}

// itemText is a checklist row's error in the page's language: the API names
// the field (results[i].value, .result, .item); its message is English.
function itemText(e) {
  const m = /^results\[\d+\]\.(\w+)$/.exec(e.field || '');
  if (m && (m[1] === 'value' || m[1] === 'photo') && /give a measured value or a photo/.test(e.message)) return t('wo.needs_value_or_photo');
  if (m && m[1] === 'result') return t('wo.choose');
  return t('wo.item_error', { msg: e.message });
}

// markItem shows a 400 naming results[i] next to the item sent as the
// i-th result, highlighted and scrolled to; false if the error names no row.
function markItem(e, body) {
  for (const li of document.querySelectorAll('#items li.invalid')) { li.classList.remove('invalid'); li.querySelector('.itemerr')?.remove(); }
  const m = /^results\[(\d+)\]\.(\w+)$/.exec(e.field || '');
  const r = m && body && body.results && body.results[Number(m[1])];
  const li = r && document.querySelector(`#items li[data-item="${CSS.escape(r.item)}"]`);
  if (!li) return false;
  li.classList.add('invalid');
  li.dataset.field = m[2];
  li.append(h('p', { class: 'msg msg-error itemerr', attrs: { role: 'alert' }, text: itemText(e) }));
  const input = li.querySelector(m[2] === 'photo' ? '.photo' : m[2] === 'value' ? '.value' : 'input');
  if (input) { input.setAttribute('aria-invalid', 'true'); input.focus(); }
  li.scrollIntoView({ block: 'center' });
  return true;
}

// post sends an action; the answer is the order as it is now. A 409 shows
// the state it is in; a 400 names the field.
async function post(path, body, out) {
  try {
    ({ data: wo } = await api(`/api/v1/work-orders/${encodeURIComponent(id)}/${path}`, { method: 'POST', body }));
    render();
    return true;
  } catch (e) {
    if (e.status === 409) {
      message(out, t('wo.conflict', { state: t('wo.state.' + (e.state || '')) }), 'error');
      load().catch(() => {});
    } else if (e.status === 400 && markItem(e, body)) {
      message(out, t('wo.bad', { msg: itemText(e) }), 'error');
    } else {
      message(out, e.status === 400 ? t('wo.bad', { msg: e.message }) : errorText(e), 'error');
    }
    return false;
  }
}

boot('workorder', async (m, again) => {
  me = m;
  if (again) { if (wo) render(); return; }
  const msg = document.getElementById('msg');
  try { await load(); } catch (e) {
    for (const el of document.querySelectorAll('#main > section:not(.bar), #main > form')) el.hidden = true;
    document.getElementById('main').dataset.denied = String(e.status || '');
    message(msg, errorText(e), 'error');
    return;
  }
  document.getElementById('start').addEventListener('submit', async (e) => {
    e.preventDefault();
    if (await post('start', { technician: document.getElementById('technician').value.trim() }, msg)) message(msg, t('wo.started'), 'ok');
  });
  document.getElementById('checklist').addEventListener('submit', async (e) => {
    e.preventDefault();
    const out = document.getElementById('savemsg');
    const rs = results();
    if (!rs.length) { message(out, t('wo.choose'), 'error'); return; }
    if (await post('checklist', { results: rs }, out)) message(out, t('wo.saved', { n: rs.length }), 'ok');
  });
  document.getElementById('complete').addEventListener('submit', async (e) => {
    e.preventDefault();
    const out = document.getElementById('donemsg');
    const parts = fen(document.getElementById('parts').value);
    const labour = fen(document.getElementById('labour').value);
    if (Number.isNaN(parts) || Number.isNaN(labour)) { message(out, t('wo.bad_money'), 'error'); return; }
    // Unsaved rows go with the completion: save them first.
    const rs = results();
    if (rs.length && !(await post('checklist', { results: rs }, out))) return;
    if (await post('complete', { findings: document.getElementById('findings').value, parts_fen: parts, labour_fen: labour,
      signature: document.getElementById('signature').value.trim() }, out)) message(msg, t('wo.completed'), 'ok');
  });
  // Accept in two taps, like the alert actions: the first asks, the second sends.
  const accept = document.getElementById('accept');
  accept.addEventListener('click', async () => {
    const out = document.getElementById('signmsg');
    if (accept.dataset.armed !== '1') {
      accept.dataset.armed = '1';
      accept.textContent = t('common.confirm') + ': ' + t('wo.accept');
      message(out, t('wo.confirm_accept'));
      return;
    }
    delete accept.dataset.armed;
    accept.textContent = t('wo.accept');
    accept.disabled = true;
    try { await post('accept', { note: document.getElementById('signnote').value }, out); } finally { accept.disabled = false; }
  });
  document.getElementById('reject').addEventListener('click', async () => {
    const out = document.getElementById('signmsg');
    const reason = document.getElementById('signnote').value.trim();
    if (!reason) { message(out, t('wo.reason_needed'), 'error'); return; }
    await post('reject', { reason }, out);
  });
});
