// Waits until the server answers /ready, so tests never race its start-up.
export default async function globalSetup() {
  const base = process.env.BASE_URL ?? 'http://127.0.0.1:3000';
  const deadline = Date.now() + 60_000;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${base}/ready`);
      if (r.ok) return;
      last = `status ${r.status}`;
    } catch (e) {
      last = String(e);
    }
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error(`server at ${base} not ready: ${last}`);
}
