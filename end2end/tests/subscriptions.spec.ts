import { test, expect } from '@playwright/test';
import { DEMO_PASSWORD, adminToken, hydrated, publishApi, shot, signIn, signOut, watchErrors } from './helpers';

const GATEWAY = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8280';
const BASE = process.env.BASE_URL ?? 'http://127.0.0.1:3000';

test('a new developer signs up, finds an API, creates an application, subscribes, generates keys and tries the API through the gateway; another developer cannot see the application', async ({ page, request }) => {
  const errors = watchErrors(page);
  // A secured API on the demo backend, published by REST (the Publisher's UI has its own test).
  const token = await adminToken(request, 'apim:api_view apim:api_create apim:api_publish apim:api_manage apim:keymanagers_manage');
  const auth = { Authorization: `Bearer ${token}` };
  const api = await publishApi(request, token, {
    name: 'Pizza Orders', context: '/pizza-orders', version: '1.0.0',
    securityScheme: ['oauth2', 'api_key'], policies: ['Gold', 'Unlimited'],
    businessInformation: { businessOwner: 'Paola Pizzaiola', businessOwnerEmail: 'paola@example.com' },
    endpointConfig: { endpoint_type: 'http', production_endpoints: { url: `${BASE}/demo-backend/pizzashack` } },
    operations: [{ target: '/menu', verb: 'GET' }],
  });

  // A Markdown guide for the API (Publisher REST: document, then its content).
  const doc = await request.post(`/api/am/publisher/v4/apis/${api.id}/documents`, {
    headers: auth,
    data: { name: 'Ordering guide', type: 'HOWTO', sourceType: 'MARKDOWN', visibility: 'API_LEVEL', summary: 'How to order' },
  });
  expect(doc.status(), await doc.text()).toBe(201);
  const content = await request.post(`/api/am/publisher/v4/apis/${api.id}/documents/${(await doc.json()).documentId}/content`, {
    headers: auth,
    multipart: { inlineContent: '# Ordering\n\nCall **GET /menu** first.<script>alert(1)</script>' },
  });
  expect(content.status(), await content.text()).toBe(200);

  // A third-party key manager the developer may map clients of.
  const km = await request.post('/api/am/admin/v4/key-managers', {
    headers: auth,
    data: {
      name: 'Partner IdP', type: 'OIDC', enabled: true, issuer: 'https://idp.partner.example',
      certificates: { type: 'JWKS', value: 'https://idp.partner.example/jwks' },
    },
  });
  expect(km.status(), await km.text()).toBe(201);

  // A new developer signs up and finds the API by searching; the tile shows its business owner.
  const dev = `dev${Date.now()}`;
  await page.goto('/sign-up');
  await page.getByLabel('User name').fill(dev);
  await page.getByLabel('Display name').fill('Dev Eloper');
  await page.getByLabel('E-mail').fill(`${dev}@example.com`);
  await page.getByLabel('Password', { exact: true }).fill('s3cret-pass');
  await page.getByLabel('Repeat password').fill('s3cret-pass');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/devportal$/);
  await page.getByLabel('Search APIs').fill('name:Pizza');
  await page.getByRole('button', { name: 'Search' }).click();
  const tile = page.locator('[data-api="Pizza Orders"]');
  await expect(tile).toContainText('Paola Pizzaiola');
  await expect(tile.getByTestId('tile-rating')).toContainText('not rated yet');
  // The same result as a list; its tag links filter the catalogue.
  await page.getByTestId('view-list').click();
  await expect(page.getByTestId('catalogue-list').locator('[data-api="Pizza Orders"]')).toContainText('/pizza-orders');

  // They start with no application.
  await page.goto('/devportal/applications');
  await hydrated(page);
  await expect(page.getByText('You have no applications yet')).toBeVisible();
  await page.getByLabel('Name').fill('Pizza app');
  await page.getByLabel('Rate limit (application policy)').selectOption('50PerMin');
  await page.getByRole('button', { name: 'Create application' }).click();
  await expect(page).toHaveURL(/\/devportal\/applications\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId('application-name')).toHaveText('Pizza app');
  await hydrated(page);

  // Edit the rate limit.
  const edit = page.getByTestId('edit-application');
  await edit.getByText('Edit name, rate limit and description').click();
  await edit.getByLabel('Rate limit').selectOption('20PerMin');
  await edit.getByLabel('Custom attributes').fill('no equals sign');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(edit.locator('[data-field-error="attributes"]')).toHaveText('line 1: write key=value');
  await edit.getByLabel('Custom attributes').fill('team=pizza-ops');
  await edit.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('application-policy')).toHaveText('20PerMin');
  await expect(page.getByTestId('application-attribute')).toHaveText('team: pizza-ops');

  // A client of the partner's identity provider, mapped to the application.
  const mapped = page.getByTestId('mapped-keys');
  await mapped.getByLabel('Client id').fill('partner-client-1');
  await mapped.getByRole('button', { name: 'Map client' }).click();
  await expect(mapped.locator('table')).toContainText('partner-client-1');
  await expect(mapped.locator('table')).toContainText('Partner IdP');

  // Production keys: the secret shows once, with the curl for the token endpoint.
  const production = page.getByTestId('keys-PRODUCTION');
  await production.getByRole('button', { name: 'Generate keys' }).click();
  await expect(production.getByTestId('consumer-secret')).not.toContainText('••');
  await expect(production.getByText('Copy the secret now')).toBeVisible();
  await shot(page, 'devportal-application-keys');

  // The API's page: its guide rendered from Markdown (raw HTML shown as text, not run).
  await page.goto(`/devportal/apis/${api.id}`);
  await hydrated(page);
  await page.getByTestId('documents').getByRole('link', { name: 'Ordering guide' }).click();
  const rendered = page.getByTestId('document-content');
  await expect(rendered.locator('h1')).toHaveText('Ordering');
  await expect(rendered.locator('strong')).toHaveText('GET /menu');
  await expect(rendered.locator('script')).toHaveCount(0);
  await hydrated(page);

  // Rate it and leave a comment; a reply joins the thread.
  const feedback = page.getByTestId('feedback');
  await expect(feedback.getByTestId('no-comments')).toBeVisible();
  await feedback.getByRole('button', { name: 'Rate 4 of 5' }).click();
  await expect(feedback.getByTestId('average-rating')).toContainText('4 of 5 from 1 rating');
  await feedback.getByLabel('Add a comment').fill('Does /menu list vegan pizzas?');
  await feedback.getByRole('button', { name: 'Post comment' }).click();
  const thread = feedback.getByTestId('comments').locator('li[data-comment]').first();
  await expect(thread).toContainText('Does /menu list vegan pizzas?');
  await thread.getByRole('button', { name: 'Reply' }).click();
  await thread.getByLabel('Reply').fill('Answering myself: yes, Margherita is.');
  await thread.getByRole('button', { name: 'Send reply' }).click();
  await expect(thread.locator('li[data-reply]')).toContainText('Margherita is');
  await shot(page, 'devportal-feedback');

  // Subscribe from the API's page.
  await expect(page.getByTestId('curl-hint').first()).toContainText(`curl -X GET 'http://localhost:${new URL(GATEWAY).port}/pizza-orders/1.0.0/menu' -H 'Authorization: Bearer <access token>'`);
  const subscribe = page.getByTestId('subscribe');
  await subscribe.getByLabel('Application').selectOption({ label: 'Pizza app' });
  await subscribe.getByLabel('Tier').selectOption('Gold');
  await subscribe.getByRole('button', { name: 'Subscribe' }).click();
  await expect(subscribe.getByTestId('api-subscriptions')).toContainText('Pizza app');
  await expect(subscribe.getByTestId('api-subscriptions').locator('[data-status="UNBLOCKED"]')).toHaveText('Active');
  await shot(page, 'devportal-subscribe');

  // The try-out console on the API's page: through the gateway with a test token.
  const tryOut = page.getByTestId('try-out');
  await tryOut.getByLabel('Application').selectOption({ label: 'Pizza app' });
  await tryOut.getByRole('button', { name: 'Send' }).click();
  await expect(tryOut.getByTestId('try-out-status')).toHaveText('200');
  await expect(tryOut.getByTestId('try-out-body')).toContainText('Margherita');
  await expect(tryOut).toContainText(`curl -i -X GET 'http://localhost:${new URL(GATEWAY).port}/pizza-orders/1.0.0/menu'`);
  await shot(page, 'devportal-try-out');

  // Back on the application: a test token, and the call through the gateway works.
  await page.getByRole('link', { name: 'Applications' }).first().click();
  await page.getByRole('link', { name: 'Pizza app' }).click();
  await hydrated(page);
  await expect(page.getByTestId('subscriptions')).toContainText('Pizza Orders 1.0.0');
  const keys = page.getByTestId('keys-PRODUCTION');
  await keys.getByRole('button', { name: 'Generate test token' }).click();
  const accessToken = (await keys.getByTestId('test-token').textContent())!.trim();
  expect(accessToken.split('.')).toHaveLength(3);
  const url = `${GATEWAY}/pizza-orders/1.0.0/menu`;
  expect((await request.get(url)).status()).toBe(401);
  await expect
    .poll(async () => (await request.get(url, { headers: { Authorization: `Bearer ${accessToken}` } })).status(), { timeout: 3_000 })
    .toBe(200);

  // An API key, shown once, works in the API's header.
  const apiKeys = page.getByTestId('api-keys');
  await apiKeys.getByRole('button', { name: 'Generate API key' }).click();
  const apiKey = (await apiKeys.getByTestId('api-key-value').textContent())!.trim();
  expect(apiKey.startsWith('gk_')).toBeTruthy();
  await expect
    .poll(async () => (await request.get(url, { headers: { ApiKey: apiKey } })).status(), { timeout: 3_000 })
    .toBe(200);
  await shot(page, 'devportal-application-api-key');

  // Unsubscribing takes the access away again.
  await page.getByTestId('subscriptions').getByRole('button', { name: 'Unsubscribe' }).click();
  await expect(page.getByTestId('subscriptions')).toContainText('Not subscribed to any API');
  await expect
    .poll(async () => (await request.get(url, { headers: { Authorization: `Bearer ${accessToken}` } })).status(), { timeout: 3_000 })
    .toBe(403);
  // Another developer can neither see nor use the application.
  const appUrl = page.url();
  await signOut(page);
  await signIn(page, 'subscriber', DEMO_PASSWORD, '/devportal/applications');
  await expect(page.getByText('You have no applications yet')).toBeVisible();
  await page.goto(appUrl);
  await expect(page.getByText('No such application')).toBeVisible();
  expect(errors).toEqual([]);
});
