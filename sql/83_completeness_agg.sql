-- flows.completeness_agg: a two-step aggregate for DOMAIN.md rule 11. The
-- aggregate gathers which half-hour periods of one channel have a row into a
-- flows.completeness_summary; accessors answer for any range of settlement
-- dates (46/48/50 periods a day); flows.rollup merges summaries (days into
-- months). Parallel safe: partial states combine exactly.

CREATE TYPE flows.completeness_summary;
CREATE FUNCTION flows.completeness_summary_in(cstring) RETURNS flows.completeness_summary
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'completeness_summary_in';
CREATE FUNCTION flows.completeness_summary_out(flows.completeness_summary) RETURNS cstring
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'completeness_summary_out';
CREATE FUNCTION flows.completeness_summary_recv(internal) RETURNS flows.completeness_summary
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'completeness_summary_recv';
CREATE FUNCTION flows.completeness_summary_send(flows.completeness_summary) RETURNS bytea
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'completeness_summary_send';
CREATE TYPE flows.completeness_summary (
  INPUT = flows.completeness_summary_in, OUTPUT = flows.completeness_summary_out,
  RECEIVE = flows.completeness_summary_recv, SEND = flows.completeness_summary_send,
  INTERNALLENGTH = VARIABLE, STORAGE = extended, CATEGORY = 'U'
);
COMMENT ON TYPE flows.completeness_summary IS
  'Which half-hour periods of a channel have a row (and which are partial), from flows.completeness_agg; text form {"present": [[start, end], ...], "partial": [start, ...]}.';

-- The aggregate: one row per HH row of one channel.
CREATE FUNCTION flows.completeness_agg_push(internal, timestamptz, boolean) RETURNS internal
  IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'completeness_agg_push';
CREATE FUNCTION flows.completeness_agg_push(internal, timestamptz) RETURNS internal
  IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'completeness_agg_push_full';
CREATE FUNCTION flows.completeness_agg_combine(internal, internal) RETURNS internal
  IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'completeness_agg_combine';
CREATE FUNCTION flows.completeness_agg_serial(internal) RETURNS bytea
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'completeness_agg_serial';
CREATE FUNCTION flows.completeness_agg_deserial(bytea, internal) RETURNS internal
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'completeness_agg_deserial';
CREATE FUNCTION flows.completeness_agg_final(internal) RETURNS flows.completeness_summary
  IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'completeness_agg_final';

CREATE AGGREGATE flows.completeness_agg(period_start timestamptz, partial boolean) (
  SFUNC = flows.completeness_agg_push, STYPE = internal, FINALFUNC = flows.completeness_agg_final,
  COMBINEFUNC = flows.completeness_agg_combine, SERIALFUNC = flows.completeness_agg_serial,
  DESERIALFUNC = flows.completeness_agg_deserial, PARALLEL = SAFE
);
COMMENT ON AGGREGATE flows.completeness_agg(timestamptz, boolean) IS
  'Summary of which half-hour periods have a row (partial rows marked) for one channel; NULL period_start is skipped, a start off the :00/:30 grid refused. Read it with flows.completeness, flows.strict_completeness, flows.missing_periods.';
CREATE AGGREGATE flows.completeness_agg(period_start timestamptz) (
  SFUNC = flows.completeness_agg_push, STYPE = internal, FINALFUNC = flows.completeness_agg_final,
  COMBINEFUNC = flows.completeness_agg_combine, SERIALFUNC = flows.completeness_agg_serial,
  DESERIALFUNC = flows.completeness_agg_deserial, PARALLEL = SAFE
);
COMMENT ON AGGREGATE flows.completeness_agg(timestamptz) IS
  'flows.completeness_agg for rows that are never partial (e.g. flows.register_interval_hh).';

-- rollup: summaries of one channel (e.g. per day) into one (e.g. per month).
CREATE FUNCTION flows.completeness_rollup_push(internal, flows.completeness_summary) RETURNS internal
  IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'completeness_rollup_push';
CREATE AGGREGATE flows.rollup(flows.completeness_summary) (
  SFUNC = flows.completeness_rollup_push, STYPE = internal, FINALFUNC = flows.completeness_agg_final,
  COMBINEFUNC = flows.completeness_agg_combine, SERIALFUNC = flows.completeness_agg_serial,
  DESERIALFUNC = flows.completeness_agg_deserial, PARALLEL = SAFE
);
COMMENT ON AGGREGATE flows.rollup(flows.completeness_summary) IS
  'Merges completeness summaries of one channel (a period present in any is present; full if any row for it is).';

-- Accessors, for settlement dates from_date..to_date (both included).
CREATE FUNCTION flows.completeness(summary flows.completeness_summary, from_date date, to_date date) RETURNS numeric
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'completeness_ratio';
COMMENT ON FUNCTION flows.completeness(flows.completeness_summary, date, date) IS
  'Periods with a row (partial and 0 kWh included) ÷ settlement periods expected (46, 48 or 50 a day), to 6 decimal places.';
CREATE FUNCTION flows.strict_completeness(summary flows.completeness_summary, from_date date, to_date date) RETURNS numeric
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'completeness_strict_ratio';
COMMENT ON FUNCTION flows.strict_completeness(flows.completeness_summary, date, date) IS
  'Like flows.completeness, but partial rows do not count as present.';
CREATE FUNCTION flows.present_periods(summary flows.completeness_summary, from_date date, to_date date) RETURNS integer
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'completeness_present_periods';
COMMENT ON FUNCTION flows.present_periods(flows.completeness_summary, date, date) IS
  'Settlement periods of the dates with a row (partial included).';
CREATE FUNCTION flows.completeness_gap_bounds(summary flows.completeness_summary, from_date date, to_date date) RETURNS timestamptz[]
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'completeness_gap_bounds';
COMMENT ON FUNCTION flows.completeness_gap_bounds(flows.completeness_summary, date, date) IS
  'Start and end of each missing run, flattened; flows.missing_periods is the readable form.';
CREATE FUNCTION flows.missing_periods(summary flows.completeness_summary, from_date date, to_date date)
RETURNS TABLE (gap_start timestamptz, gap_end timestamptz, periods integer)
IMMUTABLE STRICT PARALLEL SAFE LANGUAGE sql SET search_path = pg_catalog, flows AS $$
  SELECT b[i], b[i + 1], (extract(epoch FROM b[i + 1] - b[i]) / 1800)::integer
    FROM (SELECT flows.completeness_gap_bounds(summary, from_date, to_date) AS b) g,
         generate_series(1, cardinality(g.b), 2) i
   ORDER BY i
$$;
COMMENT ON FUNCTION flows.missing_periods(flows.completeness_summary, date, date) IS
  'Maximal runs [gap_start, gap_end) of settlement periods without a row, in time order, with their number of periods.';
