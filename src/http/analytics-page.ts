// The /analytics page for compliance analysts: filters, a stacked bar chart (inline SVG, rendered on the server) and
// the weekly table. No external assets. Authentication: a browser cannot attach a bearer header to a navigation, so
// the page shell (no data) loads without one and shows a token form; the token is kept in sessionStorage (this tab
// only, gone when it closes) and sent as `Authorization: Bearer` by fetch() to this same URL, whose server-rendered
// #report section is swapped in. A request that already carries a valid bearer (e.g. added by a reverse proxy) gets the
// report rendered directly. The token never appears in a URL.
import type { AnalyticsFilter, AnalyticsReport, BreakdownRow, Counts, OverrideAnalyticsRow, OverrideReasonCount } from '../store/analytics.js';

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

/** Human wording for ids: the policy's criterion labels and the override-reason displays the cards offer. */
export interface AnalyticsLabels {
  criterion(policyId: string, criterionId: string): string | undefined;
  reason(system: string | undefined, code: string): string | undefined;
}

export const NO_LABELS: AnalyticsLabels = { criterion: () => undefined, reason: () => undefined };

const criterionName = (labels: AnalyticsLabels, policyId: string, criterion: string) =>
  criterion === '(none)' ? 'card with no criterion' : (labels.criterion(policyId, criterion) ?? criterion);

/** A reason's display once: the display sent, else the card's own wording, else the code. Never "x (x)". */
export function reasonText(labels: AnalyticsLabels, r: OverrideReasonCount): string {
  return r.display ?? labels.reason(r.system, r.code) ?? r.code;
}

/** Greedy word wrap for SVG labels (no clipping: long labels take more lines). */
export function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.length ? lines : [''];
}

export interface ChartBar extends Counts {
  id: string;
  label: string;
}

const COLORS = { accepted: '#2e7d32', overridden: '#c62828', none: '#9e9e9e' } as const;
const MAX_BARS = 40;

/** Horizontal stacked bars (accepted / overridden / no feedback), full labels wrapped beside each bar. */
export function renderChartSvg(bars: ChartBar[], id: string, title: string): string {
  const shown = bars.slice(0, MAX_BARS);
  const labelW = 330;
  const plotW = 380;
  const valueW = 190;
  const barH = 20;
  const lineH = 15;
  const gap = 12;
  const top = 34;
  const width = labelW + plotW + valueW;
  const layout = shown.map((b) => ({ b, lines: wrap(b.label, 46) }));
  let y = top;
  const placed = layout.map((l) => {
    const h = Math.max(barH, l.lines.length * lineH + 4);
    const at = y;
    y += h + gap;
    return { ...l, y: at, h };
  });
  const height = y + 4;
  const max = Math.max(1, ...shown.map((b) => b.cardsShown));
  const scale = (n: number) => (n / max) * plotW;
  const parts: string[] = [
    `<svg id="${id}" class="chart" xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="${id}-title" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, sans-serif" font-size="12">`,
    `<title id="${id}-title">${escapeHtml(title)}</title>`,
    `<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`,
  ];
  (
    [
      ['accepted', 'Accepted'],
      ['overridden', 'Overridden'],
      ['none', 'No feedback'],
    ] as const
  ).forEach(([key, label], i) => {
    const x = labelW + i * 120;
    parts.push(`<rect x="${x}" y="8" width="12" height="12" fill="${COLORS[key]}"/>`, `<text x="${x + 16}" y="18" fill="#222">${label}</text>`);
  });
  for (const { b, lines, y: by, h } of placed) {
    const wA = scale(b.accepted);
    const wO = scale(b.overridden);
    const wN = scale(b.noFeedback);
    const barY = by + (h - barH) / 2;
    const tip = `${b.label}: ${b.cardsShown} cards shown, ${b.accepted} accepted, ${b.overridden} overridden, ${b.noFeedback} no feedback, override rate ${pct(b.overrideRate)}`;
    const tspans = lines.map((line, i) => `<tspan x="${labelW - 10}" dy="${i === 0 ? 0 : lineH}">${escapeHtml(line)}</tspan>`).join('');
    parts.push(
      `<g class="bar" data-id="${escapeHtml(b.id)}" data-shown="${b.cardsShown}">`,
      `<title>${escapeHtml(tip)}</title>`,
      `<text class="label" x="${labelW - 10}" y="${by + 13}" text-anchor="end" fill="#222">${tspans}</text>`,
      `<rect class="seg seg-accepted" x="${labelW}" y="${barY}" width="${wA.toFixed(2)}" height="${barH}" fill="${COLORS.accepted}"/>`,
      `<rect class="seg seg-overridden" x="${(labelW + wA).toFixed(2)}" y="${barY}" width="${wO.toFixed(2)}" height="${barH}" fill="${COLORS.overridden}"/>`,
      `<rect class="seg seg-none" x="${(labelW + wA + wO).toFixed(2)}" y="${barY}" width="${wN.toFixed(2)}" height="${barH}" fill="${COLORS.none}"/>`,
      `<text x="${labelW + plotW + 8}" y="${barY + 14}" fill="#222">${b.cardsShown} card${b.cardsShown === 1 ? '' : 's'} · ${b.overrideRate === null ? 'no responses' : `${escapeHtml(pct(b.overrideRate))} overridden`}</text>`,
      `</g>`,
    );
  }
  parts.push('</svg>');
  const note = bars.length > shown.length ? `<p class="note">Showing ${shown.length} of ${bars.length}.</p>` : '';
  return parts.join('') + note;
}

