import {
  Button,
  Checkbox,
  Group,
  NumberInput,
  Select,
  Stack,
  Table,
  Tabs,
  Text,
  TextInput,
} from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { type FormEvent, useEffect, useState } from "react";
import { useTranslation } from "react-i18next";
import { get, type Page, post } from "../api";
import { PO_STATUSES, type PurchaseOrder, type Suggestion, type Supplier } from "../ops-types";
import { type PurchasingSearch, purchasingRoute } from "../router";
import { useCan } from "../session";
import {
  AnchorLink,
  ErrorView,
  Loading,
  money,
  notifyError,
  notifyOk,
  PageTitle,
  QueryView,
  StatusBadge,
  useLocations,
  when,
} from "../ui";

function Orders({ status, setStatus }: { status?: string; setStatus: (s?: string) => void }) {
  const { t } = useTranslation();
  const q = useQuery({
    queryKey: ["purchase-orders", status],
    queryFn: () => get<Page<PurchaseOrder>>("/v1/purchase-orders", { status, limit: 200 }),
  });
  return (
    <Stack>
      <Select
        label={t("po.status")}
        placeholder={t("app.all")}
        clearable
        clearButtonProps={{ "aria-label": t("app.clear") }}
        data={PO_STATUSES.map((s) => ({ value: s, label: t(`po.statuses.${s}`) }))}
        value={status ?? null}
        onChange={(v) => setStatus(v ?? undefined)}
        w={240}
      />
      <QueryView query={q} empty={(data) => data.data.length === 0}>
        {(data) => (
          <Table.ScrollContainer minWidth={720}>
            <Table striped>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t("po.number")}</Table.Th>
                  <Table.Th>{t("po.supplier")}</Table.Th>
                  <Table.Th>{t("po.location")}</Table.Th>
                  <Table.Th>{t("po.status")}</Table.Th>
                  <Table.Th>{t("po.expected")}</Table.Th>
                  <Table.Th ta="right">{t("po.received")}</Table.Th>
                  <Table.Th ta="right">{t("po.total")}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data.data.map((p) => {
                  const ordered = p.lines.reduce((n, l) => n + l.quantity, 0);
                  const received = p.lines.reduce((n, l) => n + l.received, 0);
                  return (
                    <Table.Tr key={p.id} data-po={p.number}>
                      <Table.Td>
                        <AnchorLink to="/purchasing/$id" params={{ id: String(p.id) }}>
                          {p.number}
                        </AnchorLink>
                      </Table.Td>
                      <Table.Td>{p.supplier}</Table.Td>
                      <Table.Td>{p.location}</Table.Td>
                      <Table.Td>
                        <StatusBadge code={p.status} text={t(`po.statuses.${p.status}`)} />
                      </Table.Td>
                      <Table.Td>{p.expected_date ?? "—"}</Table.Td>
                      <Table.Td ta="right">
                        {received} / {ordered}
                      </Table.Td>
                      <Table.Td ta="right">{money(p.total, p.currency)}</Table.Td>
                    </Table.Tr>
                  );
                })}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </QueryView>
    </Stack>
  );
}

