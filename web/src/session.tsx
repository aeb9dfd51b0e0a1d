import { useQuery } from "@tanstack/react-query";
import { createContext, type ReactNode, useContext } from "react";
import { ApiError, get, setCsrfToken } from "./api";

export interface Me {
  /** null when the caller is an API key rather than a signed-in user */
  user: { id: number; email: string; name?: string | null } | null;
  api_key?: { id: number; name: string } | null;
  permissions: string[];
  /** sessions only: sent as X-CSRF-Token on every write */
  csrf_token?: string;
}

const SessionContext = createContext<Me | null>(null);

/** Who is signed in, from GET /v1/me; null when nobody is (401). */
export function useMeQuery() {
  return useQuery({
    queryKey: ["me"],
    queryFn: async () => {
      try {
        const me = await get<Me>("/v1/me");
        if (me.csrf_token) setCsrfToken(me.csrf_token);
        return me;
      } catch (err) {
        if (err instanceof ApiError && err.status === 401) return null;
        throw err;
      }
    },
    staleTime: 60_000,
    retry: false,
  });
}

export function SessionProvider({ me, children }: { me: Me; children: ReactNode }) {
  return <SessionContext.Provider value={me}>{children}</SessionContext.Provider>;
}

export function useMe(): Me {
  const me = useContext(SessionContext);
  if (!me) throw new Error("useMe outside a session");
  return me;
}

/** Whether the signed-in user may do this: what a user cannot do is not offered. */
export function useCan(): (permission: string) => boolean {
  const me = useMe();
  const set = new Set(me.permissions);
  return (p) => set.has(p) || set.has("*");
}
