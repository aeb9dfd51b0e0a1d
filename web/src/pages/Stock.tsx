import {
  Button,
  Group,
  Modal,
  NumberInput,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import { useVirtualizer } from "@tanstack/react-virtual";
import { type FormEvent, useEffect, useMemo, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { get, type Page, post } from "../api";
import { label } from "../i18n";
import { useCan } from "../session";
import { BUCKETS, type Level, type Location } from "../types";
import { AnchorLink, ErrorView, notifyOk, QueryView } from "../ui";

const ROW = 36;

export function useReasons() {
  return useQuery({
    queryKey: ["reasons"],
    queryFn: () =>
      get<{ data: { code: string; description: string; manual: boolean }[] }>("/v1/inventory/reasons"),
    staleTime: Number.POSITIVE_INFINITY,
  });
}

function AdjustForm({ level, onDone }: { level: Level; onDone: () => void }) {
  const { t } = useTranslation();
  const reasons = useReasons();
  const client = useQueryClient();
  const [delta, setDelta] = useState<number | string>("");
  const [bucket, setBucket] = useState<string>("on_hand");
  const [reason, setReason] = useState<string | null>(null);
  const [reference, setReference] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await post("/v1/inventory/adjustments", {
        sku: level.sku,
        location: level.location,
        delta: Number(delta),
        bucket,
        reason,
        ...(reference.trim() ? { reference: reference.trim() } : {}),
      });
      notifyOk(t("stock.adjusted", { sku: level.sku, location: level.location }));
      void client.invalidateQueries({ queryKey: ["levels"] });
      void client.invalidateQueries({ queryKey: ["movements"] });
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit}>
      <Stack>
        {error !== null && <ErrorView error={error} />}
        <NumberInput
          label={t("stock.delta")}
          value={delta}
          onChange={setDelta}
          allowDecimal={false}
          required
          data-autofocus
        />
        <Select
          label={t("stock.bucket")}
          data={["on_hand", "quarantine", "damaged", "safety_stock"].map((b) => ({
            value: b,
            label: label("buckets", b),
          }))}
          value={bucket}
          onChange={(v) => v && setBucket(v)}
          allowDeselect={false}
        />
        <Select
          label={t("stock.reason")}
          data={(reasons.data?.data ?? [])
            .filter((r) => r.manual)
            .map((r) => ({ value: r.code, label: `${r.code} · ${r.description}` }))}
          value={reason}
          onChange={setReason}
          required
          searchable
        />
        <TextInput
          label={t("stock.reference")}
          value={reference}
          onChange={(e) => setReference(e.currentTarget.value)}
        />
        <Button type="submit" loading={busy} disabled={!reason || !Number(delta)}>
          {t("app.save")}
        </Button>
      </Stack>
    </form>
  );
}

