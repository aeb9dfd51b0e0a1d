import { AppShell, Badge, Burger, Group, NavLink, Select, Text, UnstyledButton } from "@mantine/core";
import { useDisclosure } from "@mantine/hooks";
import { useQueryClient } from "@tanstack/react-query";
import { Link, Outlet, useRouterState } from "@tanstack/react-router";
import { useTranslation } from "react-i18next";
import { post, setCsrfToken } from "./api";
import { LANGUAGES, setLanguage } from "./i18n";
import { useLiveEvents } from "./live";
import { allowed, NAV } from "./nav";
import { Palette, PaletteButton } from "./Palette";
import { useCan, useMe } from "./session";
import { notifyError } from "./ui";

export function Shell() {
  const { t, i18n } = useTranslation();
  const [opened, { toggle, close }] = useDisclosure();
  const me = useMe();
  const can = useCan();
  const client = useQueryClient();
  const path = useRouterState({ select: (s) => s.location.pathname });
  const live = useLiveEvents(can("events:read"));
  const signOut = async () => {
    try {
      await post("/v1/auth/logout");
    } catch (err) {
      notifyError(err);
    }
    setCsrfToken(null);
    client.setQueryData(["me"], null);
    client.removeQueries({ predicate: (q) => q.queryKey[0] !== "me" });
  };
  return (
    <AppShell
      header={{ height: 56 }}
      navbar={{ width: 220, breakpoint: "sm", collapsed: { mobile: !opened } }}
      padding="md"
    >
      <a href="#main" className="skip-link">
        {t("app.skip")}
      </a>
      <AppShell.Header>
        <Group h="100%" px="md" justify="space-between" wrap="nowrap">
          <Group gap="sm" wrap="nowrap">
            <Burger opened={opened} onClick={toggle} hiddenFrom="sm" size="sm" aria-label={t("app.menu")} />
            <Text fw={700} size="lg">
              {t("app.name")}
            </Text>
            {can("events:read") && (
              <Badge
                variant="dot"
                color={live === "open" ? "teal" : "orange"}
                role="status"
                aria-live="polite"
                data-live={live}
              >
                {t(`app.live.${live}`)}
              </Badge>
            )}
          </Group>
          <Group gap="sm" wrap="nowrap">
            <PaletteButton />
            <Select
              aria-label={t("app.language")}
              data={LANGUAGES}
              value={i18n.language}
              onChange={(v) => v && setLanguage(v)}
              w={120}
              size="xs"
              allowDeselect={false}
            />
            <Text size="sm" visibleFrom="sm">
              {me.user ? me.user.name || me.user.email : me.api_key?.name}
            </Text>
            <UnstyledButton onClick={signOut} fz="sm" td="underline">
              {t("app.signOut")}
            </UnstyledButton>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" component="nav" aria-label="Keel">
        {NAV.filter((n) => allowed(can, n.permission)).map((n) => (
          <NavLink
            key={n.to}
            component={Link}
            to={n.to}
            label={t(n.key)}
            active={n.to === "/" ? path === "/" : path.startsWith(n.to)}
            onClick={close}
          />
        ))}
        <Text size="xs" c="dimmed" mt="auto" p="xs" visibleFrom="sm">
          {t("palette.shortcuts")}
        </Text>
      </AppShell.Navbar>
      <Palette />
      <AppShell.Main id="main">
        <Outlet />
      </AppShell.Main>
    </AppShell>
  );
}
