import { Button, Group, NumberInput, Select, SimpleGrid, Stack, Table, Text } from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, get, type Page, post } from "../api";
import type { ReturnSummary, ReturnView } from "../ops-types";
import { useCan } from "../session";
import type { Order } from "../types";
import { AnchorLink, money, notifyError, Section, StatusBadge, when } from "../ui";

interface Invoice {
  id: number;
  number: string;
  currency: string;
  total: number;
  issued_at?: string;
  created_at?: string;
}

/** Opens an invoice's PDF (the API answers PDF for `Accept: application/pdf`). */
async function openPdf(number: string) {
  try {
    const res = await fetch(`/v1/invoices/${encodeURIComponent(number)}`, {
      headers: { accept: "application/pdf" },
      credentials: "same-origin",
    });
    if (!res.ok) {
      const p = (await res.json().catch(() => ({}))) as { detail?: string };
      throw new ApiError(res.status, "http_error", p.detail ?? `${res.status}`);
    }
    window.open(URL.createObjectURL(await res.blob()), "_blank", "noopener");
  } catch (err) {
    notifyError(err);
  }
}

/** A return for shipped units: SKU, how many, why. */
function RequestReturn({ order }: { order: Order }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const client = useQueryClient();
  const reasons = useQuery({
    queryKey: ["settings", "returns", "reasons"],
    queryFn: () => get<{ reasons: string[] }>("/v1/settings/returns").catch(() => ({ reasons: ["other"] })),
  });
  const shipped = order.lines.filter((l) => l.shipped > 0);
  const [sku, setSku] = useState<string | null>(shipped[0]?.sku ?? null);
  const [qty, setQty] = useState<number | string>(1);
  const [reason, setReason] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  if (!shipped.length) return null;
  const request = async () => {
    setBusy(true);
    try {
      const r = await post<ReturnView>("/v1/returns", {
        order_id: order.id,
        lines: [{ sku, quantity: Number(qty), reason }],
      });
      void client.invalidateQueries({ queryKey: ["order-returns", order.id] });
      void navigate({ to: "/returns/$id", params: { id: String(r.id) } });
    } catch (err) {
      notifyError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Group align="end" mt="sm">
      <Select
        label={t("order.returnSku")}
        data={shipped.map((l) => l.sku)}
        value={sku}
        onChange={setSku}
        allowDeselect={false}
        w={160}
      />
      <NumberInput
        label={t("order.returnQty")}
        value={qty}
        onChange={setQty}
        min={1}
        allowDecimal={false}
        w={100}
      />
      <Select
        label={t("order.returnReason")}
        data={reasons.data?.reasons ?? []}
        value={reason}
        onChange={setReason}
        w={200}
      />
      <Button
        variant="default"
        disabled={!sku || !reason || !Number(qty)}
        loading={busy}
        onClick={() => void request()}
      >
        {t("order.requestReturn")}
      </Button>
    </Group>
  );
}

/** The order's returns and invoices, each for those allowed to see them. */
export function OrderExtras({ order }: { order: Order }) {
  const { t } = useTranslation();
  const can = useCan();
  const returns = useQuery({
    queryKey: ["order-returns", order.id],
    queryFn: () => get<Page<ReturnSummary>>("/v1/returns", { order_id: order.id, limit: 50 }),
  });
  const invoices = useQuery({
    queryKey: ["order-invoices", order.id],
    enabled: can("finance:read"),
    queryFn: () => get<Page<Invoice>>("/v1/invoices", { order_id: order.id, limit: 50 }),
  });
  return (
    <SimpleGrid cols={{ base: 1, md: can("finance:read") ? 2 : 1 }}>
      <Section title={t("order.returns")}>
        <Stack gap={4}>
          {(returns.data?.data ?? []).length === 0 && (
            <Text size="sm" c="dimmed">
              {t("order.noReturns")}
            </Text>
          )}
          {returns.data?.data.map((r) => (
            <Group key={r.id} gap="xs" data-order-return={r.number}>
              <AnchorLink to="/returns/$id" params={{ id: String(r.id) }} size="sm">
                {r.number}
              </AnchorLink>
              <StatusBadge code={r.status} text={t(`returns.statuses.${r.status}`)} />
              <Text size="sm">{t("receive.units", { count: r.units })}</Text>
            </Group>
          ))}
          {can("return:write") && <RequestReturn order={order} />}
        </Stack>
      </Section>
      {can("finance:read") && (
        <Section title={t("order.invoices")}>
          {(invoices.data?.data ?? []).length === 0 ? (
            <Text size="sm" c="dimmed">
              {t("order.noInvoices")}
            </Text>
          ) : (
            <Table>
              <Table.Tbody>
                {invoices.data?.data.map((i) => (
                  <Table.Tr key={i.id} data-invoice={i.number}>
                    <Table.Td>{i.number}</Table.Td>
                    <Table.Td>{when(i.issued_at ?? i.created_at ?? null)}</Table.Td>
                    <Table.Td ta="right">{money(i.total, i.currency)}</Table.Td>
                    <Table.Td>
                      <Button size="compact-xs" variant="light" onClick={() => void openPdf(i.number)}>
                        PDF
                      </Button>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          )}
        </Section>
      )}
    </SimpleGrid>
  );
}
