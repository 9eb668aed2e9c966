// SmartDocs Markdown renderer: answers (the documents' own Markdown, or a
// language model's) become DOM nodes built with createElement and
// textContent only. No string of the answer is ever parsed as HTML, so an
// <img onerror> or a <script> in a document or an answer shows as text
// and cannot run; links are made only for http(s) and mailto URLs.
//
// It covers what answers use: paragraphs, ATX and setext headings, bullet
// and numbered lists (nested, tight or loose), block quotes, fenced and
// indented code (with a language class and light highlighting), GFM pipe
// tables with alignment, thematic breaks, and inline code, emphasis,
// strikethrough, links (inline, reference and bare URLs), images (shown as
// links, since the page's Content-Security-Policy loads no image from
// elsewhere), hard breaks, backslash escapes and character references.
// Raw HTML is text.
//
// View re-renders a growing answer cheaply: the text is parsed again, but
// a top-level block whose source is unchanged keeps its DOM node, so
// while an answer streams only its last block is rebuilt.

const ALLOWED_PROTOCOLS = new Set(['http:', 'https:', 'mailto:']);
const PUNCTUATION = /[!-/:-@[-`{-~]/;
const MAX_HIGHLIGHT = 20000; // longer code is shown unhighlighted
// MAX_NESTING bounds quotes, lists, emphasis and links inside one
// another, so no answer can exhaust the stack; deeper text is shown as
// written.
const MAX_NESTING = 16;

// ---------- blocks ----------

const reBlank = /^[ \t]*$/;
const reFence = /^( {0,3})(`{3,}|~{3,})(.*)$/;
const reHeading = /^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$/;
const reRule = /^ {0,3}(?:(?:\*[ \t]*){3,}|(?:-[ \t]*){3,}|(?:_[ \t]*){3,})$/;
const reQuote = /^ {0,3}> ?/;
const reItem = /^( {0,3})([-+*]|\d{1,9}[.)])(?:([ \t]+)(.*)|$)/;
const reSetext = /^ {0,3}(={2,}|-{2,})[ \t]*$/;
const reRefDef = /^ {0,3}\[((?:[^\]\\]|\\.){1,999})\]:[ \t]*<?([^\s>]+)>?(?:[ \t]+(?:"([^"]*)"|'([^']*)'|\(([^)]*)\)))?[ \t]*$/;

const isBlank = (line) => reBlank.test(line);
const indentOf = (line) => line.length - line.trimStart().length;

function fence(line) {
  const m = reFence.exec(line);
  if (!m || (m[2][0] === '`' && m[3].includes('`'))) return null;
  return { indent: m[1].length, marker: m[2], info: m[3].trim() };
}

function listItem(line) {
  if (reRule.test(line)) return null;
  const m = reItem.exec(line);
  if (!m) return null;
  const marker = m[2];
  const ordered = marker.length > 1 || /\d/.test(marker);
  let spaces = (m[3] || '').length;
  const content = m[4] || '';
  if (!content.trim() || spaces > 4) spaces = 1; // blank start or indented code inside
  return {
    ordered,
    start: ordered ? parseInt(marker, 10) : 0,
    kind: ordered ? marker.slice(-1) : marker, // the list's delimiter or bullet
    contentIndent: m[1].length + marker.length + spaces,
    content: m[3] && m[3].length > 4 ? ' '.repeat(m[3].length - 1) + content : content,
  };
}

function splitRow(line) {
  let s = line.trim();
  if (s.startsWith('|')) s = s.slice(1);
  if (s.endsWith('|') && !s.endsWith('\\|')) s = s.slice(0, -1);
  const cells = [];
  let cell = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && s[i + 1] === '|') {
      cell += '|';
      i++;
    } else if (s[i] === '|') {
      cells.push(cell.trim());
      cell = '';
    } else cell += s[i];
  }
  cells.push(cell.trim());
  return cells;
}

