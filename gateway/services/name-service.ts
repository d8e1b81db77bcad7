// Display names: each user's latest name from their tokens' `name` claim, stored once per token
// and node, and the names of a conversation's participants, which a node reuses for a while.
import type { Logger } from "../logger.js";
import type { UserRepository } from "../storage/user-repository.js";
import { Lru } from "./lru.js";

/** How long a handshake waits for its name to be stored: a name is no reason to hold a user up. */
const SAVE_WAIT_MS = 1000;
const USERS_KEPT = 100_000;

/** A user as their token presents them: the verifier's Identity, as far as names go. */
export type NamedUser = { userId: string; name?: string; issuedAt?: number };

type Read = { name: string | undefined; until: number };

export class NameService {
  // What this node stored last per user, so a reconnect with the same token writes nothing.
  private readonly saved = new Lru<string, { name: string; issuedAt: number }>(USERS_KEPT);
  private readonly read = new Lru<string, Read>(USERS_KEPT);
  // Counts names stored: a read that started before one is not kept, as it may be older.
  private saves = 0;

  constructor(
    private readonly deps: {
      repo: Pick<UserRepository, "saveName" | "names">;
      /** How long a name read from storage is reused (0: never). */
      cacheMs: number;
      log: Logger;
    },
  ) {}

  /**
   * Stores the user's name when this node has not stored it from this token or a later one.
   * Waits for the write at most SAVE_WAIT_MS and never fails: a failed write is logged.
   */
  async remember(user: NamedUser): Promise<void> {
    const { userId, name } = user;
    if (!name) return;
    const now = Date.now();
    // A token issued "in the future" (clock skew) must not outrank the ones issued after it.
    const issuedAt = Math.min(user.issuedAt ?? now, now);
    const last = this.saved.get(userId);
    // Without `iat`, every handshake would look newer: the same name is then enough.
    if (last?.name === name && (user.issuedAt === undefined || last.issuedAt >= issuedAt)) return;
    const save = this.deps.repo.saveName(userId, name, issuedAt).then(
      () => {
        this.saved.set(userId, { name, issuedAt });
        this.saves++;
        // Read again next time: an older token's name does not replace a newer one in storage.
        this.read.delete(userId);
      },
      (err: unknown) => this.deps.log.warn({ err, user: userId }, "storing a display name failed"),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      save,
      new Promise((resolve) => (timer = setTimeout(resolve, SAVE_WAIT_MS))),
    ]);
    clearTimeout(timer);
  }

  /**
   * The known names of these users (those without one are absent), from this node's copies
   * younger than `cacheMs`, else from storage. Never fails: names are only shown, so when
   * storage cannot answer, the copies this node has, however old, are the answer.
   */
  async namesOf(userIds: string[]): Promise<Record<string, string>> {
    const now = Date.now();
    const names: Record<string, string> = {};
    const missing: string[] = [];
    for (const id of new Set(userIds)) {
      const held = this.read.get(id);
      if (held && held.until > now) {
        if (held.name) names[id] = held.name;
      } else missing.push(id);
    }
    if (!missing.length) return names;
    const saves = this.saves;
    try {
      const found = await this.deps.repo.names(missing);
      const until = now + this.deps.cacheMs;
      const keep = this.deps.cacheMs > 0 && saves === this.saves;
      for (const id of missing) {
        const name = found.get(id);
        if (keep) this.read.set(id, { name, until });
        if (name) names[id] = name;
      }
    } catch (err) {
      this.deps.log.warn({ err, users: missing.length }, "reading display names failed");
      for (const id of missing) {
        const stale = this.read.get(id)?.name;
        if (stale) names[id] = stale;
      }
    }
    return names;
  }
}
