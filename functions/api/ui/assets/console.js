// The operator console's script: hash routes (#/scopes, #/scopes/<id>, #/inbox,
// #/signin), every read and write through /v1 with the bearer token from this tab's
// session storage. Untrusted text (documents, model output, review requests) only
// ever reaches the page as text nodes: nothing here sets innerHTML.
const TOKEN = 'governed-swarm.token';
const $main = document.getElementById('main');
const $top = document.getElementById('top');
const $toast = document.getElementById('toast');

/** Who is signed in: GET /v1/me, once per sign-in. */
let me = null;
/** A message for the sign-in page (why the user is back there). */
let flash = '';
/** The current page's teardown (its event stream, timers). */
let cleanup = () => {};
/** Bumped on each navigation: a page still loading for an earlier one must not draw over this one. */
let navSeq = 0;

// ------------------------------------------------------------------ DOM

function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** replaceChildren that skips null/false and flattens arrays, as h does. */
function put(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
}

const fmt = (x, digits = 3) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(digits) : '—');
const when = (iso) => {
  if (!iso) return '—';
  const d = new Date(iso);
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  const rel = s < 60 ? `${Math.max(s, 0)} s ago` : s < 3600 ? `${Math.round(s / 60)} min ago` : s < 86400 ? `${Math.round(s / 3600)} h ago` : d.toISOString().slice(0, 10);
  return h('time', { datetime: d.toISOString(), title: d.toISOString() }, rel);
};
/** A status shown as text and a shape, not by colour alone. */
const badge = (value, kind = 'neutral') => h('span', { class: `badge badge-${kind}` }, value ?? '—');
const OUTCOME_KIND = { RESOLVED: 'good', ESCALATED: 'warn', BLOCKED: 'bad', EXPIRED: 'bad', NEAR_FINALITY: 'info', CONTINUE: 'neutral' };
const outcomeBadge = (o) => badge(o ? (o === 'RESOLVED' ? '✓ RESOLVED' : o) : 'no decision yet', OUTCOME_KIND[o] ?? 'neutral');

function toast(message, kind = 'info') {
  put($toast, h('p', { class: `toast toast-${kind}` }, message));
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => put($toast), 8000);
}

function errorBox(err) {
  return h('p', { class: 'error', role: 'alert' }, err instanceof ApiFailure ? `${err.message} (${err.code})` : String(err?.message ?? err));
}

// ------------------------------------------------------------------ API

class ApiFailure extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const authHeader = () => ({ Authorization: `Bearer ${sessionStorage.getItem(TOKEN) ?? ''}` });

async function api(path, { method = 'GET', body, signal } = {}) {
  const headers = authHeader();
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (err) {
    if (err?.name === 'AbortError') throw err;
    throw new ApiFailure(0, 'network', 'The API did not answer; check the connection and try again');
  }
  const data = (res.headers.get('content-type') ?? '').includes('json') ? await res.json().catch(() => null) : null;
  if (res.status === 401) {
    signOut('That token was not accepted. Sign in with a valid API token.');
    throw new ApiFailure(401, 'unauthorized', 'not signed in');
  }
  if (!res.ok) throw new ApiFailure(res.status, data?.error?.code ?? 'error', data?.error?.message ?? `HTTP ${res.status}`);
  return data;
}

const enc = encodeURIComponent;

// ------------------------------------------------------------------ sign-in

function signOut(message = '') {
  sessionStorage.removeItem(TOKEN);
  me = null;
  flash = message;
  if (location.hash !== '#/signin') location.hash = '#/signin';
  else route();
}

function signInPage() {
  put($top, h('span', { class: 'brand' }, 'Governed Swarm'));
  const input = h('input', { id: 'token', name: 'token', type: 'password', autocomplete: 'off', required: true, 'aria-describedby': 'token-help' });
  const form = h(
    'form',
    { class: 'card narrow', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in'),
    flash ? h('p', { class: 'error', role: 'alert' }, flash) : null,
    h('label', { for: 'token' }, 'API token'),
    input,
    h('p', { id: 'token-help', class: 'muted' }, 'The bearer token your operator gave you. It stays in this tab only and is sent with each request.'),
    h('button', { type: 'submit', class: 'primary' }, 'Sign in'),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN, input.value.trim());
    flash = '';
    try {
      me = await api('/v1/me');
      location.hash = '#/scopes';
    } catch (err) {
      if (!(err instanceof ApiFailure && err.status === 401)) {
        sessionStorage.removeItem(TOKEN);
        flash = `Could not sign in: ${err.message}`;
        signInPage();
      }
    }
  });
  put($main, form);
  input.focus();
}

function topBar() {
  const here = location.hash;
  const link = (href, label) => h('a', { href, 'aria-current': here.startsWith(href) ? 'page' : null }, label);
  put($top, 
    h('span', { class: 'brand' }, 'Governed Swarm'),
    h('nav', { 'aria-label': 'Main' }, link('#/scopes', 'Scopes'), link('#/inbox', 'Review inbox')),
    h('span', { class: 'who' }, 'Signed in as ', h('strong', {}, me.principal)),
    h('button', { type: 'button', onclick: () => signOut('Signed out.') }, 'Sign out'),
  );
}

// ------------------------------------------------------------------ router

