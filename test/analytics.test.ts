// Admin HTTP endpoints and the /analytics page, on the real app (test/support/app.ts composes it as main.ts does)
// with a real store, for both engines. The page is driven in headless Chromium (Debian's /usr/bin/chromium).
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { chromium, type Browser } from 'playwright-core';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminRouter } from '../src/http/admin.js';
import { silentLogger } from '../src/logger.js';
import type { Store } from '../src/store/index.js';
import { testApp } from './support/app.js';
import { assertion, createFixture, ENGINES, seedAnalyticsDataset, type EngineFixture } from './store-support.js';

// Browser globals used inside page callbacks (they run in Chromium; the project compiles without lib "dom").
/* eslint-disable @typescript-eslint/no-explicit-any */
declare const document: any;
declare const sessionStorage: any;
declare const Image: any;

const TOKEN = 'admin-token-for-tests-0123456789';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Criterion labels as a policy gives them; k1's is long enough that a clipped chart label would lose most of it. */
const LABELS = {
  k1: 'glucose self-testing at least 4 times per day during the 2 months before the pump',
  k2: 'fasting C-peptide',
  k3: 'diabetes education',
  m1: 'visit within 3 months',
} as const;
const labels = { criterion: (_p: string, c: string) => (LABELS as Record<string, string>)[c], reason: () => undefined };

function appWith(store: Store, adminToken: string | undefined) {
  // Many deliberate wrong-token requests: the failed-auth throttle (tested in test/hardening.test.ts) is set out of reach.
  return testApp(adminToken ? { ADMIN_TOKEN: adminToken, AUTH_FAILURES_PER_MINUTE: '10000' } : { AUTH_FAILURES_PER_MINUTE: '10000' }, {
    feedbackStore: store.feedbackStore,
    assertionSink: store.assertionSink,
    adminRouter: adminRouter({ store, adminToken, logger: silentLogger, labels }),
  });
}

