/**
 * The tracking URL sent with a shipment to a channel: the channel's own
 * template for the carrier (config `tracking_urls`, `{number}` replaced),
 * else the public tracking page of a few well-known carriers, else none
 * (Shopify then shows the carrier and number without a link).
 */
const KNOWN: Record<string, string> = {
  dhl: "https://www.dhl.com/global-en/home/tracking/tracking-parcel.html?tracking-id={number}",
  ups: "https://www.ups.com/track?tracknum={number}",
  fedex: "https://www.fedex.com/fedextrack/?trknbr={number}",
  usps: "https://tools.usps.com/go/TrackConfirmAction?tLabels={number}",
  dpd: "https://tracking.dpd.de/status/en_US/parcel/{number}",
  gls: "https://gls-group.com/track/{number}",
  "royal mail": "https://www.royalmail.com/track-your-item#/tracking-results/{number}",
  postnl: "https://jouw.postnl.nl/track-and-trace/{number}",
};

export function trackingUrl(
  config: Record<string, unknown>,
  carrier: string | null | undefined,
  number: string | null | undefined,
): string | null {
  if (!carrier || !number) return null;
  const own = (config.tracking_urls ?? {}) as Record<string, string>;
  const key = carrier.trim().toLowerCase();
  const template =
    Object.entries(own).find(([c]) => c.trim().toLowerCase() === key)?.[1] ?? KNOWN[key] ?? null;
  return template ? template.replaceAll("{number}", encodeURIComponent(number)) : null;
}
