// The login form: POST /api/v1/session, then the page asked for or the
// role's home.
import { api, bindLangOnly, t, message, home } from './core.js';

const form = document.getElementById('form');
const msg = document.getElementById('msg');
bindLangOnly(() => { msg.replaceChildren(); });

// limited says when to try again, as the server said: its Retry-After
// (seconds; minutes once over two), else its message.
export function limited(err) {
  const s = err.retryAfter;
  if (typeof s === 'number') return s > 120 ? t('login.limited_min', { m: Math.ceil(s / 60) }) : t('login.limited', { s });
  return t('login.limited_msg', { msg: err.message });
}

// safeNext is next as a path of this site, or null: it is resolved as the
// browser would resolve it (a backslash is a slash, tabs and newlines are
// dropped), and only a result on this origin is taken, as its path.
export function safeNext(next, origin) {
  if (!next || next[0] !== '/') return null;
  let u;
  try { u = new URL(next, origin); } catch { return null; }
  if (u.origin !== origin) return null;
  // The path as resolved ('/.//x' is '//x'): one that starts with two
  // slashes would itself name another host when the browser goes there.
  if (/^[/\\]{2}/.test(u.pathname)) return null;
  return u.pathname + u.search + u.hash;
}

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  const btn = document.getElementById('submit');
  btn.disabled = true;
  try {
    const { data } = await api('/api/v1/session', { method: 'POST', noLogin: true,
      body: { name: document.getElementById('name').value, password: document.getElementById('password').value } });
    location.replace(safeNext(new URLSearchParams(location.search).get('next'), location.origin) || home(data.user.role));
  } catch (err) {
    if (err.status === 401) message(msg, t('login.failed'), 'error');
    else if (err.status === 429) message(msg, limited(err), 'error');
    else message(msg, t('login.error', { msg: err.message }), 'error');
    btn.disabled = false;
  }
});
