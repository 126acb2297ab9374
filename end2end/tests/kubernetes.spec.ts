import * as fs from 'node:fs';
import { test, expect } from '@playwright/test';
import { ADMIN_PASSWORD, adminToken, hydrated, shot, signIn, watchErrors } from './helpers';

test('a publisher downloads a revision deployed to a Kubernetes environment as an HTTPRoute', async ({ page, request }) => {
  const errors = watchErrors(page);
  const token = await adminToken(request, 'apim:admin apim:api_view apim:api_create apim:api_publish apim:api_manage apim:api_delete apim:environment_manage');
  const auth = { Authorization: `Bearer ${token}` };
  const env = `k8s-${Date.now()}`;
  const created = await request.post('/api/am/admin/v4/environments', {
    headers: auth, data: { name: env, displayName: 'Kubernetes', gatewayType: 'APK', vhosts: [{ host: 'api.k8s.example.com' }] },
  });
  expect(created.status(), await created.text()).toBe(201);
  const envId = (await created.json()).id as string;
  const api = await request.post('/api/am/publisher/v4/apis', {
    headers: auth,
    data: {
      name: `Kube Orders ${Date.now()}`, context: `/kube-${Date.now()}`, version: '1.0.0',
      endpointConfig: { endpoint_type: 'http', production_endpoints: { url: 'http://orders.shop.svc.cluster.local:8080/api' } },
      operations: [{ target: '/orders/{id}', verb: 'GET' }],
    },
  });
  expect(api.status(), await api.text()).toBe(201);
  const { id } = await api.json();
  // Other specs list every API: this one and its environment go at the end, pass or fail.
  try {
    const rev = await (await request.post(`/api/am/publisher/v4/apis/${id}/revisions`, { headers: auth, data: { description: 'k8s' } })).json();
    expect((await request.post(`/api/am/publisher/v4/apis/${id}/deploy-revision?revisionId=${rev.id}`, {
      headers: auth, data: [{ name: env, vhost: 'api.k8s.example.com' }],
    })).status()).toBe(201);

    await signIn(page, 'admin', ADMIN_PASSWORD, `/publisher/apis/${id}/revisions`);
    await hydrated(page);
    const live = page.locator(`[data-deployed="${env}"]`);
    await expect(live).toBeVisible();
    await shot(page, 'publisher-kubernetes-revision');
    const [download] = await Promise.all([page.waitForEvent('download'), live.getByTestId('kubernetes-yaml').click()]);
    expect(download.suggestedFilename()).toMatch(/\.yaml$/);
    const yaml = fs.readFileSync(await download.path(), 'utf8');
    expect(yaml).toContain('kind: HTTPRoute');
    expect(yaml).toContain('api.k8s.example.com');
    expect(yaml).toContain(`name: ${env}`);
    expect(yaml).toContain('replacePrefixMatch: /api/orders');
    expect(errors).toEqual([]);
  } finally {
    const gone = await request.delete(`/api/am/publisher/v4/apis/${id}`, { headers: auth });
    expect(gone.ok(), await gone.text()).toBeTruthy();
    const envGone = await request.delete(`/api/am/admin/v4/environments/${envId}`, { headers: auth });
    expect(envGone.ok(), await envGone.text()).toBeTruthy();
  }
});
