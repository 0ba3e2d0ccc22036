// Shared by every page: language, time, the API client (with the CSRF
// header), safe element building (text only, never HTML), the header and
// navigation by role, the server's clock, and live streams.
import { strings } from './i18n.js';

const LANG_KEY = 'lw-lang';
export const TZ = 'Asia/Shanghai';

// lang is the chosen language: localStorage, else the cookie, else zh.
export function lang() {
  let l = null;
  try { l = localStorage.getItem(LANG_KEY); } catch { /* private mode */ }
  if (!l) {
    const m = document.cookie.match(/(?:^|;\s*)lw_lang=(zh|en)/);
    l = m ? m[1] : null;
  }
  return l === 'en' ? 'en' : 'zh';
}

export function setLang(l) {
  try { localStorage.setItem(LANG_KEY, l); } catch { /* private mode */ }
  document.cookie = `lw_lang=${l}; path=/; max-age=31536000; samesite=lax`;
}

// t translates key in the current language, filling {vars}.
export function t(key, vars = {}) {
  const s = strings[lang()][key] ?? strings.zh[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (vars[k] ?? ''));
}

// applyI18n fills [data-i18n] texts and [data-i18n-ph] placeholders.
export function applyI18n(root = document) {
  document.documentElement.lang = lang() === 'zh' ? 'zh-CN' : 'en';
  for (const e of root.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
  for (const e of root.querySelectorAll('[data-i18n-ph]')) e.placeholder = t(e.dataset.i18nPh);
}

const locale = () => (lang() === 'zh' ? 'zh-CN' : 'en-GB');

// fmtTime shows an RFC 3339 time in Shanghai time.
export function fmtTime(iso, opts = { dateStyle: 'short', timeStyle: 'medium' }) {
  if (!iso) return '';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return new Intl.DateTimeFormat(locale(), { ...opts, timeZone: TZ }).format(d);
}
export const fmtDate = (iso) => fmtTime(iso, { dateStyle: 'medium' });
export const fmtClock = (iso) => fmtTime(iso, { timeStyle: 'short' });

// shanghaiDay is the YYYY-MM-DD of a time in Shanghai.
export function shanghaiDay(d) {
  return new Intl.DateTimeFormat('en-CA', { timeZone: TZ, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);
}

// yuan shows integer fen as yuan with two decimals.
export function yuan(fen) {
  if (typeof fen !== 'number') return '';
  const s = fen < 0 ? '-' : '';
  const a = Math.abs(fen);
  return `${s}${Math.floor(a / 100)}.${String(a % 100).padStart(2, '0')}`;
}

// h builds an element. props: class, text, attrs (set as attributes), on
// (event listeners), dataset. Children are nodes or strings (as text).
export function h(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  if (props.class) e.className = props.class;
  if (props.text !== undefined && props.text !== null) e.textContent = String(props.text);
  for (const [k, v] of Object.entries(props.attrs || {})) if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : String(v));
  for (const [k, v] of Object.entries(props.on || {})) e.addEventListener(k, v);
  for (const [k, v] of Object.entries(props.dataset || {})) e.dataset[k] = v;
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return e;
}

// ApiError is a non-2xx answer: status, code, message, state (on 409).
export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status; this.code = e.code; this.field = e.field; this.state = e.state; this.alert = e.alert;
  }
}

let session = { csrf: '' };

function toLogin() {
  const next = location.pathname + location.search;
  location.replace('/login' + (next && next !== '/login' ? '?next=' + encodeURIComponent(next) : ''));
}

// api calls the JSON API. Non-GET requests carry X-CSRF-Token; a 401 sends
// the browser to /login. Resolves with {data, headers}; rejects with ApiError.
export async function api(path, { method = 'GET', body, headers = {}, raw = false, noLogin = false } = {}) {
  const hs = { Accept: 'application/json', ...headers };
  if (method !== 'GET' && method !== 'HEAD') {
    if (session.csrf) hs['X-CSRF-Token'] = session.csrf;
    if (body !== undefined && !raw) hs['Content-Type'] = 'application/json';
  }
  const res = await fetch(path, { method, headers: hs, credentials: 'same-origin', body: body === undefined ? undefined : raw ? body : JSON.stringify(body) });
  let data = null;
  const ct = res.headers.get('Content-Type') || '';
  if (ct.includes('json')) data = await res.json().catch(() => null);
  if (res.status === 401 && !noLogin) { toLogin(); throw new ApiError(401, data); }
  if (!res.ok) {
    const err = new ApiError(res.status, data);
    const ra = res.headers.get('Retry-After');
    if (ra !== null && /^\d+$/.test(ra.trim())) err.retryAfter = Number(ra.trim()); // seconds
    throw err;
  }
  return { data, headers: res.headers };
}

