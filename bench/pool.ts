/** Runs `work` over `items` with at most `concurrency` running at once, in order of start. */
export async function pool<T>(
  items: number,
  concurrency: number,
  work: (index: number) => Promise<T>,
): Promise<T[]> {
  const results = new Array<T>(items);
  let next = 0;
  const worker = async () => {
    while (next < items) {
      const i = next++;
      results[i] = await work(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items) }, worker));
  return results;
}
