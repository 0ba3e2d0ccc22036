// The on-call roster (值班表): who is on duty now, the duty entries and the
// people, and forms to add or change them within the caller's scope (the
// server decides: GET /api/v1/oncall says what the caller may edit).
import { api, boot, h, t, fmtTime, message, errorText, getAll } from './core.js';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const ROLES = ['technician', 'supervisor', 'manager', 'subdistrict'];
let roster = null;
let estates = new Map(); // slug → name
let contractors = [];
let editingDuty = 0; // the duty entry the form edits (0: a new one)
let editingPerson = ''; // the person the form edits ('': a new one)

const $ = (id) => document.getElementById(id);
const personOf = (id) => roster.people.find((p) => p.id === id);
const estateName = (slug) => estates.get(slug) || slug;

// target is what a duty entry covers, in words.
function target(d) {
  if (d.contractor) return t('oncall.t.contractor', { name: d.contractor });
  if (d.estate) return t('oncall.t.estate', { name: estateName(d.estate) });
  return t('oncall.t.subdistrict');
}

// when is a duty entry's window in words: days and times, "次日" when it
// crosses midnight.
function when(d) {
  const days = d.date ? d.date : d.days.length ? d.days.map((x) => t('oncall.day.' + x)).join('、') : t('oncall.everyday');
  const overnight = d.to !== '24:00' && d.to <= d.from;
  return `${days} ${d.from}–${overnight ? t('oncall.next_day') : ''}${d.to}`;
}

