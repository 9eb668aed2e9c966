// SmartDocs admin page: asks for the token, then shows GET
// /admin/rate-limits and the bans, refreshed every 10 seconds. No inline
// script or style anywhere, for the Content-Security-Policy: the chart is
// SVG built with DOM calls and coloured by classes from admin.css.
(() => {
  'use strict';

  const TOKEN_KEY = 'smartdocs-admin-token';
  const SVG = 'http://www.w3.org/2000/svg';
  const $ = (id) => document.getElementById(id);
  let timer = 0;

  const token = () => sessionStorage.getItem(TOKEN_KEY) || '';

  async function call(method, path, body) {
    const init = { method, headers: { Authorization: `Bearer ${token()}`, Accept: 'application/json' } };
    if (body) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    if (res.status === 401 || res.status === 429) {
      sessionStorage.removeItem(TOKEN_KEY);
      showLogin(true);
    }
    if (res.status === 204) return null;
    const data = await res.json().catch(() => null);
    if (!res.ok) {
      // A detail is a sentence, or FastAPI's list of field errors.
      const d = data && data.detail;
      throw new Error((Array.isArray(d) ? d.map((e) => e.msg).join('; ') : d) || `HTTP ${res.status}`);
    }
    return data;
  }

  function showError(message) {
    $('error').textContent = message;
    $('error').hidden = !message;
  }

  function showLogin(show) {
    $('login').hidden = !show;
    $('dashboard').hidden = show;
    if (show) {
      clearInterval(timer);
      timer = 0;
      $('token').focus();
    }
  }

  function cell(row, text, code) {
    const td = document.createElement('td');
    if (code) {
      const c = document.createElement('code');
      c.textContent = text;
      td.append(c);
    } else td.textContent = String(text);
    row.append(td);
    return td;
  }

  function fill(id, rows, columns, empty) {
    const body = $(id).tBodies[0];
    body.replaceChildren();
    if (!rows.length) {
      const tr = body.insertRow();
      const td = cell(tr, empty);
      td.colSpan = $(id).tHead.rows[0].cells.length;
      return;
    }
    for (const r of rows) {
      const tr = body.insertRow();
      columns(r, tr);
    }
  }

  function summary(data) {
    const c = data.collision;
    const items = [
      ['Allowed', data.allowed_last_hour],
      ['Limited', data.limited_last_hour],
      ['Unique clients this hour', data.unique_clients.this_hour],
      ['Unique clients today (UTC)', data.unique_clients.today],
      ['Collision rate', c.keys_with_session ? `${(100 * c.rate).toFixed(1)}% of ${c.keys_with_session}` : 'no session ids yet'],
      ['Active bans', data.active_bans],
    ];
    $('summary').replaceChildren(...items.map(([k, v]) => {
      const div = document.createElement('div');
      const dt = document.createElement('dt');
      const dd = document.createElement('dd');
      dt.textContent = k;
      dd.textContent = String(v);
      div.append(dt, dd);
      return div;
    }));
    $('meta').textContent = `Store: ${data.store}. Key: ${data.key_strategy}. Policies: ${data.policies}. Sampled ${(100 * c.sample_rate).toFixed(0)}% of keys.`;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
    if (text) node.textContent = text;
    return node;
  }

  // chart draws one stacked bar per minute: allowed below, limited above.
  function chart(minutes) {
    const W = 600, H = 200, top = 10, bottom = 20;
    const peak = Math.max(1, ...minutes.map((m) => m.allowed + m.limited));
    const scale = (H - top - bottom) / peak;
    const bw = W / minutes.length;
    const nodes = [svg('line', { class: 'axis', x1: 0, y1: H - bottom, x2: W, y2: H - bottom })];
    minutes.forEach((m, i) => {
      const x = i * bw + 1;
      const ah = m.allowed * scale;
      const lh = m.limited * scale;
      const label = `${new Date(m.start).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })}: ${m.allowed} allowed, ${m.limited} limited`;
      const g = svg('g', { 'data-minute': m.start });
      g.append(svg('title', {}, label));
      g.append(svg('rect', { class: 'allowed', x, y: H - bottom - ah, width: bw - 2, height: ah }));
      g.append(svg('rect', { class: 'limited', x, y: H - bottom - ah - lh, width: bw - 2, height: lh }));
      nodes.push(g);
    });
    nodes.push(svg('text', { x: 2, y: H - 5 }, '60 min ago'));
    nodes.push(svg('text', { x: W - 2, y: H - 5, 'text-anchor': 'end' }, 'now'));
    nodes.push(svg('text', { x: 2, y: top }, `peak ${peak}/min`));
    $('chart').replaceChildren(...nodes);
  }

  async function load() {
    try {
      const [data, list] = await Promise.all([call('GET', '/admin/rate-limits'), call('GET', '/admin/bans')]);
      showError('');
      summary(data);
      chart(data.per_minute);
      fill('suspects', data.bypass_suspects, (s, tr) => {
        cell(tr, s.ip_key, true); cell(tr, s.user_agents); cell(tr, s.session_ids); cell(tr, s.requests); cell(tr, s.refusals);
      }, 'None in the last hour.');
      fill('offenders', data.top_offenders, (o, tr) => {
        cell(tr, o.key, true); cell(tr, o.refusals); cell(tr, o.allowed);
      }, 'No refusals in the last hour.');
      fill('bans', list.bans, (b, tr) => {
        cell(tr, b.ip || b.prefix || `key ${b.key}…`, true);
        cell(tr, b.reason || '');
        cell(tr, b.expires_at ? new Date(b.expires_at).toLocaleString() : 'permanent');
        const btn = document.createElement('button');
        btn.type = 'button';
        btn.textContent = 'Lift';
        btn.setAttribute('aria-label', `Lift ban on ${b.ip || b.prefix || b.key}`);
        btn.addEventListener('click', () => call('DELETE', `/admin/bans/${encodeURIComponent(b.id)}`).then(load, (e) => showError(e.message)));
        tr.insertCell().append(btn);
      }, 'No bans.');
    } catch (e) {
      showError(e.message);
    }
  }

  function start() {
    showLogin(false);
    load();
    clearInterval(timer);
    timer = setInterval(load, 10000);
  }

  $('login').addEventListener('submit', (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $('token').value.trim());
    $('token').value = '';
    start();
  });

  $('ban').addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { [$('ban-kind').value]: $('ban-value').value.trim(), reason: $('ban-reason').value.trim() };
    if ($('ban-duration').value.trim()) body.duration = $('ban-duration').value.trim();
    try {
      await call('POST', '/admin/bans', body);
      $('ban-value').value = '';
      load();
    } catch (err) {
      showError(err.message);
    }
  });

  if (token()) start();
  else showLogin(true);
})();
