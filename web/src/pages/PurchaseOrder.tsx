import { Alert, Button, Group, NumberInput, Stack, Table, Text } from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, get, post } from "../api";
import { isPending, type PurchaseOrder, type Receipt } from "../ops-types";
import { purchaseOrderRoute } from "../router";
import { ScanInput, useBarcodes } from "../scan";
import { useCan } from "../session";
import {
  AnchorLink,
  ErrorView,
  Loading,
  money,
  notifyError,
  notifyOk,
  PageTitle,
  Section,
  StatusBadge,
  when,
} from "../ui";

const RECEIVABLE = ["submitted", "partially_received"];

/** One purchase order: submit, cancel or close it, and receive its goods by scan (partial receipts). */
export function PurchaseOrderPage() {
  const { t } = useTranslation();
  const { id } = purchaseOrderRoute.useParams();
  const can = useCan();
  const client = useQueryClient();
  const q = useQuery({
    queryKey: ["purchase-order", id],
    queryFn: () => get<PurchaseOrder>(`/v1/purchase-orders/${id}`),
  });
  const inspect = useQuery({
    queryKey: ["receiving-settings"],
    enabled: can("settings:read"),
    queryFn: () => get<{ data: { location: string; inspect: boolean }[] }>("/v1/receiving-settings"),
  });
  const [counts, setCounts] = useState<Map<string, number>>(new Map());
  const [feedback, setFeedback] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const barcodes = useBarcodes(q.data?.lines.map((l) => l.sku) ?? []);

  if (q.isPending) return <Loading />;
  if (q.isError) return <ErrorView error={q.error} onRetry={() => void q.refetch()} />;
  const po = q.data;
  const receivable = RECEIVABLE.includes(po.status) && can("po:receive");
  const intoQuarantine = inspect.data?.data.find((s) => s.location === po.location)?.inspect;
  const scanned = [...counts.values()].reduce((n, v) => n + v, 0);

  const act = async (action: "submit" | "cancel" | "close") => {
    setBusy(action);
    try {
      const next = await post<PurchaseOrder>(
        `/v1/purchase-orders/${po.id}/${action}`,
        action === "submit" ? undefined : {},
      );
      if (isPending(next)) notifyOk(t("app.sentForApproval"));
      else client.setQueryData(["purchase-order", id], next);
      void client.invalidateQueries({ queryKey: ["purchase-orders"] });
    } catch (err) {
      notifyError(err);
    } finally {
      setBusy(null);
    }
  };

  const onScan = (code: string) => {
    const sku = barcodes.get(code) ?? code;
    const line = po.lines.find((l) => l.sku === sku);
    if (!line) return setFeedback({ ok: false, text: t("receive.unknown", { code }) });
    const n = (counts.get(sku) ?? 0) + 1;
    setCounts(new Map(counts).set(sku, n));
    setFeedback(
      n > line.outstanding
        ? { ok: false, text: t("receive.over", { sku, count: n, outstanding: line.outstanding }) }
        : { ok: true, text: t("receive.ok", { sku, count: n }) },
    );
  };

  const book = async () => {
    setBusy("receive");
    try {
      const lines = [...counts].filter(([, n]) => n > 0).map(([sku, quantity]) => ({ sku, quantity }));
      const r = await post<Receipt>(`/v1/purchase-orders/${po.id}/receipts`, { lines });
      const units = r.lines.reduce((s, l) => s + l.quantity, 0);
      notifyOk(
        t(r.bucket === "quarantine" ? "receive.bookedQuarantine" : "receive.booked", { count: units }),
      );
      client.setQueryData(["purchase-order", id], r.purchase_order);
      setCounts(new Map());
      setFeedback(null);
      void client.invalidateQueries({ queryKey: ["levels"] });
      void client.invalidateQueries({ queryKey: ["purchase-orders"] });
    } catch (err) {
      if (err instanceof ApiError) setFeedback({ ok: false, text: err.message });
      notifyError(err);
    } finally {
      setBusy(null);
    }
  };

  return (
    <Stack>
      <AnchorLink to="/purchasing" size="sm">
        {t("po.back")}
      </AnchorLink>
      <Group justify="space-between" align="start">
        <PageTitle title={t("po.one", { number: po.number })} subtitle={`${po.supplier} → ${po.location}`} />
        <StatusBadge code={po.status} text={t(`po.statuses.${po.status}`)} />
      </Group>
      {can("po:write") && (
        <Group>
          {(["submit", "cancel", "close"] as const)
            .filter((a) => po.allowed_actions.includes(a))
            .map((a) => (
              <Button
                key={a}
                variant={a === "submit" ? "filled" : "default"}
                loading={busy === a}
                onClick={() => void act(a)}
              >
                {t(`po.actions.${a}`)}
              </Button>
            ))}
        </Group>
      )}
      <Text size="sm">
        {t("po.expected")}: {po.expected_date ?? "—"} · {t("po.total")}: {money(po.total, po.currency)} ·{" "}
        {t("po.created")}: {when(po.created_at)}
      </Text>
      {receivable && (
        <Section title={t("receive.title")}>
          <Stack>
            {intoQuarantine && (
              <Alert color="orange" py="xs">
                {t("receive.quarantineNote", { location: po.location })}
              </Alert>
            )}
            <ScanInput label={t("receive.scan")} description={t("receive.scanHelp")} onScan={onScan} />
            {feedback && (
              <Alert color={feedback.ok ? "teal" : "red"} role={feedback.ok ? "status" : "alert"} py="xs">
                {feedback.text}
              </Alert>
            )}
          </Stack>
        </Section>
      )}
      <Section title={t("po.lines")}>
        <Table.ScrollContainer minWidth={640}>
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t("po.sku")}</Table.Th>
                <Table.Th ta="right">{t("po.quantity")}</Table.Th>
                <Table.Th ta="right">{t("po.received")}</Table.Th>
                <Table.Th ta="right">{t("po.outstanding")}</Table.Th>
                <Table.Th ta="right">{t("po.unitCost")}</Table.Th>
                {receivable && <Table.Th ta="right">{t("receive.now")}</Table.Th>}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {po.lines.map((l) => (
                <Table.Tr key={l.line_no} data-line={l.sku}>
                  <Table.Td>{l.sku}</Table.Td>
                  <Table.Td ta="right">{l.quantity}</Table.Td>
                  <Table.Td ta="right" data-received>
                    {l.received}
                  </Table.Td>
                  <Table.Td ta="right">{l.outstanding}</Table.Td>
                  <Table.Td ta="right">{money(l.unit_cost, po.currency)}</Table.Td>
                  {receivable && (
                    <Table.Td ta="right">
                      <NumberInput
                        aria-label={t("receive.nowOf", { sku: l.sku })}
                        value={counts.get(l.sku) ?? 0}
                        min={0}
                        allowDecimal={false}
                        onChange={(v) => setCounts(new Map(counts).set(l.sku, Number(v) || 0))}
                        w={90}
                        size="xs"
                        ml="auto"
                        data-now
                      />
                    </Table.Td>
                  )}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
        {receivable && (
          <Button mt="md" onClick={() => void book()} disabled={scanned === 0} loading={busy === "receive"}>
            {t("receive.book", { count: scanned })}
          </Button>
        )}
      </Section>
      {po.receipts.length > 0 && (
        <Section title={t("receive.receipts")}>
          {po.receipts.map((r) => (
            <Text key={r.id} size="sm">
              #{r.id} · {when(r.created_at)} · {t("receive.units", { count: r.units })}
            </Text>
          ))}
        </Section>
      )}
    </Stack>
  );
}
