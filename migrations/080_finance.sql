-- Finance: tax classes on variants, invoices and credit notes numbered
-- without gaps per year, and the double-entry postings journal.
-- Documents and postings are immutable once written (triggers below); every
-- journal entry balances at commit (a deferred constraint trigger).

alter table variants add column tax_class text not null default 'standard'
  check (tax_class ~ '^[a-z][a-z0-9_]{0,31}$');

-- One row per document kind and year; the issuing transaction increments it
-- (and so holds its lock until it commits): a rolled back issue gives its
-- number back, which a sequence never does.
create table document_counters (
  kind  text not null check (kind in ('invoice', 'credit_note')),
  year  int not null check (year between 2000 and 9999),
  last  int not null check (last > 0),
  primary key (kind, year)
);

create table invoices (
  id                  bigint generated always as identity primary key,
  number              text not null unique,
  year                int not null,
  seq                 int not null check (seq > 0),
  order_id            bigint not null references orders(id),
  fulfillment_id      bigint not null unique references fulfillments(id),
  currency            char(3) not null,
  prices_include_tax  boolean not null,
  -- where the tax came from: the order's own tax (a channel's, or the client's), the shop's rates, or none
  tax_source          text not null check (tax_source in ('order', 'rates', 'none')),
  seller              jsonb not null,
  buyer               jsonb not null,
  subtotal            bigint not null,
  discount_total      bigint not null,
  shipping_total      bigint not null,
  net_total           bigint not null,
  tax_total           bigint not null check (tax_total >= 0),
  total               bigint not null check (total >= 0),
  -- [{rate_bp, net, tax}] per rate
  taxes               jsonb not null,
  issued_at           timestamptz not null default now(),
  unique (year, seq),
  check (total = net_total + tax_total)
);
create index invoices_order on invoices (order_id, id);

create table invoice_lines (
  invoice_id     bigint not null references invoices(id),
  line_no        int not null check (line_no > 0),
  kind           text not null check (kind in ('item', 'shipping')),
  order_line_id  bigint references order_lines(id),
  sku            text,
  title          text,
  quantity       int not null check (quantity > 0),
  unit_price     bigint not null,
  amount         bigint not null,
  discount       bigint not null,
  net            bigint not null,
  tax_class      text not null,
  rate_bp        int not null,
  tax            bigint not null check (tax >= 0),
  total          bigint not null,
  primary key (invoice_id, line_no),
  check (total = net + tax)
);
create index invoice_lines_order_line on invoice_lines (order_line_id);

create table credit_notes (
  id           bigint generated always as identity primary key,
  number       text not null unique,
  year         int not null,
  seq          int not null check (seq > 0),
  order_id     bigint not null references orders(id),
  invoice_id   bigint not null references invoices(id),
  -- the refund (a `refunded` order payment) it documents
  payment_id   bigint not null references order_payments(id),
  currency     char(3) not null,
  net_total    bigint not null check (net_total >= 0),
  tax_total    bigint not null check (tax_total >= 0),
  total        bigint not null check (total > 0),
  reason       text,
  issued_at    timestamptz not null default now(),
  unique (year, seq),
  unique (payment_id, invoice_id),
  check (total = net_total + tax_total)
);
create index credit_notes_order on credit_notes (order_id, id);
create index credit_notes_invoice on credit_notes (invoice_id);

-- A credit note never exceeds what is left of its invoice (total and tax).
create function credit_note_within_invoice() returns trigger language plpgsql as $$
declare
  inv record;
  done record;
begin
  select total, tax_total into inv from invoices where id = new.invoice_id for update;
  select coalesce(sum(total), 0) as total, coalesce(sum(tax_total), 0) as tax
    into done from credit_notes where invoice_id = new.invoice_id;
  if done.total + new.total > inv.total or done.tax + new.tax_total > inv.tax_total then
    raise exception 'credit note % exceeds invoice %: % credited of %, % more asked',
      new.number, new.invoice_id, done.total, inv.total, new.total
      using errcode = '23514';
  end if;
  return new;
end $$;
create trigger credit_notes_within_invoice before insert on credit_notes
  for each row execute function credit_note_within_invoice();

-- Journal: one entry per source document or stock movement group, lines in minor units.
create table journal_entries (
  id           bigint generated always as identity primary key,
  posted_at    timestamptz not null default now(),
  source_type  text not null check (source_type in ('invoice', 'credit_note', 'payment', 'refund',
                 'stock_movement')),
  source_id    text not null,
  -- the order, purchase order, return or adjustment reference behind it
  reference    text,
  currency     char(3) not null,
  description  text not null,
  unique (source_type, source_id)
);
create index journal_entries_posted on journal_entries (posted_at, id);

