// Figures of a fault test, phase by phase: what the load sent, what was acknowledged, what the
// gateways answered with an error, and (once the clients have caught up) what was lost or held
// twice among each phase's acknowledged messages.
import type { ChatLoad } from "./chat-load.js";

type Row = {
  phase: string;
  sent: number;
  acked: number;
  failed: number;
  errorAnswers: number;
  ids: Set<string>;
};

const SEND_ANSWERS = /^chat_requests_total\{event="message:send",outcome="([A-Z_a-z]+)"\} (\d+)/;

/** message:send answers other than ok, summed over the nodes that answer /metrics. */
export async function sendErrorAnswers(urls: string[]): Promise<number> {
  let total = 0;
  for (const url of urls) {
    const text = await fetch(`${url}/metrics`)
      .then((r) => r.text())
      .catch(() => "");
    for (const line of text.split("\n")) {
      const m = SEND_ANSWERS.exec(line);
      if (m && m[1] !== "ok") total += Number(m[2]);
    }
  }
  return total;
}

export class PhaseLog {
  readonly rows: Row[] = [];

  constructor(
    private readonly load: ChatLoad,
    private readonly nodeUrls: () => string[],
  ) {}

  /** Runs `body` as one phase and returns its row. */
  async phase(name: string, body: () => Promise<void>): Promise<Row> {
    const counts = this.load.counts();
    const ids = this.load.ackedIds();
    const errors = await sendErrorAnswers(this.nodeUrls());
    await body();
    const now = this.load.counts();
    const row: Row = {
      phase: name,
      sent: now.sent - counts.sent,
      acked: now.acked - counts.acked,
      failed: now.failed - counts.failed,
      errorAnswers: (await sendErrorAnswers(this.nodeUrls())) - errors,
      ids: new Set([...this.load.ackedIds()].filter((id) => !ids.has(id))),
    };
    this.rows.push(row);
    console.log(`      ${name}: ${JSON.stringify({ ...row, ids: undefined, phase: undefined })}`);
    return row;
  }

  /** The table, with lost and duplicated per phase: call after the load has settled. */
  print(title: string) {
    const table = this.rows.map(({ ids, ...row }) => ({ ...row, ...this.load.outcomeOf(ids) }));
    console.log(`      ${title}`);
    console.table(table);
    return table;
  }
}
