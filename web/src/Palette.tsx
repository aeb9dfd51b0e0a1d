import { Kbd, Text, UnstyledButton } from "@mantine/core";
import { Spotlight, type SpotlightActionData, spotlight } from "@mantine/spotlight";
import { useNavigate } from "@tanstack/react-router";
import { useEffect, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { allowed, NAV } from "./nav";
import { useCan } from "./session";

/** "g" then this key goes to the page. */
export const GO_KEYS: Record<string, (typeof NAV)[number]["to"]> = {
  t: "/",
  o: "/orders",
  p: "/pick",
  s: "/stock",
  l: "/ledger",
  u: "/purchasing",
  r: "/returns",
  c: "/counts",
  e: "/reports",
  i: "/integrations",
  a: "/access",
  k: "/catalog",
};
const KEY_OF = Object.fromEntries(Object.entries(GO_KEYS).map(([k, to]) => [to, k]));

const typing = (el: EventTarget | null) =>
  el instanceof HTMLElement && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName));

/**
 * The command palette (Ctrl/⌘+K): every page the user may open, and what a typed or scanned code
 * opens: an order by number, a SKU's ledger or stock. Plus "g then key" navigation anywhere.
 */
export function Palette() {
  const { t } = useTranslation();
  const can = useCan();
  const navigate = useNavigate();
  const [query, setQuery] = useState("");
  const pages = NAV.filter((n) => allowed(can, n.permission));

  useEffect(() => {
    let armed = 0;
    const onKey = (e: KeyboardEvent) => {
      if (e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
      const key = e.key.toLowerCase();
      if (armed && Date.now() - armed < 1500 && GO_KEYS[key]) {
        armed = 0;
        const to = GO_KEYS[key];
        if (pages.some((p) => p.to === to)) {
          e.preventDefault();
          void navigate({ to });
        }
        return;
      }
      armed = key === "g" ? Date.now() : 0;
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [navigate, pages]);

  const actions = useMemo<SpotlightActionData[]>(() => {
    const code = query.trim();
    const found: SpotlightActionData[] = [];
    if (code && /^[A-Za-z0-9._-]{1,64}$/.test(code)) {
      if (can("order:read"))
        found.push({
          id: "order",
          label: t("palette.order", { code }),
          onClick: () => void navigate({ to: "/orders/$id", params: { id: code } }),
        });
      if (/^R-\d+$/i.test(code) && can("order:read"))
        found.push({
          id: "return",
          label: t("returns.one", { number: code }),
          onClick: () => void navigate({ to: "/returns/$id", params: { id: code.toUpperCase() } }),
        });
      if (can("inventory:read"))
        found.push({
          id: "sku",
          label: t("palette.sku", { code }),
          onClick: () => void navigate({ to: "/ledger", search: { sku: code } }),
        });
    }
    // typed codes are always offered: the palette's filter would hide them when the label differs
    const go = pages
      .filter((p) => !code || t(p.key).toLocaleLowerCase().includes(code.toLocaleLowerCase()))
      .map((p) => ({
        id: p.to,
        label: t(p.key),
        description: KEY_OF[p.to] ? `g ${KEY_OF[p.to]}` : undefined,
        onClick: () => void navigate({ to: p.to }),
      }));
    return [...go, ...found];
  }, [query, pages, can, navigate, t]);

  return (
    <Spotlight
      actions={actions}
      query={query}
      onQueryChange={setQuery}
      filter={(_q, list) => list}
      shortcut={["mod + K", "/"]}
      nothingFound={t("palette.nothing")}
      highlightQuery
      scrollable
      maxHeight={420}
      searchProps={{ placeholder: t("palette.placeholder"), "aria-label": t("nav.palette") }}
      closeOnActionTrigger
      title={t("nav.palette")}
    />
  );
}

/** The header's button that opens the palette. */
export function PaletteButton() {
  const { t } = useTranslation();
  return (
    <UnstyledButton onClick={() => spotlight.open()} aria-label={t("nav.palette")} visibleFrom="xs">
      <Text size="sm" c="dimmed" span>
        {t("nav.palette")} <Kbd size="xs">Ctrl</Kbd>+<Kbd size="xs">K</Kbd>
      </Text>
    </UnstyledButton>
  );
}
