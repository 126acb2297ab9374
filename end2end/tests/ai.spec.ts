import * as fs from 'node:fs';
import * as path from 'node:path';
import { expect, test, type APIRequestContext } from '@playwright/test';
import { ADMIN_PASSWORD, adminToken, DEMO_PASSWORD, hydrated, shot, signIn, watchErrors } from './helpers';

const BASE = process.env.BASE_URL ?? 'http://127.0.0.1:3000';
const P = '/api/am/publisher/v4';
const D = '/api/am/devportal/v3';

/** Imports an OpenAPI document as an API, deploys it to Default and publishes it. */
async function importAndPublish(request: APIRequestContext, token: string, file: string, extra: Record<string, unknown>): Promise<string> {
  const auth = { Authorization: `Bearer ${token}` };
  const r = await request.post(`${P}/apis/import-openapi`, {
    headers: auth,
    multipart: {
      file: { name: path.basename(file), mimeType: 'application/octet-stream', buffer: fs.readFileSync(file) },
      additionalProperties: JSON.stringify(extra),
    },
  });
  expect(r.status(), await r.text()).toBe(201);
  const { id } = await r.json();
  const rev = await (await request.post(`${P}/apis/${id}/revisions`, { headers: auth, data: { description: 'e2e' } })).json();
  expect((await request.post(`${P}/apis/${id}/deploy-revision?revisionId=${rev.id}`, {
    headers: auth, data: [{ name: 'Default', vhost: 'localhost' }],
  })).status()).toBe(201);
  expect((await request.post(`${P}/apis/change-lifecycle?apiId=${id}&action=Publish`, { headers: auth })).ok()).toBeTruthy();
  return id;
}