create table journal_lines (
  entry_id  bigint not null references journal_entries(id),
  line_no   int not null check (line_no > 0),
  account   text not null check (length(account) between 1 and 32),
  debit     bigint not null default 0 check (debit >= 0),
  credit    bigint not null default 0 check (credit >= 0),
  sku       text,
  primary key (entry_id, line_no),
  check ((debit = 0) <> (credit = 0))
);

create function journal_entry_balanced() returns trigger language plpgsql as $$
declare
  e bigint;
  s record;
begin
  if tg_table_name = 'journal_entries' then e := new.id; else e := new.entry_id; end if;
  select count(*) as n, coalesce(sum(debit), 0) as d, coalesce(sum(credit), 0) as c
    into s from journal_lines where entry_id = e;
  if s.n < 2 or s.d <> s.c then
    raise exception 'journal entry % does not balance: debits %, credits %, % lines', e, s.d, s.c, s.n
      using errcode = '23514';
  end if;
  return null;
end $$;
create constraint trigger journal_entries_balanced after insert on journal_entries
  deferrable initially deferred for each row execute function journal_entry_balanced();
create constraint trigger journal_lines_balanced after insert on journal_lines
  deferrable initially deferred for each row execute function journal_entry_balanced();

-- Issued documents and postings never change: corrections are new documents (credit notes, new entries).
create function finance_immutable() returns trigger language plpgsql as $$
begin
  raise exception '% rows are immutable once issued (% refused)', tg_table_name, tg_op
    using errcode = '55000';
end $$;
create trigger invoices_immutable before update or delete on invoices
  for each row execute function finance_immutable();
create trigger invoice_lines_immutable before update or delete on invoice_lines
  for each row execute function finance_immutable();
create trigger credit_notes_immutable before update or delete on credit_notes
  for each row execute function finance_immutable();
create trigger journal_entries_immutable before update or delete on journal_entries
  for each row execute function finance_immutable();
create trigger journal_lines_immutable before update or delete on journal_lines
  for each row execute function finance_immutable();
create trigger finance_no_truncate before truncate on invoices
  for each statement execute function finance_immutable();

