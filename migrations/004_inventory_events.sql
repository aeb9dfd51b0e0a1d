-- The payload of inventory.level_changed, in one place for every statement that
-- changes a level: the level's buckets as given (the row after the change),
-- its SKU and location code, and the bundles the variant is a component of
-- (their availability changes with it).
create function inventory_level_event(p_variant_id bigint, p_location_id bigint, p_level jsonb) returns jsonb
language sql stable as $$
  select (p_level - 'variant_id' - 'location_id' - 'updated_at') || jsonb_build_object(
    'sku', v.sku, 'location', loc.code,
    'bundles', (select coalesce(jsonb_agg(bv.sku), '[]') from bundle_components bc
                join variants bv on bv.product_id = bc.product_id
                where bc.component_variant_id = p_variant_id))
  from variants v, locations loc
  where v.id = p_variant_id and loc.id = p_location_id
$$;