test('a developer asks the assistant, follows its link to the API, and has API chat plan and run calls through the gateway', async ({ page, request }) => {
  test.setTimeout(360_000);
  const errors = watchErrors(page);
  const token = await adminToken(request, 'apim:api_view apim:api_create apim:api_publish apim:api_manage apim:api_delete');
  const auth = { Authorization: `Bearer ${token}` };
  // The demo PizzaShack on the server's demo backend, and two real public APIs beside it.
  const root = path.resolve(__dirname, '../..');
  const pizza = await importAndPublish(request, token, path.join(root, 'server/src/demo/pizzashack.yaml'), {
    name: 'PizzaShack', context: '/ai-pizzashack', version: '1.0.0', policies: ['Unlimited'],
    endpointConfig: { endpoint_type: 'http', production_endpoints: { url: `${BASE}/demo-backend/pizzashack` } },
  });
  const catalogue = path.join(root, 'server/tests/fixtures/ai/catalogue');
  const others: string[] = [];
  let cleanup = async () => {
    for (const id of [pizza, ...others]) await request.delete(`${P}/apis/${id}`, { headers: auth });
  };
  try {
  for (const slug of ['bulksms', 'visualcrossing-weather']) {
    others.push(await importAndPublish(request, token, path.join(catalogue, `${slug}.json`), {
      context: `/ai-${slug}`, version: '1.0',
      endpointConfig: { endpoint_type: 'http', production_endpoints: { url: 'http://127.0.0.1:9' } },
    }));
  }
  // The indexer embeds them in the background, in the order they were published: the
  // assistant finds the last one once it has.
  const first = async (query: string) => {
    const r = await request.post(`${D}/marketplace-assistant/chat`, { headers: auth, data: { query } });
    return (await r.json()).apis?.[0]?.apiId;
  };
  await expect.poll(() => first('weather forecast for a city'), { timeout: 90_000 }).toBe(others[1]);
  expect(await first('order a pizza')).toBe(pizza);

  // A developer signs in and asks the assistant on the catalogue.
  await signIn(page, 'subscriber', DEMO_PASSWORD, '/devportal');
  await hydrated(page);

  const assistant = page.getByTestId('assistant');
  await assistant.getByLabel('Your question').fill('I want to order a pizza for delivery and follow the order');
  await assistant.getByRole('button', { name: 'Ask' }).click();
  const answer = assistant.getByTestId('assistant-answer').first();
  await expect(answer.getByTestId('assistant-api').first()).toContainText('PizzaShack');
  await shot(page, 'devportal-assistant');
  // A follow-up keeps the conversation's subject; a new need gets its own answer.
  await assistant.getByLabel('Your question').fill('and how do I check on it later?');
  await assistant.getByRole('button', { name: 'Ask' }).click();
  await expect(assistant.getByTestId('assistant-answer')).toHaveCount(2);
  await expect(assistant.getByTestId('assistant-answer').last().getByTestId('assistant-api').first()).toContainText('PizzaShack');
  await assistant.getByLabel('Your question').fill('I also need to send text messages to my customers');
  await assistant.getByRole('button', { name: 'Ask' }).click();
  await expect(assistant.getByTestId('assistant-answer')).toHaveCount(3);
  await expect(assistant.getByTestId('assistant-answer').last().getByTestId('assistant-api').first()).toContainText(/SMS/i);
  // Nothing fits: said plainly.
  await assistant.getByLabel('Your question').fill('book a hotel room in Rome');
  await assistant.getByRole('button', { name: 'Ask' }).click();
  await expect(assistant.getByTestId('assistant-answer').last()).toContainText(/could not find|Nothing in this portal fits/);

  // Follow the link to the API's page.
  await answer.getByRole('link', { name: /PizzaShack/ }).click();
  await expect(page).toHaveURL(new RegExp(`/devportal/apis/${pizza}$`));
  await hydrated(page);

  // An application subscribed to the API, with keys (by REST; the portal's own test covers
  // those pages).
  const appName = `AI app ${Date.now()}`;
  const userAuth = { Authorization: `Bearer ${await userToken(request)}` };
  const created = await request.post(`${D}/applications`, {
    headers: userAuth, data: { name: appName, throttlingPolicy: 'Unlimited' },
  });
  expect(created.status(), await created.text()).toBe(201);
  const { applicationId } = await created.json();
  const apisOnly = cleanup;
  // Later specs start from an empty catalogue: the application (and its subscription) goes
  // first, then the APIs, whatever happens here.
  cleanup = async () => {
    await request.delete(`${D}/applications/${applicationId}`, { headers: userAuth });
    await apisOnly();
  };
  expect((await request.post(`${D}/applications/${applicationId}/generate-keys`, {
    headers: userAuth, data: { keyType: 'PRODUCTION', grantTypesToBeSupported: ['client_credentials'] },
  })).ok()).toBeTruthy();
  expect((await request.post(`${D}/subscriptions`, {
    headers: userAuth, data: { applicationId, apiId: pizza, throttlingPolicy: 'Unlimited' },
  })).ok()).toBeTruthy();
  await page.reload();
  await hydrated(page);

  // API chat: a read first.
  const chat = page.getByTestId('api-chat');
  await chat.getByLabel('What should the API do?').fill('show me the pizzas on the menu');
  await chat.getByRole('button', { name: 'Plan' }).click();
  const step = chat.getByTestId('api-chat-step');
  await expect(step).toHaveCount(1);
  await expect(step.first()).toContainText('GET /menu');
  await expect(chat.getByTestId('api-chat-planner')).toContainText('embedded planner');
  await chat.getByLabel('Application').selectOption({ label: appName });
  await chat.getByRole('button', { name: 'Run' }).click();
  await expect(chat.getByTestId('api-chat-status').first()).toHaveText('200');
  await expect(chat.getByTestId('api-chat-response').first()).toContainText('Margherita');
  await expect(chat.getByTestId('api-chat-outcome')).toContainText('Done');

  // Two steps, the second using the first's answer; it changes data, so it waits for a yes.
  await chat.getByLabel('What should the API do?').fill('place an order for 2 Margherita pizzas, then get the status of that order');
  await chat.getByRole('button', { name: 'Plan' }).click();
  await expect(step).toHaveCount(2);
  await expect(step.nth(0)).toContainText('POST /order');
  await expect(step.nth(0).getByTestId('api-chat-arguments')).toContainText('"quantity": 2');
  await expect(step.nth(1)).toContainText('GET /order/{orderId}');
  await expect(step.nth(1).getByTestId('api-chat-arguments')).toContainText('$step1.orderId');
  const run = chat.getByRole('button', { name: 'Run' });
  await expect(run).toBeDisabled();
  await chat.getByLabel('Run the calls that change data').check();
  await run.click();
  await expect(chat.getByTestId('api-chat-call')).toHaveCount(2);
  await expect(chat.getByTestId('api-chat-status').nth(0)).toHaveText('201');
  await expect(chat.getByTestId('api-chat-status').nth(1)).toHaveText('200');
  await expect(chat.getByTestId('api-chat-response').nth(1)).toContainText('"status"');
  await shot(page, 'devportal-api-chat');
  } finally {
    await cleanup();
  }
  expect(errors).toEqual([]);
});

