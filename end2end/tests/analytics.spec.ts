import { test, expect, type APIRequestContext, type Page } from '@playwright/test';
import { ADMIN_PASSWORD, adminToken, hydrated, publishApi, shot, signIn, watchErrors } from './helpers';

const GATEWAY = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8280';
const BASE = process.env.BASE_URL ?? 'http://127.0.0.1:3000';
const D = '/api/am/devportal/v3';

/** Reloads `page` until the analytics panel counts `want` requests (events arrive within a second or two). */
async function untilRequests(page: Page, panel: string, want: (n: number) => boolean) {
  await expect.poll(async () => {
    await page.reload();
    const figure = page.locator(`[data-testid="${panel}"]`).getByTestId('analytics-requests');
    if (!(await figure.isVisible())) return false;
    return want(Number((await figure.innerText()).replace(/,/g, '')));
  }, { timeout: 20_000, intervals: [500, 1_000] }).toBe(true);
}

async function clientToken(request: APIRequestContext, key: { consumerKey: string; consumerSecret: string }) {
  const r = await request.post('/oauth2/token', {
    headers: { Authorization: `Basic ${Buffer.from(`${key.consumerKey}:${key.consumerSecret}`).toString('base64')}` },
    form: { grant_type: 'client_credentials' },
  });
  expect(r.ok(), await r.text()).toBeTruthy();
  return (await r.json()).access_token as string;
}

test('the publisher, the application developer and the admin see the gateway traffic as charts, with a range picker and empty states', async ({ page, request }) => {
  const errors = watchErrors(page);
  const token = await adminToken(request, 'apim:api_view apim:api_create apim:api_publish apim:api_manage apim:api_delete apim:subscribe apim:app_manage apim:sub_manage');
  const auth = { Authorization: `Bearer ${token}` };
  const name = `Metered Pizza ${Date.now()}`;
  const context = `/metered-${Date.now()}`;
  const api = await publishApi(request, token, {
    name, context, version: '1.0.0', policies: ['Unlimited'],
    endpointConfig: { endpoint_type: 'http', production_endpoints: { url: `${BASE}/demo-backend/pizzashack` } },
    operations: [{ target: '/menu', verb: 'GET' }],
  });
  // An application of the admin's, subscribed, with production keys.
  const created = await request.post(`${D}/applications`, { headers: auth, data: { name: `${name} app`, throttlingPolicy: 'Unlimited' } });
  expect(created.status(), await created.text()).toBe(201);
  const appId = (await created.json()).applicationId as string;
  const key = await request.post(`${D}/applications/${appId}/generate-keys`, {
    headers: auth, data: { keyType: 'PRODUCTION', grantTypesToBeSupported: ['client_credentials'] },
  });
  expect(key.ok(), await key.text()).toBeTruthy();
  const sub = await request.post(`${D}/subscriptions`, { headers: auth, data: { applicationId: appId, apiId: api.id, throttlingPolicy: 'Unlimited' } });
  expect(sub.ok(), await sub.text()).toBeTruthy();
  const appToken = await clientToken(request, await key.json());
  // The other specs expect a catalogue without this API: it goes at the end, pass or fail.
  try {

    // Before any call: the application's usage and the API's analytics say what will fill them.
    await signIn(page, 'admin', ADMIN_PASSWORD, `/devportal/applications/${appId}`);
    await hydrated(page);
    await expect(page.getByTestId('application-usage').getByTestId('analytics-empty')).toContainText('No traffic in this range');
    await page.goto(`/publisher/apis/${api.id}/analytics`);
    await expect(page.getByTestId('analytics-empty')).toBeVisible();

    // 4 calls with the application's token, 2 refused without one.
    await expect.poll(async () => (await request.get(`${GATEWAY}${context}/1.0.0/menu`, { headers: { Authorization: `Bearer ${appToken}` } })).status(),
      { timeout: 10_000 }).toBe(200);
    for (let i = 0; i < 3; i++) {
      expect((await request.get(`${GATEWAY}${context}/1.0.0/menu`, { headers: { Authorization: `Bearer ${appToken}` } })).status()).toBe(200);
    }
    for (let i = 0; i < 2; i++) {
      expect((await request.get(`${GATEWAY}${context}/1.0.0/menu`)).status()).toBe(401);
    }

    // Publisher: the API's 6 requests, 2 errors by authentication, the application on top.
    await page.goto(`/publisher/apis/${api.id}/analytics?range=1h`);
    await untilRequests(page, 'analytics', (n) => n === 6);
    await hydrated(page);
    await expect(page.getByTestId('analytics-errors')).toContainText('2 (33.3 %)');
    await expect(page.getByTestId('traffic-chart').locator('g[data-t]')).not.toHaveCount(0);
    await expect(page.getByTestId('traffic-chart').locator('title').first()).toContainText('requests');
    await expect(page.getByTestId('latency-chart').locator('path[data-series="p99"]')).toHaveAttribute('d', /^M/);
    await expect(page.getByTestId('errors-by-cause')).toContainText('Authentication');
    await expect(page.getByTestId('top-applications')).toContainText(`${name} app`);
    await expect(page.getByTestId('top-operations')).toContainText('GET /menu');
    await shot(page, 'publisher-api-analytics');
    // Another range, picked in the page: the same traffic, more steps.
    await page.getByTestId('range-picker').getByRole('link', { name: '7d' }).click();
    await expect(page).toHaveURL(/range=7d/);
    await expect(page.getByTestId('range-picker').locator('[aria-current="true"]')).toHaveText('7d');
    await expect(page.getByTestId('analytics-requests')).toHaveText('6');

    // Developer Portal: the application's own 4 calls, on this API.
    await page.goto(`/devportal/applications/${appId}`);
    await untilRequests(page, 'application-usage', (n) => n === 4);
    const usage = page.getByTestId('application-usage');
    await expect(usage.getByTestId('analytics-errors')).toContainText('0 (0.0 %)');
    await expect(usage.getByTestId('top-apis')).toContainText(name);
    await shot(page, 'devportal-application-usage');

    // Admin: the organization's traffic, this API among the top ones.
    await page.goto('/admin');
    await page.locator('[data-section="analytics"]').click();
    await expect(page).toHaveURL(/\/admin\/analytics/);
    await untilRequests(page, 'analytics', (n) => n >= 6);
    await expect(page.getByTestId('top-apis')).toContainText(name);
    await expect(page.getByTestId('traffic-chart')).toBeVisible();
    await shot(page, 'admin-analytics');
    expect(errors).toEqual([]);
  } finally {
    expect((await request.delete(`${D}/applications/${appId}`, { headers: auth })).ok()).toBeTruthy();
    const gone = await request.delete(`/api/am/publisher/v4/apis/${api.id}`, { headers: auth });
    expect(gone.ok(), await gone.text()).toBeTruthy();
  }
});
