-- inventory_level_event as PL/pgSQL: a plain SQL function that cannot be
-- inlined is planned again on every statement that calls it, while PL/pgSQL
-- keeps its plans for the session. Same payload as before.
create or replace function inventory_level_event(p_variant_id bigint, p_location_id bigint, p_level jsonb)
returns jsonb language plpgsql stable as $$
declare
  result jsonb;
begin
  select (p_level - 'variant_id' - 'location_id' - 'updated_at') || jsonb_build_object(
    'sku', v.sku, 'location', loc.code,
    'bundles', (select coalesce(jsonb_agg(bv.sku), '[]') from bundle_components bc
                join variants bv on bv.product_id = bc.product_id
                where bc.component_variant_id = p_variant_id))
  into result
  from variants v, locations loc
  where v.id = p_variant_id and loc.id = p_location_id;
  return result;
end $$;