function delimiterRow(line) {
  if (!line.includes('|') && !line.includes(':')) return null;
  const cells = splitRow(line);
  if (!cells.every((c) => /^:?-+:?$/.test(c))) return null;
  return cells.map((c) => (c.endsWith(':') ? (c.startsWith(':') ? 'center' : 'right') : c.startsWith(':') ? 'left' : ''));
}

function tableAt(lines, i) {
  if (i + 1 >= lines.length || !lines[i].includes('|') || indentOf(lines[i]) > 3) return null;
  const align = delimiterRow(lines[i + 1]);
  if (!align || splitRow(lines[i]).length !== align.length) return null;
  return align;
}

// startsBlock reports whether line begins a block that ends a paragraph.
function startsBlock(lines, i) {
  const line = lines[i];
  if (fence(line) || reHeading.test(line) || reRule.test(line) || reQuote.test(line) || tableAt(lines, i)) return true;
  const item = listItem(line);
  // A list interrupts a paragraph only when it has content, and a
  // numbered one only when it starts at 1, so "in 2024. We..." stays text.
  return Boolean(item && item.content.trim() && (!item.ordered || item.start === 1));
}

// parseBlocks turns lines into blocks, each with the line range [from, to)
// it came from. depth counts the quotes and list items it is inside;
// beyond MAX_NESTING the lines are one paragraph.
function parseBlocks(lines, depth = 0) {
  const blocks = [];
  if (depth > MAX_NESTING) return [{ type: 'paragraph', text: lines.join('\n'), from: 0, to: lines.length }];
  let i = 0;
  const push = (block, from) => {
    block.from = from;
    block.to = i;
    blocks.push(block);
  };
  while (i < lines.length) {
    const line = lines[i];
    const from = i;
    if (isBlank(line)) {
      i++;
      continue;
    }
    const f = fence(line);
    if (f) {
      const body = [];
      for (i++; i < lines.length; i++) {
        const close = fence(lines[i]);
        if (close && close.marker[0] === f.marker[0] && close.marker.length >= f.marker.length && !close.info) {
          i++;
          break;
        }
        body.push(stripIndent(lines[i], f.indent));
      }
      push({ type: 'code', lang: f.info.split(/\s+/)[0], text: body.join('\n') }, from);
      continue;
    }
    if (indentOf(line) >= 4) {
      const body = [];
      while (i < lines.length && (isBlank(lines[i]) || indentOf(lines[i]) >= 4)) body.push(lines[i++].slice(4));
      while (body.length && isBlank(body[body.length - 1])) body.pop();
      push({ type: 'code', lang: '', text: body.join('\n') }, from);
      continue;
    }
    const h = reHeading.exec(line);
    if (h) {
      i++;
      push({ type: 'heading', level: h[1].length, text: (h[2] || '').replace(/^#+$/, '') }, from);
      continue;
    }
    if (reRule.test(line)) {
      i++;
      push({ type: 'rule' }, from);
      continue;
    }
    if (reQuote.test(line)) {
      const inner = [];
      while (i < lines.length) {
        if (reQuote.test(lines[i])) inner.push(lines[i].replace(reQuote, ''));
        else if (!isBlank(lines[i]) && inner.length && !isBlank(inner[inner.length - 1]) && !startsBlock(lines, i)) inner.push(lines[i]);
        else break;
        i++;
      }
      push({ type: 'quote', children: parseBlocks(inner, depth + 1) }, from);
      continue;
    }
    if (listItem(line)) {
      const list = parseList(lines, i, depth);
      i = list.to;
      push(list, from);
      continue;
    }
    const align = tableAt(lines, i);
    if (align) {
      const head = splitRow(line);
      const rows = [];
      for (i += 2; i < lines.length && !isBlank(lines[i]) && !startsBlock(lines, i); i++) {
        const cells = splitRow(lines[i]).slice(0, head.length);
        while (cells.length < head.length) cells.push('');
        rows.push(cells);
      }
      push({ type: 'table', align, head, rows }, from);
      continue;
    }
    // A paragraph: until a blank line, another block, or a setext underline.
    const text = [line];
    let level = 0;
    for (i++; i < lines.length && !isBlank(lines[i]); i++) {
      const u = reSetext.exec(lines[i]);
      if (u) {
        level = u[1][0] === '=' ? 1 : 2;
        i++;
        break;
      }
      if (startsBlock(lines, i)) break;
      text.push(lines[i]);
    }
    if (level) push({ type: 'heading', level, text: text.join(' ').trim() }, from);
    else push({ type: 'paragraph', text: text.map((l) => l.trimStart()).join('\n') }, from);
  }
  return blocks;
}

function stripIndent(line, n) {
  let k = 0;
  while (k < n && line[k] === ' ') k++;
  return line.slice(k);
}

// parseList reads the list starting at lines[i]; its "to" is the index
// after it.
function parseList(lines, i, depth) {
  const first = listItem(lines[i]);
  const list = { type: 'list', ordered: first.ordered, start: first.start, tight: true, items: [] };
  while (i < lines.length) {
    const item = listItem(lines[i]);
    if (!item || item.ordered !== first.ordered || item.kind !== first.kind) break;
    const body = [item.content];
    for (i++; i < lines.length; i++) {
      const line = lines[i];
      if (isBlank(line)) body.push('');
      else if (indentOf(line) >= item.contentIndent) body.push(line.slice(item.contentIndent));
      else if (!isBlank(body[body.length - 1]) && !startsBlock(lines, i) && !listItem(line)) body.push(line.trimStart());
      else break;
    }
    let trailing = 0;
    while (body.length > 1 && isBlank(body[body.length - 1])) {
      body.pop();
      trailing++;
    }
    const children = parseBlocks(body, depth + 1);
    for (let k = 1; k < children.length; k++) if (children[k].from > children[k - 1].to) list.tight = false;
    list.items.push(children);
    if (trailing) {
      const next = i < lines.length ? listItem(lines[i]) : null;
      if (next && next.ordered === first.ordered && next.kind === first.kind) list.tight = false;
      else {
        i -= trailing; // the blank lines belong after the list
        break;
      }
    }
  }
  list.to = i;
  return list;
}

// collectRefs removes link reference definitions ("[id]: https://...")
// from lines outside code, returning them by normalized label.
function collectRefs(lines) {
  const refs = new Map();
  const kept = [];
  let open = null;
  for (const line of lines) {
    const f = fence(line);
    if (open) {
      if (f && f.marker[0] === open.marker[0] && f.marker.length >= open.marker.length && !f.info) open = null;
    } else if (f) open = f;
    else {
      const m = reRefDef.exec(line);
      if (m) {
        const label = normalizeLabel(m[1]);
        if (!refs.has(label)) refs.set(label, { href: m[2], title: m[3] ?? m[4] ?? m[5] ?? '' });
        continue;
      }
    }
    kept.push(line);
  }
  return { lines: kept, refs };
}

const normalizeLabel = (s) => s.trim().replace(/\s+/g, ' ').toLowerCase();

// ---------- inline ----------

const reEntity = /^&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|(amp|lt|gt|quot|apos|nbsp|copy|reg|trade|hellip|mdash|ndash|lsquo|rsquo|ldquo|rdquo|bull|middot|times|rarr|larr|harr|deg|plusmn|frac12|para|sect|euro|pound|yen|cent));/;
const NAMED = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', copy: '©', reg: '®', trade: '™',
  hellip: '…', mdash: '—', ndash: '–', lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', bull: '•',
  middot: '·', times: '×', rarr: '→', larr: '←', harr: '↔', deg: '°', plusmn: '±', frac12: '½',
  para: '¶', sect: '§', euro: '€', pound: '£', yen: '¥', cent: '¢',
};

function entity(s, i) {
  const m = reEntity.exec(s.slice(i, i + 40));
  if (!m) return null;
  let ch;
  if (m[3]) ch = NAMED[m[3]];
  else {
    const code = m[1] ? parseInt(m[1], 10) : parseInt(m[2], 16);
    ch = code > 0 && code <= 0x10ffff && (code < 0xd800 || code > 0xdfff) ? String.fromCodePoint(code) : '\ufffd';
  }
  return { ch, len: m[0].length };
}

// unescape resolves backslash escapes and character references in a link
// destination or title.
function unescape(s) {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && PUNCTUATION.test(s[i + 1] || '')) out += s[++i];
    else {
      const e = s[i] === '&' ? entity(s, i) : null;
      out += e ? e.ch : s[i];
      if (e) i += e.len - 1;
    }
  }
  return out;
}

