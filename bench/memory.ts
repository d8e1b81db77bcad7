// Memory per connected socket: each node's resident set and V8 heap before and after connecting.
import { collectGarbage, heapUsedBytes, rssBytes, type NodeProcess } from "./nodes.js";
import { round } from "./stats.js";

type Sample = { rss: number; heap: number | null };

export type NodeMemory = {
  node: string;
  sockets: number;
  rssBeforeMiB: number;
  rssAfterMiB: number;
  rssPerSocketKiB: number;
  heapPerSocketKiB: number | null;
};

/** Each node's RSS and heap; with `collect`, right after a full garbage collection in it. */
export async function sampleMemory(nodes: NodeProcess[], collect = false): Promise<Sample[]> {
  return Promise.all(
    nodes.map(async (n) => {
      if (collect) await collectGarbage(n);
      return { rss: await rssBytes(n.pid), heap: await heapUsedBytes(n) };
    }),
  );
}

const MiB = 1024 * 1024;

export function perSocket(
  nodes: NodeProcess[],
  before: Sample[],
  after: Sample[],
  sockets: number[],
): NodeMemory[] {
  return nodes.map((n, i) => {
    const b = before[i] as Sample;
    const a = after[i] as Sample;
    const count = Math.max(1, sockets[i] ?? 0);
    return {
      node: n.id,
      sockets: sockets[i] ?? 0,
      rssBeforeMiB: round(b.rss / MiB, 1),
      rssAfterMiB: round(a.rss / MiB, 1),
      rssPerSocketKiB: round((a.rss - b.rss) / count / 1024, 1),
      heapPerSocketKiB:
        a.heap !== null && b.heap !== null ? round((a.heap - b.heap) / count / 1024, 1) : null,
    };
  });
}