/** Replenishment suggestions; the ones ticked become draft purchase orders, one per supplier. */
function Suggestions() {
  const { t } = useTranslation();
  const can = useCan();
  const navigate = useNavigate();
  const client = useQueryClient();
  const locations = useLocations();
  const [location, setLocation] = useState<string | null>(null);
  const [picked, setPicked] = useState<Map<string, number>>(new Map());
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    if (!location && locations.data?.data.length) setLocation(locations.data.data[0].code);
  }, [location, locations.data]);
  const q = useQuery({
    queryKey: ["suggestions", location],
    enabled: location !== null,
    queryFn: () => get<Page<Suggestion>>("/v1/replenishment/suggestions", { location, limit: 200 }),
  });
  const toggle = (s: Suggestion, on: boolean) => {
    const next = new Map(picked);
    if (on) next.set(s.sku, s.quantity);
    else next.delete(s.sku);
    setPicked(next);
  };
  const draft = async () => {
    if (!location) return;
    setBusy(true);
    try {
      const rows = q.data?.data ?? [];
      const res = await post<{ purchase_orders: PurchaseOrder[] }>("/v1/replenishment/purchase-orders", {
        suggestions: [...picked].map(([sku, quantity]) => ({
          sku,
          location,
          quantity,
          ...(rows.find((r) => r.sku === sku)?.supplier
            ? { supplier: rows.find((r) => r.sku === sku)?.supplier }
            : {}),
        })),
      });
      notifyOk(t("po.drafted", { count: res.purchase_orders.length }));
      setPicked(new Map());
      void client.invalidateQueries({ queryKey: ["purchase-orders"] });
      const first = res.purchase_orders[0];
      if (first) void navigate({ to: "/purchasing/$id", params: { id: String(first.id) } });
    } catch (err) {
      notifyError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Stack>
      <Group align="end">
        <Select
          label={t("po.location")}
          data={(locations.data?.data ?? []).map((l) => l.code)}
          value={location}
          onChange={setLocation}
          allowDeselect={false}
        />
        {can("po:write") && (
          <Button onClick={() => void draft()} disabled={picked.size === 0} loading={busy}>
            {t("po.draftFrom", { count: picked.size })}
          </Button>
        )}
      </Group>
      {q.isPending ? (
        <Loading />
      ) : q.isError ? (
        <ErrorView error={q.error} onRetry={() => void q.refetch()} />
      ) : q.data.data.length === 0 ? (
        <Text c="dimmed">{t("po.noSuggestions")}</Text>
      ) : (
        <Table.ScrollContainer minWidth={820}>
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                {can("po:write") && <Table.Th w={40} />}
                <Table.Th>{t("po.sku")}</Table.Th>
                <Table.Th>{t("po.supplier")}</Table.Th>
                <Table.Th ta="right">{t("buckets.available")}</Table.Th>
                <Table.Th ta="right">{t("buckets.incoming")}</Table.Th>
                <Table.Th ta="right">{t("po.quantity")}</Table.Th>
                <Table.Th>{t("po.why")}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {q.data.data.map((s) => (
                <Table.Tr key={s.sku} data-suggestion={s.sku}>
                  {can("po:write") && (
                    <Table.Td>
                      <Checkbox
                        aria-label={t("po.pick", { sku: s.sku })}
                        disabled={s.quantity < 1 || !s.supplier}
                        checked={picked.has(s.sku)}
                        onChange={(e) => toggle(s, e.currentTarget.checked)}
                      />
                    </Table.Td>
                  )}
                  <Table.Td>{s.sku}</Table.Td>
                  <Table.Td>{s.supplier_name ?? s.supplier ?? "—"}</Table.Td>
                  <Table.Td ta="right">{s.inputs.available}</Table.Td>
                  <Table.Td ta="right">{s.inputs.incoming}</Table.Td>
                  <Table.Td ta="right">
                    {picked.has(s.sku) ? (
                      <NumberInput
                        aria-label={t("po.quantityOf", { sku: s.sku })}
                        value={picked.get(s.sku)}
                        min={1}
                        allowDecimal={false}
                        onChange={(v) => setPicked(new Map(picked).set(s.sku, Number(v) || 1))}
                        w={100}
                        size="xs"
                      />
                    ) : (
                      s.quantity
                    )}
                  </Table.Td>
                  <Table.Td>
                    <Text size="xs">{s.explanation}</Text>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
    </Stack>
  );
}

function Suppliers() {
  const { t } = useTranslation();
  const can = useCan();
  const q = useQuery({
    queryKey: ["suppliers"],
    queryFn: () => get<{ data: Supplier[] }>("/v1/suppliers"),
  });
  const [code, setCode] = useState("");
  const [name, setName] = useState("");
  const [lead, setLead] = useState<number | string>(7);
  const [error, setError] = useState<unknown>(null);
  const add = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      await post("/v1/suppliers", { code: code.trim(), name: name.trim(), lead_time_days: Number(lead) });
      notifyOk(t("po.supplierAdded", { code: code.trim() }));
      setCode("");
      setName("");
      await q.refetch();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Stack>
      {can("po:write") && (
        <form onSubmit={add} aria-label={t("po.addSupplier")}>
          {error !== null && <ErrorView error={error} />}
          <Group align="end">
            <TextInput
              label={t("po.code")}
              value={code}
              onChange={(e) => setCode(e.currentTarget.value)}
              required
            />
            <TextInput
              label={t("po.name")}
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
              required
            />
            <NumberInput label={t("po.leadTime")} value={lead} onChange={setLead} min={0} max={365} w={140} />
            <Button type="submit" variant="default">
              {t("po.addSupplier")}
            </Button>
          </Group>
        </form>
      )}
      <QueryView query={q}>
        {(data) => (
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t("po.code")}</Table.Th>
                <Table.Th>{t("po.name")}</Table.Th>
                <Table.Th ta="right">{t("po.leadTime")}</Table.Th>
                <Table.Th>{t("po.created")}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {data.data.map((s) => (
                <Table.Tr key={s.code} data-supplier={s.code}>
                  <Table.Td>{s.code}</Table.Td>
                  <Table.Td>{s.name}</Table.Td>
                  <Table.Td ta="right">{s.lead_time_days}</Table.Td>
                  <Table.Td>{when(s.created_at)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </QueryView>
    </Stack>
  );
}

/** Purchasing: purchase orders to receive, suggestions to turn into drafts, suppliers. */
export function PurchasingPage() {
  const { t } = useTranslation();
  const search = purchasingRoute.useSearch();
  const navigate = useNavigate({ from: "/purchasing" });
  const set = (patch: Partial<PurchasingSearch>) =>
    void navigate({ search: (s: PurchasingSearch) => ({ ...s, ...patch }) });
  const tab = search.tab ?? "orders";
  return (
    <Stack>
      <PageTitle title={t("po.title")} subtitle={t("po.subtitle")} />
      <Tabs
        value={tab}
        onChange={(v) => set({ tab: (v as PurchasingSearch["tab"]) ?? undefined })}
        keepMounted={false}
      >
        <Tabs.List>
          <Tabs.Tab value="orders">{t("po.tabs.orders")}</Tabs.Tab>
          <Tabs.Tab value="suggestions">{t("po.tabs.suggestions")}</Tabs.Tab>
          <Tabs.Tab value="suppliers">{t("po.tabs.suppliers")}</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="orders" pt="md">
          <Orders status={search.status} setStatus={(status) => set({ status })} />
        </Tabs.Panel>
        <Tabs.Panel value="suggestions" pt="md">
          <Suggestions />
        </Tabs.Panel>
        <Tabs.Panel value="suppliers" pt="md">
          <Suppliers />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