async function route() {
  const mine = ++navSeq;
  const stale = () => mine !== navSeq;
  cleanup();
  cleanup = () => {};
  // A dialog belongs to the page it was opened on.
  for (const d of document.querySelectorAll('dialog')) d.close();
  const hash = location.hash.replace(/^#/, '') || '/scopes';
  if (hash === '/signin' || !sessionStorage.getItem(TOKEN)) return signInPage();
  if (!me) {
    try {
      me = await api('/v1/me');
    } catch (err) {
      if (err instanceof ApiFailure && err.status === 401) return;
      if (!stale()) put($main, errorBox(err));
      return;
    }
  }
  if (stale()) return;
  topBar();
  const [path, query = ''] = hash.split('?');
  const scope = /^\/scopes\/([a-z0-9][a-z0-9_-]{0,63})$/.exec(path);
  try {
    if (scope) {
      const stop = await scopePage(scope[1], stale);
      // Navigated away while it loaded: stop what it started.
      if (stale()) stop();
      else cleanup = stop;
    } else if (path === '/inbox') await inboxPage(new URLSearchParams(query), stale);
    else await scopesPage(stale);
  } catch (err) {
    if (stale() || err?.name === 'AbortError' || (err instanceof ApiFailure && err.status === 401)) return;
    put($main, h('h1', {}, 'Something went wrong'), errorBox(err));
  }
  $main.focus({ preventScroll: true });
}

// ------------------------------------------------------------------ scopes list

const SCOPE_COLUMNS = [
  ['scope', 'Scope', (s) => s.scope],
  ['status', 'Status', (s) => s.status],
  ['node', 'State', (s) => s.state?.node],
  ['epoch', 'Epoch', (s) => s.state?.epoch ?? 0],
  ['goal_score', 'Goal score', (s) => s.goal_score ?? -1],
  ['lyapunov_v', 'V', (s) => s.lyapunov_v ?? -1],
  ['outcome', 'Outcome', (s) => s.outcome ?? ''],
  ['open_contradictions', 'Open contradictions', (s) => s.open_contradictions],
  ['pending_reviews', 'Pending reviews', (s) => s.pending_reviews],
  ['last_activity_at', 'Last activity', (s) => s.last_activity_at],
];

async function loadAllScopes() {
  const all = [];
  let after = null;
  // A console for people: the first 1,000 scopes, then a note.
  for (let page = 0; page < 5; page++) {
    const r = await api(`/v1/scopes?limit=200${after ? `&after=${enc(after)}` : ''}`);
    all.push(...r.scopes);
    after = r.next_after;
    if (!after) return { scopes: all, more: false };
  }
  return { scopes: all, more: true };
}

async function scopesPage(stale = () => false) {
  document.title = 'Scopes · Governed Swarm';
  const sort = { key: 'last_activity_at', dir: -1 };
  const { scopes, more } = await loadAllScopes();
  if (stale()) return;
  const table = h('table', { class: 'grid' });
  const render = () => {
    const col = SCOPE_COLUMNS.find((c) => c[0] === sort.key);
    const rows = [...scopes].sort((a, b) => {
      const x = col[2](a);
      const y = col[2](b);
      return (x < y ? -1 : x > y ? 1 : 0) * sort.dir;
    });
    put(table, 
      h('caption', { class: 'visually-hidden' }, 'Scopes you can read; select a column heading to sort'),
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          SCOPE_COLUMNS.map(([key, label]) =>
            h(
              'th',
              { scope: 'col', 'aria-sort': sort.key === key ? (sort.dir > 0 ? 'ascending' : 'descending') : 'none' },
              h(
                'button',
                {
                  type: 'button',
                  class: 'sort',
                  onclick: () => {
                    sort.dir = sort.key === key ? -sort.dir : 1;
                    sort.key = key;
                    render();
                  },
                },
                label,
                sort.key === key ? (sort.dir > 0 ? ' ▲' : ' ▼') : '',
              ),
            ),
          ),
        ),
      ),
      h(
        'tbody',
        {},
        rows.map((s) =>
          h(
            'tr',
            {},
            h('td', {}, h('a', { href: `#/scopes/${s.scope}` }, s.scope)),
            h('td', {}, badge(s.status, s.status === 'resolved' ? 'good' : s.status === 'open' ? 'neutral' : 'warn')),
            h('td', {}, s.state?.node ?? '—'),
            h('td', { class: 'num' }, s.state?.epoch ?? 0),
            h('td', { class: 'num' }, fmt(s.goal_score)),
            h('td', { class: 'num' }, fmt(s.lyapunov_v)),
            h('td', {}, s.outcome ? outcomeBadge(s.outcome) : '—'),
            h('td', { class: 'num' }, s.open_contradictions),
            h('td', { class: 'num' }, s.pending_reviews > 0 ? h('strong', {}, s.pending_reviews) : '0'),
            h('td', {}, when(s.last_activity_at)),
          ),
        ),
      ),
    );
  };
  render();
  put($main,
    h('div', { class: 'heading' }, h('h1', {}, 'Scopes'), me.swarm?.ingester ? h('button', { type: 'button', class: 'primary', onclick: newScopeDialog }, 'New scope') : null),
    scopes.length === 0 ? h('p', { class: 'muted' }, 'No scope you can read yet.') : h('div', { class: 'scroll' }, table),
    more ? h('p', { class: 'muted' }, 'Showing the first 1,000 scopes.') : null,
  );
}

function dialog(title, body, { submitLabel, onSubmit }) {
  const error = h('div', { 'aria-live': 'assertive' });
  const submit = h('button', { type: 'submit', class: 'primary' }, submitLabel);
  const form = h(
    'form',
    { method: 'dialog' },
    h('h2', { id: 'dialog-title' }, title),
    body,
    error,
    h('div', { class: 'actions' }, submit, h('button', { type: 'button', value: 'cancel', onclick: () => dlg.close() }, 'Cancel')),
  );
  const dlg = h('dialog', { 'aria-labelledby': 'dialog-title' }, form);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true;
    put(error);
    try {
      await onSubmit();
      dlg.close();
    } catch (err) {
      if (!(err instanceof ApiFailure && err.status === 401)) put(error, errorBox(err));
    } finally {
      submit.disabled = false;
    }
  });
  dlg.addEventListener('close', () => dlg.remove());
  document.body.append(dlg);
  dlg.showModal();
  return dlg;
}

function newScopeDialog() {
  const id = h('input', { id: 'new-scope-id', required: true, pattern: '[a-z0-9][a-z0-9_\\-]{0,63}', 'aria-describedby': 'new-scope-help', autocomplete: 'off' });
  const mode = h(
    'select',
    { id: 'new-scope-mode' },
    h('option', { value: '' }, 'As governance.yaml says'),
    h('option', { value: 'YOLO' }, 'YOLO: rules decide, humans only where a rule asks'),
    h('option', { value: 'MITL' }, 'MITL: a human approves each transition'),
    h('option', { value: 'MASTER' }, 'MASTER: a human approves everything'),
  );
  dialog(
    'New scope',
    [
      h('label', { for: 'new-scope-id' }, 'Scope id'),
      id,
      h('p', { id: 'new-scope-help', class: 'muted' }, 'Lower-case letters, digits, - and _, up to 64 characters; it cannot be changed.'),
      h('label', { for: 'new-scope-mode' }, 'Governance mode'),
      mode,
    ],
    {
      submitLabel: 'Create scope',
      onSubmit: async () => {
        await api(`/v1/scopes/${enc(id.value)}`, { method: 'PUT', body: mode.value ? { mode: mode.value } : {} });
        toast(`Scope ${id.value} created`);
        location.hash = `#/scopes/${id.value}`;
      },
    },
  );
}

// ------------------------------------------------------------------ event stream

/**
 * GET /v1/scopes/{scope}/events read with fetch (EventSource cannot send the
 * Authorization header). Resumes with Last-Event-ID after a drop, backing off to 15 s.
 */
function follow(scope, onEvent, onStatus) {
  const ctl = new AbortController();
  let last = null;
  let delay = 1000;
  (async () => {
    while (!ctl.signal.aborted) {
      try {
        const headers = { ...authHeader(), Accept: 'text/event-stream' };
        if (last !== null) headers['Last-Event-ID'] = last;
        const res = await fetch(`/v1/scopes/${enc(scope)}/events`, { headers, signal: ctl.signal });
        if (res.status === 401) return signOut('That token was not accepted. Sign in with a valid API token.');
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buf = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buf = (buf + value).replace(/\r\n?/g, '\n');
          let end;
          while ((end = buf.indexOf('\n\n')) >= 0) {
            const block = buf.slice(0, end);
            buf = buf.slice(end + 2);
            let type = 'message';
            let id = null;
            const data = [];
            for (const line of block.split('\n')) {
              if (line.startsWith('event:')) type = line.slice(6).trim();
              else if (line.startsWith('id:')) id = line.slice(3).trim();
              else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
            }
            if (id !== null) last = id;
            if (type === 'ready') {
              delay = 1000;
              onStatus('live');
            }
            if (data.length || type === 'ready') onEvent(type, data.join('\n'));
          }
        }
        throw new Error('stream ended');
      } catch {
        if (ctl.signal.aborted) return;
        onStatus('reconnecting');
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 15_000);
      }
    }
  })();
  return () => ctl.abort();
}

// ------------------------------------------------------------------ scope page

