import {
  ActionIcon,
  Button,
  Group,
  Modal,
  NumberInput,
  Select,
  Stack,
  Table,
  Tabs,
  Text,
  TextInput,
} from "@mantine/core";
import { useInfiniteQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useMemo, useState } from "react";
import { useTranslation } from "react-i18next";
import { get, type Page, post } from "../api";
import { useCan } from "../session";
import {
  AnchorLink,
  ErrorView,
  money,
  notifyOk,
  PageTitle,
  QueryView,
  StatusBadge,
  useLocations,
} from "../ui";

interface Variant {
  sku: string;
  options: Record<string, string>;
  price: number;
  currency: string;
  barcode: string | null;
}
interface Product {
  id: number;
  title: string;
  kind: string;
  status: string;
  options: string[];
  variants: Variant[];
}
interface Draft {
  sku: string;
  value: string;
  price: number | string;
  barcode: string;
}
const blank = (): Draft => ({ sku: "", value: "", price: "", barcode: "" });

/** A product with its variants: one option (size, colour…) and a row per variant. */
function NewProduct({ onDone }: { onDone: () => void }) {
  const { t } = useTranslation();
  const [title, setTitle] = useState("");
  const [status, setStatus] = useState("active");
  const [currency, setCurrency] = useState("EUR");
  const [option, setOption] = useState("");
  const [variants, setVariants] = useState<Draft[]>([blank()]);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const set = (i: number, patch: Partial<Draft>) =>
    setVariants(variants.map((v, j) => (j === i ? { ...v, ...patch } : v)));
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const name = option.trim();
      await post("/v1/products", {
        title: title.trim(),
        kind: "physical",
        status,
        ...(name ? { options: [name] } : {}),
        variants: variants.map((v) => ({
          sku: v.sku.trim(),
          price: Math.round(Number(v.price) * 100),
          currency,
          ...(name ? { options: { [name]: v.value.trim() } } : {}),
          ...(v.barcode.trim() ? { barcode: v.barcode.trim() } : {}),
        })),
      });
      notifyOk(t("catalog.created", { title: title.trim() }));
      onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form onSubmit={submit}>
      <Stack>
        {error !== null && <ErrorView error={error} />}
        <TextInput
          label={t("catalog.productTitle")}
          value={title}
          onChange={(e) => setTitle(e.currentTarget.value)}
          required
          data-autofocus
        />
        <Group grow>
          <Select
            label={t("catalog.status")}
            data={["draft", "active"].map((s) => ({ value: s, label: t(`catalog.statuses.${s}`) }))}
            value={status}
            onChange={(v) => v && setStatus(v)}
            allowDeselect={false}
          />
          <Select
            label={t("catalog.currency")}
            data={["EUR", "TRY", "USD", "GBP"]}
            value={currency}
            onChange={(v) => v && setCurrency(v)}
            allowDeselect={false}
          />
        </Group>
        <TextInput
          label={t("catalog.option")}
          description={t("catalog.optionHelp")}
          value={option}
          onChange={(e) => setOption(e.currentTarget.value)}
        />
        {variants.map((v, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: rows being typed have no key yet
          <Group key={i} align="end" wrap="nowrap" gap="xs" data-variant-row={i}>
            <TextInput
              label={t("catalog.variantSku", { n: i + 1 })}
              value={v.sku}
              onChange={(e) => set(i, { sku: e.currentTarget.value })}
              required
            />
            {option.trim() && (
              <TextInput
                label={t("catalog.variantValue", { n: i + 1, option: option.trim() })}
                value={v.value}
                onChange={(e) => set(i, { value: e.currentTarget.value })}
                required
              />
            )}
            <NumberInput
              label={t("catalog.variantPrice", { n: i + 1 })}
              value={v.price}
              onChange={(p) => set(i, { price: p })}
              min={0}
              decimalScale={2}
              required
              w={110}
            />
            <TextInput
              label={t("catalog.variantBarcode", { n: i + 1 })}
              value={v.barcode}
              onChange={(e) => set(i, { barcode: e.currentTarget.value })}
            />
            {variants.length > 1 && (
              <ActionIcon
                variant="subtle"
                color="red"
                mb={4}
                aria-label={t("catalog.removeVariant", { n: i + 1 })}
                onClick={() => setVariants(variants.filter((_, j) => j !== i))}
              >
                ×
              </ActionIcon>
            )}
          </Group>
        ))}
        <Button variant="default" onClick={() => setVariants([...variants, blank()])} w="fit-content">
          {t("catalog.addVariant")}
        </Button>
        <Button type="submit" loading={busy}>
          {t("app.save")}
        </Button>
      </Stack>
    </form>
  );
}

