import { test, expect } from '@playwright/test';
import { ADMIN_PASSWORD, DEMO_PASSWORD, adminToken, hydrated, publishApi, shot, signIn, signOut, watchErrors } from './helpers';

test('the site root leads to the public developer portal, which hydrates cleanly', async ({ page }) => {
  const errors = watchErrors(page);
  await page.goto('/');
  await expect(page).toHaveURL(/\/devportal$/);
  await expect(page.getByRole('heading', { name: 'APIs', exact: true })).toBeVisible();
  await expect(page.getByTestId('empty-state')).toContainText('No APIs are published yet');
  await hydrated(page);
  await expect(page.getByRole('link', { name: 'Sign in' })).toBeVisible();
  await shot(page, 'devportal-anonymous');
  expect(errors).toEqual([]);
});

test('admin signs in and sees all three portals, then signs out', async ({ page }) => {
  const errors = watchErrors(page);
  await signIn(page, 'admin', ADMIN_PASSWORD, '/publisher');
  await expect(page).toHaveURL(/\/publisher$/);
  await expect(page.getByTestId('empty-state')).toContainText('No APIs yet');
  const portals = page.getByRole('navigation', { name: 'Portals' });
  await expect(portals.getByRole('link')).toHaveText(['Developer Portal', 'Publisher', 'Admin']);
  await hydrated(page);
  await shot(page, 'publisher-admin');

  await portals.getByRole('link', { name: 'Admin' }).click();
  await expect(page).toHaveURL(/\/admin$/);
  await expect(page.locator('[data-section]')).toHaveCount(9);
  await shot(page, 'admin-overview');

  await page.locator('[data-section="users"]').click();
  await expect(page.getByTestId('users-table')).toBeVisible();
  for (const user of ['admin', 'publisher', 'subscriber', 'workflow-admin']) {
    await expect(page.locator(`tr[data-username="${user}"]`)).toBeVisible();
  }
  await expect(page.locator('[data-role="workflow-admin"]')).toContainText('apim:api_workflow_approve');
  await shot(page, 'admin-users');

  await portals.getByRole('link', { name: 'Developer Portal' }).click();
  await expect(page).toHaveURL(/\/devportal$/);
  await signOut(page);
  await page.goto('/publisher');
  await expect(page).toHaveURL(/\/sign-in\?next=%2Fpublisher/);
  expect(errors).toEqual([]);
});

test('a subscriber is refused by the Publisher and the Admin portal', async ({ page }) => {
  await signIn(page, 'subscriber', DEMO_PASSWORD);
  await expect(page).toHaveURL(/\/devportal$/);
  const portals = page.getByRole('navigation', { name: 'Portals' });
  await expect(portals.getByRole('link')).toHaveText(['Developer Portal']);

  for (const path of ['/publisher', '/admin', '/admin/users']) {
    const resp = await page.goto(path);
    expect(resp?.status(), path).toBe(403);
    await expect(page.getByTestId('forbidden')).toBeVisible();
  }
  await shot(page, 'subscriber-forbidden');
  await page.goto('/devportal/applications');
  await expect(page.getByTestId('empty-state')).toContainText('You have no applications yet');
});

test('a workflow admin sees only the approvals section', async ({ page }) => {
  await signIn(page, 'workflow-admin', DEMO_PASSWORD, '/admin');
  await expect(page.locator('[data-section]')).toHaveCount(1);
  await expect(page.locator('[data-section="workflows"]')).toBeVisible();
  const resp = await page.goto('/admin/key-managers');
  expect(resp?.status()).toBe(403);
  await expect(page.getByTestId('forbidden')).toBeVisible();
  await page.goto('/admin/workflows');
  await expect(page.getByTestId('empty-state')).toContainText('No pending approvals');
  await shot(page, 'admin-workflow-admin');
});

