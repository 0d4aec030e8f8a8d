// Must be the first import of every bundled entry point: ssh2's bundled Emscripten code reads
// __dirname, which an ESM bundle does not define.
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

(globalThis as { __dirname?: string }).__dirname ??= dirname(fileURLToPath(import.meta.url));