const KIND_LABEL = {
  context_doc: 'Document received',
  state_transition: 'State advanced',
  proposal_approved: 'Governance: approved',
  proposal_rejected: 'Governance: rejected',
  proposal_pending_approval: 'Governance: review requested',
  drift_analyzed: 'Drift checked',
  actions_planned: 'Actions planned',
  plan_amended: 'Plan amended by a reviewer',
  status_card: 'Briefing',
  finality_review_requested: 'Finality review requested',
  finality_response: 'Review answered',
  review_escalated: 'Review escalated (deadline)',
  review_expired: 'Review expired (deadline)',
  scope_status_changed: 'Scope status changed',
  scope_reopened: 'Scope reopened',
  session_finalized: 'Certificate issued',
  scope_paused: 'Scope paused',
  scope_resumed: 'Scope resumed',
  scope_closed: 'Scope closed',
};

async function scopePage(scope, stale = () => false) {
  document.title = `${scope} · Governed Swarm`;
  const base = `/v1/scopes/${enc(scope)}`;
  const perms = await api(`${base}/permissions`);
  if (stale()) return () => {};
  const live = h('span', { class: 'live', role: 'status' }, 'Connecting…');
  const holdBar = h('div', { class: 'hold-bar' });
  const sections = {
    summary: h('section', { 'aria-labelledby': 'h-summary', class: 'card' }),
    chart: h('section', { 'aria-labelledby': 'h-chart', class: 'card' }),
    reviews: h('section', { 'aria-labelledby': 'h-reviews', class: 'card' }),
    contradictions: h('section', { 'aria-labelledby': 'h-contradictions', class: 'card' }),
    goals: h('section', { 'aria-labelledby': 'h-goals', class: 'card' }),
    briefing: h('section', { 'aria-labelledby': 'h-briefing', class: 'card' }),
    certificates: h('section', { 'aria-labelledby': 'h-certificates', class: 'card' }),
    timeline: h('section', { 'aria-labelledby': 'h-timeline', class: 'card' }),
    decisions: h('section', { 'aria-labelledby': 'h-decisions', class: 'card' }),
    add: perms.ingester ? h('section', { 'aria-labelledby': 'h-add', class: 'card' }) : null,
    webhooks: perms.operator ? h('section', { 'aria-labelledby': 'h-webhooks', class: 'card' }) : null,
  };
  put($main,
    h('div', { class: 'heading' }, h('h1', {}, 'Scope ', h('span', { class: 'mono' }, scope)), holdBar, live),
    h('div', { class: 'cols' }, h('div', {}, sections.summary, sections.chart, sections.reviews, sections.contradictions, sections.goals), h('div', {}, sections.add, sections.briefing, sections.certificates, sections.webhooks)),
    sections.timeline,
    sections.decisions,
  );

  const timeline = pagedList({
    section: sections.timeline,
    title: 'Timeline',
    id: 'h-timeline',
    empty: 'Nothing has happened yet.',
    fetchPage: async (before) => {
      const r = await api(`${base}/timeline?limit=50${before ? `&before=${before}` : ''}`);
      return { items: r.entries, next: r.next_before };
    },
    key: (e) => `seq-${e.seq}`,
    render: timelineEntry,
  });
  const decisions = pagedList({
    section: sections.decisions,
    title: 'Decision records',
    id: 'h-decisions',
    empty: 'No governance decision yet.',
    fetchPage: async (before) => {
      const r = await api(`${base}/decisions?limit=25${before ? `&before=${enc(before)}` : ''}`);
      return { items: r.decisions, next: r.next_before };
    },
    key: (d) => `decision-${d.decision_id}`,
    render: decisionEntry,
    table: ['When', 'Decision', 'Action', 'Path', 'Tier', 'Mode', 'Policy', 'Reason'],
  });
  if (sections.add) addDocumentForm(sections.add, scope, base);
  if (sections.webhooks) void webhooksPanel(sections.webhooks, base);

  let chart = null;
  const refresh = async () => {
    const [summary, conv, facts, certs, reviews, briefings] = await Promise.all([
      api(base),
      api(`${base}/convergence?depth=1000`),
      api(`${base}/facts?limit=500`),
      api(`${base}/certificates`),
      api(`${base}/reviews?status=all&limit=500`),
      api(`${base}/briefings?limit=1`),
    ]);
    renderSummary(sections.summary, summary);
    renderHold(holdBar, sections.add, summary, perms, base, refresh);
    chart = renderChart(sections.chart, conv, reviews.reviews, certs.certificates, chart);
    renderReviews(sections.reviews, reviews.reviews.filter((r) => r.status === 'pending'), perms, refresh, reviews.reviews.filter((r) => r.response?.amendment).slice(-5).reverse());
    renderContradictions(sections.contradictions, facts);
    renderGoals(sections.goals, facts);
    renderBriefing(sections.briefing, briefings.briefings[0]);
    renderCertificates(sections.certificates, certs.certificates);
  };
  await Promise.all([refresh(), timeline.reload(), decisions.reload()]);
  if (stale()) return () => {};

  // Live: any message of the scope refreshes what it may have changed (at most every 400 ms).
  let timer = null;
  let running = Promise.resolve();
  const schedule = () => {
    if (timer) return;
    timer = setTimeout(() => {
      timer = null;
      running = running.then(() => Promise.all([refresh(), timeline.prependNew(), decisions.prependNew()])).catch((err) => {
        if (!(err instanceof ApiFailure && err.status === 401)) toast(`Refresh failed: ${err.message}`, 'bad');
      });
    }, 400);
  };
  let connected = false;
  const stop = follow(
    scope,
    (type) => {
      // After a (re)connect, catch up on what happened while the stream was down.
      if (type !== 'ready' || connected) schedule();
      if (type === 'ready') connected = true;
    },
    (status) => {
      live.textContent = status === 'live' ? '● Live' : '○ Reconnecting…';
      live.className = `live live-${status}`;
    },
  );
  const onResize = () => chart?.setSize(chartSize(sections.chart));
  window.addEventListener('resize', onResize);
  return () => {
    stop();
    clearTimeout(timer);
    window.removeEventListener('resize', onResize);
    chart?.destroy();
  };
}

/** A list loaded a page at a time, newest first; new items prepend without a reload. */
function pagedList({ section, title, id, empty, fetchPage, key, render, table }) {
  const list = table ? h('tbody') : h('ol', { class: 'timeline' });
  const holder = table ? h('div', { class: 'scroll' }, h('table', { class: 'grid' }, h('thead', {}, h('tr', {}, table.map((t) => h('th', { scope: 'col' }, t)))), list)) : list;
  const more = h('button', { type: 'button' }, 'Load older');
  const status = h('p', { class: 'muted', 'aria-live': 'polite' });
  const seen = new Set();
  let next = null;
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      await loadMore();
    } catch (err) {
      put(status, errorBox(err));
    } finally {
      more.disabled = false;
    }
  });
  const add = (items, where) => {
    const nodes = [];
    for (const it of items) {
      const k = key(it);
      if (seen.has(k)) continue;
      seen.add(k);
      const node = render(it);
      node.id = k;
      nodes.push(node);
    }
    if (where === 'start') list.prepend(...nodes);
    else list.append(...nodes);
    return nodes.length;
  };
  const showState = () => {
    more.hidden = !next;
    status.textContent = seen.size === 0 ? empty : `${seen.size} shown${next ? '' : ' (all)'}`;
  };
  async function loadMore() {
    const page = await fetchPage(next);
    add(page.items, 'end');
    next = page.next;
    showState();
  }
  put(section, h('h2', { id }, title), holder, status, more);
  return {
    async reload() {
      put(list);
      seen.clear();
      next = null;
      await loadMore();
    },
    /** The first page again: what is new goes on top, in order. */
    async prependNew() {
      const page = await fetchPage(null);
      add(page.items, 'start');
      if (seen.size === page.items.length) next = page.next;
      showState();
    },
  };
}

