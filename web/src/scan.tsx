import { TextInput } from "@mantine/core";
import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useEffect, useRef, useState } from "react";
import { get } from "./api";

/** Barcode → SKU for these SKUs, so a scanner's EAN counts as well as the SKU itself. */
export function useBarcodes(skus: string[]): Map<string, string> {
  const key = [...new Set(skus)].sort();
  const q = useQuery({
    queryKey: ["barcodes", key],
    enabled: key.length > 0,
    staleTime: 5 * 60_000,
    queryFn: async () => {
      const found = new Map<string, string>();
      await Promise.all(
        key.map(async (sku) => {
          try {
            const v = await get<{ barcode?: string | null }>(`/v1/variants/${encodeURIComponent(sku)}`);
            if (v.barcode) found.set(v.barcode, sku);
          } catch {
            // a SKU without a readable variant is still scannable by its SKU
          }
        }),
      );
      return found;
    },
  });
  return q.data ?? new Map();
}

/**
 * One focused input that a keyboard-wedge scanner types into (it ends each scan with Enter);
 * it takes the focus back after every scan so the next one lands here too.
 */
export function ScanInput({
  label,
  description,
  onScan,
  disabled,
}: {
  label: string;
  description?: string;
  onScan: (code: string) => void | Promise<void>;
  disabled?: boolean;
}) {
  const input = useRef<HTMLInputElement>(null);
  const [code, setCode] = useState("");
  useEffect(() => {
    if (!disabled) input.current?.focus();
  }, [disabled]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const scan = code.trim();
    setCode("");
    if (scan) await onScan(scan);
    setTimeout(() => input.current?.focus(), 0);
  };
  return (
    <form onSubmit={submit}>
      <TextInput
        ref={input}
        label={label}
        description={description}
        value={code}
        onChange={(e) => setCode(e.currentTarget.value)}
        disabled={disabled}
        autoComplete="off"
        size="md"
      />
    </form>
  );
}
