const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** A sample product page with the widget on it, as a shop would embed it. */
export function demoPage(skus: string[], lang: "en" | "tr"): string {
  const tr = lang === "tr";
  const rows = skus
    .map(
      (sku) =>
        `<li><span class="variant">${esc(sku)}</span> <span class="stock" data-keel-sku="${esc(sku)}">…</span></li>`,
    )
    .join("\n        ");
  return `<!doctype html>
<html lang="${lang}">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <link rel="icon" href="data:," />
    <title>${tr ? "Örnek ürün sayfası" : "Sample product page"} · Keel</title>
    <style>
      body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #1a1b1e; }
      .stock { font-weight: 600; }
      .stock[data-status="in_stock"] { color: #1b5e20; }
      .stock[data-status="low_stock"] { color: #8a4b00; }
      .stock[data-status="out_of_stock"] { color: #b00020; }
      .stock[data-status="preorder"], .stock[data-status="backorder"] { color: #283593; }
      ul { padding-left: 1.2rem; }
    </style>
  </head>
  <body>
    <main>
      <h1>${tr ? "Örnek ürün" : "Sample product"}</h1>
      <p>${
        tr
          ? "Bu sayfa Keel'in stok bileşenini bir mağaza sayfasına gömülü olarak gösterir; stok değiştikçe kendiliğinden güncellenir."
          : "This page shows Keel's stock widget embedded in a shop's page; it updates by itself as stock changes."
      }</p>
      <ul>
        ${rows}
      </ul>
      <pre><code>&lt;script src="/storefront/widget.js" data-skus="${esc(skus.join(","))}" data-show-quantity async&gt;&lt;/script&gt;</code></pre>
    </main>
    <script src="/storefront/widget.js" data-skus="${esc(skus.join(","))}" data-show-quantity data-lang="${lang}" async></script>
  </body>
</html>
`;
}
