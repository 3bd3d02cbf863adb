-- Half-hourly data bookkeeping by UK settlement period: how complete a
-- register's data is and where it is missing. Periods are half-open
-- [start, start + 30 min) on :00/:30 UTC boundaries (DOMAIN.md rule 1).

CREATE FUNCTION flows.missing_intervals(register_id uuid, from_time timestamptz, to_time timestamptz)
RETURNS TABLE (gap_start timestamptz, gap_end timestamptz, periods integer)
STABLE PARALLEL SAFE LANGUAGE sql SET search_path = pg_catalog, flows AS $$
  SELECT min(p), max(p) + interval '30 minutes', count(*)::integer
    FROM (SELECT p, p - row_number() OVER (ORDER BY p) * interval '30 minutes' AS island
            FROM generate_series(
                   date_bin('30 minutes', from_time - interval '1 microsecond', '2000-01-01 00:00+00') + interval '30 minutes',
                   to_time - interval '30 minutes', interval '30 minutes') p
           WHERE NOT EXISTS (SELECT FROM flows.register_interval_hh h
                              WHERE h.register_id = missing_intervals.register_id AND h.timestamp = p)) m
   GROUP BY island
   ORDER BY 1
$$;
COMMENT ON FUNCTION flows.missing_intervals(uuid, timestamptz, timestamptz) IS
  'Maximal runs of half hours in [from_time, to_time) with no register_interval_hh row for the register.';

CREATE FUNCTION flows.hh_completeness(register_id uuid, from_date date, to_date date)
RETURNS TABLE (expected_periods integer, present_periods integer, completeness numeric)
STABLE PARALLEL SAFE LANGUAGE sql SET search_path = pg_catalog, flows AS $$
  WITH expected AS (
    SELECT sum(flows.settlement_periods(d::date))::integer AS n
      FROM generate_series(from_date, to_date, interval '1 day') d
  ), present AS (
    SELECT count(*)::integer AS n FROM flows.register_interval_hh h
     WHERE h.register_id = hh_completeness.register_id
       AND h.timestamp >= flows.settlement_period_start(from_date, 1)
       AND h.timestamp < flows.settlement_period_start(to_date + 1, 1)
  )
  SELECT e.n, p.n, round(p.n::numeric / nullif(e.n, 0), 6) FROM expected e, present p
$$;
COMMENT ON FUNCTION flows.hh_completeness(uuid, date, date) IS
  'Half-hourly rows present ÷ settlement periods expected over settlement dates from_date..to_date (46, 48 or 50 a day).';
