import { Button, Group, Popover, Select, Stack, TextInput } from "@mantine/core";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import type { OrdersSearch } from "../router";

const KEY = "keel.orders.views";
interface View {
  name: string;
  search: OrdersSearch;
}

function load(): View[] {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? "[]");
    return Array.isArray(v) ? v : [];
  } catch {
    return [];
  }
}

/** Named filter sets for the order list, kept in this browser. */
export function SavedViews({ search, onPick }: { search: OrdersSearch; onPick: (s: OrdersSearch) => void }) {
  const { t } = useTranslation();
  const [views, setViews] = useState<View[]>(load);
  const [name, setName] = useState("");
  const [open, setOpen] = useState(false);
  const store = (next: View[]) => {
    localStorage.setItem(KEY, JSON.stringify(next));
    setViews(next);
  };
  const current = views.find((v) => JSON.stringify(v.search) === JSON.stringify(search))?.name ?? null;
  return (
    <Group align="end" gap="xs">
      <Select
        label={t("orders.views")}
        placeholder={t("orders.noView")}
        data={views.map((v) => v.name)}
        value={current}
        onChange={(n) => {
          const v = views.find((x) => x.name === n);
          if (v) onPick(v.search);
        }}
        clearable={current !== null}
        clearButtonProps={{ "aria-label": t("orders.deleteView") }}
        onClear={() => current && store(views.filter((v) => v.name !== current))}
        w={200}
      />
      <Popover opened={open} onChange={setOpen} trapFocus position="bottom-end" withArrow>
        <Popover.Target>
          <Button variant="default" onClick={() => setOpen((o) => !o)}>
            {t("orders.saveView")}
          </Button>
        </Popover.Target>
        <Popover.Dropdown>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              const n = name.trim();
              if (!n) return;
              store([...views.filter((v) => v.name !== n), { name: n, search }]);
              setName("");
              setOpen(false);
            }}
          >
            <Stack gap="xs">
              <TextInput
                label={t("orders.viewName")}
                value={name}
                onChange={(e) => setName(e.currentTarget.value)}
              />
              <Button type="submit" size="xs" disabled={!name.trim()}>
                {t("app.save")}
              </Button>
            </Stack>
          </form>
        </Popover.Dropdown>
      </Popover>
    </Group>
  );
}
