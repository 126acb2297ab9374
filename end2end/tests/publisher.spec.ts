import { test, expect } from '@playwright/test';
import * as path from 'node:path';
import { ADMIN_PASSWORD, hydrated, shot, signIn, watchErrors } from './helpers';

const FIXTURES = path.resolve(__dirname, '../../server/tests/fixtures/openapi');

test('a publisher imports a 3.1 document, edits business info, makes a revision, deploys and publishes it', async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, 'admin', ADMIN_PASSWORD, '/publisher');
  await page.getByRole('link', { name: 'Import OpenAPI' }).first().click();
  await expect(page).toHaveURL(/\/publisher\/apis\/import$/);
  await hydrated(page);

  // A broken document is refused with every problem and where it is.
  await page.getByRole('tab', { name: 'Paste' }).click();
  await page.getByLabel('Definition', { exact: true }).fill('openapi: 3.1.0\ninfo:\n  title: Broken\noverlays: {}\n');
  await page.getByRole('button', { name: 'Validate' }).click();
  const problems = page.getByTestId('validation-problems');
  await expect(problems).toContainText('/info');
  await expect(problems).toContainText('/overlays');
  await shot(page, 'publisher-import-problems');

  // A real 3.1 document from a file.
  await page.getByRole('tab', { name: 'Upload a file' }).click();
  await page.locator('#definition-file').setInputFiles(path.join(FIXTURES, 'oai-examples/v3.1/non-oauth-scopes.yaml'));
  await expect(page.getByTestId('file-label')).toContainText('non-oauth-scopes.yaml');
  await page.getByRole('button', { name: 'Validate' }).click();
  await expect(page.getByTestId('validation-ok')).toContainText('Valid OpenAPI 3.1.0 document: 1 operations');
  await expect(page.getByLabel('Name')).toHaveValue('Non-oAuth Scopes example');
  await page.getByLabel('Context').fill('/scopes-example');
  await page.getByLabel('Production endpoint').fill('http://127.0.0.1:9');
  await shot(page, 'publisher-import-valid');
  await page.getByRole('button', { name: 'Import' }).click();
  await expect(page).toHaveURL(/\/publisher\/apis\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId('api-name')).toHaveText('Non-oAuth Scopes example');
  await expect(page.getByTestId('api-state')).toHaveText('CREATED');
  await hydrated(page);

  // Operations (paged) and the stored definition, downloadable.
  await page.locator('[data-tab="operations"]').click();
  await expect(page.getByTestId('operations-count')).toHaveText('1–1 of 1 operations');
  // Rate limits picked from the organization's advanced policies: the operation's, the API's.
  await hydrated(page);
  const operationLimit = page.getByTestId('operations-table').getByLabel('Rate limit');
  await expect(operationLimit.locator('option[value="10KPerMin"]')).toHaveCount(1);
  await operationLimit.selectOption('10KPerMin');
  await page.getByRole('button', { name: 'Save operations' }).click();
  await expect(page.getByTestId('notice')).toHaveText('Operations saved.');
  await expect(operationLimit).toHaveValue('10KPerMin');
  await page.locator('[data-tab="settings"]').click();
  await hydrated(page);
  const apiLimit = page.getByLabel('Rate limit of the whole API (advanced policy)');
  await expect(apiLimit.locator('option[value="20KPerMin"]')).toHaveCount(1);
  await apiLimit.selectOption('20KPerMin');
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByTestId('notice')).toHaveText('Settings saved.');
  await expect(apiLimit).toHaveValue('20KPerMin');
  await page.locator('[data-tab="definition"]').click();
  await expect(page.getByTestId('definition')).toContainText('"openapi": "3.1.0"');
  const download = await page.request.get(await page.getByRole('link', { name: 'Download (JSON)' }).getAttribute('href') ?? '');
  expect((await download.json()).paths['/users'].get.security[0].bearerAuth).toEqual(['read:users', 'public']);

  // Business information: a bad e-mail is named next to its field, then a good one saves.
  await page.locator('[data-tab="business-info"]').click();
  await expect(page.getByTestId('business-info-form')).toBeVisible();
  await hydrated(page);
  await page.getByLabel('Business owner', { exact: true }).fill('Ann Owner');
  await page.getByLabel('Business owner e-mail').fill('not-an-email');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.locator('[data-field-error="businessInformation.businessOwnerEmail"]')).toContainText('not an email');
  await page.getByLabel('Business owner e-mail').fill('ann@example.com');
  await page.getByLabel('Technical owner', { exact: true }).fill('Tom Tech');
  await page.getByRole('button', { name: 'Save' }).click();
  await expect(page.getByTestId('notice')).toHaveText('Business information saved.');
  await expect(page.getByLabel('Business owner', { exact: true })).toHaveValue('Ann Owner');
  await shot(page, 'publisher-business-info');

  // Publishing before a deployment is refused with the reason.
  await page.locator('[data-tab="lifecycle"]').click();
  await hydrated(page);
  await page.locator('[data-transition="Publish"]').click();
  await expect(page.getByTestId('error-banner')).toContainText('deploy a revision');

  // Not deployed: the gateway does not know the API.
  const gateway = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8280';
  expect((await page.request.get(`${gateway}/scopes-example/1.0.0/users`)).status()).toBe(404);

  // A revision with a description, deployed to the Default environment.
  await page.locator('[data-tab="revisions"]').click();
  await expect(page.getByTestId('empty-state')).toContainText('No revisions yet');
  await hydrated(page);
  await page.getByLabel('New revision — description').fill('First cut from the 3.1 document');
  await page.getByRole('button', { name: 'Create revision' }).click();
  const revision = page.locator('[data-revision="Revision 1"]');
  await expect(revision.getByTestId('revision-description')).toHaveText('First cut from the 3.1 document');
  await revision.getByRole('button', { name: 'Deploy' }).click();
  await expect(revision.locator('[data-deployed="Default"]')).toContainText('Live on Default');
  // The gateway follows within a second: the API is routed (it is secured, so a call without
  // credentials gets 401) instead of unknown (404).
  await expect
    .poll(async () => (await page.request.get(`${gateway}/scopes-example/1.0.0/users`)).status(), { timeout: 2_000 })
    .not.toBe(404);
  const refused = await page.request.get(`${gateway}/scopes-example/1.0.0/users`);
  expect(refused.status()).toBe(401);
  expect((await refused.json()).description).toContain('Missing credentials');
  await shot(page, 'publisher-revisions');

  // Publish.
  await page.locator('[data-tab="lifecycle"]').click();
  await hydrated(page);
  await page.locator('[data-transition="Publish"]').click();
  await expect(page.getByTestId('notice')).toHaveText('The state is now PUBLISHED.');
  await expect(page.getByTestId('api-state')).toHaveText('PUBLISHED');
  await expect(page.getByTestId('lifecycle-history')).toContainText('CREATED → PUBLISHED');
  await shot(page, 'publisher-lifecycle');

  // A new version by copy starts in CREATED.
  await page.locator('[data-tab="overview"]').click();
  await hydrated(page);
  await page.getByLabel('Version', { exact: true }).fill('2.0.0');
  await page.getByRole('button', { name: 'Create new version' }).click();
  await expect(page.getByTestId('api-state')).toHaveText('CREATED');
  await expect(page.locator('main')).toContainText('2.0.0');

  // The list shows it published and live.
  await page.goto('/publisher');
  const tile = page.locator('[data-api="Non-oAuth Scopes example"]').filter({ hasText: '· 1.0.0' });
  await expect(tile).toContainText('PUBLISHED');
  await expect(tile).toContainText('live on Default');
  await shot(page, 'publisher-list');

  // Published: the Developer Portal finds it (search syntax), with its business info.
  await page.goto('/devportal?query=name%3ANon-oAuth');
  const card = page.locator('[data-api="Non-oAuth Scopes example"]');
  await expect(card).toHaveCount(1);
  await expect(card.getByTestId('business-owner')).toContainText('Ann Owner <ann@example.com>');
  await shot(page, 'devportal-search');
  await card.click();
  await expect(page.getByTestId('api-name')).toHaveText('Non-oAuth Scopes example');
  await expect(page.getByTestId('gateway-urls')).toContainText(`http://localhost:${new URL(gateway).port}/scopes-example/1.0.0`);
  await page.locator('[data-operation="GET /users"] summary').click();
  await expect(page.locator('[data-operation="GET /users"]')).toContainText('read:users');
  await shot(page, 'devportal-api');
  expect(errors).toEqual([]);
});