/** One bar per policy over the whole period (cards counted once each). */
export function policyBars(rows: OverrideAnalyticsRow[]): ChartBar[] {
  const m = new Map<string, ChartBar>();
  for (const r of rows) {
    const bar = m.get(r.policyId) ?? { id: r.policyId, label: r.policyId, cardsShown: 0, accepted: 0, overridden: 0, noFeedback: 0, overrideRate: null };
    bar.cardsShown += r.cardsShown;
    bar.accepted += r.accepted;
    bar.overridden += r.overridden;
    bar.noFeedback += r.noFeedback;
    m.set(r.policyId, bar);
  }
  return [...m.values()]
    .map((b) => {
      const answered = b.accepted + b.overridden;
      return { ...b, overrideRate: answered === 0 ? null : b.overridden / answered };
    })
    .sort((a, b) => b.cardsShown - a.cardsShown || (a.id < b.id ? -1 : 1));
}

const countCells = (c: Counts) =>
  `<td class="num">${c.cardsShown}</td><td class="num">${c.accepted}</td><td class="num">${c.overridden}</td><td class="num">${c.noFeedback}</td><td class="num">${pct(c.overrideRate)}</td>`;
const COUNT_HEADS = ['Cards shown', 'Accepted', 'Overridden', 'No feedback', 'Override rate'];
const heads = (names: string[]) => `<thead><tr>${names.map((h) => `<th scope="col">${h}</th>`).join('')}</tr></thead>`;

export function renderTable(rows: OverrideAnalyticsRow[], labels: AnalyticsLabels = NO_LABELS): string {
  const body = rows
    .map((r) => {
      const reasons =
        r.topOverrideReasons.length === 0
          ? '–'
          : `<ol>${r.topOverrideReasons.map((x) => `<li><span title="${escapeHtml(x.code)}">${escapeHtml(reasonText(labels, x))}</span>: ${x.count}</li>`).join('')}</ol>`;
      const crit = `<ul class="crit">${r.criteria
        .map((c) => `<li>${escapeHtml(criterionName(labels, r.policyId, c.criterion))}: ${c.cardsShown} shown, ${c.overridden} overridden</li>`)
        .join('')}</ul>`;
      return (
        `<tr><td><span title="week starting ${escapeHtml(r.weekStart)}">${escapeHtml(r.week)}</span><br><span class="sub">${escapeHtml(r.weekStart)}</span></td>` +
        `<td>${escapeHtml(r.policyId)}</td>${countCells(r)}<td>${reasons}</td><td>${crit}</td></tr>`
      );
    })
    .join('');
  return `<table id="overrides">${heads(['Week', 'Policy', ...COUNT_HEADS, 'Top override reasons', 'Criteria the cards spoke for'])}<tbody>${body}</tbody></table>`;
}

