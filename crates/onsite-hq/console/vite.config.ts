import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The office's console, served by onsite-hq under /console/ with a strict CSP: no inline
// script or style, so the build emits only files (Svelte's CSS extracted, no module
// preload polyfill inlined).
export default defineConfig({
  plugins: [svelte()],
  base: '/console/',
  clearScreen: false,
  build: {
    target: 'es2022',
    sourcemap: false,
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
  },
  resolve: { conditions: ['browser'] },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
  },
});
