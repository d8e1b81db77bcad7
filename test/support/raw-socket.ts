// A Socket.IO client spoken by hand over a bare `ws` WebSocket, for tests that need control
// the socket.io-client does not give, such as to stop reading the socket.
import WebSocket from "ws";

/** Opens a WebSocket to the gateway at `url` and completes the Socket.IO handshake with `token`. */
export async function rawSocketIo(url: string, token: string): Promise<WebSocket> {
  const ws = new WebSocket(`${url.replace(/^http/, "ws")}/socket.io/?EIO=4&transport=websocket`);
  await new Promise<void>((resolve, reject) => {
    ws.once("error", reject);
    ws.on("message", function onFrame(data) {
      const frame = String(data);
      // Engine.IO "open" (0), then the Socket.IO CONNECT answer (40) or CONNECT_ERROR (44).
      if (frame.startsWith("0")) ws.send(`40${JSON.stringify({ token })}`);
      else if (frame.startsWith("40")) {
        ws.off("message", onFrame);
        resolve();
      } else if (frame.startsWith("44")) reject(new Error(`refused: ${frame}`));
    });
  });
  return ws;
}