test('an admin follows the AI index as APIs are embedded, and re-embeds them all', async ({ page, request }) => {
  test.setTimeout(180_000);
  const errors = watchErrors(page);
  const token = await adminToken(request, 'apim:api_view apim:api_create apim:api_publish apim:api_manage apim:api_delete');
  await signIn(page, 'admin', ADMIN_PASSWORD, '/admin/ai-index');
  await hydrated(page);
  const index = page.getByTestId('ai-index');
  await expect(index.getByTestId('ai-model')).toHaveText('all-MiniLM-L6-v2 (384 dimensions)');
  await expect(index.getByTestId('ai-writer')).toContainText('embedded planner');
  // An empty catalogue says so.
  await expect(index.getByTestId('empty-state')).toContainText('No listed APIs yet');

  const root = path.resolve(__dirname, '../..');
  const id = await importAndPublish(request, token, path.join(root, 'server/tests/fixtures/ai/catalogue/bulksms.json'), {
    context: '/ai-index-sms', version: '1.0',
    endpointConfig: { endpoint_type: 'http', production_endpoints: { url: 'http://127.0.0.1:9' } },
  });
  try {
    await page.reload();
    await hydrated(page);
    // The page follows the indexer by itself until nothing is queued.
    await expect(index.getByTestId('ai-progress-label')).toHaveText('1 of 1 listed APIs embedded', { timeout: 60_000 });
    await expect(index.getByTestId('ai-queued')).toContainText('Nothing queued');
    await expect(index.getByTestId('ai-progress')).toHaveAttribute('aria-valuenow', '1');
    const texts = await index.getByTestId('ai-texts').textContent();
    expect(Number(texts?.match(/(\d+) texts/)?.[1])).toBeGreaterThan(1);
    await shot(page, 'admin-ai-index');

    await index.getByRole('button', { name: 'Re-embed all' }).click();
    await expect(page.getByTestId('notice')).toContainText('queued to be embedded again');
    await expect(index.getByTestId('ai-queued')).toContainText('Nothing queued', { timeout: 60_000 });
    await expect(index.getByTestId('ai-progress-label')).toHaveText('1 of 1 listed APIs embedded');
  } finally {
    await request.delete(`${P}/apis/${id}`, { headers: { Authorization: `Bearer ${token}` } });
  }
  expect(errors).toEqual([]);
});

/** The demo subscriber's REST token (dynamic client registration + password grant). */
async function userToken(request: APIRequestContext): Promise<string> {
  const basic = Buffer.from(`subscriber:${DEMO_PASSWORD}`).toString('base64');
  const reg = await request.post('/client-registration/v0.17/register', {
    headers: { Authorization: `Basic ${basic}` },
    data: { clientName: 'e2e-subscriber-ai', grantType: 'password refresh_token', owner: 'subscriber' },
  });
  expect(reg.ok(), await reg.text()).toBeTruthy();
  const { clientId, clientSecret } = await reg.json();
  const token = await request.post('/oauth2/token', {
    headers: { Authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` },
    form: { grant_type: 'password', username: 'subscriber', password: DEMO_PASSWORD, scope: 'apim:subscribe apim:app_manage apim:sub_manage' },
  });
  expect(token.ok(), await token.text()).toBeTruthy();
  return (await token.json()).access_token;
}
