import { test, expect, type APIRequestContext } from '@playwright/test';
import { DEMO_PASSWORD, adminToken, hydrated, publishApi, shot, signIn, signOut, watchErrors } from './helpers';

const GATEWAY = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8280';
const BASE = process.env.BASE_URL ?? 'http://127.0.0.1:3000';

async function setApprovals(request: APIRequestContext, token: string, on: boolean) {
  const r = await request.put('/api/am/admin/v4/workflow-settings', {
    headers: { Authorization: `Bearer ${token}` },
    data: {
      list: [
        { workflowType: 'APPLICATION_CREATION', enabled: on },
        { workflowType: 'SUBSCRIPTION_CREATION', enabled: on, tiers: on ? ['Gold'] : [] },
      ],
    },
  });
  expect(r.status(), await r.text()).toBe(200);
}

test('with approvals on, a new application and a Gold subscription wait until a workflow admin approves them in the Admin portal; the gateway refuses the subscription until then', async ({ page, request }) => {
  const errors = watchErrors(page);
  const token = await adminToken(request, 'apim:admin apim:api_view apim:api_create apim:api_publish apim:api_manage');
  const api = await publishApi(request, token, {
    name: 'Approved Pizza', context: '/approved-pizza', version: '1.0.0', policies: ['Gold', 'Bronze'],
    endpointConfig: { endpoint_type: 'http', production_endpoints: { url: `${BASE}/demo-backend/pizzashack` } },
    operations: [{ target: '/menu', verb: 'GET' }],
  });
  await setApprovals(request, token, true);
  try {
    // The developer's new application waits: no keys until approved.
    await signIn(page, 'subscriber', DEMO_PASSWORD, '/devportal/applications');
    await hydrated(page);
    await page.getByLabel('Name').fill('Approval app');
    await page.getByRole('button', { name: 'Create application' }).click();
    await expect(page).toHaveURL(/\/devportal\/applications\/[0-9a-f-]{36}$/);
    const appUrl = new URL(page.url()).pathname;
    await expect(page.getByTestId('application-status')).toHaveText('Waiting for approval');
    await expect(page.getByTestId('application-pending')).toBeVisible();
    await expect(page.getByTestId('keys-PRODUCTION')).toHaveCount(0);
    await shot(page, 'devportal-application-pending');
    await signOut(page);

    // The workflow admin sees the request with its details, but not the key-manager section.
    await signIn(page, 'workflow-admin', DEMO_PASSWORD, '/admin/workflows');
    await hydrated(page);
    await expect(page.locator('a[href="/admin/key-managers"]')).toHaveCount(0);
    const card = page.locator('[data-type="APPLICATION_CREATION"]', { hasText: 'Approval app' });
    await expect(card).toContainText('asked by subscriber');
    await card.getByLabel('Comment (kept with the decision)').fill('Looks fine');
    await shot(page, 'admin-approvals');
    await card.getByRole('button', { name: 'Approve' }).click();
    await expect(card).toHaveCount(0);
    await page.locator('[data-tab="APPROVED"]').click();
    await expect(page.locator('[data-type="APPLICATION_CREATION"]', { hasText: 'Approval app' })).toContainText('“Looks fine”');
    await signOut(page);

    // Approved: keys; a Gold subscription waits ON_HOLD and the gateway refuses it.
    await signIn(page, 'subscriber', DEMO_PASSWORD, appUrl);
    await hydrated(page);
    await expect(page.getByTestId('application-status')).toHaveText('Active');
    const keys = page.getByTestId('keys-PRODUCTION');
    await keys.getByRole('button', { name: 'Generate keys' }).click();
    await expect(keys.getByTestId('consumer-secret')).not.toContainText('••');
    await page.goto(`/devportal/apis/${api.id}`);
    await hydrated(page);
    const subscribe = page.getByTestId('subscribe');
    await subscribe.getByLabel('Application').selectOption({ label: 'Approval app' });
    await subscribe.getByLabel('Tier').selectOption('Gold');
    await subscribe.getByRole('button', { name: 'Subscribe' }).click();
    await expect(subscribe.locator('[data-status="ON_HOLD"]')).toHaveText('On hold: waiting for approval');
    await page.goto(appUrl);
    await hydrated(page);
    await page.getByTestId('keys-PRODUCTION').getByRole('button', { name: 'Generate test token' }).click();
    const accessToken = (await page.getByTestId('keys-PRODUCTION').getByTestId('test-token').textContent())!.trim();
    const url = `${GATEWAY}/approved-pizza/1.0.0/menu`;
    const call = async () => (await request.get(url, { headers: { Authorization: `Bearer ${accessToken}` } })).status();
    await expect.poll(call, { timeout: 3_000 }).toBe(403);
    await signOut(page);

    // Approved in the Admin portal: the gateway lets the calls through within a second or so.
    await signIn(page, 'workflow-admin', DEMO_PASSWORD, '/admin/workflows');
    await hydrated(page);
    const sub = page.locator('[data-type="SUBSCRIPTION_CREATION"]', { hasText: 'Approval app' });
    await expect(sub).toContainText('Gold');
    await sub.getByRole('button', { name: 'Approve' }).click();
    await expect(sub).toHaveCount(0);
    await expect(page.getByText('No pending approvals')).toBeVisible();
    await expect.poll(call, { timeout: 3_000 }).toBe(200);
    expect(errors).toEqual([]);
  } finally {
    await setApprovals(request, token, false);
  }
});