function timelineEntry(e) {
  const label = KIND_LABEL[e.kind] ?? e.kind.replace(/_/g, ' ');
  return h(
    'li',
    { class: `entry entry-${e.kind}` },
    h('div', { class: 'entry-head' }, h('span', { class: 'seq mono' }, `#${e.seq}`), h('strong', {}, label), ' ', when(e.at), h('span', { class: 'muted' }, ` · ${e.source}`)),
    e.summary ? h('p', {}, e.summary) : null,
    h('details', {}, h('summary', {}, 'Details'), h('pre', {}, JSON.stringify(e.payload, null, 2))),
  );
}

function decisionEntry(d) {
  const kind = d.decision === 'approve' ? 'good' : d.decision === 'reject' ? 'bad' : 'warn';
  return h(
    'tr',
    {},
    h('td', {}, when(d.created_at)),
    h('td', {}, badge(d.decision, kind)),
    h('td', {}, `${d.action}${d.from_node ? ` ${d.from_node} → ${d.to_node}` : ''}`),
    h('td', { class: 'mono' }, d.governance_path),
    h('td', { class: 'num' }, d.tier),
    h('td', {}, d.mode),
    h('td', { class: 'mono', title: d.policy_version }, (d.policy_version ?? '').slice(0, 10)),
    h('td', {}, (d.reasons ?? []).map((r) => r.message ?? r.code ?? JSON.stringify(r)).join('; ') || d.rationale || '—'),
  );
}

function renderSummary(section, s) {
  const f = s.finality;
  const stat = (label, value) => h('div', { class: 'stat' }, h('dt', {}, label), h('dd', {}, value));
  put(section, 
    h('h2', { id: 'h-summary' }, 'Where it stands'),
    h(
      'dl',
      { class: 'stats' },
      stat('Status', badge(s.status, s.status === 'resolved' ? 'good' : s.status === 'open' ? 'neutral' : 'warn')),
      stat('State', `${s.state.node} (epoch ${s.state.epoch})`),
      stat('Mode', s.mode ?? 'governance.yaml'),
      stat('Outcome', outcomeBadge(f.outcome)),
      stat('Goal score', fmt(f.goal_score)),
      stat('V (disagreement)', fmt(f.lyapunov_v)),
      stat('Convergence rate α', fmt(f.alpha)),
      stat('Rounds', f.rounds),
      stat('Open contradictions', s.open_contradictions_total),
      stat('Pending reviews', s.pending_reviews.length),
      stat('Next evaluation would say', [outcomeBadge(f.preview.outcome), ...f.preview.reasons.map((r) => h('div', { class: 'muted' }, r.message.replace(/^[A-Z_]+:\s*/, '')))]),
    ),
  );
}

// ------------------------------------------------------------------ pause, resume, close

const HOLD_ACTION = {
  pause: {
    label: 'Pause',
    title: 'Pause this scope',
    text: 'Documents are still accepted and read, but the swarm holds everything else — no state change, no finality evaluation, no certificate — until the scope is resumed.',
    done: 'Scope paused',
  },
  resume: { label: 'Resume', title: 'Resume this scope', text: 'What the swarm held while the scope was paused is released, and it goes on where it stopped.', done: 'Scope resumed' },
  close: {
    label: 'Close…',
    title: 'Close this scope for good',
    text: 'A closed scope takes no more documents or review answers, its pending reviews are superseded, and the swarm does nothing more on it. Its history and certificates stay readable. This cannot be undone.',
    submit: 'Close scope permanently',
    done: 'Scope closed',
  },
};

/** The hold badge, and the operator's controls (the API checks the operator relation again). */
function renderHold(bar, addSection, s, perms, base, after) {
  const actions = !perms.operator || s.hold === 'closed' ? [] : s.hold === 'paused' ? ['resume', 'close'] : ['pause', 'close'];
  put(
    bar,
    s.hold ? h('span', { class: `badge badge-${s.hold === 'closed' ? 'bad' : 'warn'}`, title: `${s.hold} by ${s.held_by ?? '?'} since ${s.held_since ?? '?'}` }, s.hold === 'closed' ? 'Closed' : 'Paused') : null,
    ...actions.map((a) => h('button', { type: 'button', onclick: () => holdDialog(a, base, after) }, HOLD_ACTION[a].label)),
  );
  if (addSection) addSection.hidden = s.hold === 'closed';
}

function holdDialog(action, base, after) {
  const a = HOLD_ACTION[action];
  const reason = h('textarea', { id: 'hold-reason', rows: 3, maxlength: 500 });
  dialog(a.title, [h('p', {}, a.text), h('label', { for: 'hold-reason' }, 'Reason (optional, kept in the decision record)'), reason], {
    submitLabel: a.submit ?? a.label,
    onSubmit: async () => {
      const r = await api(`${base}/${action}`, { method: 'POST', body: reason.value.trim() ? { reason: reason.value.trim() } : {} });
      toast(r.changed ? a.done : `Nothing to do: the scope was already ${r.hold ?? 'active'}`);
      await after();
    },
  });
}

const chartSize = (section) => ({ width: Math.max(280, section.clientWidth - 32), height: 260 });