// formError is a refused change in words: the field at fault, a person
// still on duty, or the generic error.
function formError(el, e) {
  if (e.status === 400 && e.field) {
    const f = e.field.replace(/\[.*$/, '').replace(/\..*$/, '');
    message(el, t('oncall.bad', { field: t('oncall.f.' + f) }), 'error');
  } else if (e.status === 409) message(el, t('oncall.in_use'), 'error');
  else message(el, errorText(e), 'error');
}

function renderNow() {
  const groups = new Map();
  for (const d of roster.duty.filter((x) => x.on_duty)) {
    const key = target(d);
    if (!groups.has(key)) groups.set(key, []);
    const p = personOf(d.person);
    if (p && !groups.get(key).includes(p)) groups.get(key).push(p);
  }
  $('now').replaceChildren(...(groups.size ? [...groups.entries()].map(([what, ps]) => h('li', { class: 'item' },
    h('b', { text: what }), ' ',
    ...ps.map((p) => h('span', { class: 'on', dataset: { person: p.id } }, `${p.name}（${t('oncall.role.' + p.role)}）`,
      p.phone ? h('a', { class: 'phone', text: ' ' + p.phone, attrs: { href: 'tel:' + p.phone } }) : null, ' ')))) :
    [h('li', { class: 'muted', text: t('oncall.nobody') })]));
}

function renderDuty() {
  $('duty').replaceChildren(...(roster.duty.length ? roster.duty.map((d) => {
    const p = personOf(d.person);
    return h('li', { class: 'item duty-entry', dataset: { id: String(d.id), person: d.person } },
      h('span', { class: 'what' }, h('b', { text: p ? p.name : d.person }), ` · ${target(d)} · ${when(d)}`,
        d.off ? h('b', { text: ' · ' + t('oncall.off') }) : null,
        d.on_duty ? h('span', { class: 'on', text: ' · ' + t('oncall.on_duty') }) : null,
        d.source !== 'web' ? h('span', { class: 'muted', text: ' · ' + t('oncall.source.' + d.source) }) : null),
      d.editable ? h('button', { type: 'button', text: t('oncall.edit'), on: { click: () => openDuty(d) } }) : null,
      d.editable ? h('button', { type: 'button', class: 'danger', text: t('oncall.delete'), on: { click: () => deleteDuty(d) } }) : null);
  }) : [h('li', { class: 'muted', text: t('common.none') })]));
}

function renderPeople() {
  $('people').replaceChildren(...(roster.people.length ? roster.people.map((p) => h('li', { class: 'item duty-entry', dataset: { person: p.id } },
    h('span', { class: 'what' }, h('b', { text: p.name }), ` · ${t('oncall.role.' + p.role)}`,
      p.contractor ? ` · ${p.contractor}` : '', p.estate ? ` · ${estateName(p.estate)}` : '',
      p.phone ? h('a', { class: 'phone', text: ' ' + p.phone, attrs: { href: 'tel:' + p.phone } }) : null,
      h('span', { class: 'muted', text: ' · ' + p.contacts.map((c) => `${channelName(c.channel)} ${c.to || ''}`.trim()).join('，') }),
      p.on_duty ? h('span', { class: 'on', text: ' · ' + t('oncall.on_duty') }) : null),
    p.editable ? h('button', { type: 'button', text: t('oncall.edit'), on: { click: () => openPerson(p) } }) : null,
    p.editable ? h('button', { type: 'button', class: 'danger', text: t('oncall.delete'), on: { click: () => deletePerson(p) } }) : null)) :
    [h('li', { class: 'muted', text: t('common.none') })]));
}

// targets are what the caller may put a duty entry on.
function targets() {
  const ce = roster.can_edit;
  const out = [];
  const es = ce.all ? [...estates.keys()] : ce.estates;
  for (const e of es) out.push({ value: 'estate:' + e, label: t('oncall.t.estate', { name: estateName(e) }) });
  const cs = ce.all ? contractors : (ce.contractor ? [ce.contractor] : []);
  for (const c of cs) out.push({ value: 'contractor:' + c, label: t('oncall.t.contractor', { name: c }) });
  if (ce.all) out.push({ value: 'subdistrict:', label: t('oncall.t.subdistrict') });
  return out;
}

function canAdd() { const ce = roster.can_edit; return ce.all || ce.estates.length > 0 || !!ce.contractor; }

function fillDutyForm() {
  const ce = roster.can_edit;
  const fits = (p) => ce.all || (ce.estates.length > 0 && p.role === 'manager') || (!!ce.contractor && (p.role === 'technician' || p.role === 'supervisor'));
  $('d-person').replaceChildren(...roster.people.filter(fits)
    .map((p) => h('option', { text: `${p.name}（${t('oncall.role.' + p.role)}）`, attrs: { value: p.id } })));
  $('d-target').replaceChildren(...targets().map((x) => h('option', { text: x.label, attrs: { value: x.value } })));
  $('d-days').replaceChildren(...DAYS.map((d) => h('label', {}, h('input', { attrs: { type: 'checkbox', value: d, name: 'day' } }), t('oncall.day.' + d))));
}

function openDuty(d) {
  editingDuty = d ? d.id : 0;
  fillDutyForm();
  $('duty-form-title').textContent = t(d ? 'oncall.edit_duty' : 'oncall.add_duty');
  if (d) {
    $('d-person').value = d.person;
    $('d-target').value = d.contractor ? 'contractor:' + d.contractor : d.estate ? 'estate:' + d.estate : 'subdistrict:';
    for (const box of $('d-days').querySelectorAll('input')) box.checked = d.days.includes(box.value);
    $('d-from').value = d.from; $('d-to').value = d.to;
    $('d-date').value = d.date || ''; $('d-off').checked = !!d.off;
  } else { $('d-from').value = '08:00'; $('d-to').value = '20:00'; $('d-date').value = ''; $('d-off').checked = false; }
  $('duty-form').hidden = false;
  $('d-msg').replaceChildren();
}

async function saveDuty(ev) {
  ev.preventDefault();
  const [kind, name] = $('d-target').value.split(/:(.*)/s);
  const body = { person: $('d-person').value, days: [...$('d-days').querySelectorAll('input:checked')].map((b) => b.value),
    from: $('d-from').value, to: $('d-to').value, date: $('d-date').value.trim(), off: $('d-off').checked };
  if (body.date) body.days = [];
  if (kind === 'estate') body.estate = name; else if (kind === 'contractor') body.contractor = name; else body.subdistrict = true;
  try {
    await api(editingDuty ? `/api/v1/oncall/duty/${editingDuty}` : '/api/v1/oncall/duty', { method: editingDuty ? 'PUT' : 'POST', body });
    message($('msg'), t('oncall.saved'), 'ok');
    editingDuty = 0;
    await load();
    if (canAdd()) openDuty(null); else $('duty-form').hidden = true;
  } catch (e) { formError($('d-msg'), e); }
}

async function deleteDuty(d) {
  if (!confirm(t('oncall.confirm_delete'))) return;
  try { await api(`/api/v1/oncall/duty/${d.id}`, { method: 'DELETE' }); message($('msg'), t('oncall.deleted'), 'ok'); await load(); } catch (e) { formError($('msg'), e); }
}

// channelName is a channel in words: its label if it is named after its
// type (sms, voice, …), else its configured name.
function channelName(name) {
  const s = t('oncall.channel.' + name);
  return s === 'oncall.channel.' + name ? name : s;
}

// contactRow is one way to reach a person: a configured channel and its
// address, in the order they are tried.
function contactRow(c) {
  const names = roster.channels.map((x) => x.name);
  const known = !c.channel || names.includes(c.channel) ? names : [...names, c.channel];
  const sel = h('select', { attrs: { 'aria-label': t('oncall.f.channel') } }, ...known.map((x) => h('option', { text: channelName(x), attrs: { value: x } })));
  if (c.channel) sel.value = c.channel;
  const row = h('div', { class: 'contact' }, sel,
    h('input', { attrs: { value: c.to || '', 'aria-label': t('oncall.f.to_address'), inputmode: 'tel' } }),
    h('button', { type: 'button', text: t('oncall.remove'), on: { click: () => row.remove() } }));
  return row;
}

// scopes are what a person may belong to: the caller's estates for a
// manager, the caller's company for a technician or supervisor.
function scopes(role) {
  const ce = roster.can_edit;
  if (role === 'manager') return (ce.all ? [...estates.keys()] : ce.estates).map((e) => ({ value: e, label: estateName(e) }));
  if (role === 'technician' || role === 'supervisor') return (ce.all ? contractors : ce.contractor ? [ce.contractor] : []).map((c) => ({ value: c, label: c }));
  return [{ value: '', label: t('oncall.t.subdistrict') }];
}

function fillScopes() {
  $('p-scope').replaceChildren(...scopes($('p-role').value).map((x) => h('option', { text: x.label, attrs: { value: x.value } })));
}

function openPerson(p) {
  editingPerson = p ? p.id : '';
  const ce = roster.can_edit;
  const roles = ce.all ? ROLES : ce.contractor ? ['technician', 'supervisor'] : ['manager'];
  $('p-role').replaceChildren(...roles.map((r) => h('option', { text: t('oncall.role.' + r), attrs: { value: r } })));
  $('person-form-title').textContent = t(p ? 'oncall.edit_person' : 'oncall.add_person');
  $('p-id').value = p ? p.id : ''; $('p-id').disabled = !!p;
  $('p-name').value = p ? p.name : ''; $('p-phone').value = p ? p.phone || '' : ''; $('p-user').value = p ? p.user || '' : '';
  if (p) $('p-role').value = p.role;
  fillScopes();
  if (p) $('p-scope').value = p.contractor || p.estate || '';
  $('p-contacts').replaceChildren(...(p && p.contacts.length ? p.contacts : [{ channel: '', to: '' }]).map(contactRow));
  if (!roster.channels.length) message($('p-msg'), t('oncall.no_channels'), 'error');
  $('person-form').hidden = false;
  $('p-msg').replaceChildren();
}

async function savePerson(ev) {
  ev.preventDefault();
  const role = $('p-role').value;
  const scope = $('p-scope').value;
  const body = { name: $('p-name').value.trim(), role, phone: $('p-phone').value.trim(), user: $('p-user').value.trim(),
    contacts: [...$('p-contacts').querySelectorAll('.contact')].map((row) => ({ channel: row.querySelector('select').value, to: row.querySelector('input').value.trim() }))
      .filter((c) => c.to || (roster.channels.find((x) => x.name === c.channel) || {}).address === '') };
  if (role === 'manager') body.estate = scope; else if (role !== 'subdistrict') body.contractor = scope;
  const id = editingPerson || $('p-id').value.trim();
  try {
    await api(`/api/v1/oncall/people/${encodeURIComponent(id)}`, { method: 'PUT', body });
    message($('msg'), t('oncall.saved'), 'ok');
    editingPerson = '';
    openPerson(null);
    await load();
  } catch (e) { formError($('p-msg'), e); }
}

async function deletePerson(p) {
  if (!confirm(t('oncall.confirm_delete'))) return;
  try { await api(`/api/v1/oncall/people/${encodeURIComponent(p.id)}`, { method: 'DELETE' }); message($('msg'), t('oncall.deleted'), 'ok'); await load(); } catch (e) { formError($('msg'), e); }
}

function render() {
  if (!roster) return;
  $('at').textContent = t('oncall.at', { at: fmtTime(roster.at, { dateStyle: 'medium', timeStyle: 'short' }) });
  renderNow(); renderDuty(); renderPeople();
}

async function load() {
  ({ data: roster } = await api('/api/v1/oncall'));
  render();
}

boot('oncall', async (_me, again) => {
  if (again) {
    render();
    if (!$('duty-form').hidden) openDuty(roster.duty.find((d) => d.id === editingDuty));
    if (!$('person-form').hidden) openPerson(roster.people.find((p) => p.id === editingPerson));
    return;
  }
  try {
    const lifts = await getAll('/api/v1/lifts?limit=1000');
    for (const l of lifts) { estates.set(l.estate, l.estate_name || l.estate); if (l.contractor && !contractors.includes(l.contractor)) contractors.push(l.contractor); }
    await load();
  } catch (e) { message($('msg'), errorText(e), 'error'); return; }
  $('duty-form').addEventListener('submit', saveDuty);
  $('d-cancel').addEventListener('click', () => { editingDuty = 0; openDuty(null); });
  $('person-form').addEventListener('submit', savePerson);
  $('p-cancel').addEventListener('click', () => { editingPerson = ''; openPerson(null); });
  $('p-role').addEventListener('change', fillScopes);
  $('p-add-contact').addEventListener('click', () => $('p-contacts').append(contactRow({ channel: '', to: '' })));
  if (canAdd()) { openDuty(null); openPerson(null); }
});
