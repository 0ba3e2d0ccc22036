// User administration: admins create accounts (the generated password is
// shown once), disable and enable them, reset passwords, change roles and
// scope, unlock, see and revoke API tokens, and read the audit log; a
// manager sees the accounts of their estates, read-only. The server
// decides every step (identity); this page only offers them.
import { boot, h, t, api, getAll, fmtTime, message, errorText } from './core.js';

const ROLES = ['admin', 'manager', 'contractor', 'owner', 'subdistrict'];
const FIELDS = { admin: [], manager: ['estates'], contractor: ['company'], owner: ['lift', 'household'], subdistrict: ['subdistrict'] };
let me = null;
let users = [];
let audit = [];
let auditNext = null;

const scopeText = (s = {}) => [(s.estates || []).join(', '), s.company, s.lift && `${s.lift} ${s.household || ''}`, s.subdistrict].filter(Boolean).join(' · ');

// roleScope is a role choice with the inputs of that role's scope.
function roleScope(role, scope = {}) {
  const sel = h('select', { attrs: { name: 'role', 'aria-label': t('users.role') } },
    ...ROLES.map((r) => h('option', { text: t('role.' + r), attrs: { value: r, selected: r === role } })));
  const box = h('span', { class: 'scope' });
  let inputs = {};
  const fill = () => {
    inputs = {};
    box.replaceChildren(...FIELDS[sel.value].map((f) => {
      const v = f === 'estates' ? (scope.estates || []).join(',') : (scope[f] || '');
      inputs[f] = h('input', { attrs: { name: f, value: v, placeholder: t('users.f.' + f), 'aria-label': t('users.f.' + f), autocomplete: 'off' } });
      return inputs[f];
    }));
  };
  sel.addEventListener('change', fill);
  fill();
  return {
    el: h('span', { class: 'rolescope' }, sel, ' ', box),
    read() {
      const out = {};
      for (const [f, e] of Object.entries(inputs)) {
        const v = e.value.trim();
        if (v) out[f] = f === 'estates' ? v.split(/[,，\s]+/).filter(Boolean) : v;
      }
      return { role: sel.value, scope: out };
    },
  };
}

// shown is a password shown this once.
const shown = (pw) => h('p', { class: 'msg msg-ok password', attrs: { role: 'status' } }, t('users.password_once'), ' ', h('code', { text: pw, dataset: { password: pw } }));

function failed(box, e) {
  message(box, e.status === 400 ? t('users.bad', { msg: e.message }) : errorText(e), 'error');
}

async function act(box, fn, ok) {
  try {
    const r = await fn();
    if (ok) message(box, ok, 'ok');
    return r;
  } catch (e) {
    failed(box, e);
    return null;
  }
}

async function showTokens(u, box) {
  let list;
  try { ({ data: list } = await api(`/api/v1/users/${u.id}/tokens`)); } catch (e) { failed(box, e); return; }
  box.replaceChildren(h('ul', { class: 'list tokens' }, ...(list.length ? list.map((k) => h('li', { dataset: { token: String(k.id), state: k.state } },
    h('b', { text: k.name }), ' ', h('code', { text: k.prefix }), ' ', h('span', { class: 'badge' + (k.state === 'active' ? '' : ' bad'), text: t('users.tok.' + k.state) }),
    h('div', { class: 'muted', text: `${t('users.last_used')} ${k.last_used ? fmtTime(k.last_used) : t('users.never_used')} · ${t('users.expires')} ${k.expires_at ? fmtTime(k.expires_at) : t('users.no_expiry')}` }),
    k.state === 'active' ? h('button', { text: t('users.revoke'), attrs: { type: 'button', 'data-act': 'revoke' }, on: { click: async () => {
      if (await act(box, () => api(`/api/v1/users/${u.id}/tokens/${k.id}`, { method: 'DELETE' }))) showTokens(u, box);
    } } }) : null)) : [h('li', { class: 'muted', text: t('users.no_tokens') })])));
}