// safeURL returns the URL to link to, or null when dest is not an
// absolute http(s) or mailto URL. The scheme is checked on the text as
// written and again on what the URL parser made of it.
export function safeURL(dest) {
  const s = unescape(dest).trim();
  if (!/^(?:https?:\/\/|mailto:)/i.test(s)) return null;
  let url;
  try {
    url = new URL(s);
  } catch {
    return null;
  }
  return ALLOWED_PROTOCOLS.has(url.protocol) ? url.href : null;
}

function link(href, title, children) {
  const a = document.createElement('a');
  a.href = href;
  a.rel = 'noopener noreferrer';
  a.target = '_blank';
  if (title) a.title = title;
  a.append(...children);
  return a;
}

function elem(tag, children, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (children) node.append(...children);
  return node;
}

// runAt returns the length of the run of ch at i.
function runAt(s, i, ch) {
  let n = 0;
  while (s[i + n] === ch) n++;
  return n;
}

// codeSpans pairs the backtick runs of s as CommonMark does: a run opens
// a code span that the next run of the same length closes, and a run
// inside a span opens nothing. It maps each opening run's index to the
// index after its span, in one pass, so that no later search through s
// has to look for closing runs again.
function codeSpans(s) {
  const spans = new Map();
  if (!s.includes('`')) return spans;
  const runs = new Map(); // length -> {at: [starts], next}
  for (let i = s.indexOf('`'); i >= 0; i = s.indexOf('`', i)) {
    const n = runAt(s, i, '`');
    if (!runs.has(n)) runs.set(n, { at: [], next: 0 });
    runs.get(n).at.push(i);
    i += n;
  }
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\') i++;
    else if (s[i] === '`') {
      const n = runAt(s, i, '`');
      const same = runs.get(n);
      if (same) {
        while (same.next < same.at.length && same.at[same.next] < i + n) same.next++;
        if (same.next < same.at.length) {
          const end = same.at[same.next] + n;
          spans.set(i, end);
          i = end - 1;
          continue;
        }
      }
      i += n - 1;
    }
  }
  return spans;
}