test('a wrong password is refused with a clear message', async ({ page }) => {
  await page.goto('/sign-in');
  await page.getByLabel('User name').fill('admin');
  await page.getByLabel('Password').fill('not-the-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('form-error')).toHaveText('Wrong user name or password.');
  await expect(page.getByLabel('User name')).toHaveValue('admin');
  await shot(page, 'sign-in-error');
});

test('self sign-up creates a developer account and signs it in', async ({ page }) => {
  const name = `dev${Date.now()}`;
  await page.goto('/devportal');
  await page.getByRole('link', { name: 'Sign up' }).click();
  await expect(page).toHaveURL(/\/sign-up/);
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Display name').fill('Dana Developer');
  await page.getByLabel('E-mail').fill(`${name}@example.com`);
  await page.getByLabel('Password', { exact: true }).fill('s3cret-pass');
  await page.getByLabel('Repeat password').fill('s3cret-pass');
  await shot(page, 'sign-up-form');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page).toHaveURL(/\/devportal$/);
  await expect(page.getByTestId('signed-in-user')).toContainText('Dana Developer');
  const resp = await page.goto('/publisher');
  expect(resp?.status()).toBe(403);

  // The same user name again is refused, and the form keeps what was typed.
  await signOut(page);
  await page.goto('/sign-up');
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('E-mail').fill(`other-${name}@example.com`);
  await page.getByLabel('Password', { exact: true }).fill('s3cret-pass');
  await page.getByLabel('Repeat password').fill('s3cret-pass');
  await page.getByRole('button', { name: 'Create account' }).click();
  await expect(page.getByTestId('form-error')).toHaveText('That user name is taken.');
  await expect(page.getByLabel('E-mail')).toHaveValue(`other-${name}@example.com`);
});

test('every portal page hydrates on a direct load, tabs and admin sections included', async ({ page, request }) => {
  const errors = watchErrors(page);
  const token = await adminToken(request, 'apim:admin apim:api_view apim:api_create apim:api_publish apim:api_delete');
  const created = await request.post('/api/am/publisher/v4/apis', {
    headers: { Authorization: `Bearer ${token}` },
    data: {
      name: 'Hydration Check', context: '/hydration-check', version: '1.0.0',
      endpointConfig: { endpoint_type: 'http', production_endpoints: { url: 'http://127.0.0.1:9' } },
      operations: [{ target: '/x', verb: 'GET' }],
    },
  });
  expect(created.status(), await created.text()).toBe(201);
  const { id } = await created.json();
  await signIn(page, 'admin', ADMIN_PASSWORD, '/admin');
  const tabs = ['', '/business-info', '/settings', '/operations', '/endpoints', '/lifecycle', '/revisions', '/definition', '/documents'];
  const pages = [
    '/admin', '/admin/workflows', '/admin/users', '/admin/key-managers', '/admin/gateways', '/admin/settings',
    '/admin/throttling',
    '/publisher', '/publisher/api-products',
    ...tabs.map((t) => `/publisher/apis/${id}${t}`),
    '/devportal', '/devportal/applications',
  ];
  for (const path of pages) {
    await page.goto(path);
    await hydrated(page);
    expect(errors, path).toEqual([]);
  }
  // The later Publisher tests start from their own APIs only.
  const gone = await request.delete(`/api/am/publisher/v4/apis/${id}`, { headers: { Authorization: `Bearer ${token}` } });
  expect(gone.ok(), await gone.text()).toBeTruthy();
});

test('an admin locks and unlocks a developer and defines a role with scopes', async ({ page, browser }) => {
  const errors = watchErrors(page);
  await signIn(page, 'admin', ADMIN_PASSWORD, '/admin/users');
  await hydrated(page);
  const row = page.locator('tr[data-username="policy-admin"]');
  await row.getByRole('button', { name: 'Lock' }).click();
  await expect(page.getByTestId('notice')).toHaveText('policy-admin locked.');
  await expect(row.getByTestId('user-status')).toHaveText('locked');
  // The locked account cannot sign in.
  const other = await browser.newPage();
  await other.goto('/sign-in');
  await other.getByLabel('User name').fill('policy-admin');
  await other.getByLabel('Password').fill(DEMO_PASSWORD);
  await other.getByRole('button', { name: 'Sign in' }).click();
  await expect(other.getByText('This account is locked')).toBeVisible();
  await other.close();
  await row.getByRole('button', { name: 'Unlock' }).click();
  await expect(row.getByTestId('user-status')).toHaveText('active');

  // A new role with one scope.
  const card = page.locator('[data-role="new"]');
  await card.getByLabel('Role name').fill('auditor');
  await card.getByLabel('Role description').fill('Reads the audit log');
  await card.getByLabel('apim:monitoring_view').check();
  await card.getByRole('button', { name: 'Create role' }).click();
  await expect(page.getByTestId('notice')).toHaveText('Role auditor saved.');
  await expect(page.locator('[data-role="auditor"]')).toContainText('apim:monitoring_view');
  await shot(page, 'admin-users-roles');
  expect(errors).toEqual([]);
});

