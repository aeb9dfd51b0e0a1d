import { Alert, Button, Group, NumberInput, Stack, Table, Text } from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { get, post } from "../api";
import { type Count, isPending } from "../ops-types";
import { countRoute } from "../router";
import { ScanInput, useBarcodes } from "../scan";
import { useCan } from "../session";
import {
  AnchorLink,
  ErrorView,
  Loading,
  notifyError,
  notifyOk,
  PageTitle,
  Section,
  StatusBadge,
} from "../ui";

/**
 * One cycle count. While open: each scan adds one unit to its SKU's tally (blind counts hide what
 * the books expect), "Save counts" records them; submit fixes the variances; approve posts them.
 */
export function CountDetailPage() {
  const { t } = useTranslation();
  const { id } = countRoute.useParams();
  const can = useCan();
  const client = useQueryClient();
  const q = useQuery({ queryKey: ["count", id], queryFn: () => get<Count>(`/v1/counts/${id}`) });
  const [tally, setTally] = useState<Map<string, number>>(new Map());
  const [feedback, setFeedback] = useState<{ ok: boolean; text: string } | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const lines = q.data?.lines ?? [];
  const barcodes = useBarcodes(lines.map((l) => l.sku));

  if (q.isPending) return <Loading />;
  if (q.isError) return <ErrorView error={q.error} onRetry={() => void q.refetch()} />;
  const c = q.data;
  const open = c.status === "open" && can("count:perform");

  const onScan = (code: string) => {
    const sku = barcodes.get(code) ?? code;
    if (!lines.some((l) => l.sku === sku))
      return setFeedback({ ok: false, text: t("counts.unknown", { code }) });
    const n = (tally.get(sku) ?? 0) + 1;
    setTally(new Map(tally).set(sku, n));
    setFeedback({ ok: true, text: t("counts.scanned", { sku, count: n }) });
  };

  const act = async (action: "lines" | "submit" | "approve" | "cancel") => {
    setBusy(action);
    try {
      const body =
        action === "lines"
          ? { lines: [...tally].map(([sku, counted]) => ({ sku, counted })) }
          : action === "submit"
            ? { uncounted: "skip" }
            : {};
      const next = await post<Count>(`/v1/counts/${c.id}/${action}`, body);
      if (isPending(next)) notifyOk(t("app.sentForApproval"));
      else {
        client.setQueryData(["count", id], next);
        notifyOk(t(`counts.done.${action}`));
      }
      if (action === "lines") setTally(new Map());
      setFeedback(null);
      void client.invalidateQueries({ queryKey: ["counts"] });
      void client.invalidateQueries({ queryKey: ["levels"] });
    } catch (err) {
      notifyError(err);
    } finally {
      setBusy(null);
    }
  };
  const allowed = (a: string) => c.allowed_actions.includes(a);

  return (
    <Stack>
      <AnchorLink to="/counts" size="sm">
        {t("counts.back")}
      </AnchorLink>
      <Group justify="space-between" align="start">
        <PageTitle
          title={t("counts.one", { id: c.id, location: c.location })}
          subtitle={c.blind ? t("counts.blindNote") : undefined}
        />
        <StatusBadge code={c.status} text={t(`counts.statuses.${c.status}`)} />
      </Group>
      <Group>
        {open && (
          <Button loading={busy === "lines"} disabled={tally.size === 0} onClick={() => void act("lines")}>
            {t("counts.save", { count: tally.size })}
          </Button>
        )}
        {open && allowed("submit") && (
          <Button
            variant="default"
            disabled={tally.size > 0}
            loading={busy === "submit"}
            onClick={() => void act("submit")}
          >
            {t("counts.submit")}
          </Button>
        )}
        {can("count:approve") && allowed("approve") && (
          <Button loading={busy === "approve"} onClick={() => void act("approve")}>
            {t("counts.approve")}
          </Button>
        )}
        {can("count:perform") && allowed("cancel") && (
          <Button
            variant="default"
            color="red"
            loading={busy === "cancel"}
            onClick={() => void act("cancel")}
          >
            {t("counts.cancel")}
          </Button>
        )}
      </Group>
      {open && (
        <Section title={t("counts.scanTitle")}>
          <Stack>
            <ScanInput label={t("counts.scan")} description={t("counts.scanHelp")} onScan={onScan} />
            {feedback && (
              <Alert color={feedback.ok ? "teal" : "red"} role={feedback.ok ? "status" : "alert"} py="xs">
                {feedback.text}
              </Alert>
            )}
          </Stack>
        </Section>
      )}
      <Section title={t("counts.lines")}>
        <Table.ScrollContainer minWidth={640}>
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t("counts.sku")}</Table.Th>
                <Table.Th ta="right">{t("counts.expected")}</Table.Th>
                <Table.Th ta="right">{t("counts.countedQty")}</Table.Th>
                {open && <Table.Th ta="right">{t("counts.thisScan")}</Table.Th>}
                <Table.Th ta="right">{t("counts.variance")}</Table.Th>
                <Table.Th>{t("counts.approval")}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {lines.map((l) => (
                <Table.Tr key={l.sku} data-line={l.sku}>
                  <Table.Td>{l.sku}</Table.Td>
                  <Table.Td ta="right">{l.expected ?? "•••"}</Table.Td>
                  <Table.Td ta="right" data-counted>
                    {l.counted ?? "—"}
                  </Table.Td>
                  {open && (
                    <Table.Td ta="right">
                      <NumberInput
                        aria-label={t("counts.countOf", { sku: l.sku })}
                        value={tally.get(l.sku) ?? ""}
                        min={0}
                        allowDecimal={false}
                        onChange={(v) => {
                          const next = new Map(tally);
                          if (v === "") next.delete(l.sku);
                          else next.set(l.sku, Number(v));
                          setTally(next);
                        }}
                        w={90}
                        size="xs"
                        ml="auto"
                      />
                    </Table.Td>
                  )}
                  <Table.Td ta="right" data-variance c={l.variance ? "red.9" : undefined}>
                    {l.variance === null ? "—" : l.variance > 0 ? `+${l.variance}` : l.variance}
                  </Table.Td>
                  <Table.Td>{l.needs_approval ? t("counts.needsApproval") : ""}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
        <Text size="sm" mt="xs">
          {t("counts.summary", c.summary)}
        </Text>
      </Section>
    </Stack>
  );
}
