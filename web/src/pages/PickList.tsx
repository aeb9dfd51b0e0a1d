import { Button, Group, Stack, Table, Text, Title } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { get } from "../api";
import { pickListRoute } from "../router";
import type { Order } from "../types";
import { ErrorView, Loading, Section, when } from "../ui";

/** A printable pick list for the orders chosen on the order list: units per SKU and location, then per order. */
export function PickListPage() {
  const { t } = useTranslation();
  const { ids } = pickListRoute.useSearch();
  const list = (ids ?? "")
    .split(",")
    .filter((x) => /^\d+$/.test(x))
    .slice(0, 200);
  const q = useQuery({
    queryKey: ["pick-list", list],
    queryFn: () => Promise.all(list.map((id) => get<Order>(`/v1/orders/${id}`))),
  });
  if (q.isPending) return <Loading />;
  if (q.isError) return <ErrorView error={q.error} onRetry={() => void q.refetch()} />;
  const orders = q.data;
  // what to take from where: held or allocated stock per SKU and location, else the line itself
  const totals = new Map<string, { sku: string; location: string; quantity: number; orders: string[] }>();
  for (const o of orders) {
    const held = o.allocations.filter((a) => a.state !== "released");
    const rows = held.length
      ? held.map((a) => ({ sku: a.sku, location: a.location, quantity: a.quantity }))
      : o.lines.map((l) => ({ sku: l.sku, location: "—", quantity: l.quantity - l.cancelled - l.shipped }));
    for (const r of rows) {
      if (r.quantity <= 0) continue;
      const key = `${r.location}|${r.sku}`;
      const e = totals.get(key) ?? { sku: r.sku, location: r.location, quantity: 0, orders: [] };
      e.quantity += r.quantity;
      if (!e.orders.includes(o.number)) e.orders.push(o.number);
      totals.set(key, e);
    }
  }
  const sorted = [...totals.values()].sort(
    (a, b) => a.location.localeCompare(b.location) || a.sku.localeCompare(b.sku),
  );
  return (
    <Stack>
      <Group justify="space-between" className="no-print">
        <Title order={1}>{t("pickList.title", { count: orders.length })}</Title>
        <Button onClick={() => window.print()}>{t("pickList.print")}</Button>
      </Group>
      <Text size="sm" c="dimmed">
        {when(new Date().toISOString())}
      </Text>
      <Section title={t("pickList.bySku")}>
        <Table striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t("pickList.location")}</Table.Th>
              <Table.Th>{t("pickList.sku")}</Table.Th>
              <Table.Th ta="right">{t("pickList.quantity")}</Table.Th>
              <Table.Th>{t("pickList.orders")}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {sorted.map((r) => (
              <Table.Tr key={`${r.location}|${r.sku}`} data-pick={r.sku}>
                <Table.Td>{r.location}</Table.Td>
                <Table.Td>{r.sku}</Table.Td>
                <Table.Td ta="right" data-quantity>
                  {r.quantity}
                </Table.Td>
                <Table.Td>{r.orders.join(", ")}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Section>
      {orders.map((o) => (
        <Section key={o.id} title={`${o.number} · ${o.customer.name ?? o.customer.email}`}>
          {o.lines.map((l) => (
            <Text key={l.line_no} size="sm">
              ☐ {l.quantity - l.cancelled - l.shipped} × {l.sku} {l.title ? `· ${l.title}` : ""}
            </Text>
          ))}
        </Section>
      ))}
    </Stack>
  );
}