/** SKU × location with all nine buckets; rows are fetched 500 at a time and only the visible ones are in the DOM. */
export function StockPage() {
  const { t } = useTranslation();
  const can = useCan();
  const [skuInput, setSkuInput] = useState("");
  const [sku, setSku] = useState("");
  const [location, setLocation] = useState<string | null>(null);
  const [adjusting, setAdjusting] = useState<Level | null>(null);
  const locations = useQuery({
    queryKey: ["locations"],
    queryFn: () => get<{ data: Location[] }>("/v1/locations"),
  });
  const levels = useInfiniteQuery({
    queryKey: ["levels", { sku, location }],
    queryFn: ({ pageParam }) =>
      get<Page<Level>>("/v1/inventory/levels", { sku, location, limit: 500, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (p) => p.next_cursor ?? undefined,
  });
  const rows = useMemo(() => levels.data?.pages.flatMap((p) => p.data) ?? [], [levels.data]);
  const scroller = useRef<HTMLElement>(null);
  const virtual = useVirtualizer({
    count: rows.length,
    getScrollElement: () => scroller.current,
    estimateSize: () => ROW,
    overscan: 10,
  });
  const items = virtual.getVirtualItems();
  const last = items[items.length - 1];
  useEffect(() => {
    if (last && last.index >= rows.length - 50 && levels.hasNextPage && !levels.isFetchingNextPage)
      void levels.fetchNextPage();
  }, [last, rows.length, levels]);
  const top = items[0]?.start ?? 0;
  const bottom = virtual.getTotalSize() - (last?.end ?? 0);

  return (
    <Stack>
      <Title order={1}>{t("stock.title")}</Title>
      <Group align="end" role="search" aria-label={t("app.filters")}>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setSku(skuInput.trim());
          }}
        >
          <TextInput
            label={t("stock.filterSku")}
            value={skuInput}
            onChange={(e) => setSkuInput(e.currentTarget.value)}
            onBlur={() => setSku(skuInput.trim())}
          />
        </form>
        <Select
          label={t("stock.location")}
          placeholder={t("app.all")}
          clearable
          clearButtonProps={{ "aria-label": t("app.clear") }}
          data={(locations.data?.data ?? []).map((l) => l.code)}
          value={location}
          onChange={setLocation}
        />
        <Text size="sm" c="dimmed" mb={8} aria-live="polite">
          {t("stock.rows", { count: rows.length })}
          {levels.hasNextPage ? ` · ${t("stock.more")}` : ""}
        </Text>
      </Group>
      <QueryView query={levels}>
        {(_data) => (
          <section
            ref={scroller}
            style={{ height: "calc(100vh - 240px)", minHeight: 300, overflow: "auto" }}
            // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must be reachable by keyboard (WCAG 2.1.1)
            tabIndex={0}
            aria-label={t("stock.title")}
          >
            <Table stickyHeader striped style={{ minWidth: 1000 }}>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t("stock.sku")}</Table.Th>
                  <Table.Th>{t("stock.location")}</Table.Th>
                  {BUCKETS.map((b) => (
                    <Table.Th key={b} ta="right">
                      {label("buckets", b)}
                    </Table.Th>
                  ))}
                  {can("inventory:adjust") && <Table.Th />}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {top > 0 && (
                  <tr>
                    <td style={{ height: top, padding: 0 }} />
                  </tr>
                )}
                {items.map((v) => {
                  const l = rows[v.index];
                  return (
                    <Table.Tr
                      key={`${l.sku}@${l.location}`}
                      style={{ height: ROW }}
                      data-level={`${l.sku}@${l.location}`}
                    >
                      <Table.Td>
                        <AnchorLink to="/ledger" search={{ sku: l.sku, location: l.location }} size="sm">
                          {l.sku}
                        </AnchorLink>
                      </Table.Td>
                      <Table.Td>{l.location}</Table.Td>
                      {BUCKETS.map((b) => (
                        <Table.Td key={b} ta="right" data-bucket={b}>
                          {l[b]}
                        </Table.Td>
                      ))}
                      {can("inventory:adjust") && (
                        <Table.Td>
                          <Button size="compact-xs" variant="light" onClick={() => setAdjusting(l)}>
                            {t("stock.adjust")}
                          </Button>
                        </Table.Td>
                      )}
                    </Table.Tr>
                  );
                })}
                {bottom > 0 && (
                  <tr>
                    <td style={{ height: bottom, padding: 0 }} />
                  </tr>
                )}
              </Table.Tbody>
            </Table>
          </section>
        )}
      </QueryView>
      <Modal
        opened={adjusting !== null}
        onClose={() => setAdjusting(null)}
        closeButtonProps={{ "aria-label": t("app.close") }}
        title={adjusting ? t("stock.adjustTitle", { sku: adjusting.sku, location: adjusting.location }) : ""}
      >
        {adjusting && <AdjustForm level={adjusting} onDone={() => setAdjusting(null)} />}
      </Modal>
    </Stack>
  );
}