test('a key-manager admin adds a Keycloak realm, disables it and removes it', async ({ page }) => {
  const errors = watchErrors(page);
  page.on('dialog', (d) => d.accept());
  await signIn(page, 'keymanager-admin', DEMO_PASSWORD, '/admin/key-managers');
  await hydrated(page);
  const form = page.getByTestId('add-key-manager');
  await form.getByLabel('Name').fill('Team Keycloak');
  await form.getByLabel('Type').selectOption('KeyCloak');
  // What Keycloak needs, and nothing else.
  await expect(form.getByLabel('Issuer')).toHaveCount(0);
  await form.getByLabel('Server URL').fill('https://keycloak.example.com');
  await form.getByLabel('Realm').fill('team');
  await form.getByLabel('Only these roles').fill('subscriber');
  await form.getByRole('button', { name: 'Add key manager' }).click();
  await expect(page.getByTestId('notice')).toHaveText('Key manager Team Keycloak added.');
  const row = page.locator('tr[data-key-manager="Team Keycloak"]');
  await expect(row).toContainText('https://keycloak.example.com/realms/team');
  await expect(row).toContainText('only subscriber');
  await shot(page, 'admin-key-managers');
  await row.getByRole('button', { name: 'Disable' }).click();
  await expect(row.getByTestId('km-state')).toHaveText('disabled');
  await row.getByRole('button', { name: 'Remove' }).click();
  await expect(page.getByTestId('notice')).toHaveText('Team Keycloak removed.');
  await expect(row).toHaveCount(0);
  // A missing field is named.
  await form.getByLabel('Name').fill('Half Okta');
  await form.getByLabel('Type').selectOption('Okta');
  await form.getByRole('button', { name: 'Add key manager' }).click();
  await expect(page.getByTestId('error-banner')).toBeVisible();
  expect(errors).toEqual([]);
});

test("a gateway admin opens a connected gateway's diagnostics and sees a failed request with the phase that decided", async ({ page, request }) => {
  const errors = watchErrors(page);
  // A request no deployed API matches: the gateway keeps it among its failures.
  const gateway = process.env.GATEWAY_URL ?? 'http://127.0.0.1:8280';
  const miss = await request.get(`${gateway}/no-such-api/1.0.0/anything`);
  expect(miss.status()).toBe(404);
  await signIn(page, 'admin', ADMIN_PASSWORD, '/admin/gateways');
  await hydrated(page);
  const def = page.locator('[data-environment="Default"]');
  await def.getByTestId('gateway-diagnostics').first().click();
  await expect(page).toHaveURL(/\/admin\/gateways\?environment=Default&gateway=/);
  await expect(page.getByTestId('diag-gateway')).toContainText('/');
  await expect(page.getByTestId('diag-snapshot')).toContainText('version');
  await expect(page.getByTestId('diag-phases').locator('[data-phase="total"]')).toBeVisible();
  // This gateway follows the control plane, so it sends analytics events there.
  await expect(page.getByTestId('diag-analytics')).toContainText('analytics on');
  // The gateway reports every five seconds and the page refreshes itself as often.
  const failure = page.getByTestId('diag-failure').filter({ hasText: '/no-such-api/1.0.0/anything' }).first();
  await expect(failure).toBeVisible({ timeout: 20_000 });
  await expect(failure.getByTestId('diag-phase')).toHaveText('Decided in routing');
  await expect(failure.getByTestId('diag-cause')).toContainText('No deployed API has this context');
  await shot(page, 'admin-gateway-diagnostics');
  await page.getByRole('link', { name: '← All gateways' }).click();
  await expect(page.getByTestId('connected-gateways').first()).toBeVisible();
  expect(errors).toEqual([]);
});

