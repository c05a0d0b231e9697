// Precompresses a built folder for `cairn serve` (tower-http's ServeDir picks the sibling the
// browser accepts): each text or wasm file gets a .br (brotli, quality 11) and a .gz (gzip -9)
// beside it, unless compressing saves nothing. Node's own zlib: nothing to install.
// Usage: node scripts/compress-dist.mjs DIR
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

const EXT = /\.(wasm|js|mjs|css|html|svg|json|txt|map|woff|ttf|eot|otf)$/;
const dir = process.argv[2];
if (!dir) { console.error('usage: node scripts/compress-dist.mjs DIR'); process.exit(2); }
let files = 0, plain = 0, br = 0, gz = 0;
function walk(d) {
  for (const e of fs.readdirSync(d, { withFileTypes: true })) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) { walk(p); continue; }
    if (!EXT.test(e.name)) continue;
    const bytes = fs.readFileSync(p);
    const b = zlib.brotliCompressSync(bytes, { params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: 11,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    } });
    const g = zlib.gzipSync(bytes, { level: 9 });
    files += 1; plain += bytes.length;
    if (b.length < bytes.length) { fs.writeFileSync(`${p}.br`, b); br += b.length; } else { br += bytes.length; }
    if (g.length < bytes.length) { fs.writeFileSync(`${p}.gz`, g); gz += g.length; } else { gz += bytes.length; }
  }
}
walk(dir);
const kb = (n) => `${(n / 1000).toFixed(0)} KB`;
console.log(`compressed ${files} files of ${dir}: ${kb(plain)} → brotli ${kb(br)}, gzip ${kb(gz)}`);
