import { Button, Group, NumberInput, Stack, Switch, Table, Text } from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useTranslation } from "react-i18next";
import { get, post, put } from "../api";
import { useCan } from "../session";
import { ErrorView, Loading, notifyError, notifyOk, PageTitle, Section, useLocations } from "../ui";

interface OrderSettings {
  auto_approve: boolean;
  require_payment_for_approval: boolean;
  complete_on_delivery: boolean;
  default_sla_hours: number;
}

function Orders() {
  const { t } = useTranslation();
  const can = useCan();
  const client = useQueryClient();
  const q = useQuery({
    queryKey: ["settings", "orders"],
    queryFn: () => get<OrderSettings>("/v1/settings/orders"),
  });
  const change = async (patch: Partial<OrderSettings>) => {
    try {
      client.setQueryData(["settings", "orders"], await put<OrderSettings>("/v1/settings/orders", patch));
      notifyOk(t("settings.saved"));
    } catch (err) {
      notifyError(err);
    }
  };
  if (q.isPending) return <Loading />;
  if (q.isError) return <ErrorView error={q.error} onRetry={() => void q.refetch()} />;
  const s = q.data;
  const writable = can("settings:write");
  return (
    <Stack>
      {(["auto_approve", "require_payment_for_approval", "complete_on_delivery"] as const).map((k) => (
        <Switch
          key={k}
          label={t(`settings.orders.${k}`)}
          checked={s[k]}
          disabled={!writable}
          onChange={(e) => void change({ [k]: e.currentTarget.checked })}
        />
      ))}
      <Group align="end">
        <NumberInput
          label={t("settings.orders.default_sla_hours")}
          defaultValue={s.default_sla_hours}
          min={1}
          disabled={!writable}
          onBlur={(e) => {
            const n = Number(e.currentTarget.value);
            if (n && n !== s.default_sla_hours) void change({ default_sla_hours: n });
          }}
          w={220}
        />
      </Group>
    </Stack>
  );
}

function Receiving() {
  const { t } = useTranslation();
  const can = useCan();
  const locations = useLocations();
  const q = useQuery({
    queryKey: ["receiving-settings"],
    queryFn: () => get<{ data: { location: string; inspect: boolean }[] }>("/v1/receiving-settings"),
  });
  const change = async (location: string, inspect: boolean) => {
    try {
      await post("/v1/receiving-settings", { location, inspect });
      notifyOk(t("settings.saved"));
    } catch (err) {
      notifyError(err);
    }
    await q.refetch();
  };
  if (q.isPending || locations.isPending) return <Loading />;
  if (q.isError) return <ErrorView error={q.error} onRetry={() => void q.refetch()} />;
  return (
    <Table>
      <Table.Tbody>
        {(locations.data?.data ?? []).map((l) => (
          <Table.Tr key={l.code} data-receiving={l.code}>
            <Table.Td>{l.code}</Table.Td>
            <Table.Td>
              <Switch
                label={t("settings.inspect")}
                checked={q.data.data.find((s) => s.location === l.code)?.inspect ?? false}
                disabled={!can("settings:write")}
                onChange={(e) => void change(l.code, e.currentTarget.checked)}
              />
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function Counts() {
  const { t } = useTranslation();
  const can = useCan();
  const q = useQuery({
    queryKey: ["count-settings"],
    queryFn: () => get<{ approval_units: number; approval_value: number }>("/v1/count-settings"),
  });
  const [units, setUnits] = useState<number | string | null>(null);
  const [value, setValue] = useState<number | string | null>(null);
  if (q.isPending) return <Loading />;
  if (q.isError) return <ErrorView error={q.error} onRetry={() => void q.refetch()} />;
  const save = async () => {
    try {
      await post("/v1/count-settings", {
        approval_units: Number(units ?? q.data.approval_units),
        approval_value: Math.round(Number(value ?? q.data.approval_value / 100) * 100),
      });
      notifyOk(t("settings.saved"));
      await q.refetch();
    } catch (err) {
      notifyError(err);
    }
  };
  return (
    <Group align="end">
      <NumberInput
        label={t("settings.countUnits")}
        value={units ?? q.data.approval_units}
        onChange={setUnits}
        min={0}
        allowDecimal={false}
        disabled={!can("settings:write")}
      />
      <NumberInput
        label={t("settings.countValue")}
        value={value ?? q.data.approval_value / 100}
        onChange={setValue}
        min={0}
        decimalScale={2}
        disabled={!can("settings:write")}
      />
      {can("settings:write") && (
        <Button variant="default" onClick={() => void save()}>
          {t("app.save")}
        </Button>
      )}
    </Group>
  );
}

function Returns() {
  const { t } = useTranslation();
  const q = useQuery({
    queryKey: ["settings", "returns"],
    queryFn: () => get<{ window_days: number; reasons: string[] }>("/v1/settings/returns"),
  });
  if (q.isPending) return <Loading />;
  if (q.isError) return <ErrorView error={q.error} onRetry={() => void q.refetch()} />;
  return (
    <Text size="sm">
      {t("settings.returnWindow", { count: q.data.window_days })} · {q.data.reasons.join(", ")}
    </Text>
  );
}

/** How the shop runs: order approval, receiving through inspection, count thresholds, return policy. */
export function SettingsPage() {
  const { t } = useTranslation();
  return (
    <Stack>
      <PageTitle title={t("settings.title")} subtitle={t("settings.subtitle")} />
      <Section title={t("settings.ordersTitle")}>
        <Orders />
      </Section>
      <Section title={t("settings.receivingTitle")}>
        <Receiving />
      </Section>
      <Section title={t("settings.countsTitle")}>
        <Counts />
      </Section>
      <Section title={t("settings.returnsTitle")}>
        <Returns />
      </Section>
    </Stack>
  );
}