-- The inventory side of the journal, posted by the ledger's own statements:
-- every insert into inventory_movements that changes the units the shop owns
-- (on_hand, quarantine, damaged) posts their value, in the same transaction,
-- at the moving-average cost of that moment (the catalogue cost when no
-- receipt set one). Netted per variant, reason and reference within the
-- statement, so moves between those buckets (quality holds) post nothing.
--   sale                          Dr COGS, Cr inventory
--   restock, return_disposition   Dr inventory, Cr COGS (goods back from a customer)
--   receipt of a purchase order   Dr inventory, Cr purchase clearing at the receipt's value (landed cost
--                                 included); when the new average revalues stock the receipt did not
--                                 average over (quarantine, damaged, or stock valued at catalogue cost
--                                 before the first receipt), the difference goes to inventory write-off
--   transfers                     nothing (the goods stay the shop's)
--   anything else (count, scrap, damage, shrinkage, correction, initial, sync...)
--                                 inventory against inventory write-off
create function journal_stock_movements() returns trigger language plpgsql as $$
declare
  acc jsonb;
  g record;
  entry bigint;
  inv text;
  wo text;
  counter text;
begin
  if not exists (select 1 from moved where bucket in ('on_hand', 'quarantine', 'damaged')) then
    return null;
  end if;
  acc := coalesce((select value -> 'accounts' from settings where key = 'finance'), '{}'::jsonb);
  inv := coalesce(acc ->> 'inventory', '1300');
  wo := coalesce(acc ->> 'inventory_writeoff', '5900');
  for g in
    with phys as (
      select m.id, m.variant_id, m.delta, m.reason, m.reference, m.note
      from moved m
      where m.bucket in ('on_hand', 'quarantine', 'damaged')
        and m.reason not in ('transfer_out', 'transfer_in')
        and not (m.reason = 'receipt' and coalesce(m.reference, '') like 'transfer:%')
    ),
    net as (
      select min(p.id) as first_id, p.variant_id, p.reason, p.reference, p.note, sum(p.delta)::bigint as qty,
        case when p.reason = 'receipt' and p.note ~ '^receipt:[0-9]+$' then substr(p.note, 9)::bigint end as receipt_id
      from phys p group by p.variant_id, p.reason, p.reference, p.note
      having sum(p.delta) <> 0
    ),
    costed as (
      select n.*, v.sku, coalesce(vc.currency, v.currency) as currency,
        coalesce(vc.avg_cost, v.cost::numeric, 0) as unit,
        (select round(sum(rl.quantity * rl.unit_cost + rl.landed_cost) * n.qty / sum(rl.quantity))
           from receipt_lines rl where rl.receipt_id = n.receipt_id and rl.variant_id = n.variant_id) as paid,
        coalesce((select cc.old_avg from cost_changes cc
           where cc.receipt_id = n.receipt_id and cc.variant_id = n.variant_id order by cc.id desc limit 1),
          v.cost::numeric, 0) as old_unit,
        (select coalesce(sum(l.on_hand + l.quarantine + l.damaged), 0) from inventory_levels l
           where l.variant_id = n.variant_id) as units_after
      from net n join variants v on v.id = n.variant_id
      left join variant_costs vc on vc.variant_id = n.variant_id
    ),
    valued as (
      select c.*,
        case when c.paid is not null
          then round(c.unit * c.units_after) - round(c.old_unit * (c.units_after - c.qty))
          else round(c.qty * c.unit) end::bigint as stock_value,
        case when c.paid is not null
          then c.paid - (round(c.unit * c.units_after) - round(c.old_unit * (c.units_after - c.qty)))
          else 0 end::bigint as revaluation
      from costed c
    )
    select min(first_id) as first_id, reason, reference, note, currency, bool_or(paid is not null) as purchase,
      array_agg(sku order by variant_id) as skus, array_agg(stock_value order by variant_id) as vals,
      array_agg(revaluation order by variant_id) as revals
    from valued where stock_value <> 0 or revaluation <> 0
    group by reason, reference, note, currency
  loop
    counter := case
      when g.reason in ('sale', 'restock', 'return_disposition') then coalesce(acc ->> 'cogs', '5000')
      when g.purchase then coalesce(acc ->> 'purchase_clearing', '2100')
      else wo
    end;
    insert into journal_entries (source_type, source_id, reference, currency, description)
    values ('stock_movement', g.first_id::text, g.reference, g.currency,
      g.reason || coalesce(' ' || g.reference, '') || coalesce(' (' || g.note || ')', ''))
    returning id into entry;
    -- per variant: inventory by its change in value, write-off by any revaluation, the counter account by the rest
    insert into journal_lines (entry_id, line_no, account, debit, credit, sku)
    select entry, row_number() over (order by z.ord, z.k), z.account, greatest(z.amt, 0), greatest(-z.amt, 0), z.sku
    from (
      select x.sku, x.ord, y.k, y.account, y.amt
      from unnest(g.skus, g.vals, g.revals) with ordinality as x(sku, val, reval, ord)
      cross join lateral (values (1, inv, x.val), (2, wo, x.reval), (3, counter, -(x.val + x.reval))) as y(k, account, amt)
      where y.amt <> 0
    ) z;
  end loop;
  return null;
end $$;
create trigger inventory_movements_journal after insert on inventory_movements
  referencing new table as moved for each statement execute function journal_stock_movements();

-- The money side of payments, posted by the payment rows themselves (placement
-- writes them in its own statement, later payments through the orders API):
--   paid      Dr payment clearing, Cr receivables
--   refunded  Dr receivables, Cr payment clearing (the credit note carries revenue and tax back)
create function journal_payments() returns trigger language plpgsql as $$
declare
  acc jsonb;
  p record;
  entry bigint;
  clearing text;
  recv text;
begin
  if not exists (select 1 from paid where kind in ('paid', 'refunded') and amount > 0) then
    return null;
  end if;
  acc := coalesce((select value -> 'accounts' from settings where key = 'finance'), '{}'::jsonb);
  clearing := coalesce(acc ->> 'payment_clearing', '1100');
  recv := coalesce(acc ->> 'receivables', '1200');
  for p in
    select pm.id, pm.kind, pm.amount, pm.reference, o.number, o.currency
    from paid pm join orders o on o.id = pm.order_id
    where pm.kind in ('paid', 'refunded') and pm.amount > 0 order by pm.id
  loop
    insert into journal_entries (source_type, source_id, reference, currency, description)
    values (case when p.kind = 'paid' then 'payment' else 'refund' end, p.id::text, p.number, p.currency,
      p.kind || ' ' || p.number || coalesce(' (' || p.reference || ')', ''))
    returning id into entry;
    insert into journal_lines (entry_id, line_no, account, debit, credit) values
      (entry, 1, case when p.kind = 'paid' then clearing else recv end, p.amount, 0),
      (entry, 2, case when p.kind = 'paid' then recv else clearing end, 0, p.amount);
  end loop;
  return null;
end $$;
create trigger order_payments_journal after insert on order_payments
  referencing new table as paid for each statement execute function journal_payments();