// skipCode returns the index of the last character of the code span or
// backtick run at j.
function skipCode(ctx, j) {
  const end = ctx.spans.get(j);
  return end === undefined ? j + runAt(ctx.s, j, '`') - 1 : end - 1;
}

// MAX_LABEL bounds how far a "[" looks for its "]", so a text of many
// unclosed brackets costs linear time, not quadratic.
const MAX_LABEL = 1000;

// labelEnd returns the index of the "]" closing the "[" at i, or -1.
function labelEnd(ctx, i) {
  const { s } = ctx;
  let depth = 0;
  for (let j = i; j < s.length && j - i < MAX_LABEL; j++) {
    const c = s[j];
    if (c === '\\') j++;
    else if (c === '`') j = skipCode(ctx, j);
    else if (c === '[') depth++;
    else if (c === ']' && --depth === 0) return j;
  }
  return -1;
}

// destination parses "(url "title")" at i: {href, title, end} or null.
function destination(s, i) {
  if (s[i] !== '(') return null;
  let j = i + 1;
  while (s[j] === ' ' || s[j] === '\n') j++;
  let href = '';
  if (s[j] === '<') {
    const close = s.indexOf('>', j);
    if (close < 0 || s.slice(j, close).includes('\n')) return null;
    href = s.slice(j + 1, close);
    j = close + 1;
  } else {
    let depth = 0;
    const start = j;
    for (; j < s.length; j++) {
      const c = s[j];
      if (c === '\\' && PUNCTUATION.test(s[j + 1] || '')) j++;
      else if (c === '(') depth++;
      else if (c === ')') {
        if (depth === 0) break;
        depth--;
      } else if (c <= ' ') break;
    }
    href = s.slice(start, j);
  }
  while (s[j] === ' ' || s[j] === '\n') j++;
  let title = '';
  const q = s[j];
  if (q === '"' || q === "'" || q === '(') {
    const closeCh = q === '(' ? ')' : q;
    let k = j + 1;
    for (; k < s.length && s[k] !== closeCh; k++) if (s[k] === '\\') k++;
    if (k >= s.length) return null;
    title = unescape(s.slice(j + 1, k));
    j = k + 1;
    while (s[j] === ' ' || s[j] === '\n') j++;
  }
  if (s[j] !== ')') return null;
  return { href, title, end: j + 1 };
}

