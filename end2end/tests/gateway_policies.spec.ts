import { test, expect, type APIRequestContext } from '@playwright/test';
import { ADMIN_PASSWORD, adminToken, echoBackend, headerValues, hydrated, shot, signIn, watchErrors, type Echo } from './helpers';

const GATEWAY = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8280';

/** Calls the API through the gateway until `want` holds for what the backend saw (10 s). */
async function untilBackendSees(request: APIRequestContext, path: string, want: (e: Echo) => boolean, what: string) {
  await expect.poll(async () => {
    const r = await request.get(`${GATEWAY}${path}`);
    if (!r.ok()) return false;
    return want(await r.json() as Echo);
  }, { message: what, timeout: 10_000, intervals: [100, 200, 500] }).toBe(true);
}

test('an admin adds a gateway policy in the Admin portal, deploys it to Default and undeploys it; the gateway runs it for the APIs there meanwhile', async ({ page, request }) => {
  test.setTimeout(120_000);
  const errors = watchErrors(page);
  const backend = await echoBackend();
  const token = await adminToken(request, 'apim:api_view apim:api_create apim:api_publish apim:api_manage apim:api_delete apim:gateway_policy_manage');
  const auth = { Authorization: `Bearer ${token}` };
  let mappingId = '';
  let apiId = '';
  try {
    // An open API on the echo backend, deployed to Default (not published: the catalogue of
    // the other specs stays empty).
    const created = await request.post('/api/am/publisher/v4/apis', {
      headers: auth,
      data: {
        name: 'Global Echo', context: '/global-echo', version: '1.0.0', securityScheme: [],
        endpointConfig: { endpoint_type: 'http', production_endpoints: { url: backend.url } },
        operations: [{ target: '/echo', verb: 'GET', authType: 'None' }],
      },
    });
    expect(created.status(), await created.text()).toBe(201);
    apiId = (await created.json()).id;
    const rev = await (await request.post(`/api/am/publisher/v4/apis/${apiId}/revisions`, { headers: auth, data: { description: 'e2e' } })).json();
    expect((await request.post(`/api/am/publisher/v4/apis/${apiId}/deploy-revision?revisionId=${rev.id}`, {
      headers: auth, data: [{ name: 'Default', vhost: 'localhost' }],
    })).status()).toBe(201);
    const path = '/global-echo/1.0.0/echo';
    await untilBackendSees(request, path, () => true, 'the API is served');

    await signIn(page, 'admin', ADMIN_PASSWORD, '/admin/gateways');
    await page.goto('/admin/gateways');
    await hydrated(page);
    const section = page.getByTestId('gateway-policies');
    await expect(section).toContainText('No gateway policies yet');

    // A new policy: one Add header in the request flow, first without its value.
    await section.getByTestId('new-gateway-policy').click();
    const form = page.getByTestId('gateway-policy-form');
    await form.getByLabel('Name').fill('E2E stamp');
    await form.getByLabel('Description').fill('marks every call');
    await form.locator('[data-add-select="request"]').selectOption('addHeader');
    await form.locator('[data-add="request"]').click();
    const policy = form.locator('[data-flow-editor="request"] [data-policy="addHeader"]');
    await policy.locator('[data-param="headerName"]').fill('X-Gateway-Policy');
    await form.getByTestId('save-gateway-policy').click();
    await expect(policy).toContainText('headerValue: is required');
    await policy.locator('[data-param="headerValue"]').fill('e2e');
    await form.getByTestId('save-gateway-policy').click();
    const card = section.locator('[data-gateway-policy="E2E stamp"]');
    await expect(card.getByTestId('deployed-to')).toHaveText('Deployed nowhere.');
    await expect(card.locator('[data-flow="request"]')).toHaveText('Add header');
    const listed = await (await request.get('/api/am/publisher/v4/gateway-policies', { headers: auth })).json();
    mappingId = listed.list.find((m: { displayName: string }) => m.displayName === 'E2E stamp').id;

    // Deployed to Default: the gateway adds the header to calls of every API there.
    await card.locator('[data-deploy="Default"]').click();
    await expect(card.getByTestId('deployed-to')).toHaveText('Deployed to Default');
    await untilBackendSees(request, path, (e) => headerValues(e, 'X-Gateway-Policy').join() === 'e2e', 'the gateway policy runs');
    await shot(page, 'gateway-policy-deployed');

    // Undeployed: gone from the gateway; then removed.
    await card.locator('[data-deploy="Default"]').click();
    await expect(card.getByTestId('deployed-to')).toHaveText('Deployed nowhere.');
    await untilBackendSees(request, path, (e) => headerValues(e, 'X-Gateway-Policy').length === 0, 'the gateway policy leaves');
    page.once('dialog', (d) => d.accept());
    await card.getByRole('button', { name: 'Remove' }).click();
    await expect(section).toContainText('No gateway policies yet');
    mappingId = '';
    expect(errors).toEqual([]);
  } finally {
    if (mappingId) {
      await request.post(`/api/am/publisher/v4/gateway-policies/${mappingId}/deploy`, {
        headers: auth, data: [{ gatewayLabel: 'Default', gatewayDeployment: false }],
      });
      await request.delete(`/api/am/publisher/v4/gateway-policies/${mappingId}`, { headers: auth });
    }
    // Other specs start from a Publisher without APIs.
    if (apiId) {
      const gone = await request.delete(`/api/am/publisher/v4/apis/${apiId}`, { headers: auth });
      expect(gone.ok(), await gone.text()).toBeTruthy();
    }
    await backend.close();
  }
});
