import { defineConfig } from "vite";

// `npx vite web` proxies the gateway, so the page talks to its own origin as in production.
const gateway = process.env.GATEWAY_URL ?? "http://127.0.0.1:3000";

// Relative asset paths, so the built files work from any folder of any static host.
export default defineConfig({
  base: "./",
  build: { outDir: "dist", emptyOutDir: true },
  server: { proxy: { "/socket.io": { target: gateway, ws: true }, "/dev/token": gateway } },
});