// The pages each role uses; the server enforces scope regardless.
const NAV = [
  { href: '/', key: 'nav.board', page: 'board', roles: ['admin', 'manager', 'contractor', 'subdistrict'] },
  { href: '/fleet', key: 'nav.fleet', page: 'fleet', roles: ['admin', 'manager', 'contractor', 'subdistrict'] },
  { href: '/work-orders', key: 'nav.workorders', page: 'workorders', roles: ['admin', 'manager', 'contractor', 'subdistrict'] },
  { href: '/supervision', key: 'nav.supervision', page: 'supervision', roles: ['admin', 'manager', 'subdistrict'] },
  { href: '/owner', key: 'nav.owner', page: 'owner', roles: ['owner'] },
  { href: '/users', key: 'nav.users', page: 'users', roles: ['admin', 'manager'] },
];
const HOME = { admin: '/', manager: '/', contractor: '/work-orders', owner: '/owner', subdistrict: '/supervision' };
export const home = (role) => HOME[role] || '/';

// may says whether role may take actions of kind (mirrors identity's table
// for what the page offers; the server decides).
export function may(role, what) {
  const acts = {
    act_alert: ['admin', 'manager', 'contractor'],
    write_work_order: ['admin', 'contractor'],
    sign_off_work_order: ['admin', 'manager'],
    read_fund: ['admin', 'manager', 'subdistrict'],
  };
  return (acts[what] || []).includes(role);
}

// boot prepares a page: the signed-in user (or /login), the header, the
// language switch. pageRoles limits who the page is for: others go home.
export async function boot(page, render) {
  applyI18n();
  let me;
  try {
    ({ data: me } = await api('/api/v1/me'));
  } catch (e) {
    if (e.status === 401) return; // on its way to /login
    const box = document.getElementById('msg') || document.getElementById('main');
    if (box) message(box, errorText(e), 'error');
    return;
  }
  session.csrf = me.csrf_token || '';
  const role = me.user.role;
  const entry = NAV.find((n) => n.page === page);
  if (entry && !entry.roles.includes(role) && !(page === 'board' && role === 'owner')) {
    location.replace(home(role)); return;
  }
  if (page === 'board' && role === 'owner') { location.replace('/owner'); return; }
  header(page, me);
  const rerender = () => { applyI18n(); header(page, me); render(me, true); };
  document.addEventListener('lw-lang', rerender);
  await render(me, false);
}

function header(page, me) {
  const nav = document.getElementById('nav');
  if (!nav) return;
  nav.replaceChildren(...NAV.filter((n) => n.roles.includes(me.user.role)).map((n) =>
    h('a', { text: t(n.key), attrs: { href: n.href, 'aria-current': n.page === page ? 'page' : null } })));
  const who = document.getElementById('who');
  if (who) who.textContent = me.user.name ? `${me.user.name} · ${t('role.' + me.user.role)}` : '';
  const lb = document.getElementById('lang');
  if (lb && !lb.dataset.bound) {
    lb.dataset.bound = '1';
    lb.addEventListener('click', () => { setLang(lang() === 'zh' ? 'en' : 'zh'); document.dispatchEvent(new Event('lw-lang')); });
  }
  if (lb) lb.textContent = t('nav.lang');
  const out = document.getElementById('logout');
  if (out) {
    if (!out.dataset.bound) {
      out.dataset.bound = '1';
      out.addEventListener('click', async () => {
        try { await api('/api/v1/session', { method: 'DELETE', noLogin: true }); } catch { /* gone anyway */ }
        location.replace('/login');
      });
    }
  }
}

// bindLangOnly wires the language switch on pages without a session (login).
export function bindLangOnly(render) {
  applyI18n();
  const lb = document.getElementById('lang');
  lb.textContent = t('nav.lang');
  lb.addEventListener('click', () => { setLang(lang() === 'zh' ? 'en' : 'zh'); applyI18n(); lb.textContent = t('nav.lang'); render(); });
}

