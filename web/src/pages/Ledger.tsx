import { Alert, Button, Group, Select, Stack, Table, Text, TextInput, Title } from "@mantine/core";
import { useInfiniteQuery, useQuery } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { get, type Page } from "../api";
import { label } from "../i18n";
import { type LedgerSearch, ledgerRoute } from "../router";
import type { Bucket, Level, Location, Movement } from "../types";
import { QueryView, when } from "../ui";
import { useReasons } from "./Stock";

/**
 * The movements behind a number, newest first. With one SKU at one location (and no reason or
 * reference filter) each row shows its bucket's balance after it: the level now, minus every later change.
 */
export function LedgerPage() {
  const { t } = useTranslation();
  const search = ledgerRoute.useSearch();
  const navigate = useNavigate({ from: "/ledger" });
  const set = (patch: Partial<LedgerSearch>) =>
    void navigate({ search: (s: LedgerSearch) => ({ ...s, ...patch }) });
  const [sku, setSku] = useState(search.sku ?? "");
  const [reference, setReference] = useState(search.reference ?? "");
  const reasons = useReasons();
  const locations = useQuery({
    queryKey: ["locations"],
    queryFn: () => get<{ data: Location[] }>("/v1/locations"),
  });
  const movements = useInfiniteQuery({
    queryKey: ["movements", search],
    queryFn: ({ pageParam }) =>
      get<Page<Movement>>("/v1/inventory/movements", { ...search, limit: 200, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (p) => p.next_cursor ?? undefined,
  });
  const balanced = Boolean(search.sku && search.location && !search.reason && !search.reference);
  const level = useQuery({
    queryKey: ["levels", { sku: search.sku, location: search.location }],
    enabled: balanced,
    queryFn: () => get<Page<Level>>("/v1/inventory/levels", { sku: search.sku, location: search.location }),
  });
  const rows = useMemo(() => movements.data?.pages.flatMap((p) => p.data) ?? [], [movements.data]);
  const balances = useMemo(() => {
    const now = level.data?.data[0];
    if (!balanced || !now) return null;
    const running: Record<string, number> = {};
    return rows.map((m) => {
      const b = m.bucket as Bucket;
      const after = running[b] ?? (typeof now[b] === "number" ? now[b] : 0);
      running[b] = after - m.delta;
      return after;
    });
  }, [rows, level.data, balanced]);

  return (
    <Stack>
      <div>
        <Title order={1}>{t("ledger.title")}</Title>
        <Text c="dimmed">{t("ledger.subtitle")}</Text>
      </div>
      <Group align="end" role="search" aria-label={t("app.filters")}>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            set({ sku: sku.trim() || undefined, reference: reference.trim() || undefined });
          }}
        >
          <Group align="end">
            <TextInput label={t("ledger.sku")} value={sku} onChange={(e) => setSku(e.currentTarget.value)} />
            <TextInput
              label={t("ledger.reference")}
              value={reference}
              onChange={(e) => setReference(e.currentTarget.value)}
            />
            <Button type="submit" variant="default">
              {t("app.filters")}
            </Button>
          </Group>
        </form>
        <Select
          label={t("ledger.location")}
          placeholder={t("app.all")}
          clearable
          clearButtonProps={{ "aria-label": t("app.clear") }}
          data={(locations.data?.data ?? []).map((l) => l.code)}
          value={search.location ?? null}
          onChange={(v) => set({ location: v ?? undefined })}
        />
        <Select
          label={t("ledger.reason")}
          placeholder={t("app.all")}
          clearable
          clearButtonProps={{ "aria-label": t("app.clear") }}
          searchable
          data={(reasons.data?.data ?? []).map((r) => r.code)}
          value={search.reason ?? null}
          onChange={(v) => set({ reason: v ?? undefined })}
        />
      </Group>
      {balanced && level.data?.data[0] ? (
        <Text size="sm" data-current>
          {t("ledger.current", { value: level.data.data[0].on_hand, bucket: label("buckets", "on_hand") })}
        </Text>
      ) : (
        !balanced && (
          <Alert color="gray" py="xs">
            {t("ledger.balanceNote")}
          </Alert>
        )
      )}
      <QueryView query={movements} empty={rows.length === 0}>
        {(_data) => (
          <Table.ScrollContainer minWidth={800}>
            <Table striped>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t("ledger.at")}</Table.Th>
                  <Table.Th>{t("ledger.sku")}</Table.Th>
                  <Table.Th>{t("ledger.location")}</Table.Th>
                  <Table.Th>{t("ledger.bucket")}</Table.Th>
                  <Table.Th ta="right">{t("ledger.delta")}</Table.Th>
                  {balances && <Table.Th ta="right">{t("ledger.balance")}</Table.Th>}
                  <Table.Th>{t("ledger.reason")}</Table.Th>
                  <Table.Th>{t("ledger.reference")}</Table.Th>
                  <Table.Th>{t("ledger.actor")}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((m, i) => (
                  <Table.Tr key={m.id} data-movement={m.id}>
                    <Table.Td>{when(m.created_at)}</Table.Td>
                    <Table.Td>{m.sku}</Table.Td>
                    <Table.Td>{m.location}</Table.Td>
                    <Table.Td>{label("buckets", m.bucket)}</Table.Td>
                    <Table.Td ta="right" c={m.delta < 0 ? "red.9" : "teal.9"}>
                      {m.delta > 0 ? `+${m.delta}` : m.delta}
                    </Table.Td>
                    {balances && (
                      <Table.Td ta="right" data-balance>
                        {balances[i]}
                      </Table.Td>
                    )}
                    <Table.Td>{m.reason}</Table.Td>
                    <Table.Td>{m.reference ?? ""}</Table.Td>
                    <Table.Td>{m.actor}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </QueryView>
      {movements.hasNextPage && (
        <Button
          variant="default"
          w="fit-content"
          loading={movements.isFetchingNextPage}
          onClick={() => void movements.fetchNextPage()}
        >
          {t("app.loadMore")}
        </Button>
      )}
    </Stack>
  );
}
