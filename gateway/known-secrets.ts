// Every JWT secret written anywhere in this repository (defaults, compose, tests, docs). They are
// public, so a production node refuses them; test/known-secrets.test.ts scans the tracked files
// and fails when a new one is not listed here.

/** The secret a node outside production signs and verifies with when JWT_SECRET is unset. */
export const DEV_JWT_SECRET = "dev-secret-change-me";

export const KNOWN_SECRETS: readonly string[] = [
  DEV_JWT_SECRET,
  "change-me", // the former docker-compose default
  "a-production-secret", // a former test's production secret
  "s3cret-for-this-test",
];

/** Shortest JWT_SECRET accepted in production: 256 bits, the HS256 key size. */
export const MIN_PRODUCTION_SECRET_BYTES = 32;
