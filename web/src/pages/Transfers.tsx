import { Button, Group, NumberInput, Select, Stack, Table, Text, TextInput } from "@mantine/core";
import { useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useTranslation } from "react-i18next";
import { get, post } from "../api";
import { ErrorView, notifyOk, PageTitle, Section, StatusBadge, useLocations } from "../ui";

interface Transfer {
  id: number;
  from: string;
  to: string;
  status: string;
  reference: string | null;
  lines: { sku: string; quantity: number; received: number }[];
}

/** Move stock between locations: send a transfer, then book it in at the other end. */
export function TransfersPage() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const locations = useLocations();
  const codes = (locations.data?.data ?? []).map((l) => l.code);
  const [from, setFrom] = useState<string | null>(null);
  const [to, setTo] = useState<string | null>(null);
  const [sku, setSku] = useState("");
  const [qty, setQty] = useState<number | string>(1);
  const [reference, setReference] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [lookup, setLookup] = useState("");
  const [current, setCurrent] = useState<Transfer | null>(null);

  const send = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const tr = await post<Transfer>("/v1/inventory/transfers", {
        from,
        to,
        lines: [{ sku: sku.trim(), quantity: Number(qty) }],
        ...(reference.trim() ? { reference: reference.trim() } : {}),
      });
      notifyOk(t("transfers.sent", { id: tr.id }));
      setCurrent(tr);
      setSku("");
      void client.invalidateQueries({ queryKey: ["levels"] });
    } catch (err) {
      setError(err);
    }
  };
  const open = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      setCurrent(await get<Transfer>(`/v1/inventory/transfers/${encodeURIComponent(lookup.trim())}`));
    } catch (err) {
      setError(err);
    }
  };
  const receive = async () => {
    if (!current) return;
    setError(null);
    try {
      setCurrent(await post<Transfer>(`/v1/inventory/transfers/${current.id}/receive`, {}));
      notifyOk(t("transfers.received", { id: current.id }));
      void client.invalidateQueries({ queryKey: ["levels"] });
    } catch (err) {
      setError(err);
    }
  };

  return (
    <Stack>
      <PageTitle title={t("transfers.title")} subtitle={t("transfers.subtitle")} />
      {error !== null && <ErrorView error={error} />}
      <Section title={t("transfers.new")}>
        <form onSubmit={send}>
          <Group align="end">
            <Select label={t("transfers.from")} data={codes} value={from} onChange={setFrom} required />
            <Select label={t("transfers.to")} data={codes} value={to} onChange={setTo} required />
            <TextInput
              label={t("transfers.sku")}
              value={sku}
              onChange={(e) => setSku(e.currentTarget.value)}
              required
            />
            <NumberInput
              label={t("transfers.quantity")}
              value={qty}
              onChange={setQty}
              min={1}
              allowDecimal={false}
              w={110}
            />
            <TextInput
              label={t("transfers.reference")}
              value={reference}
              onChange={(e) => setReference(e.currentTarget.value)}
            />
            <Button type="submit" disabled={!from || !to || !sku.trim()}>
              {t("transfers.send")}
            </Button>
          </Group>
        </form>
      </Section>
      <Section title={t("transfers.receiveTitle")}>
        <form onSubmit={open}>
          <Group align="end">
            <TextInput
              label={t("transfers.number")}
              value={lookup}
              onChange={(e) => setLookup(e.currentTarget.value)}
            />
            <Button type="submit" variant="default" disabled={!/^\d+$/.test(lookup.trim())}>
              {t("transfers.open")}
            </Button>
          </Group>
        </form>
        {current && (
          <Stack mt="md" data-transfer={current.id}>
            <Group>
              <Text fw={500}>
                {t("transfers.one", { id: current.id, from: current.from, to: current.to })}
              </Text>
              <StatusBadge code={current.status} />
            </Group>
            <Table>
              <Table.Tbody>
                {current.lines.map((l) => (
                  <Table.Tr key={l.sku}>
                    <Table.Td>{l.sku}</Table.Td>
                    <Table.Td ta="right">
                      {l.received} / {l.quantity}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
            {current.lines.some((l) => l.received < l.quantity) && (
              <Button w="fit-content" onClick={() => void receive()}>
                {t("transfers.receive")}
              </Button>
            )}
          </Stack>
        )}
      </Section>
    </Stack>
  );
}
