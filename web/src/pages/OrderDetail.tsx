import {
  Badge,
  Button,
  Card,
  Group,
  Modal,
  SimpleGrid,
  Stack,
  Table,
  Text,
  Textarea,
  Timeline,
  Title,
} from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { type ReactNode, useState } from "react";
import { useTranslation } from "react-i18next";
import { get, post } from "../api";
import { label } from "../i18n";
import { orderRoute } from "../router";
import { useCan } from "../session";
import type { Order } from "../types";
import { AnchorLink, ErrorView, Loading, money, notifyError, notifyOk, StatusBadge, when } from "../ui";
import { OrderExtras } from "./OrderExtras";

const ACTIONS = [
  { action: "approve", permission: "order:approve" },
  { action: "hold", permission: "order:hold" },
  { action: "release", permission: "order:hold" },
  { action: "cancel", permission: "order:cancel" },
  { action: "complete", permission: "order:approve" },
] as const;

function Section({ title, children }: { title: string; children: ReactNode }) {
  return (
    <Card withBorder component="section" aria-label={title}>
      <Title order={2} size="h4" mb="sm">
        {title}
      </Title>
      {children}
    </Card>
  );
}

export function OrderDetailPage() {
  const { t } = useTranslation();
  const { id } = orderRoute.useParams();
  const can = useCan();
  const client = useQueryClient();
  const q = useQuery({ queryKey: ["order", id], queryFn: () => get<Order>(`/v1/orders/${id}`) });
  const [asking, setAsking] = useState<"hold" | "cancel" | null>(null);
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState<string | null>(null);

  const act = async (path: string, body?: unknown) => {
    setBusy(path);
    try {
      const next = await post<Order>(path, body);
      if (next && "timeline" in next) client.setQueryData(["order", id], next);
      else await q.refetch();
      void client.invalidateQueries({ queryKey: ["orders"] });
      notifyOk(t("app.save"));
      setAsking(null);
      setReason("");
    } catch (err) {
      notifyError(err);
    } finally {
      setBusy(null);
    }
  };

  if (q.isPending) return <Loading />;
  if (q.isError) return <ErrorView error={q.error} onRetry={() => void q.refetch()} />;
  const o = q.data;
  const open = ACTIONS.filter((a) => o.allowed_actions.includes(a.action) && can(a.permission));
  const canFulfil =
    can("fulfilment:execute") && ["approved", "preparing", "partially_shipped"].includes(o.status);

  return (
    <Stack>
      <AnchorLink to="/orders" size="sm">
        ← {t("order.back")}
      </AnchorLink>
      <Group justify="space-between">
        <Group>
          <Title order={1}>{t("order.title", { number: o.number })}</Title>
          <StatusBadge code={o.status} />
          <Badge variant="outline">{label("status", o.payment_status)}</Badge>
          <Badge variant="outline">{label("status", o.fulfillment_status)}</Badge>
        </Group>
        <Group>
          {open.map((a) => (
            <Button
              key={a.action}
              color={a.action === "cancel" ? "red" : undefined}
              variant={a.action === "approve" ? "filled" : "light"}
              loading={busy === `/v1/orders/${o.id}/${a.action}`}
              onClick={() =>
                a.action === "hold" || a.action === "cancel"
                  ? setAsking(a.action)
                  : void act(`/v1/orders/${o.id}/${a.action}`)
              }
            >
              {t(`order.actions.${a.action}`)}
            </Button>
          ))}
          {canFulfil && (
            <Button variant="default" onClick={() => void act(`/v1/orders/${o.id}/fulfillments`)}>
              {t("order.createFulfillment")}
            </Button>
          )}
        </Group>
      </Group>
      <Modal
        opened={asking !== null}
        onClose={() => setAsking(null)}
        closeButtonProps={{ "aria-label": t("app.close") }}
        title={asking ? t(`order.actions.${asking}`) : ""}
      >
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (asking && reason.trim()) void act(`/v1/orders/${o.id}/${asking}`, { reason: reason.trim() });
          }}
        >
          <Stack>
            <Textarea
              label={t("orders.bulk.reason")}
              required
              value={reason}
              onChange={(e) => setReason(e.currentTarget.value)}
              data-autofocus
            />
            <Button type="submit" disabled={!reason.trim()} loading={busy !== null}>
              {t("orders.bulk.confirm")}
            </Button>
          </Stack>
        </form>
      </Modal>
      <SimpleGrid cols={{ base: 1, md: 3 }}>
        <Section title={t("order.customer")}>
          <Text size="sm">{o.customer.name}</Text>
          <Text size="sm">{o.customer.email}</Text>
          <Text size="sm" c="dimmed" mt="xs">
            {t("order.shipTo")}: {Object.values(o.shipping_address).join(", ")}
          </Text>
        </Section>
        <Section title={t("order.totals")}>
          <Text fz="xl" fw={700}>
            {money(o.total, o.currency)}
          </Text>
          <Text size="sm" c="dimmed">
            {o.channel}
            {o.external_id ? ` · ${o.external_id}` : ""} · {when(o.placed_at)}
          </Text>
        </Section>
        <Section title={t("order.holds")}>
          {o.hold_reasons.length === 0 ? (
            <Text size="sm" c="dimmed">
              {t("order.noHolds")}
            </Text>
          ) : (
            <Stack gap="xs">
              {o.hold_reasons.map((h) => (
                <Group key={h.code} justify="space-between" wrap="nowrap">
                  <div>
                    <Text size="sm" fw={500}>
                      {label("hold", h.code)}
                    </Text>
                    <Text size="xs" c="dimmed">
                      {h.detail} · {t("order.by", { actor: h.actor })} · {when(h.at)}
                    </Text>
                  </div>
                  {can("order:hold") && o.allowed_actions.includes("release") && (
                    <Button
                      size="xs"
                      variant="light"
                      style={{ flexShrink: 0 }}
                      onClick={() => void act(`/v1/orders/${o.id}/release`, { reasons: [h.code] })}
                    >
                      {t("order.releaseOne", { code: label("hold", h.code) })}
                    </Button>
                  )}
                </Group>
              ))}
            </Stack>
          )}
        </Section>
      </SimpleGrid>
      <Section title={t("order.lines")}>
        <Table.ScrollContainer minWidth={600}>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t("order.sku")}</Table.Th>
                <Table.Th>{t("order.item")}</Table.Th>
                <Table.Th ta="right">{t("order.qty")}</Table.Th>
                <Table.Th ta="right">{t("order.price")}</Table.Th>
                <Table.Th ta="right">{t("order.held")}</Table.Th>
                <Table.Th ta="right">{t("order.backordered")}</Table.Th>
                <Table.Th ta="right">{t("order.shipped")}</Table.Th>
                <Table.Th ta="right">{t("order.cancelled")}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {o.lines.map((l) => (
                <Table.Tr key={l.line_no}>
                  <Table.Td>
                    <AnchorLink to="/ledger" search={{ sku: l.sku }}>
                      {l.sku}
                    </AnchorLink>
                  </Table.Td>
                  <Table.Td>{l.title}</Table.Td>
                  <Table.Td ta="right">{l.quantity}</Table.Td>
                  <Table.Td ta="right">{money(l.unit_price, o.currency)}</Table.Td>
                  <Table.Td ta="right">{l.held}</Table.Td>
                  <Table.Td ta="right">{l.backordered}</Table.Td>
                  <Table.Td ta="right">{l.shipped}</Table.Td>
                  <Table.Td ta="right">{l.cancelled}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      </Section>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Section title={t("order.allocations")}>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t("order.sku")}</Table.Th>
                <Table.Th>{t("order.location")}</Table.Th>
                <Table.Th ta="right">{t("order.qty")}</Table.Th>
                <Table.Th>{t("order.state")}</Table.Th>
                <Table.Th>{t("order.why")}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {o.allocations.map((a) => (
                <Table.Tr key={`${a.line_no}-${a.sku}-${a.location}-${a.state}`}>
                  <Table.Td>{a.sku}</Table.Td>
                  <Table.Td>{a.location}</Table.Td>
                  <Table.Td ta="right">{a.quantity}</Table.Td>
                  <Table.Td>{label("status", a.state)}</Table.Td>
                  <Table.Td>
                    <Text size="xs">{a.reasons.map((r) => r.detail).join("; ")}</Text>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Section>
        <Section title={t("order.fulfillments")}>
          {o.fulfillments.length === 0 ? (
            <Text size="sm" c="dimmed">
              {t("order.noFulfillments")}
            </Text>
          ) : (
            <Stack gap="xs">
              {o.fulfillments.map((f) => (
                <Group key={f.id} justify="space-between">
                  <Text size="sm">
                    #{f.id} · {f.location ?? f.purchase_order} ·{" "}
                    {f.lines.map((l) => `${l.quantity}× ${l.sku}`).join(", ")}
                    {f.tracking_number ? ` · ${f.carrier} ${f.tracking_number}` : ""}
                  </Text>
                  <StatusBadge code={f.status} />
                </Group>
              ))}
            </Stack>
          )}
          {o.payments.length > 0 && (
            <>
              <Title order={3} size="h5" mt="md" mb="xs">
                {t("order.payments")}
              </Title>
              {o.payments.map((p) => (
                <Text size="sm" key={`${p.at}-${p.status}`}>
                  {label("status", p.status)} · {money(p.amount, o.currency)} · {when(p.at)}
                </Text>
              ))}
            </>
          )}
        </Section>
      </SimpleGrid>
      <OrderExtras order={o} />
      <Section title={t("order.timeline")}>
        <Timeline bulletSize={14} lineWidth={2} active={o.timeline.length}>
          {o.timeline.map((e) => (
            <Timeline.Item
              key={`${e.at}-${e.action}-${e.to}`}
              title={`${label("status", e.to)} · ${e.action}`}
            >
              <Text size="xs" c="dimmed">
                {when(e.at)} · {t("order.by", { actor: e.actor })}
                {e.reason ? ` · ${e.reason}` : ""}
              </Text>
            </Timeline.Item>
          ))}
        </Timeline>
      </Section>
    </Stack>
  );
}