test('with deployment approval on, a revision deployed in the Publisher shows PENDING and the gateway serves it only after a workflow admin approves', async ({ page, request }) => {
  const errors = watchErrors(page);
  const token = await adminToken(request, 'apim:admin apim:api_view apim:api_create apim:api_publish apim:api_manage');
  const auth = { Authorization: `Bearer ${token}` };
  // An open (unsecured) API on the demo backend, created by REST and owned by the publisher.
  const created = await request.post('/api/am/publisher/v4/apis', {
    headers: auth,
    data: {
      name: 'Gated Pizza', context: '/gated-pizza', version: '1.0.0', securityScheme: [],
      endpointConfig: { endpoint_type: 'http', production_endpoints: { url: `${BASE}/demo-backend/pizzashack` } },
      operations: [{ target: '/menu', verb: 'GET', authType: 'None' }],
    },
  });
  expect(created.status(), await created.text()).toBe(201);
  const api = await created.json();
  const settings = (on: boolean) => request.put('/api/am/admin/v4/workflow-settings', {
    headers: auth, data: { list: [{ workflowType: 'REVISION_DEPLOYMENT', enabled: on }] },
  });
  expect((await settings(true)).status()).toBe(200);
  try {
    const url = `${GATEWAY}/gated-pizza/1.0.0/menu`;
    await signIn(page, 'admin', process.env.ADMIN_PASSWORD ?? 'admin', `/publisher/apis/${api.id}/revisions`);
    await hydrated(page);
    await page.getByLabel('New revision — description').fill('Needs approval');
    await page.getByRole('button', { name: 'Create revision' }).click();
    const revision = page.locator('[data-revision="Revision 1"]');
    await revision.getByRole('button', { name: 'Deploy' }).click();
    await expect(revision.locator('[data-pending="Default"]')).toContainText('PENDING approval for Default');
    await shot(page, 'publisher-deployment-pending');
    // Not served while pending.
    await page.waitForTimeout(1_000);
    expect((await request.get(url)).status()).toBe(404);
    await signOut(page);

    // The workflow admin approves; the gateway serves it within about a second.
    await signIn(page, 'workflow-admin', DEMO_PASSWORD, '/admin/workflows');
    await hydrated(page);
    const card = page.locator('[data-type="REVISION_DEPLOYMENT"]', { hasText: 'Gated Pizza' });
    await expect(card).toContainText('Default');
    await card.getByRole('button', { name: 'Approve' }).click();
    await expect(card).toHaveCount(0);
    const approvedAt = Date.now();
    await expect.poll(async () => (await request.get(url)).status(), { timeout: 3_000, intervals: [100] }).toBe(200);
    console.log(`deployment approved → served in ${Date.now() - approvedAt} ms`);
    expect(errors).toEqual([]);
  } finally {
    await settings(false);
  }
});
