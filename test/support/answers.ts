// Raw requests (any payload, with or without an ack) and the exact shape of a failing answer.
import { expect } from "chai";
import type { ErrorCode, RequestEvent, RequestPayload } from "../../shared/protocol.js";
import { emitRequest } from "../../shared/request.js";
import type { Client } from "./cluster.js";

/** Any payload, typed or not, with its answer (or the ack timeout's rejection). */
export function raw(
  client: Client,
  event: RequestEvent,
  payload: unknown,
  timeoutMs = 5000,
): Promise<unknown> {
  return emitRequest(client, event, payload as RequestPayload<typeof event>, timeoutMs);
}

/** Emits a request without an acknowledgement callback. */
export function emitWithoutAck(client: Client, event: RequestEvent, payload: unknown) {
  (client.emit as (ev: string, p: unknown) => void).call(client, event, payload);
}

/**
 * A failing answer is exactly `{ ok: false, error: { code, message } }`, message non-empty, with
 * `code` the one given (or one of those given).
 */
export function expectFailure(
  answer: unknown,
  code: ErrorCode | readonly ErrorCode[],
  what: string,
): ErrorCode {
  const shown = `${what} → ${JSON.stringify(answer)}`;
  expect(answer, shown).to.be.an("object");
  const a = answer as Record<string, unknown>;
  expect(Object.keys(a).sort(), shown).to.deep.equal(["error", "ok"]);
  expect(a.ok, shown).to.equal(false);
  expect(a.error, shown).to.be.an("object");
  const error = a.error as Record<string, unknown>;
  expect(typeof code === "string" ? [code] : code, shown).to.include(error.code);
  expect(error.message, shown).to.be.a("string");
  expect((error.message as string).trim(), shown).to.not.equal("");
  const allowed =
    error.code === "RATE_LIMITED" ? ["code", "message", "retryAfterMs"] : ["code", "message"];
  expect(
    Object.keys(error).filter((k) => !allowed.includes(k)),
    shown,
  ).to.deep.equal([]);
  return error.code as ErrorCode;
}

/** Sends `payload` as `event` and expects the failing answer with `code`. */
export async function fails(
  client: Client,
  event: RequestEvent,
  payload: unknown,
  code: ErrorCode | readonly ErrorCode[],
): Promise<void> {
  const what = `${event} ${JSON.stringify(payload)?.slice(0, 160)}`;
  expectFailure(await raw(client, event, payload), code, what);
}

export type Refusal = { message: string; data: unknown };

/** The connect_error of a handshake that must be refused, or a failure if it was accepted. */
export async function refusalOf(connecting: Promise<Client>): Promise<Refusal> {
  const outcome = await connecting.then(
    (client) => ({ accepted: client.id }),
    (err: unknown) => ({ refused: err }),
  );
  if (!("refused" in outcome)) throw new Error("the handshake was accepted");
  expect(outcome.refused).to.be.instanceOf(Error);
  return outcome.refused as Refusal;
}