function renderChart(section, conv, reviews, certs, old) {
  old?.destroy();
  const rounds = [...conv.rounds].sort((a, b) => a.round - b.round);
  const holder = h('div', { class: 'chart', role: 'img', 'aria-label': `Goal score and V over ${rounds.length} rounds` });
  const at = (iso) => {
    // The first round at or after a moment: where a review or certificate shows on the x axis.
    const t = new Date(iso).getTime();
    return rounds.find((r) => new Date(r.at).getTime() >= t)?.round ?? rounds.at(-1)?.round;
  };
  const reviewRounds = reviews.filter((r) => r.kind === 'finality_review' || r.kind === 'governance_review').map((r) => at(r.created_at)).filter((x) => x !== undefined);
  const certRounds = certs.map((c) => (typeof c.payload?.round === 'number' ? c.payload.round : at(c.created_at))).filter((x) => x !== undefined);
  const legend = h(
    'p',
    { class: 'muted' },
    `Solid line: goal score; dashed: V (disagreement); dotted: the near (${conv.thresholds.near}) and auto (${conv.thresholds.auto}) finality thresholds. `,
    `▲ marks a review requested (${reviewRounds.length}), ◆ a certificate (${certRounds.length}).`,
  );
  const numbers = h(
    'details',
    {},
    h('summary', {}, 'The numbers'),
    h(
      'div',
      { class: 'scroll short' },
      h(
        'table',
        { class: 'grid' },
        h('thead', {}, h('tr', {}, ['Round', 'Epoch', 'Goal score', 'V', 'When'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, rounds.slice(-200).reverse().map((r) => h('tr', {}, h('td', { class: 'num' }, r.round), h('td', { class: 'num' }, r.epoch), h('td', { class: 'num' }, fmt(r.goal_score)), h('td', { class: 'num' }, fmt(r.lyapunov_v)), h('td', {}, when(r.at))))),
      ),
    ),
  );
  put(section, h('h2', { id: 'h-chart' }, 'Convergence'), rounds.length === 0 ? h('p', { class: 'muted' }, 'No evaluation round yet.') : holder, legend, numbers);
  if (rounds.length === 0 || typeof window.uPlot !== 'function') return null;
  const xs = rounds.map((r) => r.round);
  const top = Math.max(1, ...rounds.map((r) => r.lyapunov_v));
  const marks = (u) => {
    const { ctx } = u;
    ctx.save();
    ctx.font = `${12 * devicePixelRatio}px system-ui, sans-serif`;
    ctx.textAlign = 'center';
    const y0 = u.bbox.top + 12 * devicePixelRatio;
    for (const [list, glyph, colour] of [
      [reviewRounds, '▲', '#8a4b00'],
      [certRounds, '◆', '#1b5e20'],
    ]) {
      ctx.fillStyle = colour;
      ctx.strokeStyle = colour;
      for (const x of list) {
        const px = u.valToPos(x, 'x', true);
        ctx.setLineDash([2, 3]);
        ctx.beginPath();
        ctx.moveTo(px, u.bbox.top);
        ctx.lineTo(px, u.bbox.top + u.bbox.height);
        ctx.stroke();
        ctx.fillText(glyph, px, y0 + (glyph === '◆' ? 14 * devicePixelRatio : 0));
      }
    }
    ctx.restore();
  };
  return new window.uPlot(
    {
      ...chartSize(section),
      scales: { x: { time: false, range: [xs[0], Math.max(xs.at(-1), xs[0] + 1)] }, y: { range: [0, top] } },
      // Rounds are whole numbers.
      axes: [{ label: 'Round', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000] }, { label: 'Score' }],
      series: [
        { label: 'Round' },
        { label: 'Goal score', stroke: '#1f4fa8', width: 2 },
        { label: 'V (disagreement)', stroke: '#a3261e', width: 2, dash: [8, 5] },
        { label: 'Auto threshold', stroke: '#2e6b30', width: 1, dash: [2, 4], points: { show: false } },
        { label: 'Near threshold', stroke: '#7a5b00', width: 1, dash: [2, 4], points: { show: false } },
      ],
      hooks: { draw: [marks] },
    },
    [xs, rounds.map((r) => r.goal_score), rounds.map((r) => r.lyapunov_v), xs.map(() => conv.thresholds.auto), xs.map(() => conv.thresholds.near)],
    holder,
  );
}

function renderReviews(section, pending, perms, after, amended = []) {
  put(section, 
    h('h2', { id: 'h-reviews' }, 'Pending reviews'),
    pending.length === 0
      ? h('p', { class: 'muted' }, 'None.')
      : h('ul', { class: 'plain' }, pending.map((r) => reviewCard(r, perms.reviewer, after))),
    pending.length > 0 && !perms.reviewer ? h('p', { class: 'muted' }, `You (${me.principal}) may read these reviews but not answer them.`) : null,
    amended.length ? [h('h3', {}, 'Approved with amendments'), h('ul', { class: 'plain' }, amended.map(amendmentDetails))] : null,
  );
}

function renderContradictions(section, facts) {
  const rows = facts.contradictions ?? [];
  const titles = new Map((facts.documents ?? []).map((d) => [d.doc_id, d.title]));
  const doc = (id) => (id ? h('div', { class: 'muted' }, '— ', titles.get(id) ?? id) : h('div', { class: 'muted' }, '(no document)'));
  const side = (x) => h('td', {}, h('div', {}, h('strong', {}, x.display ?? valueText(x))), x.sentence ? h('blockquote', {}, x.sentence) : h('div', { class: 'muted' }, x.content), doc(x.source_doc));
  put(section, 
    h('h2', { id: 'h-contradictions' }, `Contradictions (${rows.filter((r) => r.status === 'open').length} open)`),
    rows.length === 0
      ? h('p', { class: 'muted' }, 'The documents agree so far.')
      : h(
          'div',
          { class: 'scroll' },
          h(
            'table',
            { class: 'grid' },
            h('thead', {}, h('tr', {}, ['Subject', 'One document says', 'Another says', 'Status'].map((t) => h('th', { scope: 'col' }, t)))),
            h(
              'tbody',
              {},
              rows.map((c) =>
                h(
                  'tr',
                  { class: c.status === 'open' ? 'open' : '' },
                  h('td', {}, c.subject ?? '—', c.metric ? h('div', { class: 'muted' }, c.metric) : null),
                  side(c.a),
                  side(c.b),
                  h('td', {}, c.status === 'open' ? badge('open', 'bad') : badge('✓ resolved', 'good'), c.resolved_by ? h('div', { class: 'muted' }, resolution(c.resolved_by)) : null),
                ),
              ),
            ),
          ),
        ),
    facts.truncated ? h('p', { class: 'muted' }, 'Showing the first page of facts.') : null,
  );
}

const num = (v) => (typeof v === 'number' ? v.toLocaleString('en', { maximumFractionDigits: 4 }) : String(v));
const valueText = (x) => {
  const v = x.value;
  if (v === null || v === undefined) return x.content ?? '—';
  if (typeof v === 'object') return v.value !== undefined ? `${num(v.value)}${v.unit ? ` ${v.unit}` : ''}` : JSON.stringify(v);
  return num(v);
};
/** What settled a contradiction: how, which value, by whom, from which document. */
const resolution = (r) =>
  [r.how ? `${r.how}` : 'resolved', r.accepted ? `: ${r.accepted} accepted` : '', r.doc ? ` in ${r.doc}` : '', r.by ? ` (${r.by})` : '', r.text ? ` — “${r.text}”` : ''].join('');

function renderGoals(section, facts) {
  const goals = facts.goals ?? [];
  const risks = facts.risks ?? [];
  put(section, 
    h('h2', { id: 'h-goals' }, 'Goals and risks'),
    h('h3', {}, `Goals (${goals.length})`),
    goals.length === 0 ? h('p', { class: 'muted' }, 'No goal yet.') : h('ul', { class: 'plain' }, goals.map((g) => {
          const state = g.state ?? g.status;
          const done = state === 'met' || state === 'resolved';
          return h('li', {}, badge(done ? `✓ ${state}` : state, done ? 'good' : state === 'unreachable' ? 'bad' : 'neutral'), ' ', g.content, g.deadline ? h('span', { class: 'muted' }, ` (due ${g.deadline})`) : null);
        })),
    h('h3', {}, `Risks (${risks.length})`),
    risks.length === 0 ? h('p', { class: 'muted' }, 'No risk recorded.') : h('ul', { class: 'plain' }, risks.map((r) => h('li', {}, badge(r.severity ?? 'unrated', r.severity === 'critical' || r.severity === 'high' ? 'bad' : 'warn'), ' ', r.content, r.status !== 'active' ? h('span', { class: 'muted' }, ` (${r.status})`) : null))),
  );
}

function renderBriefing(section, b) {
  put(section, 
    h('h2', { id: 'h-briefing' }, 'Latest briefing'),
    ...(b ? [h('p', {}, b.briefing), h('p', { class: 'muted' }, when(b.at), ` · after ${b.trigger ?? 'an event'}${b.tier ? ` · ${b.tier}` : ''}`)] : [h('p', { class: 'muted' }, 'No briefing yet.')]),
  );
}

function renderCertificates(section, certs) {
  put(section, 
    h('h2', { id: 'h-certificates' }, `Certificates (${certs.length})`),
    certs.length === 0
      ? h('p', { class: 'muted' }, 'None issued yet.')
      : h(
          'ol',
          { class: 'plain' },
          [...certs].reverse().map((c) => {
            const result = h('p', { 'aria-live': 'polite' });
            return h(
              'li',
              { class: 'cert', id: `cert-${c.certificate_id}` },
              h('div', {}, outcomeBadge(c.outcome), ` #${c.seq} `, when(c.created_at)),
              h('div', { class: 'muted' }, `goal score ${fmt(c.payload?.goal_score)} · V ${fmt(c.payload?.lyapunov_v)} · key ${c.key_id}`),
              h('div', { class: 'muted mono' }, `id ${c.certificate_id}`, h('br'), `follows ${c.previous_id ?? '(first in the chain)'}`),
              h(
                'button',
                {
                  type: 'button',
                  onclick: async () => {
                    result.textContent = 'Verifying…';
                    const v = await verifyCertificate(c).catch((err) => ({ ok: false, why: String(err?.message ?? err) }));
                    result.className = v.ok ? 'verified' : 'error';
                    result.textContent = v.ok ? `✓ Signature valid: signed by key ${v.kid} (EdDSA), payload matches this certificate.` : `✗ Not verified: ${v.why}`;
                  },
                },
                'Verify signature',
              ),
              result,
            );
          }),
        ),
  );
}

// ------------------------------------------------------------------ certificate verification

const b64url = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4)), (ch) => ch.charCodeAt(0));

