import "@mantine/charts/styles.css";
import { BarChart } from "@mantine/charts";
import { Anchor, Button, Group, Select, Stack, Table, Tabs, Text } from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { get, type Page, post } from "../api";
import type { Alert, Report } from "../ops-types";
import { drillRoute, type ReportsSearch, reportsRoute } from "../router";
import { useCan } from "../session";
import {
  AnchorLink,
  age,
  ErrorView,
  Loading,
  notifyError,
  PageTitle,
  QueryView,
  ScrollRegion,
  Section,
  StatusBadge,
  when,
} from "../ui";

/** Every report of GET /v1/reports/*, with the options it takes. */
const REPORTS: { name: string; period?: boolean; by?: string[]; location?: boolean }[] = [
  { name: "order-status" },
  { name: "order-aging" },
  { name: "critical-stock", location: true },
  { name: "sales-ranking", period: true, by: ["units", "revenue", "margin"] },
  { name: "returns", period: true, by: ["reason", "sku", "channel"] },
  { name: "cancellations", period: true, by: ["reason", "channel"] },
  { name: "fill-rate", period: true },
  { name: "cycle-time", period: true },
  { name: "backorders" },
  { name: "supplier-performance", period: true },
  { name: "inventory-accuracy", location: true },
  { name: "aged-inventory", location: true },
  { name: "stock-valuation", location: true },
  { name: "stockout-risk", location: true },
];
const PERIODS = [7, 30, 90, 365];

type Row = Report["data"][number];
const cell = (v: unknown): string =>
  v === null || v === undefined ? "—" : typeof v === "object" ? JSON.stringify(v) : String(v);
const ISO = /^\d{4}-\d{2}-\d{2}(T|$)/;
/** Columns to chart: numbers in every row that has them (at least one); counts and money first. */
const numeric = (rows: Row[]) =>
  rows.length
    ? Object.keys(rows[0])
        .filter(
          (k) =>
            k !== "drill" &&
            rows.some((r) => typeof r[k] === "number") &&
            rows.every((r) => typeof r[k] === "number" || r[k] === null),
        )
        .sort((a, b) => Number(/hours|age|_at$/.test(a)) - Number(/hours|age|_at$/.test(b)))
    : [];
/** Columns that name a row on the chart's axis: text that is not a timestamp. */
const labelled = (rows: Row[]) =>
  rows.length
    ? Object.keys(rows[0]).filter(
        (k) =>
          k !== "drill" &&
          rows.some((r) => typeof r[k] === "string") &&
          !rows.some((r) => typeof r[k] === "string" && ISO.test(r[k] as string)),
      )
    : [];

/** A report row's drill-down: the app's own page for the list when it has one, else the rows themselves. */
export function DrillLink({ drill }: { drill: string }) {
  const { t } = useTranslation();
  const [path, query = ""] = drill.split("?");
  const q = Object.fromEntries(new URLSearchParams(query));
  if (path === "/v1/orders")
    return (
      <AnchorLink to="/orders" search={q} size="sm">
        {t("reports.rows")}
      </AnchorLink>
    );
  if (path === "/v1/inventory/movements")
    return (
      <AnchorLink to="/ledger" search={q} size="sm">
        {t("reports.rows")}
      </AnchorLink>
    );
  if (path === "/v1/returns")
    return (
      <AnchorLink to="/returns" search={q} size="sm">
        {t("reports.rows")}
      </AnchorLink>
    );
  return (
    <AnchorLink to="/reports/rows" search={{ path: drill }} size="sm">
      {t("reports.rows")}
    </AnchorLink>
  );
}