function breakdownTable(id: string, keyHead: string, rows: BreakdownRow[], keyText: (k: string) => string = (k) => k): string {
  const body = rows.map((r) => `<tr><td>${escapeHtml(keyText(r.key))}</td>${countCells(r)}</tr>`).join('');
  return `<table id="${id}" class="breakdown">${heads([keyHead, ...COUNT_HEADS])}<tbody>${body}</tbody></table>`;
}

const OUTCOME_TEXT: Record<string, string> = {
  'not-covered': 'not covered',
  conditional: 'conditional (documentation missing)',
  covered: 'covered',
  'no-policy': 'no policy',
  indeterminate: 'indeterminate',
};

export function renderReport(report: AnalyticsReport, filter: AnalyticsFilter, generatedAt: Date, labels: AnalyticsLabels = NO_LABELS): string {
  const period =
    filter.from || filter.to ? `${escapeHtml(filter.from ?? 'the beginning')} to ${escapeHtml(filter.to ?? 'today')}` : 'all stored data';
  const policy = filter.policyId ? `, policy ${escapeHtml(filter.policyId)}` : '';
  const rows = report.rows;
  const csv = new URLSearchParams({ ...(filter as Record<string, string>), format: 'csv' }).toString();
  const criteriaBars: ChartBar[] = report.criteria.map((c) => ({
    ...c,
    id: `${c.policyId}·${c.criterion}`,
    label: `${criterionName(labels, c.policyId, c.criterion)}${new Set(report.criteria.map((x) => x.policyId)).size > 1 ? ` (${c.policyId === '(none)' ? 'no policy' : c.policyId})` : ''}`,
  }));
  const shared =
    report.sharedCards.length === 0
      ? ''
      : `<h2>Reference and form-app cards</h2><p class="defs">Not findings: counted apart, so closing them is not an override.</p><table id="shared" class="breakdown">${heads(['Card', 'Shown', 'Used (accepted)', 'Dismissed'])}<tbody>${report.sharedCards
          .map((s) => `<tr><td>${s.kind === 'reference' ? 'Policy reference' : 'Documentation form app'}</td><td class="num">${s.cardsShown}</td><td class="num">${s.accepted}</td><td class="num">${s.dismissed}</td></tr>`)
          .join('')}</tbody></table>`;
  const content =
    rows.length === 0
      ? `<p id="empty">No cards were shown in this period${policy}.</p>`
      : `<h2>Cards per policy</h2>${renderChartSvg(policyBars(rows), 'chart', 'Cards shown per policy, split by clinician response')}` +
        `<h2>Criteria the cards spoke for</h2><p class="defs">A card counts once under each criterion it names; these bars do not add up to the cards shown.</p>${renderChartSvg(criteriaBars, 'criteria-chart', 'Cards per criterion, split by clinician response')}` +
        `<h2>Per week</h2>${renderTable(rows, labels)}` +
        `<h2>By coverage outcome</h2>${breakdownTable('by-outcome', 'Outcome', report.byOutcome, (k) => OUTCOME_TEXT[k] ?? k)}` +
        `<h2>By ordering practitioner</h2><p class="defs">Practitioners are shown as a keyed hash only.</p>${breakdownTable('by-practitioner', 'Practitioner (hash)', report.byPractitioner)}` +
        `<h2>By site</h2>${breakdownTable('by-site', 'Site', report.bySite)}` +
        shared;
  return (
    `<section id="report" data-rows="${rows.length}">` +
    `<p class="meta">Period: ${period}${policy}. Generated ${escapeHtml(generatedAt.toISOString())}. <a id="csv" href="/analytics/overrides?${escapeHtml(csv)}" download>Download CSV</a></p>` +
    content +
    `</section>`
  );
}

