export {
  ChatClient,
  newClientMsgId,
  type ChatClientEvents,
  type ChatClientOptions,
  type ChatSocket,
  type ConnectionStatus,
  type SendInput,
  type StatusChange,
} from "./chat-client.js";
export { RequestError, type ClientErrorCode } from "./request-error.js";
export type { RequestPayload, RequestResult } from "../protocol.js";
