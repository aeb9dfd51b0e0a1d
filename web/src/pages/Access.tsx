import {
  Badge,
  Button,
  Code,
  Group,
  Modal,
  MultiSelect,
  PasswordInput,
  Stack,
  Switch,
  Table,
  Tabs,
  Text,
  TextInput,
} from "@mantine/core";
import { useInfiniteQuery, useQuery, useQueryClient } from "@tanstack/react-query";
import { useNavigate } from "@tanstack/react-router";
import { type FormEvent, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { get, type Page, patch, post } from "../api";
import type { AuditEntry, Role, User } from "../ops-types";
import { type AccessSearch, accessRoute } from "../router";
import { useCan } from "../session";
import { ErrorView, Loading, notifyError, notifyOk, PageTitle, QueryView, ScrollRegion, when } from "../ui";
import { ApiKeys } from "./ApiKeys";

function useRoles(enabled: boolean) {
  return useQuery({ queryKey: ["roles"], enabled, queryFn: () => get<{ data: Role[] }>("/v1/roles") });
}

function NewUser({ roles, onDone }: { roles: string[]; onDone: () => void }) {
  const { t } = useTranslation();
  const [email, setEmail] = useState("");
  const [name, setName] = useState("");
  const [chosen, setChosen] = useState<string[]>([]);
  const [password, setPassword] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [shown, setShown] = useState<string | null>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      const u = await post<User & { password?: string }>("/v1/users", {
        email: email.trim(),
        name: name.trim(),
        roles: chosen,
        ...(password ? { password } : {}),
      });
      notifyOk(t("access.userAdded", { email: u.email }));
      if (u.password) setShown(u.password);
      else onDone();
    } catch (err) {
      setError(err);
    }
  };
  if (shown)
    return (
      <Stack>
        <Text>{t("access.passwordOnce")}</Text>
        <Code block data-password>
          {shown}
        </Code>
        <Button onClick={onDone}>{t("app.close")}</Button>
      </Stack>
    );
  return (
    <form onSubmit={submit}>
      <Stack>
        {error !== null && <ErrorView error={error} />}
        <TextInput
          label={t("access.email")}
          type="email"
          value={email}
          onChange={(e) => setEmail(e.currentTarget.value)}
          required
          data-autofocus
        />
        <TextInput
          label={t("access.name")}
          value={name}
          onChange={(e) => setName(e.currentTarget.value)}
          required
        />
        <MultiSelect label={t("access.roles")} data={roles} value={chosen} onChange={setChosen} />
        <PasswordInput
          label={t("access.password")}
          description={t("access.passwordHelp")}
          value={password}
          onChange={(e) => setPassword(e.currentTarget.value)}
        />
        <Button type="submit">{t("app.save")}</Button>
      </Stack>
    </form>
  );
}

