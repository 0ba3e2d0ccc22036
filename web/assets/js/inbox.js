// The phone inbox of the demo: the pages its simulated gateway received
// for the signed-in user, newest first, each with its acknowledge link, as
// a duty phone would show them. Outside the demo there is no gateway.
import { api, boot, h, t, fmtTime, message, errorText } from './core.js';

let list = null;

function render() {
  const el = document.getElementById('inbox');
  if (!list) return;
  if (!list.length) { el.replaceChildren(h('li', { class: 'muted', text: t('inbox.empty') })); return; }
  el.replaceChildren(...list.map((m) => h('li', { class: 'page', dataset: { alert: String(m.alert_id), state: m.state } },
    h('p', { class: 'muted' }, `${fmtTime(m.at)} · ${m.channel} ${m.to} · `, h('span', { class: 'state', text: t('page.state.' + m.state) })),
    h('p', { class: 'text', text: m.text }),
    h('p', {}, h('a', { class: 'ack-link', text: t('inbox.open'), attrs: { href: m.link } })))));
}

async function load() {
  const msg = document.getElementById('msg');
  try {
    const { data } = await api('/demo/inbox');
    list = data.messages || [];
    msg.replaceChildren();
    render();
  } catch (e) {
    message(msg, e.status === 404 ? t('inbox.demo_only') : errorText(e), e.status === 404 ? 'info' : 'error');
  }
}

boot('inbox', async (me, again) => {
  if (again) { render(); return; }
  await load();
  setInterval(load, 5000);
});
