import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The admin app, built to web/dist and served by Keel itself at `/` (src/http/web.ts).
export default defineConfig({
  root: import.meta.dirname,
  base: "/",
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 800 },
});
