// Who is signed in, kept per tab (sessionStorage) so two tabs can be two users. A development
// sign-in keeps no lasting token: the client asks the gateway for a short one whenever it needs
// one, so the session outlives each token through `auth:refresh`.

/**
 * What is stored: a token given at sign-in, or `dev` for tokens from `POST /dev/token` (with the
 * display name they carry).
 */
export type SignIn = { gateway: string; userId: string } & (
  { token: string } | { dev: true; name?: string }
);
/** What the chat page uses: a token, or a function that gets a new one. */
export type Session = {
  gateway: string;
  userId: string;
  token: string | (() => Promise<string>);
  /** The display name signed in with, when known. */
  name?: string;
};

const KEY = "chat.session";

/** Lifetime of development tokens, short so the refresh runs; `?tokenTtl=<s>` in the URL sets it. */
const DEV_TOKEN_TTL_S = 300;

function devTokenTtl(): number {
  const asked = Number(new URLSearchParams(location.search).get("tokenTtl"));
  return Number.isInteger(asked) && asked > 0 ? asked : DEV_TOKEN_TTL_S;
}

/**
 * A development token from the gateway for `userId` (a new user when none is given), carrying
 * the display name `name` when given.
 */
export async function mintDevToken(
  gateway: string,
  userId?: string,
  name?: string,
): Promise<{ userId: string; token: string }> {
  const res = await fetch(new URL("/dev/token", gateway), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      ...(userId ? { userId } : {}),
      ...(name ? { name } : {}),
      ttlSeconds: devTokenTtl(),
    }),
  });
  if (res.status === 404) throw new Error("this gateway has no development sign-in");
  const body = (await res.json()) as { userId?: string; token?: string; error?: string };
  if (!res.ok || !body.token || !body.userId) throw new Error(body.error ?? res.statusText);
  return { userId: body.userId, token: body.token };
}

function toSession(s: SignIn): Session {
  const { gateway, userId } = s;
  if ("token" in s) return { gateway, userId, token: s.token };
  const { name } = s;
  // Every new token carries the name again: the gateway keeps the latest token's.
  const token = async () => (await mintDevToken(gateway, userId, name)).token;
  return { gateway, userId, token, ...(name ? { name } : {}) };
}

export function loadSession(): Session | null {
  const raw = sessionStorage.getItem(KEY);
  if (!raw) return null;
  try {
    return toSession(JSON.parse(raw) as SignIn);
  } catch {
    return null;
  }
}

export function saveSession(s: SignIn): Session {
  sessionStorage.setItem(KEY, JSON.stringify(s));
  return toSession(s);
}

export const clearSession = () => sessionStorage.removeItem(KEY);

/** The `sub` of a JWT (the user id); the gateway checks the signature, the page only shows it. */
export function tokenSubject(token: string): string | null {
  const payload = token.split(".")[1];
  if (!payload) return null;
  try {
    const json = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const sub = (JSON.parse(json) as { sub?: unknown }).sub;
    return typeof sub === "string" ? sub : null;
  } catch {
    return null;
  }
}