function ReportView({ search, set }: { search: ReportsSearch; set: (p: Partial<ReportsSearch>) => void }) {
  const { t } = useTranslation();
  const def = REPORTS.find((r) => r.name === search.report) ?? REPORTS[0];
  const days = Number(search.days ?? 30);
  const from = useMemo(() => new Date(Date.now() - days * 86_400_000).toISOString().slice(0, 10), [days]);
  const params = {
    ...(def.period ? { from } : {}),
    ...(def.by ? { by: search.by && def.by.includes(search.by) ? search.by : def.by[0] } : {}),
  };
  const q = useQuery({
    queryKey: ["report", def.name, params],
    queryFn: () => get<Report>(`/v1/reports/${def.name}`, params),
  });
  const rows = q.data?.data ?? [];
  const measures = numeric(rows);
  const labels = labelled(rows);
  const [measure, setMeasure] = useState<string | null>(null);
  const value = measure && measures.includes(measure) ? measure : measures[0];
  const chart = useMemo(
    () =>
      rows.slice(0, 30).map((r) => ({
        label: labels.map((k) => cell(r[k])).join(" · ") || "—",
        [value ?? "value"]: Number(r[value ?? ""] ?? 0),
      })),
    [rows, labels, value],
  );
  const columns = rows.length ? Object.keys(rows[0]).filter((k) => k !== "drill") : [];
  const csv = `/v1/reports/${def.name}?${new URLSearchParams({ ...params, format: "csv" })}`;

  return (
    <Stack>
      <Group align="end">
        <Select
          label={t("reports.report")}
          data={REPORTS.map((r) => ({ value: r.name, label: t(`reports.names.${r.name}`) }))}
          value={def.name}
          onChange={(v) => v && set({ report: v, by: undefined })}
          allowDeselect={false}
          searchable
          w={280}
        />
        {def.period && (
          <Select
            label={t("reports.period")}
            data={PERIODS.map((d) => ({ value: String(d), label: t("reports.lastDays", { count: d }) }))}
            value={String(days)}
            onChange={(v) => v && set({ days: v })}
            allowDeselect={false}
            w={160}
          />
        )}
        {def.by && (
          <Select
            label={t("reports.by")}
            data={def.by}
            value={params.by ?? null}
            onChange={(v) => v && set({ by: v })}
            allowDeselect={false}
            w={140}
          />
        )}
        {measures.length > 1 && (
          <Select
            label={t("reports.measure")}
            data={measures}
            value={value ?? null}
            onChange={setMeasure}
            allowDeselect={false}
            w={200}
          />
        )}
        <Anchor href={csv} size="sm" mb={8}>
          {t("orders.exportCsv")}
        </Anchor>
      </Group>
      <QueryView query={q} empty={rows.length === 0}>
        {(data) => (
          <>
            {value && (
              <figure style={{ margin: 0 }} aria-label={t("reports.chartOf", { measure: value })} data-chart>
                <BarChart
                  h={280}
                  data={chart}
                  dataKey="label"
                  series={[{ name: value, color: "indigo.7" }]}
                  tickLine="y"
                />
              </figure>
            )}
            <Text size="xs" c="dimmed">
              {t("reports.computed", { at: when(data.computed_at), source: data.source })}
            </Text>
            <Table.ScrollContainer minWidth={720}>
              <Table striped data-report={def.name}>
                <Table.Thead>
                  <Table.Tr>
                    {columns.map((c) => (
                      <Table.Th key={c}>{c}</Table.Th>
                    ))}
                    <Table.Th />
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {rows.map((r, i) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: report rows have no key of their own
                    <Table.Tr key={i} data-report-row>
                      {columns.map((c) => (
                        <Table.Td key={c}>{cell(r[c])}</Table.Td>
                      ))}
                      <Table.Td>
                        <DrillLink drill={r.drill} />
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Table.ScrollContainer>
          </>
        )}
      </QueryView>
    </Stack>
  );
}

function Alerts() {
  const { t } = useTranslation();
  const can = useCan();
  const client = useQueryClient();
  const [status, setStatus] = useState<string>("open");
  const q = useQuery({
    queryKey: ["alerts", status],
    queryFn: () => get<Page<Alert>>("/v1/alerts", { status, limit: 200 }),
  });
  const ack = async (a: Alert) => {
    try {
      await post(`/v1/alerts/${a.id}/acknowledge`, {});
      void client.invalidateQueries({ queryKey: ["alerts"] });
    } catch (err) {
      notifyError(err);
    }
  };
  return (
    <Stack>
      <Select
        label={t("reports.alertStatus")}
        data={["open", "resolved"].map((s) => ({ value: s, label: t(`reports.alertStatuses.${s}`) }))}
        value={status}
        onChange={(v) => v && setStatus(v)}
        allowDeselect={false}
        w={200}
      />
      <QueryView query={q} empty={(data) => data.data.length === 0}>
        {(data) => (
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t("reports.kind")}</Table.Th>
                <Table.Th>{t("reports.subject")}</Table.Th>
                <Table.Th>{t("reports.status")}</Table.Th>
                <Table.Th>{t("reports.opened")}</Table.Th>
                <Table.Th>{t("reports.evidence")}</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {data.data.map((a) => (
                <Table.Tr key={a.id} data-alert={a.key}>
                  <Table.Td>{t(`reports.kinds.${a.kind}`, { defaultValue: a.kind })}</Table.Td>
                  <Table.Td>{a.key}</Table.Td>
                  <Table.Td>
                    <StatusBadge code={a.status} text={t(`reports.alertStatuses.${a.status}`)} />
                  </Table.Td>
                  <Table.Td>{age(a.opened_at)}</Table.Td>
                  <Table.Td>
                    <Text size="xs">{cell(a.evidence)}</Text>
                  </Table.Td>
                  <Table.Td>
                    {a.acknowledged_by
                      ? t("reports.acknowledgedBy", { actor: a.acknowledged_by })
                      : can("alerts:manage") &&
                        a.status === "open" && (
                          <Button size="compact-xs" variant="light" onClick={() => void ack(a)}>
                            {t("reports.acknowledge")}
                          </Button>
                        )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </QueryView>
    </Stack>
  );
}

/** Reports with a chart and rows that drill down to the lists behind them; alerts. */
export function ReportsPage() {
  const { t } = useTranslation();
  const search = reportsRoute.useSearch();
  const navigate = useNavigate({ from: "/reports" });
  const set = (patch: Partial<ReportsSearch>) =>
    void navigate({ search: (s: ReportsSearch) => ({ ...s, ...patch }) });
  return (
    <Stack>
      <PageTitle title={t("reports.title")} subtitle={t("reports.subtitle")} />
      <Tabs
        value={search.tab ?? "reports"}
        onChange={(v) => set({ tab: v ?? undefined })}
        keepMounted={false}
      >
        <Tabs.List>
          <Tabs.Tab value="reports">{t("reports.tabs.reports")}</Tabs.Tab>
          <Tabs.Tab value="alerts">{t("reports.tabs.alerts")}</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="reports" pt="md">
          <ReportView search={search} set={set} />
        </Tabs.Panel>
        <Tabs.Panel value="alerts" pt="md">
          <Alerts />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}

/** The rows behind a report figure, for lists the app has no page of its own for. */
export function DrillPage() {
  const { t } = useTranslation();
  const { path } = drillRoute.useSearch();
  const safe = typeof path === "string" && path.startsWith("/v1/") ? path : null;
  const q = useQuery({
    queryKey: ["drill", safe],
    enabled: safe !== null,
    queryFn: () => get<{ data: Record<string, unknown>[] }>(safe as string),
  });
  const rows = q.data?.data ?? [];
  const columns = rows.length ? Object.keys(rows[0]) : [];
  return (
    <Stack>
      <AnchorLink to="/reports" size="sm">
        {t("reports.back")}
      </AnchorLink>
      <PageTitle title={t("reports.rowsTitle")} subtitle={safe ?? ""} />
      {!safe ? (
        <ErrorView error={new Error(t("reports.badDrill"))} />
      ) : q.isPending ? (
        <Loading />
      ) : q.isError ? (
        <ErrorView error={q.error} onRetry={() => void q.refetch()} />
      ) : rows.length === 0 ? (
        <Text c="dimmed">{t("app.none")}</Text>
      ) : (
        <Section title={t("reports.rowsCount", { count: rows.length })}>
          <ScrollRegion label={t("reports.rowsTitle")} minWidth={720}>
            <Table striped>
              <Table.Thead>
                <Table.Tr>
                  {columns.map((c) => (
                    <Table.Th key={c}>{c}</Table.Th>
                  ))}
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((r, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: a generic list has no known key
                  <Table.Tr key={i} data-drill-row>
                    {columns.map((c) => (
                      <Table.Td key={c}>
                        <Text size="xs" lineClamp={2}>
                          {cell(r[c])}
                        </Text>
                      </Table.Td>
                    ))}
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </ScrollRegion>
        </Section>
      )}
    </Stack>
  );
}
