// One work order on a phone: start, the checklist (result, measured value,
// photo reference), completion, and whether telemetry verified the visit.
import { api, boot, h, t, fmtTime, message, errorText, lang, may } from './core.js';

const id = decodeURIComponent(location.pathname.split('/')[2] || '');
let wo = null;
let items = [];
let me;

const code = (x) => x.code || x.item;
const label = (x) => (lang() === 'zh' ? x.zh || x.label_zh : x.en || x.label_en) || code(x);
const needs = (x) => !!(x.test || x.needs_value || x.needs_photo);
const resultOf = (c) => (wo.results || []).find((r) => (r.item || r.code) === c) || {};

function head() {
  document.getElementById('head').replaceChildren(
    h('h1', { text: `#${wo.id} ${wo.lift}` }),
    h('div', { text: [wo.estate_name, wo.building, wo.unit, wo.address].filter(Boolean).join(' ') }),
    h('dl', { class: 'kv' },
      h('dt', { text: t('wo.kind') }), h('dd', { text: [wo.kind, wo.level].filter(Boolean).join(' · ') }),
      h('dt', { text: t('wo.state') }), h('dd', { class: 'wo-state', text: wo.state }),
      h('dt', { text: t('wo.due') }), h('dd', { text: fmtTime(wo.due) }),
      h('dt', { text: t('wo.technician') }), h('dd', { text: wo.technician || '—' })));
  const p = wo.proof;
  const proof = document.getElementById('proof');
  if (!p) { proof.hidden = true; } else {
    proof.hidden = false;
    const mins = p.inspection_minutes ?? p.observed_minutes ?? (p.observed !== undefined ? Math.round(p.observed / 6e10) : null);
    proof.replaceChildren(h('p', { class: 'figure ' + (p.verified ? 'ok' : 'bad'), dataset: { verified: String(!!p.verified) }, text: p.verified ? t('wo.verified') : t('wo.unverified') }),
      mins !== null ? h('p', { class: 'muted', text: t('wo.inspection_min', { m: mins }) }) : null);
  }
  const hist = document.getElementById('history');
  hist.replaceChildren(...(wo.history || []).map((e) => h('li', {}, h('b', { text: e.action }), ' ', h('span', { class: 'muted', text: `${fmtTime(e.at)} ${e.actor || ''}` }), e.note ? h('div', { text: e.note }) : null)));
}

function checklist() {
  const ol = document.getElementById('items');
  ol.replaceChildren(...items.map((x, i) => {
    const r = resultOf(code(x));
    const name = 'r' + i;
    const choice = (v, k) => h('label', {}, h('input', { attrs: { type: 'radio', name, value: v, checked: r.result === v } }), t(k));
    return h('li', { dataset: { item: code(x) } },
      h('div', { class: 'label', text: `${code(x)} ${label(x)}` }),
      needs(x) ? h('div', { class: 'need', text: `${t('wo.needs_value')} / ${t('wo.needs_photo')}` }) : null,
      h('div', { class: 'choices' }, choice('pass', 'wo.pass'), choice('fail', 'wo.fail'), choice('na', 'wo.na')),
      needs(x) ? h('div', { class: 'extra' },
        h('input', { class: 'value', attrs: { name: 'value' + i, placeholder: t('wo.value'), value: r.value || '', 'aria-label': t('wo.value') } }),
        h('input', { class: 'photo', attrs: { name: 'photo' + i, placeholder: t('wo.photo'), value: r.photo || '', 'aria-label': t('wo.photo') } })) : null);
  }));
}

function forms() {
  const open = ['planned', 'assigned', 'in_progress'].includes(wo.state);
  const writer = may(me.user.role, 'write_work_order');
  document.getElementById('start').hidden = !(writer && (wo.state === 'assigned' || wo.state === 'planned'));
  document.getElementById('checklist').hidden = !items.length;
  document.getElementById('save').hidden = !(writer && wo.state === 'in_progress');
  document.getElementById('complete').hidden = !(writer && wo.state === 'in_progress');
  for (const inp of document.querySelectorAll('#items input')) inp.disabled = !(writer && open && wo.state === 'in_progress');
}

function results() {
  return items.map((x, i) => {
    const li = document.querySelector(`#items li[data-item="${CSS.escape(code(x))}"]`);
    const r = { item: code(x), result: (li.querySelector(`input[name="r${i}"]:checked`) || {}).value || '' };
    const v = li.querySelector('.value'); const p = li.querySelector('.photo');
    if (v && v.value.trim()) r.value = v.value.trim();
    if (p && p.value.trim()) r.photo = p.value.trim();
    return r;
  }).filter((r) => r.result);
}

const fen = (s) => Math.round(parseFloat(String(s).replace(',', '.')) * 100) || 0;

async function load() {
  ({ data: wo } = await api('/api/v1/work-orders/' + encodeURIComponent(id)));
  items = wo.checklist || wo.items || [];
  if (!items.length && wo.level) {
    try { ({ data: items } = await api('/api/v1/checklist?level=' + encodeURIComponent(wo.level))); } catch { items = []; }
  }
  head(); checklist(); forms();
}

async function post(path, body, out) {
  try {
    ({ data: wo } = await api(`/api/v1/work-orders/${encodeURIComponent(id)}/${path}`, { method: 'POST', body }));
    if (!wo.checklist && items.length) wo.checklist = items;
    await load();
    return true;
  } catch (e) {
    message(out, e.status === 409 ? t('common.error', { msg: e.message }) : errorText(e), 'error');
    return false;
  }
}

boot('workorder', async (m, again) => {
  me = m;
  if (again) { if (wo) { head(); checklist(); forms(); } return; }
  const msg = document.getElementById('msg');
  try { await load(); } catch (e) { message(msg, errorText(e), 'error'); return; }
  document.getElementById('start').addEventListener('submit', async (e) => {
    e.preventDefault();
    await post('start', { technician: document.getElementById('technician').value.trim() }, msg);
  });
  document.getElementById('checklist').addEventListener('submit', async (e) => {
    e.preventDefault();
    const out = document.getElementById('savemsg');
    if (await post('checklist', { results: results() }, out)) message(document.getElementById('savemsg'), t('wo.saved'), 'ok');
  });
  document.getElementById('complete').addEventListener('submit', async (e) => {
    e.preventDefault();
    const out = document.getElementById('donemsg');
    const ok = await post('complete', { findings: document.getElementById('findings').value, parts_fen: fen(document.getElementById('parts').value),
      labour_fen: fen(document.getElementById('labour').value), signature: document.getElementById('signature').value.trim() }, out);
    if (ok) message(msg, t('wo.completed'), 'ok');
  });
});
