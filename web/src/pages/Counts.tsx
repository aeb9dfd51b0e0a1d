import { Button, Checkbox, Group, Select, Stack, Table, TextInput } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { type FormEvent, useState } from "react";
import { useTranslation } from "react-i18next";
import { get, post } from "../api";
import type { Count } from "../ops-types";
import { useCan } from "../session";
import { AnchorLink, ErrorView, PageTitle, QueryView, Section, StatusBadge, useLocations, when } from "../ui";

function StartCount() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const locations = useLocations();
  const [location, setLocation] = useState<string | null>(null);
  const [skus, setSkus] = useState("");
  const [blind, setBlind] = useState(true);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const start = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const list = skus
        .split(/[\s,]+/)
        .map((s) => s.trim())
        .filter(Boolean);
      const c = await post<Count>("/v1/counts", { location, blind, ...(list.length ? { skus: list } : {}) });
      void navigate({ to: "/counts/$id", params: { id: String(c.id) } });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Section title={t("counts.start")}>
      <form onSubmit={start}>
        {error !== null && <ErrorView error={error} />}
        <Group align="end">
          <Select
            label={t("counts.location")}
            data={(locations.data?.data ?? []).map((l) => l.code)}
            value={location}
            onChange={setLocation}
            required
          />
          <TextInput
            label={t("counts.skus")}
            description={t("counts.skusHelp")}
            value={skus}
            onChange={(e) => setSkus(e.currentTarget.value)}
            w={280}
          />
          <Checkbox
            label={t("counts.blind")}
            checked={blind}
            onChange={(e) => setBlind(e.currentTarget.checked)}
            mb={8}
          />
          <Button type="submit" loading={busy} disabled={!location}>
            {t("counts.startButton")}
          </Button>
        </Group>
      </form>
    </Section>
  );
}

/** Cycle counts: start one, then count by scan and approve the variances. */
export function CountsPage() {
  const { t } = useTranslation();
  const can = useCan();
  const [status, setStatus] = useState<string | null>(null);
  const q = useQuery({
    queryKey: ["counts", status],
    queryFn: () => get<{ data: Count[] }>("/v1/counts", { status }),
  });
  return (
    <Stack>
      <PageTitle title={t("counts.title")} subtitle={t("counts.subtitle")} />
      {can("count:perform") && <StartCount />}
      <Select
        label={t("counts.status")}
        placeholder={t("app.all")}
        clearable
        clearButtonProps={{ "aria-label": t("app.clear") }}
        data={["open", "submitted", "approved", "cancelled"].map((s) => ({
          value: s,
          label: t(`counts.statuses.${s}`),
        }))}
        value={status}
        onChange={setStatus}
        w={240}
      />
      <QueryView query={q} empty={(data) => data.data.length === 0}>
        {(data) => (
          <Table.ScrollContainer minWidth={640}>
            <Table striped>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t("counts.count")}</Table.Th>
                  <Table.Th>{t("counts.location")}</Table.Th>
                  <Table.Th>{t("counts.status")}</Table.Th>
                  <Table.Th ta="right">{t("counts.counted")}</Table.Th>
                  <Table.Th ta="right">{t("counts.withVariance")}</Table.Th>
                  <Table.Th>{t("counts.started")}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {data.data.map((c) => (
                  <Table.Tr key={c.id} data-count-row={c.id}>
                    <Table.Td>
                      <AnchorLink to="/counts/$id" params={{ id: String(c.id) }}>
                        #{c.id}
                      </AnchorLink>
                    </Table.Td>
                    <Table.Td>{c.location}</Table.Td>
                    <Table.Td>
                      <StatusBadge code={c.status} text={t(`counts.statuses.${c.status}`)} />
                    </Table.Td>
                    <Table.Td ta="right">
                      {c.summary.counted} / {c.summary.lines}
                    </Table.Td>
                    <Table.Td ta="right">{c.summary.with_variance}</Table.Td>
                    <Table.Td>{when(c.created_at)}</Table.Td>
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