/** Checks the compact JWS against the published JWKS in the browser (WebCrypto Ed25519). */
async function verifyCertificate(cert) {
  const parts = cert.jws.split('.');
  if (parts.length !== 3) return { ok: false, why: 'not a compact JWS' };
  const header = JSON.parse(new TextDecoder().decode(b64url(parts[0])));
  const payload = JSON.parse(new TextDecoder().decode(b64url(parts[1])));
  if (header.alg !== 'EdDSA') return { ok: false, why: `unexpected algorithm ${header.alg}` };
  if (!crypto?.subtle) return { ok: false, why: 'this page is not in a secure context (HTTPS or localhost); verify with the JWKS offline' };
  const res = await fetch('/.well-known/jwks.json');
  if (!res.ok) return { ok: false, why: `the JWKS did not load (HTTP ${res.status})` };
  const jwk = (await res.json()).keys.find((k) => k.kid === header.kid);
  if (!jwk) return { ok: false, why: `key ${header.kid} is not published (revoked or unknown)` };
  const key = await crypto.subtle.importKey('jwk', { kty: jwk.kty, crv: jwk.crv, x: jwk.x }, { name: 'Ed25519' }, false, ['verify']);
  const ok = await crypto.subtle.verify({ name: 'Ed25519' }, key, b64url(parts[2]), new TextEncoder().encode(`${parts[0]}.${parts[1]}`));
  if (!ok) return { ok: false, why: 'the signature does not match the payload' };
  if (payload.sub !== cert.scope || payload.outcome !== cert.outcome || payload.jti !== cert.certificate_id) {
    return { ok: false, why: 'the signed payload is about another certificate than the one shown' };
  }
  return { ok: true, kid: header.kid };
}

// ------------------------------------------------------------------ add a document

function addDocumentForm(section, scope, base) {
  const title = h('input', { id: 'doc-title', required: true, maxlength: 300 });
  const text = h('textarea', { id: 'doc-text', required: true, rows: 8 });
  const file = h('input', { id: 'doc-file', type: 'file', accept: '.txt,.md,text/plain,text/markdown' });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Add document');
  const out = h('div', { 'aria-live': 'polite' });
  file.addEventListener('change', async () => {
    const f = file.files?.[0];
    if (!f) return;
    if (f.size > 2_000_000) return put(out, h('p', { class: 'error', role: 'alert' }, `${f.name} is ${Math.round(f.size / 1000)} KB; a document must be under 2 MB of text.`));
    text.value = await f.text();
    if (!title.value) title.value = f.name.replace(/\.(txt|md)$/i, '');
  });
  const form = h(
    'form',
    {},
    h('label', { for: 'doc-title' }, 'Title'),
    title,
    h('label', { for: 'doc-text' }, 'Text (paste it, or load a file below)'),
    text,
    h('label', { for: 'doc-file' }, 'Load a .txt or .md file'),
    file,
    h('div', { class: 'actions' }, submit),
    out,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true;
    try {
      const r = await api(`${base}/documents`, { method: 'POST', body: { title: title.value, text: text.value } });
      put(out, h('p', { class: 'verified' }, r.duplicate ? `Already submitted as ${r.doc_id}; nothing new.` : `Accepted as ${r.doc_id}; the swarm is reading it.`));
      form.reset();
    } catch (err) {
      if (!(err instanceof ApiFailure && err.status === 401)) put(out, errorBox(err));
    } finally {
      submit.disabled = false;
    }
  });
  put(section, h('h2', { id: 'h-add' }, 'Add a document'), form);
}

// ------------------------------------------------------------------ notifications (webhooks)

const WEBHOOK_EVENTS = ['review.requested', 'review.escalated', 'review.responded', 'certificate.issued', 'scope.blocked', 'scope.expired'];

/**
 * The scope's webhooks, for an operator: the list (never a secret: the API does not
 * return them), add one (the secret the server generates is shown here once), delete one.
 */
async function webhooksPanel(section, base) {
  const list = h('div', {});
  const out = h('div', { 'aria-live': 'polite' });
  const fail = (err) => {
    if (!(err instanceof ApiFailure && err.status === 401)) put(out, errorBox(err));
  };
  const remove = async (w) => {
    try {
      await api(`${base}/webhooks/${enc(w.id)}`, { method: 'DELETE' });
      put(out, h('p', { class: 'verified' }, `Webhook ${w.id} deleted.`));
      await load();
    } catch (err) {
      fail(err);
    }
  };
  const load = async () => {
    const r = await api(`${base}/webhooks`);
    put(
      list,
      r.webhooks.length
        ? h(
            'table',
            {},
            h('thead', {}, h('tr', {}, ['Id', 'URL', 'Events', 'Format', 'Action'].map((t) => h('th', { scope: 'col' }, t)))),
            h(
              'tbody',
              {},
              r.webhooks.map((w) =>
                h(
                  'tr',
                  {},
                  h('td', { class: 'mono' }, w.id),
                  h('td', { class: 'mono' }, w.url),
                  h('td', {}, w.events.join(', ')),
                  h('td', {}, w.format),
                  h('td', {}, h('button', { type: 'button', 'aria-label': `Delete webhook ${w.id}`, onclick: () => remove(w) }, 'Delete')),
                ),
              ),
            ),
          )
        : h('p', { class: 'muted' }, 'No webhook: nobody is notified of this scope (global webhooks aside).'),
    );
  };

  const id = h('input', { id: 'webhook-id', required: true, pattern: '[a-z0-9][a-z0-9_\\-]{0,63}', autocomplete: 'off' });
  const url = h('input', { id: 'webhook-url', type: 'url', required: true, maxlength: 2000, autocomplete: 'off' });
  const format = h('select', { id: 'webhook-format' }, h('option', { value: 'json' }, 'JSON'), h('option', { value: 'slack' }, 'Slack (incoming webhook)'));
  const boxes = WEBHOOK_EVENTS.map((ev) => h('input', { type: 'checkbox', id: `webhook-ev-${ev}`, value: ev, checked: true }));
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Add webhook');
  const form = h(
    'form',
    {},
    h('label', { for: 'webhook-id' }, 'Webhook id'),
    id,
    h('label', { for: 'webhook-url' }, 'URL (https)'),
    url,
    h('fieldset', {}, h('legend', {}, 'Events'), boxes.map((b) => h('div', {}, b, ' ', h('label', { for: b.id }, b.value)))),
    h('label', { for: 'webhook-format' }, 'Format'),
    format,
    h('div', { class: 'actions' }, submit),
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    submit.disabled = true;
    try {
      const events = boxes.filter((b) => b.checked).map((b) => b.value);
      const r = await api(`${base}/webhooks/${enc(id.value)}`, { method: 'PUT', body: { url: url.value, events, format: format.value } });
      put(
        out,
        h('p', { class: 'verified' }, `Webhook ${r.webhook.id} saved.`),
        r.secret
          ? h('p', {}, 'Signing secret, shown only now: give it to the receiver, which checks X-Swarm-Signature with it. ', h('code', { class: 'mono', id: 'webhook-secret' }, r.secret))
          : null,
      );
      form.reset();
      await load();
    } catch (err) {
      fail(err);
    } finally {
      submit.disabled = false;
    }
  });
  put(section, h('h2', { id: 'h-webhooks' }, 'Notifications'), list, h('h3', {}, 'Add a webhook'), form, out);
  await load().catch(fail);
}