test('a gateway admin sees the connected gateway with its snapshot version, and adds, edits and removes an environment', async ({ page }) => {
  const errors = watchErrors(page);
  page.on('dialog', (d) => d.accept());
  await signIn(page, 'admin', ADMIN_PASSWORD, '/admin/gateways');
  await hydrated(page);
  // The test run's gateway follows the Default environment.
  const def = page.locator('[data-environment="Default"]');
  await expect(def.getByTestId('connected-gateways')).toContainText('(current)');
  await shot(page, 'admin-gateways');
  const form = page.getByTestId('add-environment');
  await form.getByLabel('Name', { exact: true }).fill('eu-test');
  await form.getByLabel('Display name').fill('EU test');
  await form.getByLabel(/Virtual hosts/).fill('api.eu.example.com');
  await form.getByRole('button', { name: 'Add environment' }).click();
  await expect(page.getByTestId('notice')).toHaveText('Environment eu-test added.');
  const eu = page.locator('[data-environment="eu-test"]');
  await expect(eu.getByTestId('no-gateways')).toBeVisible();
  await expect(eu.getByTestId('gateway-type')).toHaveText('Native');
  // Edited: a second virtual host with its ports, served by a Kubernetes gateway.
  await eu.getByRole('button', { name: 'Edit' }).click();
  await expect(form.getByLabel('Name', { exact: true })).toHaveValue('eu-test');
  await form.getByLabel(/Virtual hosts/).fill('api.eu.example.com 80\nedge.eu.example.com - 8443');
  await form.getByLabel('Gateway type').selectOption('kubernetes');
  await form.getByRole('button', { name: 'Save environment' }).click();
  await expect(page.getByTestId('notice')).toHaveText('Environment eu-test saved.');
  await expect(eu.getByTestId('vhosts')).toHaveText('http://api.eu.example.com:80, https://edge.eu.example.com:8443');
  await expect(eu.getByTestId('gateway-type')).toHaveText('Kubernetes');
  // A bad host is named by its line.
  await eu.getByRole('button', { name: 'Edit' }).click();
  await form.getByLabel(/Virtual hosts/).fill('api.eu.example.com\nnot a host!');
  await form.getByRole('button', { name: 'Save environment' }).click();
  await expect(form.getByText(/Line 2:/)).toBeVisible();
  await form.getByRole('button', { name: 'Cancel' }).click();
  await eu.getByRole('button', { name: 'Remove' }).click();
  await expect(page.getByTestId('notice')).toHaveText('Environment eu-test removed.');
  await expect(eu).toHaveCount(0);
  expect(errors).toEqual([]);
});

