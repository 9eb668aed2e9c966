// SmartDocs chat page. One session id per browser, answers streamed as
// NDJSON and rendered as Markdown as they grow (see markdown.js), rate-limit
// state taken from the server's headers. The Content-Security-Policy forbids
// inline scripts, so the page's code lives in these files; it is an ES
// module, so no name leaks onto window.
import { View } from './markdown.js';

(() => {

  const SESSION_KEY = 'smartdocs-session-id';
  const MAX_HISTORY = 10; // previous messages sent with each question

  const byId = (id) => document.getElementById(id);
  const form = byId('ask');
  const question = byId('question');
  const send = byId('send');
  const model = byId('model');
  const log = byId('messages');
  const statusLine = byId('status');

  const session = loadSession();
  const turns = []; // [{role, content}] of finished exchanges
  let busy = false; // a /chat request is in flight
  let timer = 0; // countdown interval id while rate limited

  // crypto.randomUUID exists only in secure contexts; over plain http on a
  // LAN address (docker compose) the page still needs an id, so build a v4
  // UUID from getRandomValues there.
  function newId() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // The id must survive reloads so the per-session limit follows the user;
  // when storage is blocked it lasts for this page only.
  function loadSession() {
    try {
      let id = localStorage.getItem(SESSION_KEY);
      if (!id) {
        id = newId();
        localStorage.setItem(SESSION_KEY, id);
      }
      return id;
    } catch {
      return newId();
    }
  }

  function api(path, init = {}) {
    const headers = new Headers(init.headers);
    headers.set('X-Session-ID', session);
    return fetch(path, { ...init, headers });
  }

  function showRemaining(remaining, limit) {
    if (timer) return; // the countdown owns the status line until it ends
    statusLine.textContent = `${remaining} of ${limit} requests left`;
  }

  // Older servers have no /limits; then the status line stays empty until
  // the first answer brings X-RateLimit headers.
  async function loadLimits() {
    try {
      const res = await api('/limits');
      if (!res.ok) return;
      const { layers } = await res.json();
      if (!Array.isArray(layers) || layers.length === 0) return;
      const tightest = layers.reduce((a, b) => (b.remaining < a.remaining ? b : a));
      showRemaining(tightest.remaining, tightest.limit);
    } catch {
      // The page works without it.
    }
  }

  async function loadModels() {
    let data = null;
    try {
      const res = await api('/models');
      if (res.ok) data = await res.json();
    } catch {
      // Keep the built-in "docs" option.
    }
    if (!data || !Array.isArray(data.models) || data.models.length === 0) return;
    model.replaceChildren(...data.models.map((m) => {
      const off = m.configured === false && m.name !== data.default;
      const opt = new Option(off ? `${m.name} (not configured)` : m.name, m.name);
      opt.disabled = off;
      if (m.description) opt.title = m.description;
      return opt;
    }));
    model.value = data.default || '';
    if (!model.value) model.selectedIndex = 0;
  }

  function scrollDown() {
    log.scrollTop = log.scrollHeight;
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  // addMessage returns the message element; an assistant message holds an
  // empty .answer that the streamed answer is rendered into.
  function addMessage(role, text) {
    log.querySelector('.empty')?.remove();
    const item = el('div', `message ${role}`);
    item.append(
      el('p', 'who', role === 'user' ? 'You' : 'SmartDocs'),
      el('div', role === 'user' ? 'text' : 'answer', text),
    );
    log.append(item);
    scrollDown();
    return item;
  }

  function fail(item, message) {
    item.append(el('p', 'error', message));
    scrollDown();
  }

  function showSources(item, event) {
    const details = Array.isArray(event.details) && event.details.length ? event.details : null;
    const labels = details
      ? details.map((d) => [d.title || d.name, d.heading].filter((s, i, all) => s && all.indexOf(s) === i).join(' — '))
      : (Array.isArray(event.data) ? event.data : []);
    if (labels.length === 0) return;
    const list = el('ul');
    labels.forEach((label, i) => {
      const li = el('li', '', label);
      if (details && details[i].excerpt) li.title = details[i].excerpt;
      list.append(li);
    });
    const box = el('div', 'sources');
    box.append(el('p', 'sources-label', 'Sources'), list);
    item.append(box);
    scrollDown();
  }

  // errorText reads FastAPI-style bodies: detail as a string, or as a list
  // of {loc, msg, type} validation problems. A short plain-text body (the
  // rate limiter's own refusal, a proxy's message) is shown as it is.
  function errorText(raw, status) {
    let body = null;
    try {
      body = JSON.parse(raw);
    } catch {
      const line = raw.trim();
      if (line && line.length <= 300 && !line.startsWith('<')) return line;
    }
    const detail = body && body.detail;
    if (typeof detail === 'string' && detail) return detail;
    if (Array.isArray(detail) && detail.length) {
      return detail.map((p) => {
        const where = Array.isArray(p.loc) ? p.loc.filter((part) => part !== 'body').join('.') : '';
        return where ? `${where}: ${p.msg}` : String(p.msg);
      }).join('; ');
    }
    return status >= 500 ? `The server had a problem (HTTP ${status}). Please try again.` : `The request failed (HTTP ${status}).`;
  }

  // Retry-After is seconds here, but HTTP also allows a date.
  function retrySeconds(value) {
    if (value && Number.isFinite(Number(value))) return Math.max(1, Math.ceil(Number(value)));
    const at = Date.parse(value || '');
    return Number.isNaN(at) ? 5 : Math.max(1, Math.ceil((at - Date.now()) / 1000));
  }

  // The countdown follows the wall clock, not tick counts, so a throttled
  // background tab still re-enables the button on time. Its number is
  // aria-live="off" so screen readers hear the message once, not every second.
  function startCountdown(seconds) {
    clearInterval(timer);
    const end = Date.now() + seconds * 1000;
    const count = el('span', '', String(seconds));
    count.id = 'countdown';
    count.setAttribute('aria-live', 'off');
    statusLine.replaceChildren('Try again in ', count, ' s');
    send.disabled = true;
    timer = setInterval(() => {
      const left = Math.ceil((end - Date.now()) / 1000);
      if (left > 0) {
        count.textContent = String(left);
        return;
      }
      clearInterval(timer);
      timer = 0;
      statusLine.textContent = 'You can send again.';
      send.disabled = busy;
    }, 250);
  }

  // stream reads NDJSON lines as they arrive and returns the answer's
  // Markdown and whether it ended with "done". The answer is rendered at
  // most once per frame, however many tokens a frame brings, and once more
  // at the end.
  async function stream(res, item) {
    const view = new View(item.querySelector('.answer'));
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let outcome = '';
    let text = '';
    let frame = 0;
    const show = () => {
      cancelAnimationFrame(frame);
      frame = 0;
      view.set(text);
      scrollDown();
    };
    const handle = (line) => {
      if (!line.trim() || outcome) return;
      let event;
      try {
        event = JSON.parse(line);
      } catch {
        return; // one bad line should not lose the rest of the answer
      }
      if (event.type === 'sources') showSources(item, event);
      else if (event.type === 'token') {
        text += String(event.data ?? '');
        if (!frame) frame = requestAnimationFrame(show);
      } else if (event.type === 'done') outcome = 'done';
      else if (event.type === 'error') {
        outcome = 'error';
        fail(item, event.data || 'The answer could not be finished.');
      }
    };
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        handle(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
      }
    }
    handle(buffer + decoder.decode());
    show();
    if (!outcome) fail(item, 'The answer was cut off. Please try again.');
    return { text, ok: outcome === 'done' };
  }

  async function ask(text) {
    busy = true;
    send.disabled = true;
    log.setAttribute('aria-busy', 'true'); // announce the answer once it is complete
    addMessage('user', text);
    const item = addMessage('assistant', '');
    const body = { question: text, model_type: model.value || 'docs', history: turns.slice(-MAX_HISTORY) };
    let ok = false;
    try {
      const res = await api('/chat', {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
      const remaining = res.headers.get('X-RateLimit-Remaining');
      const limit = res.headers.get('X-RateLimit-Limit');
      if (remaining !== null && limit !== null) showRemaining(remaining, limit);
      if (!res.ok) {
        fail(item, errorText(await res.text().catch(() => ''), res.status));
        if (res.status === 429) startCountdown(retrySeconds(res.headers.get('Retry-After')));
      } else {
        const answer = await stream(res, item);
        if (answer.ok) {
          ok = true;
          turns.push({ role: 'user', content: text }, { role: 'assistant', content: answer.text });
        }
      }
    } catch {
      fail(item, 'Could not reach the server. Check your connection and try again.');
    } finally {
      busy = false;
      log.setAttribute('aria-busy', 'false');
      send.disabled = timer !== 0;
      if (!ok && !question.value) question.value = text; // let the user resend
    }
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const text = question.value.trim();
    if (!text || busy || timer) return;
    question.value = '';
    ask(text);
  });

  question.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter' || e.shiftKey || e.isComposing) return;
    e.preventDefault();
    if (form.requestSubmit) form.requestSubmit();
    else send.click();
  });

  loadModels();
  loadLimits();
})();
