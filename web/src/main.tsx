import "@mantine/core/styles.css";
import "@mantine/notifications/styles.css";
import "@mantine/spotlight/styles.css";
import "./app.css";
import {
  Center,
  type CSSVariablesResolver,
  createTheme,
  DEFAULT_THEME,
  darken,
  MantineProvider,
} from "@mantine/core";
import { Notifications } from "@mantine/notifications";
import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { RouterProvider } from "@tanstack/react-router";
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import "./i18n";
import { ApiError } from "./api";
import { router } from "./router";
import { SignIn } from "./SignIn";
import { SessionProvider, useMeQuery } from "./session";
import { ErrorView, Loading } from "./ui";

// autoContrast: Mantine's default light badges fail WCAG contrast without it
const theme = createTheme({
  autoContrast: true,
  primaryColor: "indigo",
  primaryShade: { light: 8, dark: 6 },
});

// WCAG AA (4.5:1) for the text Mantine draws in light and outline variants and for dimmed text
const resolver: CSSVariablesResolver = () => {
  const light: Record<string, string> = {
    "--mantine-color-dimmed": "var(--mantine-color-gray-7)",
    "--mantine-color-placeholder": "var(--mantine-color-gray-7)",
  };
  for (const [name, shades] of Object.entries(DEFAULT_THEME.colors)) {
    light[`--mantine-color-${name}-light-color`] = darken(shades[9], 0.35);
    light[`--mantine-color-${name}-outline`] = darken(shades[9], 0.3);
    light[`--mantine-color-${name}-text`] = darken(shades[9], 0.3);
  }
  return { variables: {}, light, dark: {} };
};

// a session that ended (expired, signed out elsewhere, user disabled) shows the sign-in page again
const signedOut = (err: unknown) => {
  if (err instanceof ApiError && err.status === 401) client.setQueryData(["me"], null);
};
const client: QueryClient = new QueryClient({
  queryCache: new QueryCache({ onError: signedOut }),
  mutationCache: new MutationCache({ onError: signedOut }),
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      retry: (count, err) => count < 2 && !(err instanceof ApiError && err.status < 500 && err.status > 0),
    },
  },
});

function App() {
  const me = useMeQuery();
  if (me.isPending) return <Loading />;
  if (me.isError)
    return (
      <Center p="md">
        <ErrorView error={me.error} onRetry={() => void me.refetch()} />
      </Center>
    );
  if (!me.data) return <SignIn />;
  return (
    <SessionProvider me={me.data}>
      <RouterProvider router={router} />
    </SessionProvider>
  );
}

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <MantineProvider theme={theme} cssVariablesResolver={resolver}>
      <Notifications position="top-right" />
      <QueryClientProvider client={client}>
        <App />
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
