import {
  Badge,
  Button,
  Checkbox,
  Group,
  Modal,
  Select,
  Stack,
  Switch,
  Table,
  Text,
  Textarea,
  Title,
} from "@mantine/core";
import { useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, get, type Page, post, withQuery } from "../api";
import { label } from "../i18n";
import { type OrdersSearch, ordersRoute } from "../router";
import { useCan } from "../session";
import { HOLD_CODES, type Location, ORDER_STATUSES, type OrderSummary, PAYMENT_STATUSES } from "../types";
import { AnchorLink, age, ErrorView, money, notifyOk, QueryView, StatusBadge } from "../ui";
import { SavedViews } from "./SavedViews";

type BulkAction = "approve" | "hold" | "release" | "cancel";
const PERMISSION: Record<BulkAction, string> = {
  approve: "order:approve",
  hold: "order:hold",
  release: "order:hold",
  cancel: "order:cancel",
};

export function OrdersPage() {
  const { t } = useTranslation();
  const can = useCan();
  const search = ordersRoute.useSearch();
  const navigate = useNavigate({ from: "/orders" });
  const client = useQueryClient();
  const setFilter = (patch: Partial<OrdersSearch>) => {
    setSelected(new Set());
    void navigate({ search: (s: OrdersSearch) => ({ ...s, ...patch }) });
  };
  const channels = useQuery({
    queryKey: ["channels"],
    queryFn: () => get<{ data: { code: string; name: string }[] }>("/v1/channels"),
    enabled: can("integrations:read"),
  });
  const locations = useQuery({
    queryKey: ["locations"],
    queryFn: () => get<{ data: Location[] }>("/v1/locations"),
    enabled: can("catalog:read"),
  });
  const list = useInfiniteQuery({
    queryKey: ["orders", search],
    queryFn: ({ pageParam }) =>
      get<Page<OrderSummary>>("/v1/orders", { ...search, sort: "oldest", limit: 50, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (p) => p.next_cursor ?? undefined,
  });
  const rows = useMemo(() => list.data?.pages.flatMap((p) => p.data) ?? [], [list.data]);
  const [selected, setSelected] = useState<Set<number>>(new Set());
  const [asking, setAsking] = useState<"hold" | "cancel" | null>(null);
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [failures, setFailures] = useState<string[]>([]);

  const run = async (action: BulkAction, body?: unknown) => {
    setBusy(true);
    setFailures([]);
    const chosen = rows.filter((r) => selected.has(r.id));
    let ok = 0;
    const failed: string[] = [];
    // one order at a time, in the list's order: each is its own transition and its own answer
    for (const o of chosen) {
      try {
        await post(`/v1/orders/${o.id}/${action}`, body);
        ok++;
      } catch (err) {
        failed.push(
          t("orders.bulk.failedItem", {
            number: o.number,
            detail: err instanceof ApiError ? err.message : String(err),
          }),
        );
      }
    }
    setBusy(false);
    setAsking(null);
    setReason("");
    setSelected(new Set());
    setFailures(failed);
    notifyOk(t("orders.bulk.done", { ok, failed: failed.length }));
    await client.invalidateQueries({ queryKey: ["orders"] });
    void client.invalidateQueries({ queryKey: ["today"] });
  };

  const allChecked = rows.length > 0 && rows.every((r) => selected.has(r.id));
  const actions = (["approve", "hold", "release", "cancel"] as const).filter((a) => can(PERMISSION[a]));
  const exportHref = withQuery("/v1/exports/orders.csv", { status: search.status, channel: search.channel });

  return (
    <Stack>
      <Group justify="space-between" align="end">
        <Title order={1}>{t("orders.title")}</Title>
        <Group align="end">
          <SavedViews search={search} onPick={(s) => void navigate({ search: s })} />
          <Button component="a" href={exportHref} variant="default" download>
            {t("orders.exportCsv")}
          </Button>
        </Group>
      </Group>
      <Group align="end" role="search" aria-label={t("app.filters")}>
        <Select
          label={t("orders.status")}
          placeholder={t("app.all")}
          clearable
          clearButtonProps={{ "aria-label": t("app.clear") }}
          data={ORDER_STATUSES.map((s) => ({ value: s, label: label("status", s) }))}
          value={search.status ?? null}
          onChange={(v) => setFilter({ status: v ?? undefined })}
          w={180}
        />
        <Select
          label={t("orders.channel")}
          placeholder={t("app.all")}
          clearable
          clearButtonProps={{ "aria-label": t("app.clear") }}
          data={(channels.data?.data ?? []).map((c) => ({ value: c.code, label: c.name }))}
          value={search.channel ?? null}
          onChange={(v) => setFilter({ channel: v ?? undefined })}
          w={180}
        />
        <Select
          label={t("orders.holdReason")}
          placeholder={t("app.all")}
          clearable
          clearButtonProps={{ "aria-label": t("app.clear") }}
          data={HOLD_CODES.map((c) => ({ value: c, label: label("hold", c) }))}
          value={search.hold_reason ?? null}
          onChange={(v) => setFilter({ hold_reason: v ?? undefined })}
          w={180}
        />
        <Select
          label={t("orders.payment")}
          placeholder={t("app.all")}
          clearable
          clearButtonProps={{ "aria-label": t("app.clear") }}
          data={PAYMENT_STATUSES.map((c) => ({ value: c, label: label("status", c) }))}
          value={search.payment_status ?? null}
          onChange={(v) => setFilter({ payment_status: v ?? undefined })}
          w={180}
        />
        <Select
          label={t("orders.location")}
          placeholder={t("app.all")}
          clearable
          clearButtonProps={{ "aria-label": t("app.clear") }}
          data={(locations.data?.data ?? []).map((l) => ({ value: l.code, label: l.code }))}
          value={search.location ?? null}
          onChange={(v) => setFilter({ location: v ?? undefined })}
          w={140}
        />
        <Switch
          label={t("orders.overdue")}
          checked={search.overdue === "true"}
          onChange={(e) => setFilter({ overdue: e.currentTarget.checked ? "true" : undefined })}
          mb={8}
        />
      </Group>
      {selected.size > 0 && actions.length > 0 && (
        <Group role="toolbar" aria-label={t("orders.selected", { count: selected.size })}>
          <Text size="sm" fw={500}>
            {t("orders.selected", { count: selected.size })}
          </Text>
          {actions.map((a) => (
            <Button
              key={a}
              size="xs"
              color={a === "cancel" ? "red" : undefined}
              variant={a === "approve" ? "filled" : "light"}
              loading={busy}
              onClick={() => (a === "hold" || a === "cancel" ? setAsking(a) : void run(a))}
            >
              {t(`orders.bulk.${a}`)}
            </Button>
          ))}
          <Button
            size="xs"
            variant="default"
            onClick={() => void navigate({ to: "/pick-list", search: { ids: [...selected].join(",") } })}
          >
            {t("orders.bulk.pickList")}
          </Button>
        </Group>
      )}
      {failures.length > 0 && (
        <ErrorView error={new Error(failures.join("\n"))} onRetry={() => setFailures([])} />
      )}
      <Modal
        opened={asking !== null}
        onClose={() => setAsking(null)}
        closeButtonProps={{ "aria-label": t("app.close") }}
        title={t(asking === "cancel" ? "orders.bulk.cancelTitle" : "orders.bulk.holdTitle", {
          count: selected.size,
        })}
      >
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (asking && reason.trim()) void run(asking, { reason: reason.trim() });
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
            <Button type="submit" loading={busy} disabled={!reason.trim()}>
              {t("orders.bulk.confirm")}
            </Button>
          </Stack>
        </form>
      </Modal>
      <QueryView query={list} empty={rows.length === 0}>
        {(_data) => (
          <Table.ScrollContainer minWidth={800}>
            <Table striped highlightOnHover>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th w={40}>
                    {actions.length > 0 && (
                      <Checkbox
                        aria-label={t("orders.selectAll")}
                        checked={allChecked}
                        indeterminate={selected.size > 0 && !allChecked}
                        onChange={() => setSelected(allChecked ? new Set() : new Set(rows.map((r) => r.id)))}
                      />
                    )}
                  </Table.Th>
                  <Table.Th>{t("orders.number")}</Table.Th>
                  <Table.Th>{t("orders.status")}</Table.Th>
                  <Table.Th>{t("orders.payment")}</Table.Th>
                  <Table.Th>{t("orders.fulfillment")}</Table.Th>
                  <Table.Th>{t("orders.channel")}</Table.Th>
                  <Table.Th>{t("orders.customer")}</Table.Th>
                  <Table.Th ta="right">{t("orders.total")}</Table.Th>
                  <Table.Th>{t("orders.placed")}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((o) => (
                  <Table.Tr key={o.id} data-order={o.number}>
                    <Table.Td>
                      {actions.length > 0 && (
                        <Checkbox
                          aria-label={t("orders.selectOne", { number: o.number })}
                          checked={selected.has(o.id)}
                          onChange={() => {
                            const next = new Set(selected);
                            if (next.has(o.id)) next.delete(o.id);
                            else next.add(o.id);
                            setSelected(next);
                          }}
                        />
                      )}
                    </Table.Td>
                    <Table.Td>
                      <AnchorLink to="/orders/$id" params={{ id: String(o.id) }}>
                        {o.number}
                      </AnchorLink>
                    </Table.Td>
                    <Table.Td>
                      <Group gap={4}>
                        <StatusBadge code={o.status} />
                        {o.overdue && (
                          <Badge color="red" variant="outline">
                            {t("orders.overdueBadge")}
                          </Badge>
                        )}
                        {o.hold_reasons.map((h) => (
                          <Badge key={h.code} color="orange" variant="outline" title={h.detail}>
                            {label("hold", h.code)}
                          </Badge>
                        ))}
                      </Group>
                    </Table.Td>
                    <Table.Td>{label("status", o.payment_status)}</Table.Td>
                    <Table.Td>{label("status", o.fulfillment_status)}</Table.Td>
                    <Table.Td>{o.channel}</Table.Td>
                    <Table.Td>{o.customer_email}</Table.Td>
                    <Table.Td ta="right">{money(o.total, o.currency)}</Table.Td>
                    <Table.Td title={o.placed_at}>{age(o.placed_at)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </QueryView>
      <Group>
        <Text size="sm" c="dimmed">
          {t("orders.loadedOf", { count: rows.length })}
        </Text>
        {list.hasNextPage && (
          <Button
            variant="default"
            size="xs"
            loading={list.isFetchingNextPage}
            onClick={() => void list.fetchNextPage()}
          >
            {t("app.loadMore")}
          </Button>
        )}
      </Group>
    </Stack>
  );
}
