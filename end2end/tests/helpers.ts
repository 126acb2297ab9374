import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect, type APIRequestContext, type Page } from '@playwright/test';

export const ADMIN_PASSWORD = process.env.ADMIN_PASSWORD ?? 'admin';
export const DEMO_PASSWORD = process.env.DEMO_PASSWORD ?? 'gatehouse';

/** Fails the test on any uncaught page error or console error (hydration problems show here). */
export function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return errors;
}

/** Resolves once the WASM bundle has hydrated the page. */
export async function hydrated(page: Page) {
  await page.waitForFunction(() => (window as any).__gatehouse_hydrated === true, null, { timeout: 15_000 });
}

export async function signIn(page: Page, username: string, password: string, next?: string) {
  await page.goto(next ? `/sign-in?next=${encodeURIComponent(next)}` : '/sign-in');
  await page.getByLabel('User name').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByTestId('signed-in-user')).toContainText(username);
}

export async function signOut(page: Page) {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/sign-in/);
}

export async function shot(page: Page, name: string) {
  await page.screenshot({ path: `artifacts/${name}.png`, fullPage: true });
}

/** The admin's REST token with `scope` (dynamic client registration + password grant). */
export async function adminToken(request: APIRequestContext, scope: string): Promise<string> {
  const basic = Buffer.from(`admin:${ADMIN_PASSWORD}`).toString('base64');
  const reg = await request.post('/client-registration/v0.17/register', {
    headers: { Authorization: `Basic ${basic}` },
    data: { clientName: 'e2e-admin', grantType: 'password refresh_token', owner: 'admin' },
  });
  expect(reg.ok()).toBeTruthy();
  const { clientId, clientSecret } = await reg.json();
  const token = await request.post('/oauth2/token', {
    headers: { Authorization: `Basic ${Buffer.from(`${clientId}:${clientSecret}`).toString('base64')}` },
    form: { grant_type: 'password', username: 'admin', password: ADMIN_PASSWORD, scope },
  });
  expect(token.ok()).toBeTruthy();
  return (await token.json()).access_token;
}

/** Creates an API on the demo backend, deploys a revision to Default and publishes it. */
export async function publishApi(request: APIRequestContext, token: string, api: Record<string, unknown>): Promise<{ id: string }> {
  const auth = { Authorization: `Bearer ${token}` };
  const created = await request.post('/api/am/publisher/v4/apis', { headers: auth, data: api });
  expect(created.status(), await created.text()).toBe(201);
  const { id } = await created.json();
  const rev = await (await request.post(`/api/am/publisher/v4/apis/${id}/revisions`, { headers: auth, data: { description: 'e2e' } })).json();
  expect((await request.post(`/api/am/publisher/v4/apis/${id}/deploy-revision?revisionId=${rev.id}`, {
    headers: auth, data: [{ name: 'Default', vhost: 'localhost' }],
  })).status()).toBe(201);
  expect((await request.post(`/api/am/publisher/v4/apis/change-lifecycle?apiId=${id}&action=Publish`, { headers: auth })).ok()).toBeTruthy();
  return { id };
}

/** What the echo backend answers: the request as it arrived. */
export type Echo = { method: string; path: string; rawHeaders: string[] };

/**
 * A backend on 127.0.0.1 (a free port) that answers every request with its method, path and
 * headers in arrival order (`rawHeaders`, so a header sent twice shows twice).
 */
export async function echoBackend(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const echo: Echo = { method: req.method ?? '', path: req.url ?? '', rawHeaders: req.rawHeaders };
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(echo));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    // The gateway keeps idle connections to its backends: close those too, or close() waits.
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** The values of header `name` the echo backend received, in order. */
export function headerValues(echo: Echo, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < echo.rawHeaders.length; i += 2) {
    if (echo.rawHeaders[i].toLowerCase() === name.toLowerCase()) out.push(echo.rawHeaders[i + 1]);
  }
  return out;
}
