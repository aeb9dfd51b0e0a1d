import {
  Button,
  Group,
  Modal,
  NumberInput,
  Select,
  Stack,
  Table,
  Text,
  Textarea,
  Timeline,
} from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { get, post } from "../api";
import { CONDITIONS, DISPOSITIONS, isPending, type ReturnView } from "../ops-types";
import { returnRoute } from "../router";
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

interface Row {
  quantity: number;
  condition: string;
  disposition: string;
}

/** One return: authorise or reject it, receive and inspect its units (restock, quarantine, scrap…), refund. */
export function ReturnDetailPage() {
  const { t } = useTranslation();
  const { id } = returnRoute.useParams();
  const can = useCan();
  const client = useQueryClient();
  const q = useQuery({ queryKey: ["return", id], queryFn: () => get<ReturnView>(`/v1/returns/${id}`) });
  const [rows, setRows] = useState<Record<string, Row>>({});
  const [busy, setBusy] = useState<string | null>(null);
  const [rejecting, setRejecting] = useState(false);
  const [reason, setReason] = useState("");
  const [amount, setAmount] = useState<number | string>("");

  if (q.isPending) return <Loading />;
  if (q.isError) return <ErrorView error={q.error} onRetry={() => void q.refetch()} />;
  const r = q.data;
  const allowed = (a: string) => r.allowed_actions.includes(a);
  // receiving books and inspects at once; units already received wait for inspection only
  const mode =
    allowed("inspect") && r.lines.some((l) => l.received > l.inspected)
      ? "inspect"
      : allowed("receive")
        ? "receive"
        : null;
  const open = (l: ReturnView["lines"][number]) =>
    mode === "inspect" ? l.received - l.inspected : l.quantity - l.received;
  const row = (l: ReturnView["lines"][number]): Row =>
    rows[l.sku] ?? { quantity: open(l), condition: "new", disposition: "restock" };
  const setRow = (sku: string, patch: Partial<Row>, l: ReturnView["lines"][number]) =>
    setRows({ ...rows, [sku]: { ...row(l), ...patch } });

  const act = async (path: string, body: unknown, done: string) => {
    setBusy(path);
    try {
      const next = await post<ReturnView>(`/v1/returns/${r.id}/${path}`, body);
      if (isPending(next)) notifyOk(t("app.sentForApproval"));
      else {
        client.setQueryData(["return", id], next);
        notifyOk(done);
      }
      setRows({});
      void client.invalidateQueries({ queryKey: ["returns"] });
      void client.invalidateQueries({ queryKey: ["levels"] });
      void client.invalidateQueries({ queryKey: ["today"] });
    } catch (err) {
      notifyError(err);
    } finally {
      setBusy(null);
    }
  };
  const bookLines = () =>
    r.lines.filter((l) => open(l) > 0 && row(l).quantity > 0).map((l) => ({ sku: l.sku, ...row(l) }));

  return (
    <Stack>
      <AnchorLink to="/returns" size="sm">
        {t("returns.back")}
      </AnchorLink>
      <Group justify="space-between" align="start">
        <PageTitle
          title={t("returns.one", { number: r.number })}
          subtitle={t("returns.ofOrder", { number: r.order_number })}
        />
        <StatusBadge code={r.status} text={t(`returns.statuses.${r.status}`)} />
      </Group>
      {can("return:write") && (
        <Group>
          {allowed("authorize") && (
            <Button
              loading={busy === "authorize"}
              onClick={() => void act("authorize", {}, t("returns.authorised"))}
            >
              {t("returns.actions.authorize")}
            </Button>
          )}
          {allowed("reject") && (
            <Button variant="default" onClick={() => setRejecting(true)}>
              {t("returns.actions.reject")}
            </Button>
          )}
          {allowed("close") && (
            <Button
              variant="default"
              loading={busy === "close"}
              onClick={() => void act("close", {}, t("returns.closed"))}
            >
              {t("returns.actions.close")}
            </Button>
          )}
        </Group>
      )}
      {r.rejection_reason && <Text>{t("returns.rejectedBecause", { reason: r.rejection_reason })}</Text>}
      <Section title={mode === "inspect" ? t("returns.inspectTitle") : t("returns.lines")}>
        <Table.ScrollContainer minWidth={720}>
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t("returns.sku")}</Table.Th>
                <Table.Th>{t("returns.reason")}</Table.Th>
                <Table.Th ta="right">{t("returns.requested")}</Table.Th>
                <Table.Th ta="right">{t("returns.received")}</Table.Th>
                <Table.Th ta="right">{t("returns.inspected")}</Table.Th>
                {mode && can("return:receive") && (
                  <>
                    <Table.Th>{t("returns.quantity")}</Table.Th>
                    <Table.Th>{t("returns.condition")}</Table.Th>
                    <Table.Th>{t("returns.disposition")}</Table.Th>
                  </>
                )}
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {r.lines.map((l) => (
                <Table.Tr key={l.sku} data-line={l.sku}>
                  <Table.Td>{l.sku}</Table.Td>
                  <Table.Td>{l.reason}</Table.Td>
                  <Table.Td ta="right">{l.quantity}</Table.Td>
                  <Table.Td ta="right">{l.received}</Table.Td>
                  <Table.Td ta="right" data-inspected>
                    {l.inspected}
                    {l.inspections.length > 0 &&
                      ` (${l.inspections.map((i) => `${i.quantity} ${t(`returns.dispositions.${i.disposition}`)}`).join(", ")})`}
                  </Table.Td>
                  {mode && can("return:receive") && (
                    <>
                      <Table.Td>
                        <NumberInput
                          aria-label={t("returns.quantityOf", { sku: l.sku })}
                          value={row(l).quantity}
                          min={0}
                          max={open(l)}
                          allowDecimal={false}
                          onChange={(v) => setRow(l.sku, { quantity: Number(v) || 0 }, l)}
                          w={80}
                          size="xs"
                          disabled={open(l) === 0}
                        />
                      </Table.Td>
                      <Table.Td>
                        <Select
                          aria-label={t("returns.conditionOf", { sku: l.sku })}
                          data={CONDITIONS.map((c) => ({ value: c, label: t(`returns.conditions.${c}`) }))}
                          value={row(l).condition}
                          onChange={(v) => v && setRow(l.sku, { condition: v }, l)}
                          allowDeselect={false}
                          size="xs"
                          w={130}
                        />
                      </Table.Td>
                      <Table.Td>
                        <Select
                          aria-label={t("returns.dispositionOf", { sku: l.sku })}
                          data={DISPOSITIONS.map((d) => ({
                            value: d,
                            label: t(`returns.dispositions.${d}`),
                          }))}
                          value={row(l).disposition}
                          onChange={(v) => v && setRow(l.sku, { disposition: v }, l)}
                          allowDeselect={false}
                          size="xs"
                          w={130}
                        />
                      </Table.Td>
                    </>
                  )}
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
        {mode && can("return:receive") && (
          <Button
            mt="md"
            disabled={bookLines().length === 0}
            loading={busy === mode}
            onClick={() => void act(mode, { lines: bookLines() }, t(`returns.${mode}Done`))}
          >
            {t(`returns.actions.${mode}`)}
          </Button>
        )}
      </Section>
      {can("refund:request") && allowed("refund") && (
        <Section title={t("returns.refunds")}>
          <Text size="sm" mb="xs">
            {t("returns.refundedSoFar", { amount: money(r.refunded, r.currency) })}
          </Text>
          <Group align="end">
            <NumberInput
              label={t("returns.refundAmount", { currency: r.currency })}
              value={amount}
              onChange={setAmount}
              min={0.01}
              decimalScale={2}
            />
            <Button
              variant="default"
              disabled={!Number(amount)}
              loading={busy === "refund"}
              onClick={() =>
                void act(
                  "refund",
                  { amount: Math.round(Number(amount) * 100) },
                  t("returns.refundDone"),
                ).then(() => setAmount(""))
              }
            >
              {t("returns.actions.refund")}
            </Button>
          </Group>
          {r.refunds.map((f) => (
            <Text key={f.at} size="sm">
              {money(f.amount, r.currency)} · {f.actor} · {when(f.at)}
            </Text>
          ))}
        </Section>
      )}
      <Section title={t("order.timeline")}>
        <Timeline bulletSize={12} lineWidth={2}>
          {r.timeline.map((e) => (
            <Timeline.Item
              key={`${e.at}-${e.action}`}
              title={`${t(`returns.statuses.${e.to}`)} · ${e.action}`}
            >
              <Text size="xs" c="dimmed">
                {when(e.at)} · {t("order.by", { actor: e.actor })}
                {e.reason ? ` · ${e.reason}` : ""}
              </Text>
            </Timeline.Item>
          ))}
        </Timeline>
      </Section>
      <Modal
        opened={rejecting}
        onClose={() => setRejecting(false)}
        title={t("returns.actions.reject")}
        closeButtonProps={{ "aria-label": t("app.close") }}
      >
        <Stack>
          <Textarea
            label={t("returns.rejectReason")}
            value={reason}
            onChange={(e) => setReason(e.currentTarget.value)}
            required
            data-autofocus
          />
          <Button
            disabled={!reason.trim()}
            onClick={() => {
              setRejecting(false);
              void act("reject", { reason: reason.trim() }, t("returns.rejected"));
            }}
          >
            {t("orders.bulk.confirm")}
          </Button>
        </Stack>
      </Modal>
    </Stack>
  );
}
