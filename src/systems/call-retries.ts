import { AsyncLocalStorage } from 'node:async_hooks';

/** The retries of the remote call running in this async context, when someone is counting them. */
const retries = new AsyncLocalStorage<{ n: number }>();

/** ky `beforeRetry` hook: one more attempt of the counted call (a no-op when nobody counts). */
export const countRetry = (): void => {
  const s = retries.getStore();
  if (s) s.n++;
};

/** Runs a call and counts the HTTP client's retries inside it (diagnosis records them per saga step). */
export async function countingRetries<T>(call: () => Promise<T>): Promise<{ out: T; retries: number } | { err: unknown; retries: number }> {
  const count = { n: 0 };
  try {
    return { out: await retries.run(count, call), retries: count.n };
  } catch (err) {
    return { err, retries: count.n };
  }
}