function Products() {
  const { t } = useTranslation();
  const can = useCan();
  const client = useQueryClient();
  const [input, setInput] = useState("");
  const [q, setQ] = useState("");
  const [adding, setAdding] = useState(false);
  const products = useInfiniteQuery({
    queryKey: ["products", q],
    queryFn: ({ pageParam }) =>
      get<Page<Product>>("/v1/products", { q: q || undefined, limit: 100, cursor: pageParam }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (p) => p.next_cursor ?? undefined,
  });
  const rows = useMemo(() => products.data?.pages.flatMap((p) => p.data) ?? [], [products.data]);
  return (
    <Stack>
      <Group align="end" justify="space-between">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setQ(input.trim());
          }}
        >
          <TextInput
            label={t("catalog.search")}
            value={input}
            onChange={(e) => setInput(e.currentTarget.value)}
            onBlur={() => setQ(input.trim())}
            w={280}
          />
        </form>
        {can("catalog:write") && <Button onClick={() => setAdding(true)}>{t("catalog.newProduct")}</Button>}
      </Group>
      <QueryView query={products} empty={rows.length === 0}>
        {(_data) => (
          <Table.ScrollContainer minWidth={720}>
            <Table striped>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>{t("catalog.product")}</Table.Th>
                  <Table.Th>{t("catalog.status")}</Table.Th>
                  <Table.Th>{t("catalog.variants")}</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((p) => (
                  <Table.Tr key={p.id} data-product={p.title}>
                    <Table.Td>{p.title}</Table.Td>
                    <Table.Td>
                      <StatusBadge code={p.status} text={t(`catalog.statuses.${p.status}`)} />
                    </Table.Td>
                    <Table.Td>
                      <Stack gap={2}>
                        {p.variants.map((v) => (
                          <Text key={v.sku} size="sm" data-sku={v.sku}>
                            <AnchorLink to="/ledger" search={{ sku: v.sku }} size="sm">
                              {v.sku}
                            </AnchorLink>{" "}
                            {Object.values(v.options).join(" / ")} · {money(v.price, v.currency)}
                            {v.barcode ? ` · ${v.barcode}` : ""}
                          </Text>
                        ))}
                      </Stack>
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </Table.ScrollContainer>
        )}
      </QueryView>
      {products.hasNextPage && (
        <Button
          variant="default"
          w="fit-content"
          loading={products.isFetchingNextPage}
          onClick={() => void products.fetchNextPage()}
        >
          {t("app.loadMore")}
        </Button>
      )}
      <Modal
        opened={adding}
        onClose={() => setAdding(false)}
        title={t("catalog.newProduct")}
        size="xl"
        closeButtonProps={{ "aria-label": t("app.close") }}
      >
        <NewProduct
          onDone={() => {
            setAdding(false);
            void client.invalidateQueries({ queryKey: ["products"] });
          }}
        />
      </Modal>
    </Stack>
  );
}

function Locations() {
  const { t } = useTranslation();
  const can = useCan();
  const locations = useLocations();
  const [code, setCode] = useState("");
  const [name, setName] = useState("");
  const [kind, setKind] = useState("warehouse");
  const [error, setError] = useState<unknown>(null);
  const add = async (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    try {
      await post("/v1/locations", { code: code.trim(), name: name.trim(), kind });
      notifyOk(t("catalog.locationAdded", { code: code.trim() }));
      setCode("");
      setName("");
      await locations.refetch();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <Stack>
      {can("catalog:write") && (
        <form onSubmit={add} aria-label={t("catalog.addLocation")}>
          {error !== null && <ErrorView error={error} />}
          <Group align="end">
            <TextInput
              label={t("catalog.code")}
              value={code}
              onChange={(e) => setCode(e.currentTarget.value)}
              required
            />
            <TextInput
              label={t("catalog.name")}
              value={name}
              onChange={(e) => setName(e.currentTarget.value)}
              required
            />
            <Select
              label={t("catalog.kind")}
              data={["warehouse", "store", "3pl"].map((k) => ({ value: k, label: t(`catalog.kinds.${k}`) }))}
              value={kind}
              onChange={(v) => v && setKind(v)}
              allowDeselect={false}
              w={160}
            />
            <Button type="submit" variant="default">
              {t("catalog.addLocation")}
            </Button>
          </Group>
        </form>
      )}
      <QueryView query={locations}>
        {(data) => (
          <Table striped>
            <Table.Thead>
              <Table.Tr>
                <Table.Th>{t("catalog.code")}</Table.Th>
                <Table.Th>{t("catalog.name")}</Table.Th>
                <Table.Th>{t("catalog.kind")}</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {data.data.map((l) => (
                <Table.Tr key={l.code} data-location={l.code}>
                  <Table.Td>{l.code}</Table.Td>
                  <Table.Td>{l.name}</Table.Td>
                  <Table.Td>{t(`catalog.kinds.${l.kind}`, { defaultValue: l.kind })}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        )}
      </QueryView>
    </Stack>
  );
}

/** The catalogue: products with their variants, and the locations stock is kept at. */
export function CatalogPage() {
  const { t } = useTranslation();
  return (
    <Stack>
      <PageTitle title={t("catalog.title")} subtitle={t("catalog.subtitle")} />
      <Tabs defaultValue="products" keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="products">{t("catalog.tabs.products")}</Tabs.Tab>
          <Tabs.Tab value="locations">{t("catalog.tabs.locations")}</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="products" pt="md">
          <Products />
        </Tabs.Panel>
        <Tabs.Panel value="locations" pt="md">
          <Locations />
        </Tabs.Panel>
      </Tabs>
    </Stack>
  );
}