test('a publisher composes an API product from operations of an API', async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, 'admin', ADMIN_PASSWORD, '/publisher/api-products');
  await expect(page.getByTestId('empty-state')).toContainText('No API products yet');
  await page.getByRole('link', { name: 'Create API product' }).click();
  await hydrated(page);
  await page.getByLabel('Name').fill('Scopes bundle');
  await page.getByLabel('Context').fill('/bundle');
  await page.getByRole('button', { name: 'Add API' }).click();
  await expect(page.locator('fieldset legend')).toContainText('Non-oAuth Scopes example');
  await page.getByRole('button', { name: 'Create API product' }).click();
  await expect(page).toHaveURL(/\/publisher\/api-products\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId('api-name')).toHaveText('Scopes bundle');
  await shot(page, 'publisher-product');

  // Change its operations: the same GET /users from version 2.0.0 as well is refused.
  await page.locator('[data-tab="operations"]').click();
  await hydrated(page);
  const v1 = page.locator('[data-part="Non-oAuth Scopes example 1.0.0"]');
  await expect(v1.getByRole('checkbox')).toBeChecked();
  await page.getByLabel('Add operations from').selectOption({ label: 'Non-oAuth Scopes example 2.0.0' });
  await page.getByRole('button', { name: 'Add API' }).click();
  const v2 = page.locator('[data-part="Non-oAuth Scopes example 2.0.0"]');
  await expect(v2).toBeVisible();
  await page.getByRole('button', { name: 'Save operations' }).click();
  await expect(page.getByTestId('error-banner')).toContainText('comes from two APIs');
  await v2.getByRole('button', { name: 'Remove this API' }).click();
  await page.getByRole('button', { name: 'Save operations' }).click();
  await expect(page.getByTestId('notice')).toHaveText("The product's operations are saved.");
  await page.goto('/publisher/api-products');
  await expect(page.locator('[data-api="Scopes bundle"]')).toBeVisible();
  expect(errors).toEqual([]);
});
