-- Backorder e-mails: the customer of an order that waits for stock is told
-- when it is expected (from open purchase orders), and told again when that
-- date moves. One event (a purchase order's receipt, say) can move the date of
-- many orders, so a message is unique per event, kind and order.
alter table customer_notifications drop constraint customer_notifications_kind_check,
  add constraint customer_notifications_kind_check check (kind in ('shipped', 'refunded', 'backordered')),
  -- for a backorder e-mail: the expected date it told the customer (null: not known yet)
  add column expected_date date;
alter table customer_notifications drop constraint customer_notifications_event_id_kind_key,
  add constraint customer_notifications_event_kind_order unique (event_id, kind, order_id);
-- the last backorder date an order's customer was told
create index customer_notifications_backordered on customer_notifications (order_id, id desc)
  where kind = 'backordered';
