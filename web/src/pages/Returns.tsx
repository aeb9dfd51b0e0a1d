import { Select, Stack, Table } from "@mantine/core";
import { useInfiniteQuery } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { get, type Page } from "../api";
import { RETURN_STATUSES, type ReturnSummary } from "../ops-types";
import { type ReturnsSearch, returnsRoute } from "../router";
import { AnchorLink, age, PageTitle, QueryView, StatusBadge } from "../ui";

/** The returns inbox: what came back and waits for someone, newest first. */
export function ReturnsPage() {
  const { t } = useTranslation();
  const search = returnsRoute.useSearch();
  const navigate = useNavigate({ from: "/returns" });
  const q = useInfiniteQuery({
    queryKey: ["returns", search.status],
    queryFn: ({ pageParam }) =>
      get<Page<ReturnSummary>>("/v1/returns", { status: search.status, limit: 100, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (p) => p.next_cursor ?? undefined,
  });
  const rows = useMemo(() => q.data?.pages.flatMap((p) => p.data) ?? [], [q.data]);
  return (
    <Stack>
      <PageTitle title={t("returns.title")} subtitle={t("returns.subtitle")} />
      <Select
        label={t("returns.status")}
        placeholder={t("app.all")}
        clearable
        clearButtonProps={{ "aria-label": t("app.clear") }}
        data={RETURN_STATUSES.map((s) => ({ value: s, label: t(`returns.statuses.${s}`) }))}
        value={search.status ?? null}
        onChange={(v) => void navigate({ search: (s: ReturnsSearch) => ({ ...s, status: v ?? undefined }) })}
        w={240}
      />
      <QueryView query={q} empty={rows.length === 0}>
        {(_data) => (
          <Table.ScrollContainer minWidth={600}>
            <Table striped>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t("returns.number")}</Table.Th>
                  <Table.Th>{t("returns.order")}</Table.Th>
                  <Table.Th>{t("returns.status")}</Table.Th>
                  <Table.Th ta="right">{t("returns.units")}</Table.Th>
                  <Table.Th>{t("returns.age")}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((r) => (
                  <Table.Tr key={r.id} data-return={r.number}>
                    <Table.Td>
                      <AnchorLink to="/returns/$id" params={{ id: String(r.id) }}>
                        {r.number}
                      </AnchorLink>
                    </Table.Td>
                    <Table.Td>
                      <AnchorLink to="/orders/$id" params={{ id: String(r.order_id) }}>
                        {r.order_number}
                      </AnchorLink>
                    </Table.Td>
                    <Table.Td>
                      <StatusBadge code={r.status} text={t(`returns.statuses.${r.status}`)} />
                    </Table.Td>
                    <Table.Td ta="right">{r.units}</Table.Td>
                    <Table.Td>{age(r.created_at)}</Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </QueryView>
    </Stack>
  );
}