// ------------------------------------------------------------------ reviews

const OPTION_LABEL = {
  approve: 'Approve the proposal',
  reject: 'Reject the proposal',
  approve_finality: 'Mark as resolved now',
  provide_resolution: 'Provide a resolution (text)',
  escalate: 'Escalate to an authority',
  defer: 'Defer the review',
};
const REVIEW_KIND = { governance_review: 'Governance review', finality_review: 'Finality review' };

function reviewExplanation(r) {
  const q = r.request ?? {};
  if (typeof q.explanation === 'string') return q.explanation;
  const reasons = Array.isArray(q.reasons) ? q.reasons.map((x) => x.message ?? x.code).join('; ') : '';
  const p = q.proposal;
  return [p ? `${p.proposer ?? 'an agent'} proposes ${p.action ?? 'a change'}${p.from ? ` ${p.from} → ${p.to}` : ''}.` : '', reasons].filter(Boolean).join(' ');
}

// ------------------------------------------------------------------ review deadlines

/** "40 min", "3 h", "2 d": how far a deadline is, either way. */
function howLong(ms) {
  const m = Math.round(Math.abs(ms) / 60_000);
  return m < 60 ? `${m} min` : m < 48 * 60 ? `${Math.round(m / 60)} h` : `${Math.round(m / 1440)} d`;
}
const DEADLINE_THEN = {
  escalate: (to) => `then escalated to ${to ?? 'another group'}`,
  reject: () => 'then rejected automatically',
  defer: () => 'then deferred automatically',
};

/**
 * A pending review's deadline (governance.yaml `deadlines`, as the API computes it):
 * "due in 3 h, then …", "overdue, escalated to group:x", or nothing when it waits forever.
 */
function deadlineNote(r, now = Date.now()) {
  if (r.status !== 'pending' || (!r.deadline && !r.escalated_to)) return null;
  const parts = [];
  let kind = 'info';
  if (r.escalated_to) {
    parts.push(`overdue, escalated to ${r.escalated_to}`);
    kind = 'warn';
  }
  if (r.deadline) {
    const left = Date.parse(r.deadline) - now;
    const then = (DEADLINE_THEN[r.deadline_action] ?? (() => ''))(r.deadline_escalate_to);
    if (left > 0) parts.push(`due in ${howLong(left)}${then ? `, ${then}` : ''}`);
    else {
      // The bridge's next tick applies it.
      parts.push(`overdue by ${howLong(left)}${then ? `, ${then.replace(/^then /, '')} at the next check` : ''}`);
      kind = 'bad';
    }
  }
  const text = parts.join(' · ');
  return h('p', { class: 'deadline' }, badge(kind === 'info' ? '⏱ deadline' : '⚠ deadline', kind), ' ', h('span', { title: r.deadline ?? '' }, text[0].toUpperCase() + text.slice(1)));
}

function reviewCard(r, canAnswer, after) {
  return h(
    'li',
    { class: 'review', id: `review-${r.review_id}` },
    h('div', {}, h('strong', {}, REVIEW_KIND[r.kind] ?? r.kind), ' in ', h('a', { href: `#/scopes/${r.scope}` }, r.scope), ' · waiting since ', when(r.created_at)),
    deadlineNote(r),
    h('p', {}, reviewExplanation(r)),
    canAnswer && r.status === 'pending' ? h('button', { type: 'button', class: 'primary', onclick: () => answerDialog(r, after) }, 'Answer…') : null,
  );
}

function answerDialog(r, after) {
  const q = r.request ?? {};
  const blockers = Array.isArray(q.blockers) ? q.blockers : [];
  const evidence = [];
  if (typeof q.goal_score === 'number') evidence.push(`goal score ${fmt(q.goal_score)}${typeof q.gap === 'number' ? ` (gap ${fmt(q.gap)} to ${q.auto_threshold ?? 'auto'})` : ''}`);
  if (q.convergence?.lyapunov_v !== undefined) evidence.push(`V ${fmt(q.convergence.lyapunov_v)}`);
  if (q.basis?.evidence_seq !== undefined) evidence.push(`evidence up to log #${q.basis.evidence_seq}`);
  if (q.drift) evidence.push(`drift ${q.drift.level}${q.drift.types?.length ? ` (${q.drift.types.join(', ')})` : ''}`);
  if (q.proposal) evidence.push(`proposal ${q.proposal.proposal_id ?? ''}: ${q.proposal.action ?? ''} ${q.proposal.from ?? ''} → ${q.proposal.to ?? ''}`);
  if (Array.isArray(q.suggested_actions) && q.suggested_actions.length) evidence.push(`suggested: ${q.suggested_actions.join(', ')}`);
  if (Array.isArray(q.proposal?.plan?.actions)) evidence.push(`proposed plan: ${q.proposal.plan.actions.join(', ') || '(no action)'}`);

  const radios = r.options.map((o, i) =>
    h('div', { class: 'radio' }, h('input', { type: 'radio', name: 'option', id: `opt-${o}`, value: o, required: true, checked: i === 0 }), h('label', { for: `opt-${o}` }, OPTION_LABEL[o] ?? o)),
  );
  const days = h('input', { id: 'answer-days', type: 'number', min: 1, max: 365, value: 7 });
  const daysRow = h('div', { hidden: true }, h('label', { for: 'answer-days' }, 'Defer for how many days'), days);
  const text = h('textarea', { id: 'answer-text', rows: 5 });
  const textRow = h('div', { hidden: true }, h('label', { for: 'answer-text' }, 'The resolution (submitted to the scope as a document)'), text);
  const note = h('textarea', { id: 'answer-note', rows: 2, maxlength: 2000 });
  const amend = r.kind === 'governance_review' && q.proposal ? amendForm(q.proposal) : null;
  const chosen = () => radios.map((d) => d.querySelector('input')).find((x) => x.checked)?.value;
  const sync = () => {
    daysRow.hidden = chosen() !== 'defer';
    textRow.hidden = chosen() !== 'provide_resolution';
    text.required = chosen() === 'provide_resolution';
    if (amend) amend.el.hidden = chosen() !== 'approve';
  };
  radios.forEach((d) => d.querySelector('input').addEventListener('change', sync));
  sync();
  dialog(
    `${REVIEW_KIND[r.kind] ?? r.kind}: ${r.scope}`,
    [
      h('p', { class: 'muted mono' }, r.review_id),
      h('h3', {}, 'Why it is asked'),
      h('p', {}, reviewExplanation(r) || '—'),
      blockers.length ? [h('h3', {}, 'Blockers'), h('ul', {}, blockers.map((b) => h('li', {}, b.description ?? b.type, b.node_ids?.length ? h('span', { class: 'muted' }, ` (${b.node_ids.length} items)`) : null)))] : null,
      evidence.length ? [h('h3', {}, 'Evidence'), h('ul', {}, evidence.map((e) => h('li', {}, e)))] : null,
      h('fieldset', {}, h('legend', {}, 'Your answer'), radios),
      daysRow,
      textRow,
      amend?.el,
      h('label', { for: 'answer-note' }, 'Note (optional, recorded with the answer)'),
      note,
    ],
    {
      submitLabel: 'Send answer',
      onSubmit: async () => {
        const option = chosen();
        const body = { option };
        if (option === 'defer') body.days = Number(days.value);
        if (option === 'provide_resolution') body.text = text.value;
        if (note.value.trim()) body.note = note.value.trim();
        const amendments = option === 'approve' ? amend?.amendments() : undefined;
        if (amendments) body.amendments = amendments;
        await api(`/v1/reviews/${enc(r.review_id)}/respond`, { method: 'POST', body });
        toast(`Answer sent: ${OPTION_LABEL[option] ?? option}${amendments ? ' (as amended)' : ''}. It shows in the scope's timeline once applied.`);
        // The dialog closes now; the list behind it refreshes on its own time.
        void Promise.resolve(after?.()).catch(() => {});
      },
    },
  );
}