test('a settings admin files APIs under categories and switches a lifecycle step off; the super admin adds an organization', async ({ page, browser }) => {
  const errors = watchErrors(page);
  page.on('dialog', (d) => d.accept());
  await signIn(page, 'admin', ADMIN_PASSWORD, '/admin/settings');
  await hydrated(page);
  // Categories: empty state, add, edit, delete.
  const categories = page.getByTestId('categories');
  await expect(categories.getByTestId('empty-state')).toContainText('No API categories yet');
  const form = page.getByTestId('category-form');
  await form.getByLabel('New category').fill('Finance');
  await form.getByLabel('Description').fill('Payments and accounts');
  await form.getByRole('button', { name: 'Add category' }).click();
  await expect(categories.getByTestId('notice')).toHaveText('Category Finance added.');
  const row = page.locator('tr[data-category="Finance"]');
  await expect(row.getByTestId('category-apis')).toHaveText('0');
  await row.getByRole('button', { name: 'Edit' }).click();
  await form.getByLabel('Category name').fill('Payments');
  await form.getByRole('button', { name: 'Save category' }).click();
  await expect(page.locator('tr[data-category="Payments"]')).toBeVisible();
  // A duplicate is named next to the field.
  await form.getByLabel('New category').fill('Payments');
  await form.getByRole('button', { name: 'Add category' }).click();
  await expect(form.getByText('is taken')).toBeVisible();
  await page.locator('tr[data-category="Payments"]').getByRole('button', { name: 'Delete' }).click();
  await expect(categories.getByTestId('notice')).toHaveText('Category Payments deleted.');

  // The organization's settings: switch "Block" off, then back on.
  const settings = page.getByTestId('settings-form');
  const block = settings.locator('[data-transition="PUBLISHED:Block"] input');
  await expect(block).toBeChecked();
  await block.uncheck();
  await settings.getByRole('button', { name: 'Save settings' }).click();
  await expect(page.getByTestId('organization-settings').getByTestId('notice')).toHaveText('Organization settings saved.');
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId('settings-form').locator('[data-transition="PUBLISHED:Block"] input')).not.toBeChecked();
  await page.getByTestId('settings-form').locator('[data-transition="PUBLISHED:Block"] input').check();
  await page.getByTestId('settings-form').getByRole('button', { name: 'Save settings' }).click();
  await expect(page.getByTestId('organization-settings').getByTestId('notice')).toHaveText('Organization settings saved.');
  await shot(page, 'admin-settings');

  // Organizations: a new one whose administrator signs in as name@organization.
  const orgs = page.getByTestId('organization-form');
  await orgs.getByLabel('Name', { exact: true }).fill('acme');
  await orgs.getByLabel('Display name').fill('ACME Corporation');
  await orgs.getByLabel('First administrator').fill('boss');
  await orgs.getByLabel('Their password').fill('boss password');
  await orgs.getByRole('button', { name: 'Create organization' }).click();
  await expect(page.getByTestId('organizations').getByTestId('notice')).toContainText('Organization acme created');
  const acme = page.locator('tr[data-organization="acme"]');
  await expect(acme.getByTestId('organization-status')).toHaveText('enabled');
  const other = await browser.newPage();
  await other.goto('/sign-in?next=%2Fadmin');
  await other.getByLabel('User name').fill('boss@acme');
  await other.getByLabel('Password').fill('boss password');
  await other.getByRole('button', { name: 'Sign in' }).click();
  await expect(other.getByTestId('signed-in-user')).toContainText('boss');
  await expect(other.locator('[data-section]')).toHaveCount(9);
  // Not a super admin: no organizations card.
  await other.goto('/admin/settings');
  await hydrated(other);
  await expect(other.getByTestId('categories')).toBeVisible();
  await expect(other.getByTestId('organizations')).toHaveCount(0);
  await other.close();
  await acme.getByRole('button', { name: 'Disable' }).click();
  await expect(acme.getByTestId('organization-status')).toHaveText('disabled');
  const refused = await browser.newPage();
  await refused.goto('/sign-in');
  await refused.getByLabel('User name').fill('boss@acme');
  await refused.getByLabel('Password').fill('boss password');
  await refused.getByRole('button', { name: 'Sign in' }).click();
  await expect(refused.getByTestId('form-error')).toHaveText('Wrong user name or password.');
  await refused.close();

  // Role aliases on the users page.
  await page.goto('/admin/users');
  await hydrated(page);
  const aliases = page.getByTestId('role-aliases');
  await expect(aliases.getByTestId('no-aliases')).toBeVisible();
  await aliases.getByLabel(/One role per line/).fill('subscriber: Internal/subscriber');
  await aliases.getByRole('button', { name: 'Save aliases' }).click();
  await expect(aliases.getByTestId('notice')).toHaveText('Role aliases saved.');
  await aliases.getByLabel(/One role per line/).fill('');
  await aliases.getByRole('button', { name: 'Save aliases' }).click();
  await expect(aliases.getByTestId('no-aliases')).toBeVisible();
  expect(errors).toEqual([]);
});

