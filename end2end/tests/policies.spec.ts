import { test, expect, type Locator, type Page } from '@playwright/test';
import { ADMIN_PASSWORD, adminToken, echoBackend, headerValues, hydrated, shot, signIn, watchErrors } from './helpers';

const GATEWAY = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8280';

/** The summaries (parameter values: `X-Order · first`) of a flow list's policies, in order. */
function summaries(list: Locator): Locator {
  return list.locator('[data-attached]').getByTestId('summary');
}

/** A new revision with `description`, deployed to Default from the Revisions tab. */
async function deployNewRevision(page: Page, description: string, name: string) {
  await page.locator('[data-tab="revisions"]').click();
  await expect(page.getByRole('button', { name: 'Create revision' })).toBeVisible();
  await page.getByLabel('New revision — description').fill(description);
  await page.getByRole('button', { name: 'Create revision' }).click();
  const revision = page.locator(`[data-revision="${name}"]`);
  await expect(revision.getByTestId('revision-description')).toHaveText(description);
  await revision.getByRole('button', { name: 'Deploy' }).click();
  await expect(revision.locator('[data-deployed="Default"]')).toContainText('Live on Default');
}

test('a publisher drags mediation policies onto an API and orders them; the gateway runs them in that order after each deployment', async ({ page, request }) => {
  test.setTimeout(120_000);
  const errors = watchErrors(page);
  const backend = await echoBackend();
  const token = await adminToken(request, 'apim:api_view apim:api_create apim:api_publish apim:api_manage apim:api_delete');
  const auth = { Authorization: `Bearer ${token}` };
  let apiId = '';
  try {
    // An open API whose backend echoes the headers it gets.
    const created = await request.post('/api/am/publisher/v4/apis', {
      headers: auth,
      data: {
        name: 'Mediated Echo', context: '/mediated-echo', version: '1.0.0', securityScheme: [],
        endpointConfig: { endpoint_type: 'http', production_endpoints: { url: backend.url } },
        operations: [{ target: '/echo', verb: 'GET', authType: 'None' }, { target: '/orders', verb: 'POST', authType: 'None' }],
      },
    });
    expect(created.status(), await created.text()).toBe(201);
    apiId = (await created.json()).id;

    await signIn(page, 'admin', ADMIN_PASSWORD, `/publisher/apis/${apiId}/policies`);
    await hydrated(page);
    const catalogue = page.getByTestId('policy-catalogue');
    await expect(catalogue.locator('[data-policy="addHeader"]')).toContainText('Adds a header');
    const apiLevel = page.locator('[data-target="api"]');
    const apiRequest = apiLevel.locator('[data-flow="request"]');
    await expect(apiRequest.getByTestId('no-policies')).toHaveText('No policies attached — drag one from the catalogue');
    const save = page.getByRole('button', { name: 'Save policies' });
    await expect(save).toBeDisabled();

    // Two "Add header" policies dragged onto the API-level request flow; each opens its form.
    const addHeader = catalogue.locator('[data-policy="addHeader"]');
    await addHeader.dragTo(apiRequest.getByTestId('no-policies'));
    const items = apiRequest.locator('[data-attached]');
    await expect(items).toHaveCount(1);
    await expect(items.nth(0).getByTestId('policy-form')).toBeVisible();
    await items.nth(0).getByLabel('headerName').fill('X-Order');
    await items.nth(0).getByLabel('headerValue').fill('first');
    await addHeader.dragTo(apiRequest.getByTestId('drop-end'));
    await expect(items).toHaveCount(2);
    await expect(items.nth(1).getByTestId('policy-form')).toBeVisible();
    await expect(items.nth(0).getByTestId('policy-form')).toHaveCount(0);
    await items.nth(1).getByLabel('headerName').fill('X-Order');
    await items.nth(1).getByLabel('headerValue').fill('second');
    await expect(summaries(apiRequest)).toHaveText([
      'X-Order · first',
      'X-Order · second',
    ]);
    await expect(save).toBeEnabled();

    // A policy dropped on a flow it does not run in is refused, with the reason.
    const apiResponse = apiLevel.locator('[data-flow="response"]');
    await catalogue.locator('[data-policy="rewriteMethod"]').dragTo(apiResponse.getByTestId('no-policies'));
    await expect(apiResponse.getByTestId('drop-refused')).toHaveText(
      'Change HTTP method cannot run in the response flow: it applies to the request flow only.');
    await expect(apiResponse.locator('[data-attached]')).toHaveCount(0);

    // Without dragging: "Remove header" added to GET /echo from its list. Saved without its
    // header name, the server's refusal shows next to the parameter.
    const echoOp = page.locator('[data-target="GET /echo"]');
    const echoRequest = echoOp.locator('[data-flow="request"]');
    await echoRequest.getByLabel('Policy to add to GET /echo, request flow').selectOption({ label: 'Remove header' });
    await echoRequest.getByRole('button', { name: 'Add', exact: true }).click();
    const remove = echoRequest.locator('[data-attached="removeHeader"]');
    await expect(remove.getByTestId('policy-form')).toContainText('Header to remove');
    await save.click();
    await expect(page.locator('[data-field-error="operations[0].operationPolicies.request[0].parameters.headerName"]'))
      .toContainText('is required');
    await remove.getByLabel('headerName').fill('X-Remove-Me');

    // The effective order for GET /echo: the API's two, then the operation's.
    const effective = page.getByTestId('effective-order');
    await effective.getByLabel('Operation for the effective order').selectOption({ label: 'GET /echo' });
    await expect(effective.locator('[data-effective-flow="request"] li')).toHaveText([
      /^1\.\s*Add header\s*X-Order · first\s*API level$/,
      /^2\.\s*Add header\s*X-Order · second\s*API level$/,
      /^3\.\s*Remove header\s*X-Remove-Me\s*operation$/,
    ]);
    await expect(effective.locator('[data-effective-flow="response"]')).toContainText('Nothing runs in this flow.');
    await effective.getByLabel('Operation for the effective order').selectOption({ label: 'POST /orders' });
    await expect(effective.locator('[data-effective-flow="request"] li')).toHaveCount(2);
    await shot(page, 'publisher-policies');

    await save.click();
    await expect(page.getByTestId('notice')).toHaveText('Policies saved.');
    await expect(save).toBeDisabled();
    await expect(summaries(apiRequest)).toHaveText([
      'X-Order · first',
      'X-Order · second',
    ]);

    // Deployed: the backend sees the API's headers in order, and not the removed one.
    await deployNewRevision(page, 'Two headers', 'Revision 1');
    const seen = async () => {
      const r = await request.get(`${GATEWAY}/mediated-echo/1.0.0/echo`, { headers: { 'X-Remove-Me': 'yes' } });
      if (r.status() !== 200) return `status ${r.status()}`;
      const echo = await r.json();
      const order = headerValues(echo, 'x-order').flatMap((v) => v.split(',').map((s) => s.trim()));
      return `${order.join(' ')}; removed: ${headerValues(echo, 'x-remove-me').length === 0}`;
    };
    await expect.poll(seen, { timeout: 5_000 }).toBe('first second; removed: true');

    // Reordered: by drag (the second onto the first), then down and up again with the buttons.
    await page.locator('[data-tab="policies"]').click();
    await expect(items).toHaveCount(2);
    await items.nth(1).locator('[data-drag-handle]').dragTo(items.nth(0));
    await expect(summaries(apiRequest)).toHaveText([
      'X-Order · second',
      'X-Order · first',
    ]);
    await items.nth(0).getByRole('button', { name: 'Move down' }).click();
    await expect(summaries(apiRequest)).toHaveText([
      'X-Order · first',
      'X-Order · second',
    ]);
    await expect(save).toBeDisabled();
    await items.nth(1).getByRole('button', { name: 'Move up' }).click();
    await expect(items.nth(0).getByRole('button', { name: 'Move up' })).toBeDisabled();
    await effective.getByLabel('Operation for the effective order').selectOption({ label: 'GET /echo' });
    await expect(effective.locator('[data-effective-flow="request"] li')).toHaveText([
      /^1\.\s*Add header\s*X-Order · second\s*API level$/,
      /^2\.\s*Add header\s*X-Order · first\s*API level$/,
      /^3\.\s*Remove header.*operation$/,
    ]);
    await save.click();
    await expect(page.getByTestId('notice')).toHaveText('Policies saved.');

    // A new revision deployed: the backend sees the new order.
    await deployNewRevision(page, 'Second header first', 'Revision 2');
    await expect.poll(seen, { timeout: 5_000 }).toBe('second first; removed: true');
    expect(errors).toEqual([]);
  } finally {
    // Other specs start from a Publisher without APIs.
    if (apiId) {
      const gone = await request.delete(`/api/am/publisher/v4/apis/${apiId}`, { headers: auth });
      expect(gone.ok(), await gone.text()).toBeTruthy();
    }
    await backend.close();
  }
});