/**
 * "Amend before approving" for a governance review: the proposal's reason and plan
 * (one action per line), sent as `amendments` with an approval — only what was changed.
 * The API checks them (lower-case action words, at most 20, each once) and says what is wrong.
 */
function amendForm(proposal) {
  const actionsOf = (p) => (Array.isArray(p?.plan?.actions) ? p.plan.actions : []);
  const on = h('input', { type: 'checkbox', id: 'amend-on' });
  const reason = h('textarea', { id: 'amend-reason', rows: 2, maxlength: 500 });
  reason.value = proposal.reason ?? '';
  const plan = h('textarea', { id: 'amend-plan', rows: 4, spellcheck: 'false', 'aria-describedby': 'amend-plan-help' });
  plan.value = actionsOf(proposal).join('\n');
  const fields = h(
    'div',
    { hidden: true },
    h('label', { for: 'amend-reason' }, 'Reason'),
    reason,
    h('label', { for: 'amend-plan' }, 'Plan: one action per line'),
    plan,
    h('p', { id: 'amend-plan-help', class: 'muted' }, 'Lower-case words (e.g. open_investigation), at most 20. The proposed transition itself cannot be changed.'),
  );
  on.addEventListener('change', () => (fields.hidden = !on.checked));
  const el = h('fieldset', {}, h('legend', {}, 'Amend before approving'), h('div', { class: 'radio' }, on, h('label', { for: 'amend-on' }, 'Approve with my changes to the reason and plan')), fields);
  return {
    el,
    amendments() {
      if (!on.checked) return undefined;
      const out = {};
      if (reason.value !== (proposal.reason ?? '')) out.reason = reason.value;
      const actions = plan.value.split('\n').map((x) => x.trim()).filter(Boolean);
      if (actions.join('\n') !== actionsOf(proposal).join('\n')) out.plan = { actions };
      return Object.keys(out).length ? out : undefined;
    },
  };
}

/** A review answered with amendments: what changed, who changed it, the original beside it. */
function amendmentDetails(r) {
  const a = r.response?.amendment;
  if (!a) return null;
  const actions = (p) => (Array.isArray(p?.plan?.actions) && p.plan.actions.length ? p.plan.actions.join(', ') : '(none)');
  const rows = [];
  if (a.changed?.includes('plan')) rows.push(['Plan', actions(a.amended), actions(a.original)]);
  if (a.changed?.includes('reason')) rows.push(['Reason', a.amended?.reason || '(none)', a.original?.reason || '(none)']);
  return h(
    'li',
    { class: 'review', id: `amended-${r.review_id}` },
    h('div', {}, h('strong', {}, REVIEW_KIND[r.kind] ?? r.kind), ` approved as amended by ${a.by ?? r.responded_by ?? '?'} · `, when(r.resolved_at)),
    h(
      'table',
      {},
      h('caption', { class: 'muted' }, `Proposal ${a.original?.proposal_id ?? r.proposal_id ?? ''}`),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Approved'), h('th', { scope: 'col' }, 'Proposed'))),
      h('tbody', {}, rows.map(([f, now, was]) => h('tr', {}, h('th', { scope: 'row' }, f), h('td', {}, now), h('td', {}, was)))),
    ),
  );
}

async function inboxPage(params, stale = () => false) {
  document.title = 'Review inbox · Governed Swarm';
  const scope = params.get('scope') ?? '';
  const kind = params.get('kind') ?? '';
  const qs = new URLSearchParams({ status: 'pending', limit: '200' });
  if (scope) qs.set('scope', scope);
  if (kind) qs.set('kind', kind);
  const { reviews } = await api(`/v1/reviews?${qs}`);
  if (stale()) return;
  const scopeInput = h('input', { id: 'filter-scope', value: scope, pattern: '[a-z0-9][a-z0-9_\\-]{0,63}', placeholder: 'all scopes' });
  const kindSelect = h(
    'select',
    { id: 'filter-kind' },
    h('option', { value: '' }, 'All kinds'),
    Object.entries(REVIEW_KIND).map(([v, label]) => h('option', { value: v, selected: v === kind }, label)),
  );
  const filters = h(
    'form',
    { class: 'filters', role: 'search' },
    h('label', { for: 'filter-scope' }, 'Scope'),
    scopeInput,
    h('label', { for: 'filter-kind' }, 'Kind'),
    kindSelect,
    h('button', { type: 'submit' }, 'Filter'),
  );
  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    const p = new URLSearchParams();
    if (scopeInput.value) p.set('scope', scopeInput.value);
    if (kindSelect.value) p.set('kind', kindSelect.value);
    location.hash = `#/inbox${p.size ? `?${p}` : ''}`;
  });
  put($main,
    h('h1', {}, 'Review inbox'),
    h('p', { class: 'muted' }, 'Pending reviews you may answer, oldest first.'),
    filters,
    reviews.length === 0
      ? h('p', { class: 'muted' }, me.swarm?.reviewer ? 'Nothing waits for you.' : `Nothing to answer: ${me.principal} is not a reviewer (nor in a group a review was escalated to).`)
      : h('ul', { class: 'plain' }, reviews.map((r) => reviewCard(r, r.can_answer !== false, () => inboxPage(params, stale)))),
  );
}

window.addEventListener('hashchange', () => void route());
void route();