function card(u) {
  const li = h('li', { class: 'item', dataset: { user: u.name, disabled: String(u.disabled) } },
    h('b', { text: u.name }), ' ', h('span', { class: 'badge', text: t('role.' + u.role) }), ' ',
    u.disabled ? h('span', { class: 'badge bad', text: t('users.disabled') }) : null,
    h('div', { class: 'muted', text: scopeText(u.scope) }));
  if (me.user.role !== 'admin') return li;
  const self = u.id === me.user.id;
  const out = h('div', { class: 'out' });
  const btn = (key, name, fn) => h('button', { text: t(key), attrs: { type: 'button', 'data-act': name }, on: { click: fn } });
  li.append(h('div', { class: 'actions' },
    self ? null : btn(u.disabled ? 'users.enable' : 'users.disable', 'toggle', async () => {
      if (await act(out, () => api(`/api/v1/users/${u.id}`, { method: 'PATCH', body: { disabled: !u.disabled } }))) load(t(u.disabled ? 'users.enabled_msg' : 'users.disabled_msg', { name: u.name }));
    }),
    btn('users.reset', 'reset', async () => {
      const r = await act(out, () => api(`/api/v1/users/${u.id}/password`, { method: 'POST' }));
      if (r) out.replaceChildren(shown(r.data.password));
    }),
    btn('users.unlock', 'unlock', () => act(out, () => api(`/api/v1/users/${encodeURIComponent(u.name)}/unlock`, { method: 'POST' }), t('users.unlocked', { name: u.name }))),
    self ? null : btn('users.change', 'change', () => {
      const rs = roleScope(u.role, u.scope);
      out.replaceChildren(h('form', { class: 'form', on: { submit: async (ev) => {
        ev.preventDefault();
        if (await act(out, () => api(`/api/v1/users/${u.id}`, { method: 'PATCH', body: rs.read() }))) load(t('users.changed_msg', { name: u.name }));
      } } }, rs.el, ' ', h('button', { text: t('common.save'), attrs: { type: 'submit' } })));
    }),
    btn('users.tokens', 'tokens', () => showTokens(u, out))), out);
  return li;
}

function render() {
  const list = document.getElementById('users');
  list.replaceChildren(...(users.length ? users.map(card) : [h('li', { class: 'muted', text: t('common.none') })]));
  document.getElementById('audit').replaceChildren(...audit.map((e) => h('li', { dataset: { outcome: e.outcome } },
    h('span', { class: 'muted', text: fmtTime(e.at) }), ' ', h('b', { text: e.actor || '—' }), ' ',
    h('code', { text: e.action }), ' ', e.object, ' ', h('span', { class: 'badge' + (e.outcome === 'ok' ? '' : ' bad'), text: t('users.outcome.' + e.outcome) }),
    h('div', { class: 'muted', text: [e.remote, e.detail].filter(Boolean).join(' · ') }))));
  document.getElementById('audit-more').hidden = !auditNext;
}

async function load(done) {
  const msg = document.getElementById('msg');
  try {
    users = await getAll('/api/v1/users');
  } catch (e) { message(msg, errorText(e), 'error'); return; }
  render();
  if (done) message(msg, done, 'ok');
}

async function moreAudit(first) {
  try {
    const { data, headers } = await api(first ? '/api/v1/audit?limit=50' : auditNext);
    audit = first ? data : audit.concat(data);
    const m = (headers.get('Link') || '').match(/<([^>]+)>;\s*rel="next"/);
    auditNext = m ? m[1] : null;
  } catch (e) { message(document.getElementById('msg'), errorText(e), 'error'); }
  render();
}

let createRS = null; // the new account's role and scope inputs

function createInputs() {
  const keep = createRS ? createRS.read() : { role: 'manager', scope: {} };
  createRS = roleScope(keep.role, keep.scope);
  document.getElementById('new-role').replaceChildren(createRS.el);
}

boot('users', async (m, again) => {
  me = m;
  const admin = me.user.role === 'admin';
  if (again) { if (admin) createInputs(); render(); return; }
  document.getElementById('readonly').hidden = admin;
  if (admin) {
    document.getElementById('create-sec').hidden = false;
    document.getElementById('audit-sec').hidden = false;
    createInputs();
    document.getElementById('create').addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const box = document.getElementById('created');
      const name = document.getElementById('new-name').value.trim();
      const r = await act(box, () => api('/api/v1/users', { method: 'POST', body: { name, ...createRS.read() } }));
      if (!r) return;
      box.replaceChildren(h('p', { text: t('users.created', { name: r.data.user.name }) }), shown(r.data.password));
      document.getElementById('new-name').value = '';
      load();
    });
    document.getElementById('audit-more').addEventListener('click', () => moreAudit(false));
    moreAudit(true);
  }
  await load();
});
