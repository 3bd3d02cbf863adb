-- flows.energy_agg: energy from cumulative reads over any grouping (DOMAIN.md
-- rule 12): reads deduplicated and sorted, the sum of rule-4 advances (with
-- rollover when the register maximum is given), first and last read, and the
-- number of rollovers and reversals. Parallel safe: partial states combine.

CREATE TYPE flows.energy_summary AS (
  first_at timestamptz,
  first_kwh numeric,
  last_at timestamptz,
  last_kwh numeric,
  advance_kwh numeric,
  rollovers integer,
  reversals integer,
  reads bigint
);
COMMENT ON TYPE flows.energy_summary IS 'What flows.energy_agg returns: first and last read, energy advanced (kWh), rollovers, reversals, distinct reads.';

CREATE FUNCTION flows.energy_agg_push(internal, timestamptz, numeric) RETURNS internal
  IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'energy_agg_push';
CREATE FUNCTION flows.energy_agg_push(internal, timestamptz, numeric, numeric, numeric) RETURNS internal
  IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'energy_agg_push_spec';
CREATE FUNCTION flows.energy_agg_combine(internal, internal) RETURNS internal
  IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'energy_agg_combine';
CREATE FUNCTION flows.energy_agg_serial(internal) RETURNS bytea
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'energy_agg_serial';
CREATE FUNCTION flows.energy_agg_deserial(bytea, internal) RETURNS internal
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'energy_agg_deserial';
CREATE FUNCTION flows.energy_agg_final(internal) RETURNS flows.energy_summary
  IMMUTABLE PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'energy_agg_final';

CREATE AGGREGATE flows.energy_agg(timestamptz, numeric) (
  SFUNC = flows.energy_agg_push, STYPE = internal, FINALFUNC = flows.energy_agg_final,
  COMBINEFUNC = flows.energy_agg_combine, SERIALFUNC = flows.energy_agg_serial,
  DESERIALFUNC = flows.energy_agg_deserial, PARALLEL = SAFE
);
COMMENT ON AGGREGATE flows.energy_agg(timestamptz, numeric) IS
  'Energy from cumulative reads (at, kWh): any drop is a reversal. NULL reads are skipped.';
CREATE AGGREGATE flows.energy_agg(timestamptz, numeric, register_max_kwh numeric, margin_kwh numeric) (
  SFUNC = flows.energy_agg_push, STYPE = internal, FINALFUNC = flows.energy_agg_final,
  COMBINEFUNC = flows.energy_agg_combine, SERIALFUNC = flows.energy_agg_serial,
  DESERIALFUNC = flows.energy_agg_deserial, PARALLEL = SAFE
);
COMMENT ON AGGREGATE flows.energy_agg(timestamptz, numeric, numeric, numeric) IS
  'Energy from cumulative reads of a register that rolls over at register_max_kwh: a drop from within margin_kwh of it is a rollover.';
