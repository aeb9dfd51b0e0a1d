/*! Keel stock widget: <script src="https://keel.example/storefront/widget.js" data-skus="A,B" data-show-quantity async></script> */
(() => {
  const me = document.currentScript;
  if (!me) return;
  const base = new URL(me.src).origin;
  const skus = (me.dataset.skus || "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .slice(0, 100);
  if (!skus.length) return;
  const showQty = me.dataset.showQuantity !== undefined && me.dataset.showQuantity !== "false";
  const tr = (me.dataset.lang || document.documentElement.lang || "").slice(0, 2) === "tr";
  const words = tr
    ? {
        in_stock: "Stokta",
        low_stock: "Az kaldı",
        left: "Son {n} ürün",
        out_of_stock: "Tükendi",
        preorder: "Ön sipariş",
        backorder: "Sipariş üzerine",
      }
    : {
        in_stock: "In stock",
        low_stock: "Low stock",
        left: "Only {n} left",
        out_of_stock: "Out of stock",
        preorder: "Pre-order",
        backorder: "Available to order",
      };
  // where to write: elements marked data-keel-sku on the page, else one line after the script per SKU
  const spots = {};
  for (const sku of skus) {
    let list = [...document.querySelectorAll("[data-keel-sku]")].filter((el) => el.dataset.keelSku === sku);
    if (!list.length) {
      const el = document.createElement("span");
      el.dataset.keelSku = sku;
      me.parentNode.insertBefore(el, me.nextSibling);
      list = [el];
    }
    for (const el of list) {
      el.setAttribute("role", "status");
      el.setAttribute("aria-live", "polite");
      el.classList.add("keel-stock");
    }
    spots[sku] = list;
  }
  const show = (e) => {
    const text =
      e.status === "low_stock" && showQty && typeof e.quantity === "number"
        ? words.left.replace("{n}", e.quantity)
        : words[e.status] || words.out_of_stock;
    for (const el of spots[e.sku] || []) {
      if (el.textContent !== text) el.textContent = text;
      el.dataset.status = e.status;
    }
  };
  const q = `?skus=${encodeURIComponent(skus.join(","))}`;
  const poll = () =>
    fetch(`${base}/v1/storefront/availability${q}`)
      .then((r) => r.json())
      .then((b) => b.data.forEach(show))
      .catch(() => {});
  let stream = null;
  let timer = null;
  let failures = 0;
  const stop = () => {
    if (stream) stream.close();
    stream = null;
  };
  const polling = (on) => {
    clearInterval(timer);
    timer = on ? setInterval(poll, 60000) : null;
  };
  const open = () => {
    stop();
    if (!window.EventSource || failures > 3) return polling(true);
    polling(false);
    stream = new EventSource(`${base}/v1/storefront/availability/stream${q}`);
    stream.addEventListener("availability", (m) => {
      failures = 0;
      show(JSON.parse(m.data));
    });
    // a broken stream: the browser retries; after a few failures in a row, poll instead
    stream.onerror = () => {
      if (++failures > 3) open();
    };
  };
  // a hidden tab holds no connection: it polls once a minute, and streams again when seen
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      stop();
      polling(true);
    } else {
      poll();
      open();
    }
  });
  poll();
  if (document.hidden) polling(true);
  else open();
})();
