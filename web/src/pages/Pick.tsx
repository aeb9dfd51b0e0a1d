import {
  Alert,
  Badge,
  Button,
  Card,
  Group,
  Progress,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
  Title,
} from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { ApiError, get, type Page, post } from "../api";
import type { Fulfilment, Location } from "../types";
import { ErrorView, Loading, notifyError, notifyOk, StatusBadge } from "../ui";

type Feedback = { ok: boolean; text: string } | null;

/** Units still to pick per SKU on a fulfilment. */
function needed(f: Fulfilment): Map<string, number> {
  const m = new Map<string, number>();
  for (const l of f.lines) m.set(l.sku, (m.get(l.sku) ?? 0) + l.quantity);
  return m;
}

/**
 * Scan-driven picking for a handheld: one focused input that a keyboard-wedge scanner types into
 * (it ends each scan with Enter). A fulfilment or order number opens the job, item scans count
 * the units, the last scan is the parcel's tracking number.
 */
export function PickPage() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const input = useRef<HTMLInputElement>(null);
  const [location, setLocation] = useState<string | null>(() => localStorage.getItem("keel.pick.location"));
  const [current, setCurrent] = useState<Fulfilment | null>(null);
  const [picked, setPicked] = useState<Map<string, number>>(new Map());
  const [barcodes, setBarcodes] = useState<Map<string, string>>(new Map());
  const [code, setCode] = useState("");
  const [carrier, setCarrier] = useState(() => localStorage.getItem("keel.pick.carrier") ?? "");
  const [tracking, setTracking] = useState("");
  const [feedback, setFeedback] = useState<Feedback>(null);
  const [busy, setBusy] = useState(false);

  const locations = useQuery({
    queryKey: ["locations"],
    queryFn: () => get<{ data: Location[] }>("/v1/locations"),
  });
  const queue = useQuery({
    queryKey: ["fulfillments", location],
    enabled: location !== null,
    queryFn: async () => {
      const pages = await Promise.all(
        ["pending", "picking", "packed"].map((status) =>
          get<Page<Fulfilment>>("/v1/fulfillments", { location, status, limit: 100 }),
        ),
      );
      return pages.flatMap((p) => p.data);
    },
  });

  useEffect(() => {
    if (!location && locations.data?.data.length) setLocation(locations.data.data[0].code);
  }, [location, locations.data]);
  useEffect(() => {
    if (location) localStorage.setItem("keel.pick.location", location);
  }, [location]);
  const refocus = () => setTimeout(() => input.current?.focus(), 0);

  const open = async (f: Fulfilment) => {
    let job = f;
    if (job.status === "pending") job = await post<Fulfilment>(`/v1/fulfillments/${job.id}/pick`);
    setCurrent(job);
    setPicked(job.status === "packed" ? needed(job) : new Map());
    setTracking("");
    // barcodes of the job's SKUs, so a scanner's EAN counts as well as the SKU
    const found = new Map<string, string>();
    await Promise.all(
      [...new Set(job.lines.map((l) => l.sku))].map(async (sku) => {
        try {
          const v = await get<{ sku: string; barcode?: string | null }>(
            `/v1/variants/${encodeURIComponent(sku)}`,
          );
          if (v.barcode) found.set(v.barcode, sku);
        } catch {
          // a SKU without a readable variant is still pickable by its SKU
        }
      }),
    );
    setBarcodes(found);
    void client.invalidateQueries({ queryKey: ["fulfillments"] });
  };

  const findJob = async (scan: string): Promise<Fulfilment | null> => {
    const open = (f: Fulfilment) => ["pending", "picking", "packed"].includes(f.status);
    if (/^\d+$/.test(scan)) {
      try {
        const f = await get<Fulfilment>(`/v1/fulfillments/${scan}`);
        if (open(f)) return f;
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 404)) throw err;
      }
    }
    const page = await get<Page<Fulfilment>>("/v1/fulfillments", { order: scan, location, limit: 20 });
    return page.data.find(open) ?? null;
  };

  const onScan = async (e: FormEvent) => {
    e.preventDefault();
    const scan = code.trim();
    setCode("");
    refocus();
    if (!scan || busy) return;
    setBusy(true);
    try {
      if (!current) {
        const job = await findJob(scan);
        if (!job) setFeedback({ ok: false, text: t("pick.notFound", { code: scan }) });
        else {
          await open(job);
          setFeedback(null);
        }
      } else if (current.status === "packed") {
        setTracking(scan);
      } else {
        const sku = barcodes.get(scan) ?? scan;
        const need = needed(current).get(sku);
        if (need === undefined) setFeedback({ ok: false, text: t("pick.unknown", { code: scan }) });
        else if ((picked.get(sku) ?? 0) >= need) setFeedback({ ok: false, text: t("pick.tooMany", { sku }) });
        else {
          setPicked(new Map(picked).set(sku, (picked.get(sku) ?? 0) + 1));
          setFeedback({ ok: true, text: t("pick.ok", { sku }) });
        }
      }
    } catch (err) {
      setFeedback({ ok: false, text: err instanceof Error ? err.message : String(err) });
    } finally {
      setBusy(false);
    }
  };

  const step = async (action: "pack" | "ship") => {
    if (!current) return;
    setBusy(true);
    try {
      const body =
        action === "ship" ? { carrier: carrier.trim(), tracking_number: tracking.trim() } : undefined;
      const next = await post<Fulfilment>(`/v1/fulfillments/${current.id}/${action}`, body);
      if (action === "ship") {
        localStorage.setItem("keel.pick.carrier", carrier.trim());
        notifyOk(t("pick.shippedMsg", { id: current.id }));
        setCurrent(null);
        setFeedback(null);
      } else setCurrent(next);
      void client.invalidateQueries({ queryKey: ["fulfillments"] });
      void client.invalidateQueries({ queryKey: ["order"] });
    } catch (err) {
      notifyError(err);
    } finally {
      setBusy(false);
      refocus();
    }
  };

  const total = current ? current.lines.reduce((s, l) => s + l.quantity, 0) : 0;
  const done = [...picked.values()].reduce((s, n) => s + n, 0);

  return (
    <Stack maw={720}>
      <Title order={1}>{t("pick.title")}</Title>
      <Select
        label={t("pick.location")}
        data={(locations.data?.data ?? []).map((l) => ({ value: l.code, label: `${l.code} · ${l.name}` }))}
        value={location}
        onChange={(v) => {
          setLocation(v);
          setCurrent(null);
        }}
        allowDeselect={false}
      />
      <form onSubmit={onScan}>
        <TextInput
          ref={input}
          label={t("pick.scan")}
          description={t("pick.scanHelp")}
          value={code}
          onChange={(e) => setCode(e.currentTarget.value)}
          autoFocus
          autoComplete="off"
          size="lg"
          data-scan
        />
      </form>
      {feedback && (
        <Alert color={feedback.ok ? "teal" : "red"} role={feedback.ok ? "status" : "alert"} py="xs">
          {feedback.text}
        </Alert>
      )}
      {current ? (
        <Card withBorder data-fulfilment={current.id}>
          <Group justify="space-between" mb="sm">
            <Text fw={600}>{t("pick.fulfilment", { id: current.id, number: current.order_number })}</Text>
            <StatusBadge code={current.status} />
          </Group>
          <Progress
            value={total ? (done / total) * 100 : 0}
            mb="xs"
            aria-label={t("pick.picked", { done, total })}
          />
          <Text size="sm" mb="sm" aria-live="polite">
            {done === total ? t("pick.allPicked") : t("pick.picked", { done, total })}
          </Text>
          <Table>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t("pick.bin")}</Table.Th>
                <Table.Th>SKU</Table.Th>
                <Table.Th ta="right">✓</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {current.lines.map((l) => (
                <Table.Tr key={`${l.line_no}-${l.sku}`} data-line={l.sku}>
                  <Table.Td>{l.bin ?? "—"}</Table.Td>
                  <Table.Td>{l.sku}</Table.Td>
                  <Table.Td ta="right">
                    <Badge color={(picked.get(l.sku) ?? 0) >= l.quantity ? "teal" : "gray"}>
                      {Math.min(picked.get(l.sku) ?? 0, l.quantity)} / {l.quantity}
                    </Badge>
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
          {current.status === "picking" && (
            <Button
              mt="md"
              fullWidth
              size="md"
              disabled={done < total}
              loading={busy}
              onClick={() => void step("pack")}
            >
              {t("pick.pack")}
            </Button>
          )}
          {current.status === "packed" && (
            <Stack mt="md">
              <TextInput
                label={t("pick.carrier")}
                value={carrier}
                onChange={(e) => setCarrier(e.currentTarget.value)}
              />
              <TextInput
                label={t("pick.tracking")}
                value={tracking}
                onChange={(e) => setTracking(e.currentTarget.value)}
              />
              <Button
                size="md"
                disabled={!carrier.trim() || !tracking.trim()}
                loading={busy}
                onClick={() => void step("ship")}
              >
                {t("pick.ship")}
              </Button>
            </Stack>
          )}
        </Card>
      ) : (
        <Card withBorder>
          <Title order={2} size="h4" mb="sm">
            {t("pick.queue")}
          </Title>
          {queue.isPending && location ? (
            <Loading />
          ) : queue.isError ? (
            <ErrorView error={queue.error} onRetry={() => void queue.refetch()} />
          ) : (queue.data ?? []).length === 0 ? (
            <Text size="sm" c="dimmed">
              {t("pick.nothing")}
            </Text>
          ) : (
            <Stack gap="xs">
              {(queue.data ?? []).map((f) => (
                <Group key={f.id} justify="space-between" wrap="nowrap">
                  <Text size="sm">
                    #{f.id} · {f.order_number} · {f.lines.reduce((s, l) => s + l.quantity, 0)}
                  </Text>
                  <Group gap="xs" wrap="nowrap">
                    <StatusBadge code={f.status} />
                    <Button
                      size="xs"
                      variant="light"
                      onClick={() => void open(f).catch(notifyError).finally(refocus)}
                      aria-label={`${t("pick.open")} #${f.id}`}
                    >
                      {t("pick.open")}
                    </Button>
                  </Group>
                </Group>
              ))}
            </Stack>
          )}
        </Card>
      )}
    </Stack>
  );
}