test('a publisher files an API under a defined category and the Developer Portal filters by it', async ({ page, request }) => {
  const errors = watchErrors(page);
  const token = await adminToken(request, 'apim:admin apim:api_category apim:api_view apim:api_create apim:api_publish apim:api_delete');
  const auth = { Authorization: `Bearer ${token}` };
  const cat = await request.post('/api/am/admin/v4/api-categories', { headers: auth, data: { name: 'Weather', description: 'Forecasts' } });
  expect(cat.status(), await cat.text()).toBe(201);
  const { id } = await publishApi(request, token, {
    name: 'Forecast', context: '/forecast', version: '1.0.0',
    endpointConfig: { endpoint_type: 'http', production_endpoints: { url: 'http://127.0.0.1:9' } },
    operations: [{ target: '/today', verb: 'GET' }],
  });
  await signIn(page, 'admin', ADMIN_PASSWORD, `/publisher/apis/${id}/settings`);
  await hydrated(page);
  const picker = page.getByTestId('categories');
  await picker.getByLabel('Weather').check();
  await page.getByRole('button', { name: 'Save', exact: true }).click();
  await expect(page.getByTestId('notice')).toHaveText('Settings saved.');
  await page.goto('/devportal');
  await hydrated(page);
  const filter = page.getByTestId('category-filter');
  await filter.getByRole('link', { name: 'Weather' }).click();
  await expect(page).toHaveURL(/query=category%3AWeather/);
  await expect(page.getByTestId('catalogue')).toContainText('Forecast');
  await shot(page, 'devportal-category');
  // The category is in use: the admin cannot delete it.
  const list = await (await request.get('/api/am/admin/v4/api-categories', { headers: auth })).json();
  expect(list.list[0].numberOfAPIs).toBe(1);
  const del = await request.delete(`/api/am/admin/v4/api-categories/${list.list[0].id}`, { headers: auth });
  expect(del.status()).toBe(409);
  // The later tests start from their own APIs only.
  const gone = await request.delete(`/api/am/publisher/v4/apis/${id}`, { headers: auth });
  expect(gone.ok(), await gone.text()).toBeTruthy();
  expect(errors).toEqual([]);
});