const isSpace = (c) => c === undefined || /\s/.test(c);
const isPunct = (c) => c !== undefined && /[\p{P}\p{S}]/u.test(c);
const isWordChar = (c) => c !== undefined && /[\p{L}\p{N}]/u.test(c);

// canOpen and canClose follow CommonMark's flanking rules, with "_" never
// opening or closing inside a word (snake_case stays as written).
function canOpen(s, i, n, ch) {
  const before = s[i - 1];
  const after = s[i + n];
  if (isSpace(after)) return false;
  const left = !isPunct(after) || isSpace(before) || isPunct(before);
  return left && (ch !== '_' || !isWordChar(before));
}

function canClose(s, i, n, ch) {
  const before = s[i - 1];
  const after = s[i + n];
  if (isSpace(before)) return false;
  const right = !isPunct(before) || isSpace(after) || isPunct(after);
  return right && (ch !== '_' || !isWordChar(after));
}

// closer finds where a span opened by need times ch at from ends: the
// index of the closing delimiter, or -1. A search that failed from some
// index fails from any later one too, so that answer is remembered: many
// unclosed delimiters cost linear time, not quadratic.
function closer(ctx, from, ch, need) {
  const { s } = ctx;
  const key = ch + need;
  if (ctx.noCloser[key] <= from) return -1;
  for (let j = from; j < s.length; j++) {
    const c = s[j];
    if (c === '\\') j++;
    else if (c === '`') j = skipCode(ctx, j);
    else if (c === ch) {
      const m = runAt(s, j, ch);
      if (m >= need && j > from && canClose(s, j, m, ch)) return j + m - need;
      j += m - 1;
    }
  }
  ctx.noCloser[key] = from;
  return -1;
}

const reBareURL = /^(?:https?:\/\/|www\.)[^\s<]*/i;

