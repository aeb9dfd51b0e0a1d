import { Button, Group, Select, Stack, Textarea, TextInput } from "@mantine/core";
import { useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useTranslation } from "react-i18next";
import { post } from "../api";
import { ErrorView, notifyOk } from "../ui";

const TEMPLATES: Record<string, string> = {
  manual: "{}",
  webhook: '{\n  "webhook_secret": ""\n}',
  shopify:
    '{\n  "shop_domain": "example.myshopify.com",\n  "api_version": "2025-10",\n  "access_token": "",\n  "webhook_secret": "",\n  "locations": {}\n}',
  woocommerce:
    '{\n  "base_url": "https://shop.example",\n  "consumer_key": "",\n  "consumer_secret": "",\n  "webhook_secret": ""\n}',
};

/** Connect a sales channel: its kind, name and the connector's settings (secrets are write-only). */
export function NewChannel() {
  const { t } = useTranslation();
  const client = useQueryClient();
  const [kind, setKind] = useState("manual");
  const [name, setName] = useState("");
  const [code, setCode] = useState("");
  const [config, setConfig] = useState(TEMPLATES.manual);
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    let parsed: unknown;
    try {
      parsed = JSON.parse(config || "{}");
    } catch {
      setError(new Error(t("integrations.badConfig")));
      return;
    }
    try {
      await post("/v1/channels", {
        kind,
        name: name.trim(),
        ...(code.trim() ? { code: code.trim() } : {}),
        config: parsed,
      });
      notifyOk(t("integrations.channelAdded", { name: name.trim() }));
      setName("");
      setCode("");
      void client.invalidateQueries({ queryKey: ["channels"] });
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form onSubmit={submit} aria-label={t("integrations.addChannel")}>
      <Stack>
        {error !== null && <ErrorView error={error} />}
        <Group align="end">
          <Select
            label={t("integrations.kind")}
            data={Object.keys(TEMPLATES)}
            value={kind}
            onChange={(v) => {
              if (!v) return;
              setKind(v);
              setConfig(TEMPLATES[v]);
            }}
            allowDeselect={false}
            w={160}
          />
          <TextInput
            label={t("integrations.name")}
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            required
          />
          <TextInput
            label={t("integrations.code")}
            value={code}
            onChange={(e) => setCode(e.currentTarget.value)}
          />
        </Group>
        <Textarea
          label={t("integrations.config")}
          value={config}
          onChange={(e) => setConfig(e.currentTarget.value)}
          autosize
          minRows={2}
          ff="monospace"
        />
        <Button type="submit" variant="default" w="fit-content">
          {t("integrations.addChannel")}
        </Button>
      </Stack>
    </form>
  );
}
