// users: each user's display name, as their most recently issued token gave it.
import cassandra from "cassandra-driver";
import type { Db } from "./cassandra.js";

/** Users per read: a conversation's participants (up to 256) in a few single-table reads. */
const READ_CHUNK = 64;

export class UserRepository {
  constructor(private readonly db: Db) {}

  /**
   * Stores the user's name as of `issuedAt` (ms): the write time is the token's, so of two
   * tokens the later issued one's name stays, whichever reaches a node last.
   */
  async saveName(userId: string, name: string, issuedAt: number): Promise<void> {
    const micros = cassandra.types.Long.fromNumber(Math.floor(issuedAt) * 1000);
    await this.db.execute("INSERT INTO users (user_id, name) VALUES (?, ?) USING TIMESTAMP ?", [
      userId,
      name,
      micros,
    ]);
  }

  /** The stored names of these users; those without one are absent. */
  async names(userIds: string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const chunks: string[][] = [];
    for (let i = 0; i < userIds.length; i += READ_CHUNK) {
      chunks.push(userIds.slice(i, i + READ_CHUNK));
    }
    await Promise.all(
      chunks.map(async (ids) => {
        const rs = await this.db.execute("SELECT user_id, name FROM users WHERE user_id IN ?", [
          ids,
        ]);
        for (const r of rs.rows) {
          const name = r.get("name") as string | null;
          if (name) found.set(String(r.get("user_id")), name);
        }
      }),
    );
    return found;
  }
}