const csvCell = (v: unknown) => {
  const s = v === null || v === undefined ? '' : String(v);
  // Quote when needed; a leading = + - @ is neutralised so a spreadsheet never runs it as a formula.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
};

/** The report as one long CSV: one line per (dimension, key) with the same counts; criteria with their labels. */
export function reportCsv(report: AnalyticsReport, labels: AnalyticsLabels = NO_LABELS): string {
  const lines: unknown[][] = [
    ['dimension', 'policy_id', 'week', 'week_start', 'key', 'label', 'cards_shown', 'accepted', 'overridden', 'no_feedback', 'override_rate', 'top_override_reasons'],
  ];
  const counts = (c: Counts) => [c.cardsShown, c.accepted, c.overridden, c.noFeedback, c.overrideRate ?? ''];
  for (const r of report.rows) {
    const reasons = r.topOverrideReasons.map((x) => `${reasonText(labels, x)} (${x.count})`).join('; ');
    lines.push(['policy-week', r.policyId, r.week, r.weekStart, r.policyId, r.policyId, ...counts(r), reasons]);
    for (const c of r.criteria) lines.push(['criterion-week', r.policyId, r.week, r.weekStart, c.criterion, criterionName(labels, r.policyId, c.criterion), ...counts(c), '']);
  }
  for (const c of report.criteria) lines.push(['criterion', c.policyId, '', '', c.criterion, criterionName(labels, c.policyId, c.criterion), ...counts(c), '']);
  for (const [dimension, list] of [
    ['outcome', report.byOutcome],
    ['practitioner', report.byPractitioner],
    ['site', report.bySite],
  ] as const) {
    for (const b of list) lines.push([dimension, '', '', '', b.key, dimension === 'outcome' ? (OUTCOME_TEXT[b.key] ?? b.key) : b.key, ...counts(b), '']);
  }
  return lines.map((l) => l.map(csvCell).join(',')).join('\r\n') + '\r\n';
}

export interface PageOptions {
  nonce: string;
  filter: AnalyticsFilter;
  /** Present when the request was authenticated: the report is rendered into the page. */
  report?: AnalyticsReport;
  generatedAt?: Date;
  labels?: AnalyticsLabels;
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
tbody tr:nth-child(even){background:#fafafa} ol,ul.crit{margin:0;padding-left:1.2rem} ul.crit{font-size:.8rem}
svg.chart{max-width:100%;height:auto} table.breakdown{width:auto;min-width:50%}
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
  // The CSV needs the bearer header too: fetch it, then hand the browser a blob to save.
  document.addEventListener('click', async (e) => {
    const a = e.target && e.target.closest ? e.target.closest('a#csv') : null;
    if (!a || a.dataset.blob) return;
    e.preventDefault();
    const token = sessionStorage.getItem(KEY);
    const res = await fetch(a.getAttribute('href'), { headers: token ? { Authorization: 'Bearer ' + token } : {}, cache: 'no-store' });
    if (!res.ok) { $('status').textContent = 'CSV export failed (' + res.status + ')'; return; }
    const link = document.createElement('a');
    link.href = URL.createObjectURL(await res.blob());
    link.download = 'pumpcheck-overrides.csv';
    link.dataset.blob = '1';
    document.body.appendChild(link); link.click(); link.remove();
  });
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
  const rendered = opts.report !== undefined;
  const report = rendered ? renderReport(opts.report!, filter, opts.generatedAt ?? new Date(), opts.labels) : '<section id="report"></section>';
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
  <p class="defs">Each card an order's finding produced counts once, in the ISO week (UTC) it was shown; the criteria it spoke
  for are a breakdown. A card counts as <b>accepted</b> if any response accepted it (a suggestion taken, even if the card
  was then dismissed), as <b>overridden</b> if it was only ever overridden (the reason of its latest override counts).
  Override rate = overridden ÷ (accepted + overridden). Reference and form-app cards are counted apart.</p>
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