// bareURL returns the length of the URL starting at i, without trailing
// punctuation or an unmatched ")".
function bareURL(s, i) {
  const m = reBareURL.exec(s.slice(i, i + 2048));
  if (!m) return 0;
  let url = m[0].replace(/[?!.,:;*_~'"]+$/, '');
  while (url.endsWith(')') && (url.match(/\(/g) || []).length < (url.match(/\)/g) || []).length) url = url.slice(0, -1).replace(/[?!.,:;*_~'"]+$/, '');
  return url.length > (url.toLowerCase().startsWith('www.') ? 4 : 8) ? url.length : 0;
}

// inline turns the text of a paragraph, heading or cell into nodes.
// inLink stops links from nesting.
function inline(s, refs, inLink = false, depth = 0) {
  if (depth > MAX_NESTING) return [document.createTextNode(s)];
  const ctx = { s, spans: codeSpans(s), noCloser: {} };
  const out = [];
  let text = '';
  const flush = () => {
    if (text) out.push(document.createTextNode(text));
    text = '';
  };
  const emit = (node) => {
    flush();
    out.push(node);
  };
  for (let i = 0; i < s.length; ) {
    const c = s[i];
    if (c === '\\') {
      if (s[i + 1] === '\n') {
        emit(document.createElement('br'));
        i += 2;
      } else if (PUNCTUATION.test(s[i + 1] || '')) {
        text += s[i + 1];
        i += 2;
      } else {
        text += c;
        i++;
      }
      continue;
    }
    if (c === '\n') {
      const hard = / {2,}$/.test(text);
      text = text.replace(/ +$/, '');
      if (hard) emit(document.createElement('br'));
      else text += '\n';
      i++;
      while (s[i] === ' ') i++;
      continue;
    }
    if (c === '`') {
      const n = runAt(s, i, '`');
      const end = ctx.spans.get(i);
      if (end === undefined) {
        text += '`'.repeat(n);
        i += n;
        continue;
      }
      let code = s.slice(i + n, end - n).replace(/\n/g, ' ');
      if (code.length > 2 && code.startsWith(' ') && code.endsWith(' ') && code.trim()) code = code.slice(1, -1);
      const node = document.createElement('code');
      node.textContent = code;
      emit(node);
      i = end;
      continue;
    }
    if (c === '*' || c === '_' || c === '~') {
      const n = runAt(s, i, c);
      const need = c === '~' ? 2 : Math.min(n, 2);
      if ((c !== '~' || n === 2) && canOpen(s, i, n, c)) {
        const end = closer(ctx, i + need, c, need);
        if (end > i + need) {
          const inner = s.slice(i + need, end);
          emit(elem(c === '~' ? 'del' : need === 2 ? 'strong' : 'em', inline(inner, refs, inLink, depth + 1)));
          i = end + need;
          continue;
        }
        if (need === 2 && c !== '~') {
          // "**a*": all but the run's last star are text; that one may
          // still open emphasis.
          text += s.slice(i, i + n - 1);
          i += n - 1;
          continue;
        }
      }
      text += s.slice(i, i + n);
      i += n;
      continue;
    }
    if (c === '[' || (c === '!' && s[i + 1] === '[')) {
      const image = c === '!';
      const open = image ? i + 1 : i;
      const close = labelEnd(ctx, open);
      if (close > 0 && !inLink) {
        const label = s.slice(open + 1, close);
        let target = destination(s, close + 1);
        let end = target ? target.end : close + 1;
        if (!target) {
          let ref = label;
          if (s[close + 1] === '[') {
            const refEnd = s.indexOf(']', close + 2);
            if (refEnd > 0) {
              if (refEnd > close + 2) ref = s.slice(close + 2, refEnd);
              end = refEnd + 1;
            }
          }
          const def = refs.get(normalizeLabel(ref));
          target = def ? { href: def.href, title: def.title } : null;
          if (!target) end = -1;
        }
        if (target) {
          const href = safeURL(target.href);
          // An image would load from elsewhere, which the page's policy
          // forbids; its alt text links to it instead.
          const children = image ? [document.createTextNode(plain(label))] : inline(label, refs, true, depth + 1);
          if (href) emit(link(href, target.title, children));
          else emit(elem('span', children, 'unsafe-link'));
          i = end;
          continue;
        }
      }
      text += image ? '![' : '[';
      i = open + 1;
      continue;
    }
    if (c === '<') {
      const m = /^<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*|[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)>/.exec(s.slice(i, i + 2048));
      if (m) {
        const raw = m[1];
        const href = safeURL(raw.includes(':') ? raw : `mailto:${raw}`);
        if (href && !inLink) {
          emit(link(href, '', [document.createTextNode(raw)]));
          i += m[0].length;
          continue;
        }
      }
      text += c;
      i++;
      continue;
    }
    if (c === '&') {
      const e = entity(s, i);
      if (e) {
        text += e.ch;
        i += e.len;
        continue;
      }
    }
    if (!inLink && (c === 'h' || c === 'H' || c === 'w' || c === 'W') && !isWordChar(s[i - 1])) {
      const n = bareURL(s, i);
      if (n) {
        const raw = s.slice(i, i + n);
        const href = safeURL(/^www\./i.test(raw) ? `http://${raw}` : raw);
        if (href) {
          emit(link(href, '', [document.createTextNode(raw)]));
          i += n;
          continue;
        }
      }
    }
    text += c;
    i++;
  }
  flush();
  return out;
}

// plain is the text of inline Markdown without its markup, for alt text.
function plain(s) {
  return s.replace(/\\([!-/:-@[-`{-~])/g, '$1').replace(/[*_`~]/g, '');
}

// ---------- code highlighting ----------

// Highlighting is light: comments, strings, numbers and keywords, by
// family of language. A language not listed is plain text.
const COMMENT = {
  hash: String.raw`#.*`,
  slash: String.raw`\/\/.*|\/\*[\s\S]*?(?:\*\/|$)`,
  dash: String.raw`--.*`,
  none: '$^', // never matches where a token could start
};
const words = (s) => new Set(s.split(' '));
const FAMILIES = [
  {
    names: 'go js javascript mjs ts typescript tsx jsx java c h cpp c++ cc cs csharp rust rs kotlin kt swift scala php dart jsonc json5 proto groovy zig',
    comment: COMMENT.slash,
    keywords: words('break case catch chan class const continue default defer do else enum export extends false finally fn for func ' +
      'function go goto if impl import in instanceof interface let loop map match mod mut new nil null package pub range return ' +
      'select self static struct super switch this throw true try type typeof undefined use var void while yield async await'),
  },
  {
    names: 'sh bash shell zsh console dockerfile makefile make',
    comment: COMMENT.hash,
    keywords: words('if then else elif fi for in do done case esac while until function return export local readonly ' +
      'FROM RUN COPY ADD CMD ENTRYPOINT ENV ARG WORKDIR EXPOSE USER LABEL'),
  },
  {
    names: 'python py ruby rb',
    comment: COMMENT.hash,
    keywords: words('def class return if elif else for while in not and or import from as with try except finally raise pass ' +
      'lambda yield True False None async await is global nonlocal del assert break continue end do begin rescue module nil true false'),
  },
  {
    names: 'yaml yml toml ini env dotenv conf nginx properties',
    comment: COMMENT.hash,
    keywords: words('true false null yes no on off'),
  },
  { names: 'json', comment: COMMENT.none, keywords: words('true false null') },
  {
    names: 'sql',
    comment: COMMENT.dash,
    keywords: words('select from where insert into update delete create table and or not null join on group by order limit values set as'),
    caseless: true,
  },
  { names: 'css scss less', comment: COMMENT.slash, keywords: words('important') },
];
const LANGS = new Map();
for (const f of FAMILIES) for (const name of f.names.split(' ')) LANGS.set(name, f);

// tokenRE is the sticky expression of a family's tokens: comment,
// string, number, word. One is built per family, on first use.
function tokenRE(family) {
  if (!family.re) {
    family.re = new RegExp([
      `(${family.comment})`,
      String.raw`("(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?|\x60[^\x60]*\x60?)`,
      String.raw`(\b\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?\b|\b0[xX][\da-fA-F]+\b)`,
      String.raw`([A-Za-z_][\w]*)`,
    ].join('|'), 'y');
  }
  return family.re;
}

function highlight(code, lang) {
  const family = LANGS.get(lang.toLowerCase());
  if (!family || code.length > MAX_HIGHLIGHT) return [document.createTextNode(code)];
  const re = tokenRE(family);
  const out = [];
  let text = '';
  const span = (cls, s) => {
    if (text) out.push(document.createTextNode(text));
    text = '';
    const node = document.createElement('span');
    node.className = cls;
    node.textContent = s;
    out.push(node);
  };
  for (let i = 0; i < code.length; ) {
    re.lastIndex = i;
    const m = re.exec(code);
    if (!m || m[0] === '') {
      text += code[i++];
      continue;
    }
    if (m[1]) span('tok-comment', m[0]);
    else if (m[2]) span('tok-string', m[0]);
    else if (m[3]) span('tok-number', m[0]);
    else if (family.keywords.has(family.caseless ? m[4].toLowerCase() : m[4])) span('tok-keyword', m[0]);
    else text += m[0];
    i += m[0].length;
  }
  if (text) out.push(document.createTextNode(text));
  return out;
}

// ---------- DOM ----------

// Headings in an answer sit below the page's own h1 and the conversation,
// so "#" becomes h3.
const headingTag = (level) => `h${Math.min(level + 2, 6)}`;

function build(block, refs) {
  switch (block.type) {
    case 'heading':
      return elem(headingTag(block.level), inline(block.text, refs));
    case 'paragraph':
      return elem('p', inline(block.text, refs));
    case 'rule':
      return document.createElement('hr');
    case 'code': {
      const code = elem('code', highlight(block.text, block.lang));
      const lang = block.lang.replace(/[^\w+#.-]/g, '');
      if (lang) code.className = `language-${lang}`;
      return elem('pre', [code]);
    }
    case 'quote':
      return elem('blockquote', block.children.map((b) => build(b, refs)));
    case 'list': {
      const list = elem(block.ordered ? 'ol' : 'ul');
      if (block.ordered && block.start !== 1) list.start = block.start;
      for (const item of block.items) {
        const li = document.createElement('li');
        const task = item[0] && item[0].type === 'paragraph' ? /^\[([ xX])\][ \t]+/.exec(item[0].text) : null;
        if (task) {
          // A GFM task: "- [x] done" shows a ticked box that cannot be changed.
          const box = document.createElement('input');
          box.type = 'checkbox';
          box.disabled = true;
          box.defaultChecked = task[1] !== ' ';
          li.className = 'task';
          li.append(box);
          item[0] = { ...item[0], text: item[0].text.slice(task[0].length) };
        }
        for (const b of item) {
          // A tight list shows its paragraphs without paragraph spacing.
          if (block.tight && b.type === 'paragraph') li.append(...inline(b.text, refs));
          else li.append(build(b, refs));
        }
        list.append(li);
      }
      return list;
    }
    case 'table': {
      const cell = (tag, text, i) => {
        const node = elem(tag, inline(text, refs));
        if (block.align[i]) node.className = `align-${block.align[i]}`;
        return node;
      };
      const head = elem('thead', [elem('tr', block.head.map((t, i) => cell('th', t, i)))]);
      const table = elem('table', [head]);
      if (block.rows.length) table.append(elem('tbody', block.rows.map((r) => elem('tr', r.map((t, i) => cell('td', t, i))))));
      // Wide tables scroll inside the answer instead of widening the page.
      return elem('div', [table], 'table-wrap');
    }
  }
}

function parse(text) {
  const raw = text.replace(/\r\n?/g, '\n').split('\n').map((l) => l.replace(/^\t+/, (t) => '    '.repeat(t.length)));
  const { lines, refs } = collectRefs(raw);
  const blocks = parseBlocks(lines);
  for (const b of blocks) b.src = lines.slice(b.from, b.to).join('\n');
  return { blocks, refs };
}

// render returns the nodes of Markdown text.
export function render(text) {
  const { blocks, refs } = parse(text);
  return blocks.map((b) => build(b, refs));
}

// View shows Markdown in a container and updates it as the text grows.
// Each update parses the whole text again but rebuilds only the blocks
// whose source changed, from the first changed one on; an earlier block
// keeps its node (and any selection in it).
export class View {
  constructor(container) {
    this.container = container;
    this.shown = []; // [{key, node}] of the blocks in container, in order
    this.refsKey = '';
  }

  // set replaces the text shown.
  set(text) {
    const { blocks, refs } = parse(text);
    const refsKey = JSON.stringify([...refs]);
    let same = 0;
    if (refsKey === this.refsKey) {
      while (same < blocks.length && same < this.shown.length && this.shown[same].key === blocks[same].src) same++;
    }
    this.refsKey = refsKey;
    for (const old of this.shown.splice(same)) old.node.remove();
    for (const b of blocks.slice(same)) {
      const node = build(b, refs);
      this.shown.push({ key: b.src, node });
      this.container.append(node);
    }
  }
}
