import { Button, Code, Group, MultiSelect, Stack, Table, Text, TextInput } from "@mantine/core";
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useTranslation } from "react-i18next";
import { del, get, post } from "../api";
import { ErrorView, notifyError, notifyOk, QueryView, StatusBadge, when } from "../ui";

interface ApiKey {
  id: number;
  name: string;
  prefix: string;
  roles: string[];
  created_at: string;
  expires_at: string | null;
  revoked_at: string | null;
}

/** API keys for integrations: create one with roles (the key is shown once), revoke one at once. */
export function ApiKeys({ roles }: { roles: string[] }) {
  const { t } = useTranslation();
  const client = useQueryClient();
  const keys = useQuery({ queryKey: ["api-keys"], queryFn: () => get<{ data: ApiKey[] }>("/v1/api-keys") });
  const [name, setName] = useState("");
  const [chosen, setChosen] = useState<string[]>([]);
  const [shown, setShown] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const create = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const k = await post<ApiKey & { key: string }>("/v1/api-keys", { name: name.trim(), roles: chosen });
      setShown(k.key);
      setName("");
      setChosen([]);
      void client.invalidateQueries({ queryKey: ["api-keys"] });
    } catch (err) {
      setError(err);
    }
  };
  const revoke = async (k: ApiKey) => {
    try {
      await del(`/v1/api-keys/${k.id}`);
      notifyOk(t("access.revoked", { name: k.name }));
      void client.invalidateQueries({ queryKey: ["api-keys"] });
    } catch (err) {
      notifyError(err);
    }
  };
  return (
    <Stack>
      <form onSubmit={create} aria-label={t("access.newKey")}>
        {error !== null && <ErrorView error={error} />}
        <Group align="end">
          <TextInput
            label={t("access.keyName")}
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            required
          />
          <MultiSelect label={t("access.roles")} data={roles} value={chosen} onChange={setChosen} w={320} />
          <Button type="submit" variant="default" disabled={!name.trim() || chosen.length === 0}>
            {t("access.newKey")}
          </Button>
        </Group>
      </form>
      {shown && (
        <Stack gap={4} data-key-shown>
          <Text size="sm">{t("access.keyOnce")}</Text>
          <Code block>{shown}</Code>
        </Stack>
      )}
      <QueryView query={keys}>
        {(data) => (
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t("access.keyName")}</Table.Th>
                <Table.Th>{t("access.prefix")}</Table.Th>
                <Table.Th>{t("access.roles")}</Table.Th>
                <Table.Th>{t("access.created")}</Table.Th>
                <Table.Th />
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {data.data.map((k) => (
                <Table.Tr key={k.id} data-api-key={k.name}>
                  <Table.Td>{k.name}</Table.Td>
                  <Table.Td>
                    <Code>{k.prefix}…</Code>
                  </Table.Td>
                  <Table.Td>{k.roles.join(", ")}</Table.Td>
                  <Table.Td>{when(k.created_at)}</Table.Td>
                  <Table.Td>
                    {k.revoked_at ? (
                      <StatusBadge
                        code="cancelled"
                        text={t("access.revokedAt", { at: when(k.revoked_at) })}
                      />
                    ) : (
                      <Button size="compact-xs" variant="light" color="red" onClick={() => void revoke(k)}>
                        {t("access.revoke")}
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