test('a policy admin adds a subscription tier with burst control, which publishers can then offer, an advanced policy with a conditional group, and blocks an address', async ({ page, request }) => {
  const errors = watchErrors(page);
  page.on('dialog', (d) => d.accept());
  await signIn(page, 'policy-admin', DEMO_PASSWORD, '/admin/throttling');
  await hydrated(page);
  // The built-in tiers are listed with their quotas.
  const tiers = page.getByTestId('subscription-policies');
  await expect(tiers.locator('tr[data-policy="Gold"]').getByTestId('quota')).toHaveText('5000 per min');
  await expect(page.getByTestId('application-policies').locator('tr[data-policy="10PerMin"]')).toBeVisible();
  // A custom tier: 600 a minute, at most 20 a second.
  const form = page.getByTestId('subscription-policy-form');
  await form.getByLabel('New policy').fill('Partner');
  await form.getByLabel('Quota').fill('600');
  await form.getByLabel('Burst: at most').fill('20');
  await form.getByRole('button', { name: 'Add policy' }).click();
  await expect(tiers.getByTestId('notice')).toHaveText('Policy Partner saved.');
  const row = tiers.locator('tr[data-policy="Partner"]');
  await expect(row.getByTestId('quota')).toHaveText('600 per min');
  await expect(row.getByTestId('burst')).toHaveText('20 per sec');
  // A burst looser than the quota is named next to its field.
  await row.getByRole('button', { name: 'Edit' }).click();
  await form.getByLabel('Burst: at most').fill('20');
  await form.getByLabel('per', { exact: true }).nth(1).selectOption('min');
  await form.getByRole('button', { name: 'Save policy' }).click();
  await expect(form.getByText('burst control must use a shorter time unit than the quota')).toBeVisible();
  await form.getByRole('button', { name: 'Cancel' }).click();
  // An application policy limiting data instead of requests: 5 MB a minute.
  const appPolicies = page.getByTestId('application-policies');
  const appForm = page.getByTestId('application-policy-form');
  await appForm.getByLabel('New policy').fill('Uploads');
  await appForm.getByLabel('Quota').fill('5');
  await appForm.getByLabel('of', { exact: true }).selectOption('MB');
  await appForm.getByRole('button', { name: 'Add policy' }).click();
  await expect(appPolicies.getByTestId('notice')).toHaveText('Policy Uploads saved.');
  const uploads = appPolicies.locator('tr[data-policy="Uploads"]');
  await expect(uploads.getByTestId('quota')).toHaveText('5 MB per min');
  await uploads.getByRole('button', { name: 'Edit' }).click();
  await expect(appForm.getByLabel('of', { exact: true })).toHaveValue('MB');
  await expect(appForm.getByLabel('Quota')).toHaveValue('5');
  await appForm.getByRole('button', { name: 'Cancel' }).click();
  await shot(page, 'admin-rate-limiting');
  await uploads.getByRole('button', { name: 'Remove' }).click();
  await expect(uploads).toHaveCount(0);
  // Publishers may offer it; a tier nobody defined is refused, naming it.
  const token = await adminToken(request, 'apim:admin apim:api_view apim:api_create apim:api_delete');
  const auth = { Authorization: `Bearer ${token}` };
  const bad = await request.post('/api/am/publisher/v4/apis', {
    headers: auth, data: { name: 'Tiered', context: '/tiered', version: '1', policies: ['Partner', 'Platinum'] },
  });
  expect(bad.status()).toBe(400);
  expect((await bad.json()).error[0].code).toBe('policies[1]');
  const good = await request.post('/api/am/publisher/v4/apis', {
    headers: auth, data: { name: 'Tiered', context: '/tiered', version: '1', policies: ['Partner'] },
  });
  expect(good.status(), await good.text()).toBe(201);
  const { id } = await good.json();
  expect((await request.delete(`/api/am/publisher/v4/apis/${id}`, { headers: auth })).ok()).toBeTruthy();
  // Not in use any more: removed.
  await row.getByRole('button', { name: 'Remove' }).click();
  await expect(tiers.getByTestId('notice')).toHaveText('Policy Partner removed.');
  await expect(row).toHaveCount(0);

  // Advanced policies: the built-in ones listed; one with a header-conditioned group, whose
  // bad pattern is named next to its condition first.
  const advanced = page.getByTestId('advanced-policies');
  await expect(advanced.locator('tr[data-policy="10KPerMin"]').getByTestId('default-limit')).toHaveText('10000 per min');
  const advancedForm = page.getByTestId('advanced-policy-form');
  await advancedForm.getByLabel('New policy').fill('Partners');
  await advancedForm.getByLabel('Default limit amount').fill('500');
  await advancedForm.getByRole('button', { name: 'Add conditional group' }).click();
  const group = advancedForm.getByTestId('group-0');
  await group.getByLabel('Group limit amount').fill('50');
  await group.getByLabel('Header name').fill('X-Partner');
  await group.getByLabel('Header value (regex)').fill('(gold');
  await advancedForm.getByRole('button', { name: 'Add policy' }).click();
  await expect(group.getByTestId('condition-0-0')).toContainText('is not a regular expression');
  await group.getByLabel('Header value (regex)').fill('^gold$');
  await advancedForm.getByRole('button', { name: 'Add policy' }).click();
  await expect(advanced.getByTestId('notice')).toHaveText('Policy Partners saved.');
  const partners = advanced.locator('tr[data-policy="Partners"]');
  await expect(partners.getByTestId('default-limit')).toHaveText('500 per min');
  await expect(partners.getByTestId('groups')).toContainText('header X-Partner ~ ^gold$: 50 per min');
  await shot(page, 'admin-advanced-policies');
  await partners.getByRole('button', { name: 'Remove' }).click();
  await expect(advanced.getByTestId('notice')).toHaveText('Policy Partners removed.');
  await expect(partners).toHaveCount(0);

  // Deny policies: an address blocked, switched off, removed; a bad one named.
  const deny = page.getByTestId('deny-policies');
  await expect(deny.getByTestId('empty-state')).toContainText('Nothing is blocked');
  const denyForm = page.getByTestId('deny-form');
  await denyForm.getByLabel('Value').fill('not-an-address');
  await denyForm.getByRole('button', { name: 'Add condition' }).click();
  await expect(denyForm.getByText('is not an IP address')).toBeVisible();
  await denyForm.getByLabel('Value').fill('203.0.113.7');
  await denyForm.getByRole('button', { name: 'Add condition' }).click();
  await expect(deny.getByTestId('notice')).toHaveText('IP condition added.');
  const condition = deny.locator('tr[data-condition="203.0.113.7"]');
  await expect(condition.getByTestId('condition-status')).toHaveText('on');
  await condition.getByRole('button', { name: 'Switch off' }).click();
  await expect(condition.getByTestId('condition-status')).toHaveText('off');
  await condition.getByRole('button', { name: 'Remove' }).click();
  await expect(deny.getByTestId('empty-state')).toBeVisible();
  expect(errors).toEqual([]);
});