function Users() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const users = useQuery({ queryKey: ["users"], queryFn: () => get<{ data: User[] }>("/v1/users") });
  const roles = useRoles(true);
  const [adding, setAdding] = useState(false);
  const names = (roles.data?.data ?? []).map((r) => r.name);
  const change = async (u: User, body: { roles?: string[]; disabled?: boolean }) => {
    try {
      await patch(`/v1/users/${u.id}`, body);
      notifyOk(t("access.userChanged", { email: u.email }));
    } catch (err) {
      notifyError(err);
    }
    void client.invalidateQueries({ queryKey: ["users"] });
  };
  if (users.isPending) return <Loading />;
  if (users.isError) return <ErrorView error={users.error} onRetry={() => void users.refetch()} />;
  return (
    <Stack>
      <Group>
        <Button onClick={() => setAdding(true)}>{t("access.addUser")}</Button>
      </Group>
      <Table.ScrollContainer minWidth={720}>
        <Table striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>{t("access.email")}</Table.Th>
              <Table.Th>{t("access.name")}</Table.Th>
              <Table.Th>{t("access.roles")}</Table.Th>
              <Table.Th>{t("access.twoFactor")}</Table.Th>
              <Table.Th>{t("access.active")}</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {users.data.data.map((u) => (
              <Table.Tr key={u.id} data-user={u.email}>
                <Table.Td>{u.email}</Table.Td>
                <Table.Td>{u.name}</Table.Td>
                <Table.Td miw={260}>
                  <MultiSelect
                    aria-label={t("access.rolesOf", { email: u.email })}
                    data={names.length ? names : u.roles}
                    value={u.roles}
                    onChange={(v) => void change(u, { roles: v })}
                    size="xs"
                  />
                </Table.Td>
                <Table.Td>{u.totp_enabled ? t("access.yes") : t("access.no")}</Table.Td>
                <Table.Td>
                  <Switch
                    aria-label={t("access.activeOf", { email: u.email })}
                    checked={!u.disabled}
                    onChange={(e) => void change(u, { disabled: !e.currentTarget.checked })}
                  />
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <Modal
        opened={adding}
        onClose={() => setAdding(false)}
        title={t("access.addUser")}
        closeButtonProps={{ "aria-label": t("app.close") }}
      >
        <NewUser
          roles={names}
          onDone={() => {
            setAdding(false);
            void client.invalidateQueries({ queryKey: ["users"] });
          }}
        />
      </Modal>
    </Stack>
  );
}

function Roles() {
  const { t } = useTranslation();
  const roles = useRoles(true);
  if (roles.isPending) return <Loading />;
  if (roles.isError) return <ErrorView error={roles.error} onRetry={() => void roles.refetch()} />;
  return (
    <Table striped>
      <Table.Thead>
        <Table.Tr>
          <Table.Th>{t("access.role")}</Table.Th>
          <Table.Th>{t("access.permissions")}</Table.Th>
        </Table.Tr>
      </Table.Thead>
      <Table.Tbody>
        {roles.data.data.map((r) => (
          <Table.Tr key={r.id} data-role={r.name}>
            <Table.Td>
              <Text fw={500}>{r.name}</Text>
              <Text size="xs" c="dimmed">
                {r.description}
              </Text>
            </Table.Td>
            <Table.Td>
              <Group gap={4}>
                {r.permissions.map((p) => (
                  <Badge key={p} variant="outline" size="sm" tt="none">
                    {p}
                  </Badge>
                ))}
              </Group>
            </Table.Td>
          </Table.Tr>
        ))}
      </Table.Tbody>
    </Table>
  );
}

function Audit({ search, set }: { search: AccessSearch; set: (p: Partial<AccessSearch>) => void }) {
  const { t } = useTranslation();
  const [entityType, setEntityType] = useState(search.entity_type ?? "");
  const [entityId, setEntityId] = useState(search.entity_id ?? "");
  const [actor, setActor] = useState(search.actor ?? "");
  const filter = { entity_type: search.entity_type, entity_id: search.entity_id, actor: search.actor };
  const q = useInfiniteQuery({
    queryKey: ["audit", filter],
    queryFn: ({ pageParam }) =>
      get<Page<AuditEntry>>("/v1/audit", { ...filter, limit: 100, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (p) => p.next_cursor ?? undefined,
  });
  const rows = useMemo(() => q.data?.pages.flatMap((p) => p.data) ?? [], [q.data]);
  return (
    <Stack>
      <form
        aria-label={t("app.filters")}
        onSubmit={(e) => {
          e.preventDefault();
          set({
            entity_type: entityType.trim() || undefined,
            entity_id: entityId.trim() || undefined,
            actor: actor.trim() || undefined,
          });
        }}
      >
        <Group align="end">
          <TextInput
            label={t("access.entityType")}
            value={entityType}
            onChange={(e) => setEntityType(e.currentTarget.value)}
          />
          <TextInput
            label={t("access.entityId")}
            value={entityId}
            onChange={(e) => setEntityId(e.currentTarget.value)}
          />
          <TextInput
            label={t("access.actor")}
            value={actor}
            onChange={(e) => setActor(e.currentTarget.value)}
          />
          <Button type="submit" variant="default">
            {t("app.filters")}
          </Button>
        </Group>
      </form>
      <QueryView query={q} empty={rows.length === 0}>
        {(_data) => (
          <ScrollRegion label={t("access.tabs.audit")} minWidth={900}>
            <Table striped>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t("access.at")}</Table.Th>
                  <Table.Th>{t("access.actor")}</Table.Th>
                  <Table.Th>{t("access.action")}</Table.Th>
                  <Table.Th>{t("access.entity")}</Table.Th>
                  <Table.Th>{t("access.after")}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((a) => (
                  <Table.Tr key={a.id} data-audit={a.id}>
                    <Table.Td>{when(a.at)}</Table.Td>
                    <Table.Td>{a.actor}</Table.Td>
                    <Table.Td>{a.action}</Table.Td>
                    <Table.Td>
                      {a.entity_type ?? ""} {a.entity_id ?? ""}
                    </Table.Td>
                    <Table.Td>
                      <Text size="xs" lineClamp={2} ff="monospace">
                        {a.after === null || a.after === undefined ? "" : JSON.stringify(a.after)}
                      </Text>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </ScrollRegion>
        )}
      </QueryView>
      {q.hasNextPage && (
        <Button
          variant="default"
          w="fit-content"
          loading={q.isFetchingNextPage}
          onClick={() => void q.fetchNextPage()}
        >
          {t("app.loadMore")}
        </Button>
      )}
    </Stack>
  );
}

function KeysTab() {
  const roles = useRoles(true);
  return <ApiKeys roles={(roles.data?.data ?? []).map((r) => r.name)} />;
}

/** Users and their roles, what each role may do, and the audit trail of every write. */
export function AccessPage() {
  const { t } = useTranslation();
  const can = useCan();
  const search = accessRoute.useSearch();
  const navigate = useNavigate({ from: "/access" });
  const set = (p: Partial<AccessSearch>) => void navigate({ search: (s: AccessSearch) => ({ ...s, ...p }) });
  const tabs = [
    can("users:manage") && "users",
    can("users:manage") && "roles",
    can("keys:manage") && "keys",
    can("audit:read") && "audit",
  ].filter((x): x is string => Boolean(x));
  const tab = search.tab && tabs.includes(search.tab) ? search.tab : tabs[0];
  if (!tab) return <Text>{t("app.noAccess")}</Text>;
  return (
    <Stack>
      <PageTitle title={t("access.title")} subtitle={t("access.subtitle")} />
      <Tabs value={tab} onChange={(v) => set({ tab: v ?? undefined })} keepMounted={false}>
        <Tabs.List>
          {tabs.map((x) => (
            <Tabs.Tab key={x} value={x}>
              {t(`access.tabs.${x}`)}
            </Tabs.Tab>
          ))}
        </Tabs.List>
        <Tabs.Panel value="users" pt="md">
          <Users />
        </Tabs.Panel>
        <Tabs.Panel value="roles" pt="md">
          <Roles />
        </Tabs.Panel>
        <Tabs.Panel value="keys" pt="md">
          <KeysTab />
        </Tabs.Panel>
        <Tabs.Panel value="audit" pt="md">
          <Audit search={search} set={set} />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
