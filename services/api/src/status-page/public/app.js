// Vigil status page: polls the public API every STATUS_PAGE_REFRESH (the
// body's data-refresh-ms) and re-renders; no framework, no third-party code.
// Text from the API is only ever set as textContent, never parsed as HTML.

const REFRESH_MS = Number(document.body.dataset.refreshMs) || 15000;
const PAGE_SIZE = 500;
const SVG = 'http://www.w3.org/2000/svg';

const $ = (id) => document.getElementById(id);

/** Creates an element: h('p', { className: 'x', 'aria-label': 'y' }, 'text', child). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'className') el.className = value;
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

async function getJson(path, headers = {}) {
  // no-cache: always revalidate (a 304 is cheap), so a change shows on the next poll.
  const res = await fetch(path, { cache: 'no-cache', headers: { accept: 'application/json', ...headers } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const message = Array.isArray(body.message) ? body.message.join('; ') : body.message;
    throw Object.assign(new Error(message || `${res.status} ${res.statusText}`), { status: res.status });
  }
  return body;
}

async function allChecks() {
  const items = [];
  for (let offset = 0; ; offset += PAGE_SIZE) {
    const page = await getJson(`/api/v1/checks?include=history&limit=${PAGE_SIZE}&offset=${offset}`);
    items.push(...page.items);
    if (items.length >= page.total || page.items.length === 0) return items;
  }
}

// ---- formatting ---------------------------------------------------------

const STATE_LABEL = { up: 'Operational', down: 'Down', pending: 'Pending', paused: 'Paused' };
const BANNER = {
  operational: 'All systems operational',
  partial_outage: 'Partial outage',
  major_outage: 'Major outage',
  unknown: 'Status unknown',
};

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dayFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeZone: 'UTC' });

function formatPercent(value) {
  if (value === null || value === undefined) return 'no data';
  return `${value.toFixed(value === 100 || value === 0 ? 0 : 2)}%`;
}

function formatDuration(ms) {
  const minutes = Math.max(0, Math.floor(ms / 60000));
  if (minutes < 1) return 'less than a minute';
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} days`;
}

function barClass(uptime) {
  if (uptime === null || uptime === undefined) return 'bar';
  if (uptime >= 99.9) return 'bar bar--ok';
  if (uptime >= 99) return 'bar bar--minor';
  if (uptime >= 95) return 'bar bar--degraded';
  return 'bar bar--down';
}

// ---- rendering -----------------------------------------------------------

function renderBanner(summary) {
  const banner = $('banner');
  banner.className = `banner banner--${summary.state}`;
  $('banner-title').textContent = BANNER[summary.state] ?? summary.state;
  const c = summary.counts;
  const parts = [`${c.up} of ${c.total} checks up`];
  if (c.down) parts.push(`${c.down} down`);
  if (c.pending) parts.push(`${c.pending} pending`);
  if (c.paused) parts.push(`${c.paused} paused`);
  $('banner-detail').textContent = c.total === 0 ? 'No checks are published yet.' : parts.join(' · ');
}

function bars(check) {
  const days = check.history?.days ?? [];
  return h(
    'div',
    { className: 'bars', role: 'list', 'aria-label': `Daily uptime of ${check.displayName}, last ${days.length} days` },
    days.map((day) => {
      const label = `${dayFormat.format(new Date(`${day.date}T00:00:00Z`))}: ${day.uptime === null ? 'no data' : `${formatPercent(day.uptime)} uptime`}`;
      return h('span', { className: barClass(day.uptime), role: 'listitem', 'aria-label': label, dataset: { tip: label } });
    }),
  );
}

function sparkline(check) {
  const points = (check.history?.latency ?? []).map((p) => p.avgMs);
  const known = points.filter((v) => v !== null);
  const wrap = h('div', { className: 'spark' });
  if (known.length === 0) {
    wrap.append(h('div', { className: 'spark__label' }, 'No latency data'));
    return wrap;
  }
  const max = Math.max(...known);
  const min = Math.min(...known);
  const width = 120;
  const height = 34;
  const step = points.length > 1 ? width / (points.length - 1) : width;
  const y = (v) => (max === min ? height / 2 : height - 2 - ((v - min) / (max - min)) * (height - 4));
  const svg = document.createElementNS(SVG, 'svg');
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `Average latency of ${check.displayName} over the last 24 hours: ${min} to ${max} ms`);
  // A gap in the data is a gap in the line: one polyline per run of known points.
  let run = [];
  const flush = () => {
    if (run.length > 0) {
      const line = document.createElementNS(SVG, 'polyline');
      line.setAttribute('points', (run.length === 1 ? [run[0], run[0]] : run).join(' '));
      svg.append(line);
    }
    run = [];
  };
  points.forEach((v, i) => (v === null ? flush() : run.push(`${(i * step).toFixed(1)},${y(v).toFixed(1)}`)));
  flush();
  wrap.append(svg, h('div', { className: 'spark__label' }, `${known[known.length - 1]} ms avg`));
  return wrap;
}

function checkItem(check, now) {
  const since = new Date(check.since);
  const dayCount = check.history?.days?.length ?? 90;
  return h(
    'li',
    { className: 'check', dataset: { check: check.id, state: check.state } },
    h(
      'div',
      { className: 'check__head' },
      h('h3', { className: 'check__name' }, check.displayName),
      h('span', { className: `state state--${check.state}` }, STATE_LABEL[check.state] ?? check.state),
    ),
    h(
      'p',
      { className: 'check__meta' },
      h('span', {}, `${STATE_LABEL[check.state] ?? check.state} for ${formatDuration(now - since)} (since `, h('time', { datetime: check.since }, dateTime.format(since)), ')'),
      check.latencyMs !== null && check.state === 'up' ? h('span', {}, `${check.latencyMs} ms`) : null,
      check.reason && check.state === 'down' ? h('span', {}, check.reason) : null,
      h('span', {}, `${formatPercent(check.uptime['24h'])} last 24 h`),
    ),
    h(
      'div',
      { className: 'check__row' },
      h(
        'div',
        { className: 'check__bars' },
        bars(check),
        h(
          'div',
          { className: 'bars__legend', 'aria-hidden': 'true' },
          h('span', {}, h('span', { className: 'legend-long' }, `${dayCount} days ago`), h('span', { className: 'legend-short' }, '30 days ago')),
          h('span', {}, `${formatPercent(check.uptime['90d'])} uptime (90 days)`),
          h('span', {}, 'Today'),
        ),
      ),
      sparkline(check),
    ),
  );
}

const STATE_RANK = { down: 3, pending: 2, paused: 1, up: 0 };

function renderChecks(checks) {
  const now = Date.now();
  const groups = new Map();
  for (const check of checks) {
    const key = check.group ?? 'Other';
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(check);
  }
  const container = $('groups');
  if (checks.length === 0) {
    container.replaceChildren(h('p', { className: 'panel muted' }, 'No checks are published yet.'));
  } else {
    container.replaceChildren(
      ...[...groups].map(([name, list], index) => {
        const worst = list.reduce((w, c) => (STATE_RANK[c.state] > STATE_RANK[w] ? c.state : w), 'up');
        const headingId = `group-${index}`;
        return h(
          'section',
          { className: 'group', 'aria-labelledby': headingId },
          h(
            'div',
            { className: 'group__head' },
            h('h2', { id: headingId }, name),
            h('span', { className: `state state--${worst}` }, worst === 'up' ? 'Operational' : STATE_LABEL[worst]),
          ),
          h('ul', { className: 'group__list' }, list.map((c) => checkItem(c, now))),
        );
      }),
    );
  }
  container.setAttribute('aria-busy', 'false');
}

function renderEvents(events) {
  $('events').replaceChildren(
    ...events.map((e) =>
      h(
        'li',
        {},
        h('time', { datetime: e.at }, dateTime.format(new Date(e.at))),
        h('span', {}, h('strong', {}, e.displayName), ' is ', h('span', { className: `state state--${e.to}` }, STATE_LABEL[e.to] ?? e.to), e.reason ? ` (${e.reason})` : '', ` — was ${(STATE_LABEL[e.from] ?? e.from).toLowerCase()}`),
      ),
    ),
  );
  $('events-empty').hidden = events.length > 0;
}

// ---- polling ------------------------------------------------------------------

async function refresh() {
  try {
    const [summary, checks, events] = await Promise.all([getJson('/api/v1/summary'), allChecks(), getJson('/api/v1/events?limit=10')]);
    renderBanner(summary);
    renderChecks(checks);
    renderEvents(events.items);
    $('refresh-error').hidden = true;
    $('updated').textContent = `Updated ${dateTime.format(new Date())}.`;
  } catch (err) {
    const notice = $('refresh-error');
    notice.textContent = `Could not refresh the status (${err.message}); retrying in ${Math.round(REFRESH_MS / 1000)} s.`;
    notice.hidden = false;
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}

// ---- tooltips for the day bars (mouse, touch and screen readers via aria-label) ----

function showTip(target) {
  const tip = $('tooltip');
  tip.textContent = target.dataset.tip;
  tip.hidden = false;
  const rect = target.getBoundingClientRect();
  const width = tip.offsetWidth;
  const left = Math.min(Math.max(8, rect.left + rect.width / 2 - width / 2), window.innerWidth - width - 8);
  tip.style.left = `${left}px`;
  tip.style.top = `${Math.max(8, rect.top - tip.offsetHeight - 8)}px`;
}

document.addEventListener('pointerover', (event) => {
  const bar = event.target.closest?.('.bar');
  if (bar) showTip(bar);
  else $('tooltip').hidden = true;
});
document.addEventListener('scroll', () => ($('tooltip').hidden = true), { passive: true });

// ---- delivery logs (token pasted by the operator; kept in memory only) ----

const deliveryTime = (iso) => (iso ? dateTime.format(new Date(iso)) : '—');

async function showDeliveries(event) {
  event.preventDefault();
  const token = $('delivery-token').value.trim();
  const namespace = $('delivery-namespace').value.trim();
  const check = $('delivery-check').value.trim();
  const out = $('delivery-result');
  out.replaceChildren(h('p', { className: 'muted' }, 'Loading…'));
  const auth = { authorization: `Bearer ${token}` };
  try {
    const query = new URLSearchParams({ namespace, limit: '50' });
    if (check) query.set('check', check);
    const page = await getJson(`/api/v1/deliveries?${query}`, auth);
    if (page.items.length === 0) {
      out.replaceChildren(h('p', { className: 'muted' }, 'No deliveries.'));
      return;
    }
    const detail = h('div', { 'aria-live': 'polite' });
    const openDetail = async (id) => {
      try {
        const d = await getJson(`/api/v1/deliveries/${encodeURIComponent(id)}`, auth);
        detail.replaceChildren(
          h('h3', {}, `Attempts of ${d.id}`),
          h(
            'div',
            { className: 'table-scroll' },
            h(
              'table',
              {},
              h('thead', {}, h('tr', {}, ['#', 'Started', 'Duration', 'Status', 'Error', 'Response'].map((t) => h('th', { scope: 'col' }, t)))),
              h('tbody', {}, d.attempts.map((a) => h('tr', {}, h('td', {}, a.attempt), h('td', {}, deliveryTime(a.startedAt)), h('td', {}, `${a.durationMs} ms`), h('td', {}, a.statusCode ?? '—'), h('td', {}, a.error ?? ''), h('td', {}, a.responseExcerpt ?? '')))),
            ),
          ),
        );
      } catch (err) {
        detail.replaceChildren(h('p', { className: 'notice' }, err.message));
      }
    };
    out.replaceChildren(
      h('p', { className: 'muted' }, `${page.total} ${page.total === 1 ? 'delivery' : 'deliveries'}${page.total > page.items.length ? `, latest ${page.items.length} shown` : ''}.`),
      h(
        'div',
        { className: 'table-scroll' },
        h(
          'table',
          {},
          h('thead', {}, h('tr', {}, ['Created', 'Check', 'Event', 'Receiver', 'Status', 'Attempts', 'Last result'].map((t) => h('th', { scope: 'col' }, t)))),
          h(
            'tbody',
            {},
            page.items.map((d) =>
              h(
                'tr',
                {},
                h('td', {}, h('button', { type: 'button', className: 'link-button', onclick: () => openDetail(d.id), 'aria-label': `Show attempts of delivery ${d.id}` }, deliveryTime(d.createdAt))),
                h('td', {}, `${d.check.namespace}/${d.check.name}`),
                h('td', {}, d.event),
                h('td', {}, d.receiver),
                h('td', {}, d.status),
                h('td', {}, d.attemptCount),
                h('td', {}, d.lastStatusCode ?? d.lastError ?? '—'),
              ),
            ),
          ),
        ),
      ),
      detail,
    );
  } catch (err) {
    const hint = err.status === 401 ? 'The token was not accepted.' : err.status === 403 ? 'This token may not read checks in that namespace.' : '';
    out.replaceChildren(h('p', { className: 'notice', role: 'alert' }, `${hint} ${err.message}`.trim()));
  }
}

$('delivery-form').addEventListener('submit', showDeliveries);
$('refresh-note').textContent = `Refreshes every ${Math.round(REFRESH_MS / 1000)} s.`;
refresh();
