// SmartDocs API documentation page: renders /openapi.json and sends
// requests from the browser. It is a file of its own, builds every node
// with the DOM API (never from HTML strings, never with inline styles) and
// loads nothing from other origins, because the server's
// Content-Security-Policy allows only 'self'.
(() => {
  'use strict';

  const METHODS = ['get', 'post', 'put', 'patch', 'delete'];
  // Response headers worth showing after a request.
  const SHOWN_HEADERS = ['content-type', 'retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining',
    'x-ratelimit-reset', 'ratelimit', 'ratelimit-policy'];

  let doc = null;

  // el builds an element: attrs are properties or attributes, children
  // are nodes or strings.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') node.className = v;
      else if (k in node && typeof v !== 'string') node[k] = v;
      else node.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      node.append(typeof c === 'string' ? document.createTextNode(c) : c);
    }
    return node;
  }

  // prose renders text with `code` spans and blank-line paragraphs.
  function prose(text) {
    const out = document.createDocumentFragment();
    if (!text) return out;
    for (const para of text.split(/\n\s*\n/)) {
      const p = el('p');
      para.split('`').forEach((part, i) => p.append(i % 2 ? el('code', null, part) : document.createTextNode(part)));
      out.append(p);
    }
    return out;
  }

  // resolve follows a local $ref ("#/components/schemas/X").
  function resolve(obj) {
    let seen = 0;
    while (obj && obj.$ref && seen++ < 20) {
      obj = obj.$ref.replace(/^#\//, '').split('/')
        .reduce((o, k) => (o ? o[k.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), doc);
    }
    return obj || {};
  }

  function refName(obj) {
    return obj && obj.$ref ? obj.$ref.split('/').pop() : '';
  }

  function typeLabel(s) {
    if ('const' in s) return JSON.stringify(s.const);
    let t = Array.isArray(s.type) ? s.type.join(' | ') : s.type || '';
    if (s.enum) t += ' ' + s.enum.map((v) => JSON.stringify(v)).join(' | ');
    if (s.format) t += ` (${s.format})`;
    if (s.minLength !== undefined || s.maxLength !== undefined) {
      t += ` [${s.minLength ?? 0}..${s.maxLength ?? ''}]`;
    }
    return t.trim();
  }

  // schemaView shows a schema as a nested list, refs expanded a few
  // levels deep.
  function schemaView(ref, depth = 0) {
    const s = resolve(ref);
    const name = refName(ref);
    if (depth > 5) return el('span', { class: 'type' }, name || 'object');
    if (s.oneOf || s.anyOf) {
      const list = el('ul', { class: 'schema' });
      for (const alt of s.oneOf || s.anyOf) list.append(el('li', null, schemaView(alt, depth + 1)));
      return el('div', null, el('span', { class: 'type' }, `${name ? name + ': ' : ''}one of`), list);
    }
    if (s.type === 'array' || (Array.isArray(s.type) && s.type.includes('array'))) {
      return el('div', null, el('span', { class: 'type' }, `${name ? name + ': ' : ''}${typeLabel(s)} of`),
        s.items ? schemaView(s.items, depth + 1) : '');
    }
    if (s.properties) {
      const required = new Set(s.required || []);
      const list = el('ul', { class: 'schema' });
      for (const [prop, sub] of Object.entries(s.properties)) {
        const r = resolve(sub);
        const simple = !r.properties && !r.items && !r.oneOf;
        list.append(el('li', null,
          el('span', { class: 'mono' }, prop), required.has(prop) ? el('span', { class: 'req' }, ' *') : '', ' ',
          simple ? el('span', { class: 'type' }, typeLabel(r)) : '',
          r.description ? el('span', null, ' — ', prose(r.description).textContent) : '',
          simple ? '' : schemaView(sub, depth + 1)));
      }
      return el('div', null, name ? el('span', { class: 'type' }, name) : '', s.description && depth === 0 ? prose(s.description) : '', list);
    }
    return el('span', { class: 'type' }, `${name ? name + ': ' : ''}${typeLabel(s)}`);
  }

  // exampleOf returns the first example of a media type, or one made up
  // from its schema.
  function exampleOf(media) {
    if (media.example !== undefined) return media.example;
    const first = media.examples && Object.values(media.examples)[0];
    if (first) return resolve(first).value;
    return made(media.schema, 0);
  }

  function made(ref, depth) {
    const s = resolve(ref);
    if (depth > 4) return null;
    if ('const' in s) return s.const;
    if (s.examples) return s.examples[0];
    if (s.enum) return s.enum[0];
    if (s.oneOf) return made(s.oneOf[0], depth + 1);
    const t = Array.isArray(s.type) ? s.type[0] : s.type;
    if (t === 'object' || s.properties) {
      const o = {};
      for (const p of s.required || Object.keys(s.properties || {})) o[p] = made((s.properties || {})[p], depth + 1);
      return o;
    }
    if (t === 'array') return [made(s.items, depth + 1)];
    if (t === 'integer' || t === 'number') return 0;
    if (t === 'boolean') return true;
    return 'string';
  }

  function parametersOf(pathItem, op) {
    return [...(pathItem.parameters || []), ...(op.parameters || [])].map(resolve);
  }

  function responsesTable(op) {
    const table = el('table', null, el('tr', null, el('th', null, 'Status'), el('th', null, 'Meaning'), el('th', null, 'Body')));
    for (const [status, ref] of Object.entries(op.responses || {})) {
      const r = resolve(ref);
      const headers = Object.keys(r.headers || {});
      const bodies = el('div');
      for (const [type, media] of Object.entries(r.content || {})) {
        if (!media.schema) {
          bodies.append(el('div', { class: 'mono' }, type));
          continue;
        }
        bodies.append(el('details', null, el('summary', { class: 'mono' }, type), schemaView(media.schema)));
      }
      table.append(el('tr', null,
        el('td', { class: `status ${status < 400 ? 'ok' : 'err'}` }, status),
        el('td', null, prose(r.description), headers.length ? el('div', { class: 'type' }, 'Headers: ', headers.join(', ')) : ''),
        el('td', null, bodies)));
    }
    return table;
  }

  // tryForm lets the reader send the request and watch the answer arrive.
  function tryForm(method, path, params, op) {
    const form = el('form', { class: 'try' });
    const inputs = [];
    for (const p of params) {
      let input;
      if (p.in === 'header' && p.name === 'Accept') {
        input = el('select', null, ['', 'application/x-ndjson', 'application/json'].map((v) => el('option', { value: v }, v || '(none: stream)')));
      } else {
        input = el('input', { type: 'text', placeholder: p.schema ? typeLabel(resolve(p.schema)) : '' });
      }
      inputs.push([p, input]);
      form.append(el('label', null, el('span', null, `${p.name} (${p.in})${p.required ? ' *' : ''}`), input));
    }
    let body = null;
    const media = op.requestBody && resolve(op.requestBody).content;
    if (media && media['application/json']) {
      body = el('textarea', { spellcheck: 'false' });
      body.value = JSON.stringify(exampleOf(media['application/json']), null, 2);
      form.append(el('label', null, el('span', null, 'Body (application/json)'), body));
    }
    const send = el('button', { type: 'submit' }, 'Send');
    const head = el('div', { class: 'result-head mono' });
    const out = el('pre', { hidden: true });
    form.append(send, head, out);
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      send.disabled = true;
      head.textContent = 'Sending…';
      out.hidden = false;
      out.textContent = '';
      let url = path;
      const headers = new Headers();
      const query = new URLSearchParams();
      for (const [p, input] of inputs) {
        const v = input.value.trim();
        if (!v) continue;
        if (p.in === 'path') url = url.replace(`{${p.name}}`, encodeURIComponent(v));
        else if (p.in === 'header') headers.set(p.name, v);
        else if (p.in === 'query') query.set(p.name, v);
      }
      if (query.toString()) url += '?' + query;
      const init = { method: method.toUpperCase(), headers };
      if (body) {
        headers.set('Content-Type', 'application/json');
        init.body = body.value;
      }
      try {
        const res = await fetch(url, init);
        const shown = SHOWN_HEADERS.filter((h) => res.headers.has(h)).map((h) => `${h}: ${res.headers.get(h)}`);
        head.textContent = `${res.status} ${res.statusText}\n${shown.join('\n')}`;
        const reader = res.body.getReader();
        const dec = new TextDecoder();
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          out.textContent += dec.decode(value, { stream: true });
        }
        if ((res.headers.get('content-type') || '').startsWith('application/json')) {
          try { out.textContent = JSON.stringify(JSON.parse(out.textContent), null, 2); } catch { /* leave as sent */ }
        }
      } catch (err) {
        head.textContent = `Request failed: ${err.message}`;
      } finally {
        send.disabled = false;
      }
    });
    return form;
  }

  function operation(method, path, pathItem, op) {
    const params = parametersOf(pathItem, op);
    const body = el('div', { class: 'body' }, prose(op.description));
    if (params.length) {
      const table = el('table', null, el('tr', null, el('th', null, 'Parameter'), el('th', null, 'In'), el('th', null, 'Meaning')));
      for (const p of params) {
        table.append(el('tr', null, el('td', { class: 'mono' }, p.name + (p.required ? ' *' : '')), el('td', null, p.in), el('td', null, prose(p.description))));
      }
      body.append(el('h3', null, 'Parameters'), table);
    }
    if (op.requestBody) {
      const rb = resolve(op.requestBody);
      for (const [type, media] of Object.entries(rb.content || {})) {
        body.append(el('h3', null, `Request body (${type})${rb.required ? ', required' : ''}`), schemaView(media.schema));
      }
    }
    body.append(el('h3', null, 'Responses'), responsesTable(op), el('h3', null, 'Try it'), tryForm(method, path, params, op));
    return el('details', { class: 'op', id: op.operationId || undefined },
      el('summary', null, el('span', { class: `method ${method}` }, method), el('span', { class: 'path mono' }, path), el('span', { class: 'summary' }, op.summary || '')),
      body);
  }

  function render() {
    document.title = doc.info.title;
    document.getElementById('title').textContent = doc.info.title;
    document.getElementById('version').textContent = `version ${doc.info.version} · OpenAPI ${doc.openapi}`;
    document.getElementById('description').append(prose(doc.info.description));
    const main = document.getElementById('operations');
    main.textContent = '';
    const tags = (doc.tags || []).map((t) => t.name);
    const byTag = new Map(tags.map((t) => [t, []]));
    for (const [path, item] of Object.entries(doc.paths || {})) {
      for (const m of METHODS) {
        if (!item[m]) continue;
        const tag = (item[m].tags || ['other'])[0];
        if (!byTag.has(tag)) byTag.set(tag, []);
        byTag.get(tag).push(operation(m, path, item, item[m]));
      }
    }
    for (const [tag, ops] of byTag) {
      if (!ops.length) continue;
      const info = (doc.tags || []).find((t) => t.name === tag);
      main.append(el('h2', { class: 'tag' }, tag), info ? prose(info.description) : '', ...ops);
    }
    if (location.hash) {
      const open = document.getElementById(location.hash.slice(1));
      if (open) open.open = true;
    }
  }

  fetch('/openapi.json')
    .then((res) => {
      if (!res.ok) throw new Error(`GET /openapi.json: ${res.status}`);
      return res.json();
    })
    .then((d) => { doc = d; render(); })
    .catch((err) => {
      document.getElementById('operations').textContent = `Could not load the API description: ${err.message}`;
    });
})();