describe.each(ENGINES)('admin endpoints and /analytics on %s', (engine) => {
  let fx: EngineFixture;
  let store: Store;
  let expected: Record<string, unknown>;
  let t: ReturnType<typeof appWith>;

  beforeAll(async () => {
    fx = await createFixture(engine);
    store = await fx.open();
    ({ expected } = (await seedAnalyticsDataset(store)) as { expected: Record<string, unknown> });
    t = appWith(store, TOKEN);
  });

  afterAll(async () => {
    t?.close();
    await store?.close();
    await fx?.dispose();
  });

  describe('admin token', () => {
    const paths = ['/coverage-assertions/anything', '/analytics/overrides', '/analytics'];

    it('answers 404 on every admin route when ADMIN_TOKEN is not configured (never open)', async () => {
      const off = appWith(store, undefined);
      try {
        for (const path of paths) {
          const res = await request(off.app).get(path).set('Authorization', `Bearer ${TOKEN}`);
          expect(res.status, path).toBe(404);
          expect(res.body.resourceType).toBe('OperationOutcome');
        }
      } finally {
        off.close();
      }
    });

    it('refuses a missing or wrong token with 401 and accepts the right one', async () => {
      for (const path of ['/coverage-assertions/anything', '/analytics/overrides']) {
        const none = await request(t.app).get(path);
        expect(none.status, path).toBe(401);
        expect(none.headers['www-authenticate']).toBe('Bearer');
        for (const header of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, 'Bearer ', `Basic ${TOKEN}`, TOKEN]) {
          const wrong = await request(t.app).get(path).set('Authorization', header);
          expect(wrong.status, `${path} ${header}`).toBe(401);
        }
      }
      const ok = await request(t.app).get('/analytics/overrides').set('Authorization', `Bearer ${TOKEN}`);
      expect(ok.status).toBe(200);
      // The page shell carries no data and needs no token; with a wrong token it is refused.
      expect((await request(t.app).get('/analytics')).status).toBe(200);
      expect((await request(t.app).get('/analytics').set('Authorization', 'Bearer nope')).status).toBe(401);
    });
  });

  it('GET /coverage-assertions/{id} returns the stored assertion with its feedback; 404 when unknown', async () => {
    const a = assertion();
    store.assertionSink.record(a);
    await store.assertionSink.flush();
    await store.feedbackStore.saveFeedback('pumpcheck-order-sign', [
      { card: a.cards[0]!.uuid, outcome: 'accepted', outcomeTimestamp: '2025-01-08T10:09:00Z' },
    ]);
    const res = await request(t.app).get(`/coverage-assertions/${encodeURIComponent(a.id)}`).set('Authorization', `Bearer ${TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.body).toMatchObject({ ...a, feedback: [{ card: a.cards[0]!.uuid, outcome: 'accepted' }] });
    const missing = await request(t.app).get('/coverage-assertions/does-not-exist').set('Authorization', `Bearer ${TOKEN}`);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ resourceType: 'OperationOutcome', issue: [{ code: 'not-found' }] });
  });

  it('GET /analytics/overrides returns the figures and validates its parameters', async () => {
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const res = await request(t.app).get('/analytics/overrides?from=2024-03-01&to=2024-03-31').set(auth);
    expect(res.status).toBe(200);
    for (const [key, value] of Object.entries(expected)) expect(res.body[key], key).toEqual(value);
    expect(res.body.filter).toEqual({ from: '2024-03-01', to: '2024-03-31' });
    const polY = await request(t.app).get('/analytics/overrides?from=2024-03-01&to=2024-03-31&policyId=pol-y').set(auth);
    expect(polY.body.rows.map((r: { policyId: string; cardsShown: number }) => `${r.policyId}|${r.cardsShown}`)).toEqual(['pol-y|2']);

    const bad: [string, string][] = [
      ['from=2024-13-01', 'from'],
      ['from=2024-02-30', 'from'],
      ['to=yesterday', 'to'],
      ['from=2024-03-10&to=2024-03-01', 'from'],
      ['policyId=%3Cscript%3E', 'policyId'],
      ['from=2024-03-01&from=2024-03-02', 'from'],
      ['token=abc', 'token'],
      ['format=xml', 'format'],
    ];
    for (const [query, param] of bad) {
      const r = await request(t.app).get(`/analytics/overrides?${query}`).set(auth);
      expect(r.status, query).toBe(400);
      expect(r.body.issue[0].expression, query).toEqual([param]);
    }
  });

  it('exports the same figures as CSV (?format=csv), with labels and known answers', async () => {
    const auth = { Authorization: `Bearer ${TOKEN}` };
    expect((await request(t.app).get('/analytics/overrides?format=csv')).status).toBe(401);
    const res = await request(t.app).get('/analytics/overrides?from=2024-03-01&to=2024-03-31&format=csv').set(auth);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toMatch(/attachment; filename="pumpcheck-overrides-2024-03-01-to-2024-03-31\.csv"/);
    const lines = res.text.trimEnd().split('\r\n');
    expect(lines[0]).toBe('dimension,policy_id,week,week_start,key,label,cards_shown,accepted,overridden,no_feedback,override_rate,top_override_reasons');
    expect(lines).toContain('policy-week,pol-x,2024-W10,2024-03-04,pol-x,pol-x,7,3,3,1,0.5,Reason R1 (2); Reason R3 (1)');
    expect(lines).toContain(`criterion,pol-x,,,k1,${LABELS.k1},6,2,3,1,0.6,`);
    expect(lines).toContain('outcome,,,,conditional,conditional (documentation missing),5,2,2,1,0.5,');
    expect(lines).toContain(`practitioner,,,,${'b'.repeat(12)},${'b'.repeat(12)},3,2,1,0,0.3333,`);
    expect(lines).toContain('site,,,,Organization/site-1,Organization/site-1,6,2,4,0,0.6667,');
    // 3 policy-weeks, 6 criterion-weeks, 6 criteria, 3 outcomes, 4 practitioners, 3 sites, and the header.
    expect(lines).toHaveLength(1 + 3 + 6 + 6 + 3 + 4 + 3);
  });

  it('answers 503 with Retry-After when the database is down (admin and feedback routes)', async () => {
    const a = assertion();
    store.assertionSink.record(a);
    await store.assertionSink.flush();
    const feedback = {
      feedback: [
        {
          card: a.cards[0]!.uuid,
          outcome: 'accepted',
          acceptedSuggestions: [{ id: a.cards[0]!.suggestionUuids[0] }],
          outcomeTimestamp: '2025-01-08T16:00:00Z',
        },
      ],
    };
    await fx.cut();
    try {
      const admin = await request(t.app).get('/analytics/overrides').set('Authorization', `Bearer ${TOKEN}`);
      expect(admin.status).toBe(503);
      expect(admin.headers['retry-after']).toBe('5');
      const fb = await request(t.app).post('/cds-services/pumpcheck-order-sign/feedback').send(feedback);
      expect(fb.status, JSON.stringify(fb.body)).toBe(503);
      expect(fb.headers['retry-after']).toBeDefined();
    } finally {
      await fx.restore();
    }
    const stored = await request(t.app).post('/cds-services/pumpcheck-order-sign/feedback').send(feedback);
    expect(stored.status).toBe(200);
    expect(stored.body).toEqual({ stored: 1, duplicates: 0, orphans: 0 });
    const again = await request(t.app).post('/cds-services/pumpcheck-order-sign/feedback').send(feedback);
    expect(again.body).toEqual({ stored: 0, duplicates: 1, orphans: 0 });
    expect((await store.getAssertion(a.id))!.feedback).toHaveLength(1);
  });

  it('GET /analytics renders the report server-side only for a request carrying the token', async () => {
    const shell = await request(t.app).get('/analytics?from=2024-03-01&to=2024-03-31');
    expect(shell.status).toBe(200);
    expect(shell.headers['content-type']).toMatch(/^text\/html/);
    expect(shell.text).toContain('id="login"');
    expect(shell.text).not.toContain('pol-x');
    expect(shell.text).not.toContain('<table');
    const csp = shell.headers['content-security-policy'] as string;
    expect(csp).toMatch(/default-src 'none'/);
    const nonce = /script-src 'nonce-([^']+)'/.exec(csp)?.[1];
    expect(nonce).toBeTruthy();
    expect(shell.text).toContain(`<script nonce="${nonce}">`);

    const full = await request(t.app).get('/analytics?from=2024-03-01&to=2024-03-31').set('Authorization', `Bearer ${TOKEN}`);
    expect(full.status).toBe(200);
    expect(full.text).toContain('data-rendered="true"');
    // Policy chart (3 bars) + criteria chart (6 bars).
    expect(full.text.match(/<g class="bar"/g)).toHaveLength(9);
    expect(full.text).toContain(LABELS.k1.split(' ').slice(-3).join(' '));
    expect(full.text).not.toContain('Reason R1 (R1)');
    expect(full.headers['vary']).toMatch(/Authorization/);

    // The page script asks for the report section alone; that is data, so it needs the token.
    const fragmentNoToken = await request(t.app).get('/analytics').set('X-Pumpcheck-Fragment', 'report');
    expect(fragmentNoToken.status).toBe(401);
    const fragment = await request(t.app)
      .get('/analytics?policyId=pol-y')
      .set('X-Pumpcheck-Fragment', 'report')
      .set('Authorization', `Bearer ${TOKEN}`);
    expect(fragment.status).toBe(200);
    expect(fragment.text).toMatch(/^<section id="report" data-rows="1">/);
    expect(fragment.text).not.toContain('<script');
  });

  describe('in headless Chromium', () => {
    let browser: Browser;
    let server: Server;
    let base: string;

    beforeAll(async () => {
      server = await new Promise<Server>((resolve) => {
        const s = t.app.listen(0, '127.0.0.1', () => resolve(s));
      });
      base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    });

    afterAll(async () => {
      await browser?.close();
      await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    });

    it('logs in with the token, shows the table and a rendered chart, filters, and forgets the token', async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 1000 }, acceptDownloads: true });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on('console', (m) => {
        // The refused login attempt below is expected to log its 401.
        if (m.type() === 'error' && !m.text().includes('status of 401')) problems.push(m.text());
      });
      page.on('pageerror', (e) => problems.push(e.message));
      const urls: string[] = [];
      page.on('request', (r) => urls.push(r.url()));

      await page.goto(`${base}/analytics?from=2024-03-01&to=2024-03-31`);
      expect(await page.isVisible('#login')).toBe(true);
      expect(await page.locator('#overrides').count()).toBe(0);

      await page.fill('#token', 'not-the-admin-token-000000');
      await page.click('#login button[type=submit]');
      await page.waitForFunction(() => document.getElementById('login-error')?.textContent?.includes('refused'));
      expect(await page.isVisible('#login')).toBe(true);

      await page.fill('#token', TOKEN);
      await page.click('#login button[type=submit]');
      await page.waitForSelector('#overrides tbody tr');
      const rows = await page.$$eval('#overrides tbody tr', (trs) =>
        trs.map((tr) => [...(tr as any).cells as any[]].map((td) => td.innerText.trim().replace(/\s+/g, ' '))),
      );
      expect(rows).toEqual([
        [
          '2024-W10 2024-03-04', 'pol-x', '7', '3', '3', '1', '50.0 %', 'Reason R1: 2 Reason R3: 1',
          `${LABELS.k1}: 6 shown, 3 overridden ${LABELS.k2}: 3 shown, 2 overridden ${LABELS.k3}: 1 shown, 1 overridden`,
        ],
        ['2024-W11 2024-03-11', '(none)', '1', '0', '0', '1', '–', '–', `${LABELS.m1}: 1 shown, 0 overridden`],
        ['2024-W11 2024-03-11', 'pol-y', '2', '1', '1', '0', '50.0 %', '–', `card with no criterion: 1 shown, 0 overridden ${LABELS.m1}: 1 shown, 1 overridden`],
      ]);
      const outcomes = await page.$$eval('#by-outcome tbody tr', (trs) => trs.map((tr) => (tr as any).innerText.replace(/\s+/g, ' ').trim()));
      expect(outcomes).toEqual(['conditional (documentation missing) 5 2 2 1 50.0 %', 'not covered 4 2 2 0 50.0 %', 'no policy 1 0 0 1 –']);
      expect(await page.$$eval('#by-practitioner tbody tr', (trs) => trs.length)).toBe(4);
      expect(await page.$$eval('#shared tbody tr', (trs) => trs.map((tr) => (tr as any).innerText.replace(/\s+/g, ' ').trim()))).toEqual([
        'Policy reference 2 0 2',
        'Documentation form app 1 1 0',
      ]);

      // The policy chart: one bar per policy, each laid out with a non-zero size, length proportional to cards shown.
      const bars = await page.$$eval('#chart g.bar', (gs) =>
        gs.map((g) => {
          const segs = [...(g as any).querySelectorAll('rect.seg')].map((r: any) => r.getBBox() as { width: number; height: number });
          return { id: g.getAttribute('data-id'), barWidth: segs.reduce((n, x) => n + x.width, 0), barHeight: Math.max(...segs.map((x) => x.height)) };
        }),
      );
      expect(bars.map((b) => b.id)).toEqual(['pol-x', 'pol-y', '(none)']);
      for (const b of bars) {
        expect(b.barWidth).toBeGreaterThan(0);
        expect(b.barHeight).toBeGreaterThan(0);
      }
      expect(bars[0]!.barWidth / bars[1]!.barWidth).toBeCloseTo(3.5, 1);

      // Criterion labels are whole: wrapped over lines, every line inside the drawing, none cut.
      const labelsDrawn = await page.$$eval('#criteria-chart g.bar text.label', (ts) =>
        ts.map((t) => ({ text: [...(t as any).querySelectorAll('tspan')].map((x: any) => x.textContent).join(' '), lines: (t as any).querySelectorAll('tspan').length, x: (t as any).getBBox().x })),
      );
      const long = labelsDrawn.find((l) => l.text === `${LABELS.k1} (pol-x)`);
      expect(long, JSON.stringify(labelsDrawn)).toBeDefined();
      expect(long!.lines).toBeGreaterThan(1);
      for (const l of labelsDrawn) expect(l.x).toBeGreaterThanOrEqual(0);

      // CSV download through the page (the token goes in a header).
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
      const csvPath = await download.path();
      const { readFile } = await import('node:fs/promises');
      expect((await readFile(csvPath!, 'utf8')).split('\r\n')[0]).toMatch(/^dimension,policy_id/);

      // Screenshot check: a PNG that differs from a blank element of the same size, and contains the bar colours.
      const chart = page.locator('#chart');
      // caret: 'initial' stops Playwright injecting a <style> (which the page's CSP would rightly block).
      const png = await chart.screenshot({ type: 'png', caret: 'initial' });
      expect(png.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
      const size = await chart.boundingBox();
      await page.evaluate(({ w, h }) => {
        const blank = document.createElement('div');
        blank.id = 'blank';
        blank.style.width = `${w}px`;
        blank.style.height = `${h}px`;
        blank.style.background = '#ffffff';
        document.body.appendChild(blank);
      }, { w: size!.width, h: size!.height });
      const blankPng = await page.locator('#blank').screenshot({ type: 'png', caret: 'initial' });
      expect(png.equals(blankPng)).toBe(false);
      const colours = await (async () => {
        const scratch = await context.newPage();
        try {
          return await scratch.evaluate(async (b64) => {
            const img = new Image();
            img.src = `data:image/png;base64,${b64}`;
            await img.decode();
            const canvas = document.createElement('canvas');
            canvas.width = img.width;
            canvas.height = img.height;
            const ctx = canvas.getContext('2d')!;
            ctx.drawImage(img, 0, 0);
            const data = ctx.getImageData(0, 0, img.width, img.height).data;
            const near = (i: number, r: number, g: number, bl: number) =>
              Math.abs(data[i]! - r) < 24 && Math.abs(data[i + 1]! - g) < 24 && Math.abs(data[i + 2]! - bl) < 24;
            let red = 0;
            let green = 0;
            let grey = 0;
            for (let i = 0; i < data.length; i += 4) {
              if (near(i, 0xc6, 0x28, 0x28)) red++;
              else if (near(i, 0x2e, 0x7d, 0x32)) green++;
              else if (near(i, 0x9e, 0x9e, 0x9e)) grey++;
            }
            return { red, green, grey };
          }, png.toString('base64'));
        } finally {
          await scratch.close();
        }
      })();
      expect(colours.red).toBeGreaterThan(100);
      expect(colours.green).toBeGreaterThan(100);
      expect(colours.grey).toBeGreaterThan(100);

      // Filtering by policy re-fetches with the header (no navigation, no token in the URL).
      await page.fill('#f-policyId', 'pol-y');
      await page.click('#filters button[type=submit]');
      await page.waitForFunction(() => document.querySelectorAll('#overrides tbody tr').length === 1);
      expect(await page.$$eval('#chart g.bar', (gs) => gs.length)).toBe(1);
      expect(page.url()).toContain('policyId=pol-y');

      expect(await page.evaluate(() => sessionStorage.getItem('pumpcheck.adminToken'))).toBe(TOKEN);
      await page.click('#logout');
      expect(await page.isVisible('#login')).toBe(true);
      expect(await page.evaluate(() => sessionStorage.getItem('pumpcheck.adminToken'))).toBeNull();
      expect(await page.locator('#overrides').count()).toBe(0);

      expect(urls.length).toBeGreaterThan(0);
      for (const u of urls) expect(u).not.toContain(TOKEN);
      expect(problems).toEqual([]);
      await context.close();
    });

    it('renders directly when a reverse proxy adds the bearer header', async () => {
      const context = await browser.newContext({ extraHTTPHeaders: { Authorization: `Bearer ${TOKEN}` } });
      const page = await context.newPage();
      await page.goto(`${base}/analytics?from=2024-03-01&to=2024-03-31`);
      expect(await page.isVisible('#login')).toBe(false);
      expect(await page.$$eval('#overrides tbody tr', (trs) => trs.length)).toBe(3);
      expect(await page.$$eval('#chart g.bar', (gs) => gs.length)).toBe(3);
      await context.close();
    });
  });
});