// serverClock keeps the difference between the server's alert clock and the
// browser's, so countdowns follow the server (and a test's pinned clock).
export const serverClock = {
  skew: 0, clocks: { default: { ack_within_s: 300, on_site_within_s: 1800, critical_on_site_within_s: 7200, still_reported_after_s: 600 }, estates: {} },
  now() { return Date.now() + this.skew; },
  async sync() {
    const t0 = Date.now();
    const { data } = await api('/web/clock');
    const t1 = Date.now();
    this.skew = new Date(data.now).getTime() - (t0 + t1) / 2;
    this.clocks = data;
    document.dispatchEvent(new Event('lw-clock'));
  },
  of(estate) { return this.clocks.estates[estate] || this.clocks.default; },
};

// stream opens an SSE stream and calls on(name, data) for each event of the
// names given; status(ok) reports the connection. EventSource reconnects by
// itself (with Last-Event-ID); reopened() runs on every reconnection, for a
// stream without replay (the lift stream) to reload what it missed.
export function stream(url, names, on, status = () => {}, reopened = () => {}) {
  const es = new EventSource(url);
  let opens = 0;
  es.addEventListener('open', () => { status(true); if (opens++ > 0) reopened(); });
  es.addEventListener('error', () => status(false));
  // The server ends a stream whose session or token has ended (logout,
  // revocation, a password, role or scope change, a disabled account):
  // stop reconnecting and reload, which meets the login.
  es.addEventListener('ended', () => { es.close(); status(false); location.reload(); });
  for (const n of names) es.addEventListener(n, (ev) => { let d = null; try { d = JSON.parse(ev.data); } catch { return; } on(n, d, ev); });
  return es;
}

// liveBadge is the status callback of stream for the page's #live badge.
export function liveBadge(ok) {
  const live = document.getElementById('live');
  if (!live) return;
  // data-i18n: a language switch re-labels it (applyI18n) without waiting
  // for the stream's next change.
  live.dataset.i18n = ok ? 'common.live' : 'common.offline_stream';
  live.textContent = t(live.dataset.i18n);
  live.classList.toggle('down', !ok);
}

// message shows a status line in el (kind: info, error, ok).
export function message(el, text, kind = 'info') {
  el.replaceChildren(h('p', { class: `msg msg-${kind}`, text, attrs: { role: kind === 'error' ? 'alert' : 'status' } }));
}

// errorText is what a failed call says to the user.
export function errorText(e) {
  if (e.status === 403) return t('common.forbidden');
  if (e.status === 404) return t('common.notfound');
  return t('common.error', { msg: e.message });
}

// liftState is a lift's state at a glance: trapped (the terminal reports a
// trapped passenger: never shown as anything calmer, whatever the alerts
// say), running, idle, fault, inspection or offline.
export function liftState(l) {
  if (l.reports_entrapment) return 'trapped';
  if (!l.online) return 'offline';
  const s = l.status;
  if (l.unsafe || l.open_alerts > 0 || (s && ['out_of_service', 'fire', 'earthquake', 'emergency_power', 'unknown'].includes(s.mode))) return 'fault';
  if (s && s.mode === 'inspection') return 'inspection';
  if (s && s.moving) return 'running';
  return 'idle';
}

// faultName is a fault code of the telemetry catalogue in words (the code
// itself for one the pages do not know).
export const faultName = (code) => t('fault.' + code);

// alertTitle is an alert's type in words.
export function alertTitle(type) {
  if (type.startsWith('fault.')) return t('type.fault', { code: faultName(type.slice(6)) });
  if (type.startsWith('repeated_fault.')) return t('type.repeated_fault', { code: faultName(type.slice(15)) });
  return t('type.' + type);
}

// woTitle is a work order's kind and level (or component) in words.
export function woTitle(w) {
  const what = w.level ? t('level.' + w.level) : (w.component || '');
  return [t('wo.kind.' + w.kind), what].filter(Boolean).join(' · ');
}

// getAll reads every page of a paginated list (Link rel="next").
export async function getAll(path, max = 20) {
  let out = [];
  let url = path;
  for (let i = 0; url && i < max; i++) {
    const { data, headers } = await api(url);
    out = out.concat(data || []);
    const link = headers.get('Link') || '';
    const m = link.match(/<([^>]+)>;\s*rel="next"/);
    url = m ? m[1] : null;
  }
  return out;
}
