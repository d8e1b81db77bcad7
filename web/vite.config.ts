import { defineConfig } from "vite";

// Relative asset paths, so the built files work from any folder of any static host.
export default defineConfig({ base: "./", build: { outDir: "dist", emptyOutDir: true } });
