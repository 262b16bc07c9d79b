// The /analytics page for compliance analysts: filters, a stacked bar chart (inline SVG, rendered on the server) and
// the weekly table. No external assets. Authentication: a browser cannot attach a bearer header to a navigation, so
// the page shell (no data) loads without one and shows a token form; the token is kept in sessionStorage (this tab
// only, gone when it closes) and sent as `Authorization: Bearer` by fetch() to this same URL, whose server-rendered
// #report section is swapped in. A request that already carries a valid bearer (e.g. added by a reverse proxy) gets the
// report rendered directly. The token never appears in a URL.
import type { AnalyticsFilter, OverrideAnalyticsRow } from '../store/analytics.js';

export const TOKEN_STORAGE_KEY = 'pumpcheck.adminToken';
/** Request header with which the page's script asks for the report section only (`X-Pumpcheck-Fragment: report`). */
export const FRAGMENT_HEADER = 'X-Pumpcheck-Fragment';

export function escapeHtml(value: unknown): string {
  return String(value)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const pct = (rate: number | null) => (rate === null ? '–' : `${(rate * 100).toFixed(1)} %`);

export interface ChartBar {
  policyId: string;
  criterion: string;
  cardsShown: number;
  accepted: number;
  overridden: number;
  noFeedback: number;
  overrideRate: number | null;
}

/** Totals per policy and criterion over the whole period, worst override rate first. */
export function chartBars(rows: OverrideAnalyticsRow[]): ChartBar[] {
  const byKey = new Map<string, ChartBar>();
  for (const r of rows) {
    const key = `${r.policyId}\u0000${r.criterion}`;
    const bar = byKey.get(key) ?? {
      policyId: r.policyId,
      criterion: r.criterion,
      cardsShown: 0,
      accepted: 0,
      overridden: 0,
      noFeedback: 0,
      overrideRate: null,
    };
    bar.cardsShown += r.cardsShown;
    bar.accepted += r.accepted;
    bar.overridden += r.overridden;
    bar.noFeedback += r.noFeedback;
    byKey.set(key, bar);
  }
  const bars = [...byKey.values()];
  for (const b of bars) {
    const answered = b.accepted + b.overridden;
    b.overrideRate = answered === 0 ? null : b.overridden / answered;
  }
  return bars.sort(
    (a, b) =>
      (b.overrideRate ?? -1) - (a.overrideRate ?? -1) ||
      b.cardsShown - a.cardsShown ||
      a.policyId.localeCompare(b.policyId) ||
      a.criterion.localeCompare(b.criterion),
  );
}

const COLORS = { accepted: '#2e7d32', overridden: '#c62828', none: '#9e9e9e' } as const;
const MAX_BARS = 25;

export function renderChartSvg(rows: OverrideAnalyticsRow[]): string {
  const all = chartBars(rows);
  const bars = all.slice(0, MAX_BARS);
  const labelW = 270;
  const plotW = 400;
  const valueW = 190;
  const barH = 22;
  const gap = 10;
  const top = 34;
  const width = labelW + plotW + valueW;
  const height = top + bars.length * (barH + gap) + 10;
  const max = Math.max(1, ...bars.map((b) => b.cardsShown));
  const scale = (n: number) => (n / max) * plotW;
  const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

  const legend = [
    ['accepted', 'Accepted'],
    ['overridden', 'Overridden'],
    ['none', 'No feedback'],
  ] as const;
  const parts: string[] = [];
  parts.push(
    `<svg id="chart" xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="chart-title" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<title id="chart-title">Cards shown per policy and criterion, split by clinician response</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
  );
  legend.forEach(([key, label], i) => {
    const x = labelW + i * 120;
    parts.push(
      `<rect x="${x}" y="8" width="12" height="12" fill="${COLORS[key]}"/>`,
      `<text x="${x + 16}" y="18" fill="#222">${label}</text>`,
    );
  });
  bars.forEach((b, i) => {
    const y = top + i * (barH + gap);
    const label = `${b.policyId} · ${b.criterion}`;
    const wA = scale(b.accepted);
    const wO = scale(b.overridden);
    const wN = scale(b.noFeedback);
    const tip = `${label}: ${b.cardsShown} shown, ${b.accepted} accepted, ${b.overridden} overridden, ${b.noFeedback} no feedback, override rate ${pct(b.overrideRate)}`;
    parts.push(
      `<g class="bar" data-policy="${escapeHtml(b.policyId)}" data-criterion="${escapeHtml(b.criterion)}" data-shown="${b.cardsShown}">`,
      `<title>${escapeHtml(tip)}</title>`,
      `<text x="${labelW - 8}" y="${y + 15}" text-anchor="end" fill="#222">${escapeHtml(truncate(label, 42))}</text>`,
      `<rect class="seg seg-accepted" x="${labelW}" y="${y}" width="${wA.toFixed(2)}" height="${barH}" fill="${COLORS.accepted}"/>`,
      `<rect class="seg seg-overridden" x="${(labelW + wA).toFixed(2)}" y="${y}" width="${wO.toFixed(2)}" height="${barH}" fill="${COLORS.overridden}"/>`,
      `<rect class="seg seg-none" x="${(labelW + wA + wO).toFixed(2)}" y="${y}" width="${wN.toFixed(2)}" height="${barH}" fill="${COLORS.none}"/>`,
      `<text x="${labelW + plotW + 8}" y="${y + 15}" fill="#222">${b.cardsShown} shown · ${b.overrideRate === null ? 'no responses' : `${escapeHtml(pct(b.overrideRate))} overridden`}</text>`,
      `</g>`,
    );
  });
  parts.push('</svg>');
  const note = all.length > bars.length ? `<p class="note">Showing the ${bars.length} highest override rates of ${all.length}.</p>` : '';
  return parts.join('') + note;
}

export function renderTable(rows: OverrideAnalyticsRow[]): string {
  const head = [
    'Week',
    'Policy',
    'Criterion',
    'Cards shown',
    'Accepted',
    'Overridden',
    'No feedback',
    'Override rate',
    'Top override reasons',
  ]
    .map((h) => `<th scope="col">${h}</th>`)
    .join('');
  const body = rows
    .map((r) => {
      const reasons =
        r.topOverrideReasons.length === 0
          ? '–'
          : `<ol>${r.topOverrideReasons
              .map((x) => `<li>${escapeHtml(x.display ?? x.code)} <span class="code">(${escapeHtml(x.code)})</span>: ${x.count}</li>`)
              .join('')}</ol>`;
      return (
        `<tr><td><span title="week starting ${escapeHtml(r.weekStart)}">${escapeHtml(r.week)}</span><br><span class="sub">${escapeHtml(r.weekStart)}</span></td>` +
        `<td>${escapeHtml(r.policyId)}</td><td>${escapeHtml(r.criterion)}</td>` +
        `<td class="num">${r.cardsShown}</td><td class="num">${r.accepted}</td><td class="num">${r.overridden}</td>` +
        `<td class="num">${r.noFeedback}</td><td class="num">${pct(r.overrideRate)}</td><td>${reasons}</td></tr>`
      );
    })
    .join('');
  return `<table id="overrides"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

export function renderReport(rows: OverrideAnalyticsRow[], filter: AnalyticsFilter, generatedAt: Date): string {
  const period =
    filter.from || filter.to ? `${escapeHtml(filter.from ?? 'the beginning')} to ${escapeHtml(filter.to ?? 'today')}` : 'all stored data';
  const policy = filter.policyId ? `, policy ${escapeHtml(filter.policyId)}` : '';
  const content =
    rows.length === 0
      ? `<p id="empty">No cards were shown in this period${policy}.</p>`
      : `<h2>Responses per policy and criterion</h2>${renderChartSvg(rows)}<h2>Per week</h2>${renderTable(rows)}`;
  return (
    `<section id="report" data-rows="${rows.length}">` +
    `<p class="meta">Period: ${period}${policy}. Generated ${escapeHtml(generatedAt.toISOString())}.</p>` +
    content +
    `</section>`
  );
}

export interface PageOptions {
  nonce: string;
  filter: AnalyticsFilter;
  /** Present when the request was authenticated: the report is rendered into the page. */
  rows?: OverrideAnalyticsRow[];
  generatedAt?: Date;
}

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;margin:1.5rem;color:#222;max-width:1200px}
h1{font-size:1.4rem;margin:0 0 .5rem} h2{font-size:1.1rem;margin:1.5rem 0 .5rem}
form{margin:.75rem 0;display:flex;gap:.75rem;align-items:end;flex-wrap:wrap}
label{display:flex;flex-direction:column;font-size:.85rem;gap:.2rem}
input{font:inherit;padding:.3rem .4rem} button{font:inherit;padding:.35rem .9rem;cursor:pointer}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.35rem .5rem;vertical-align:top;text-align:left}
th{background:#f3f3f3} td.num{text-align:right;font-variant-numeric:tabular-nums}
tbody tr:nth-child(even){background:#fafafa} ol{margin:0;padding-left:1.2rem}
.sub,.code,.meta,.note{color:#666;font-size:.8rem} .error{color:#b00020} .defs{color:#444;font-size:.85rem}
[hidden]{display:none !important}
`;

function clientScript(): string {
  // Plain ES2020, no dependencies. The token lives in sessionStorage only and is sent in a header, never a URL.
  return `(() => {
  const KEY = ${JSON.stringify(TOKEN_STORAGE_KEY)};
  const $ = (id) => document.getElementById(id);
  const show = (loggedIn) => { $('login').hidden = loggedIn; $('app').hidden = !loggedIn; };
  const fields = ['from', 'to', 'policyId'];
  async function load() {
    const params = new URLSearchParams();
    for (const name of fields) { const v = $('f-' + name).value.trim(); if (v) params.set(name, v); }
    const query = params.toString();
    const url = location.pathname + (query ? '?' + query : '');
    const headers = { Accept: 'text/html', ${JSON.stringify(FRAGMENT_HEADER)}: 'report' };
    const token = sessionStorage.getItem(KEY);
    if (token) headers.Authorization = 'Bearer ' + token;
    $('status').textContent = 'Loading…';
    let res;
    try {
      res = await fetch(url, { headers, cache: 'no-store', credentials: 'same-origin' });
    } catch (e) {
      $('status').textContent = 'The service could not be reached.';
      return;
    }
    if (res.status === 401) {
      sessionStorage.removeItem(KEY);
      $('login-error').textContent = 'The token was refused.';
      $('status').textContent = '';
      show(false);
      return;
    }
    if (!res.ok) {
      let text = 'Request failed (' + res.status + ')';
      try { const oo = await res.json(); const d = oo && oo.issue && oo.issue[0] && oo.issue[0].details; if (d && d.text) text += ': ' + d.text; } catch (e) {}
      $('status').textContent = text;
      show(true);
      return;
    }
    // An inert <template> parses the server-rendered (escaped) fragment without running anything.
    const template = document.createElement('template');
    template.innerHTML = await res.text();
    const report = template.content.getElementById('report');
    if (report) $('report').replaceWith(document.importNode(report, true));
    history.replaceState(null, '', url);
    $('status').textContent = '';
    $('login-error').textContent = '';
    show(true);
  }
  $('login').addEventListener('submit', (e) => {
    e.preventDefault();
    const token = $('token').value.trim();
    if (!token) return;
    sessionStorage.setItem(KEY, token);
    $('token').value = '';
    load();
  });
  $('filters').addEventListener('submit', (e) => { e.preventDefault(); load(); });
  $('logout').addEventListener('click', () => {
    sessionStorage.removeItem(KEY);
    $('report').replaceChildren();
    show(false);
  });
  if (document.body.dataset.rendered === 'true') show(true);
  else if (sessionStorage.getItem(KEY)) load();
  else show(false);
})();`;
}

export function renderAnalyticsPage(opts: PageOptions): string {
  const { nonce, filter } = opts;
  const rendered = opts.rows !== undefined;
  const report = rendered ? renderReport(opts.rows!, filter, opts.generatedAt ?? new Date()) : '<section id="report"></section>';
  const value = (v: string | undefined) => (v ? ` value="${escapeHtml(v)}"` : '');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>pumpcheck – override analytics</title>
<style nonce="${nonce}">${STYLE}</style>
</head>
<body data-rendered="${rendered}">
<h1>Coverage card override analytics</h1>
<form id="login" ${rendered ? 'hidden' : ''} autocomplete="off">
  <label>Admin token<input id="token" type="password" autocomplete="off" required></label>
  <button type="submit">Open</button>
  <span id="login-error" class="error" role="alert"></span>
</form>
<div id="app" ${rendered ? '' : 'hidden'}>
  <p class="defs">Cards are counted in the ISO week (UTC) in which they were shown. A card that speaks for several criteria
  counts under each. When a card received several responses, the latest counts. Override rate = overridden ÷ (accepted + overridden).</p>
  <form id="filters">
    <label>From<input id="f-from" type="date"${value(filter.from)}></label>
    <label>To (inclusive)<input id="f-to" type="date"${value(filter.to)}></label>
    <label>Policy id<input id="f-policyId" type="text" maxlength="200"${value(filter.policyId)}></label>
    <button type="submit">Show</button>
    <button type="button" id="logout">Forget token</button>
    <span id="status" role="status"></span>
  </form>
  ${report}
</div>
<script nonce="${nonce}">${clientScript()}</script>
</body>
</html>`;
}
