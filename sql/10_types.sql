-- Custom base types. Their rules live in Rust (crates/core); this file only
-- declares them. Comparisons reuse built-in functions where the stored
-- bytes allow it (int8 for serials, uuid's 16-byte functions for tokens).

-- flows.meter_serial ---------------------------------------------------------
CREATE TYPE flows.meter_serial;
CREATE FUNCTION flows.meter_serial_in(cstring) RETURNS flows.meter_serial
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'meter_serial_in';
CREATE FUNCTION flows.meter_serial_out(flows.meter_serial) RETURNS cstring
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'meter_serial_out';
CREATE FUNCTION flows.meter_serial_recv(internal) RETURNS flows.meter_serial
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'meter_serial_recv';
CREATE FUNCTION flows.meter_serial_send(flows.meter_serial) RETURNS bytea
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'meter_serial_send';
CREATE TYPE flows.meter_serial (
  INPUT = flows.meter_serial_in, OUTPUT = flows.meter_serial_out,
  RECEIVE = flows.meter_serial_recv, SEND = flows.meter_serial_send,
  INTERNALLENGTH = 8, PASSEDBYVALUE, ALIGNMENT = double, STORAGE = plain,
  CATEGORY = 'S'
);
COMMENT ON TYPE flows.meter_serial IS
  'An Emlite meter serial: EML followed by 10 digits; input is trimmed and upper-cased.';

CREATE FUNCTION flows.meter_serial_eq(flows.meter_serial, flows.meter_serial) RETURNS boolean IMMUTABLE STRICT PARALLEL SAFE LANGUAGE internal AS 'int8eq';
CREATE FUNCTION flows.meter_serial_ne(flows.meter_serial, flows.meter_serial) RETURNS boolean IMMUTABLE STRICT PARALLEL SAFE LANGUAGE internal AS 'int8ne';
CREATE FUNCTION flows.meter_serial_lt(flows.meter_serial, flows.meter_serial) RETURNS boolean IMMUTABLE STRICT PARALLEL SAFE LANGUAGE internal AS 'int8lt';
CREATE FUNCTION flows.meter_serial_le(flows.meter_serial, flows.meter_serial) RETURNS boolean IMMUTABLE STRICT PARALLEL SAFE LANGUAGE internal AS 'int8le';
CREATE FUNCTION flows.meter_serial_gt(flows.meter_serial, flows.meter_serial) RETURNS boolean IMMUTABLE STRICT PARALLEL SAFE LANGUAGE internal AS 'int8gt';
CREATE FUNCTION flows.meter_serial_ge(flows.meter_serial, flows.meter_serial) RETURNS boolean IMMUTABLE STRICT PARALLEL SAFE LANGUAGE internal AS 'int8ge';
CREATE FUNCTION flows.meter_serial_cmp(flows.meter_serial, flows.meter_serial) RETURNS integer IMMUTABLE STRICT PARALLEL SAFE LANGUAGE internal AS 'btint8cmp';
CREATE FUNCTION flows.meter_serial_hash(flows.meter_serial) RETURNS integer IMMUTABLE STRICT PARALLEL SAFE LANGUAGE internal AS 'hashint8';
CREATE FUNCTION flows.meter_serial_hash_extended(flows.meter_serial, bigint) RETURNS bigint IMMUTABLE STRICT PARALLEL SAFE LANGUAGE internal AS 'hashint8extended';

CREATE OPERATOR flows.= (LEFTARG = flows.meter_serial, RIGHTARG = flows.meter_serial, FUNCTION = flows.meter_serial_eq,
  COMMUTATOR = OPERATOR(flows.=), NEGATOR = OPERATOR(flows.<>), RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR flows.<> (LEFTARG = flows.meter_serial, RIGHTARG = flows.meter_serial, FUNCTION = flows.meter_serial_ne,
  COMMUTATOR = OPERATOR(flows.<>), NEGATOR = OPERATOR(flows.=), RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR flows.< (LEFTARG = flows.meter_serial, RIGHTARG = flows.meter_serial, FUNCTION = flows.meter_serial_lt,
  COMMUTATOR = OPERATOR(flows.>), NEGATOR = OPERATOR(flows.>=), RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR flows.<= (LEFTARG = flows.meter_serial, RIGHTARG = flows.meter_serial, FUNCTION = flows.meter_serial_le,
  COMMUTATOR = OPERATOR(flows.>=), NEGATOR = OPERATOR(flows.>), RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR flows.> (LEFTARG = flows.meter_serial, RIGHTARG = flows.meter_serial, FUNCTION = flows.meter_serial_gt,
  COMMUTATOR = OPERATOR(flows.<), NEGATOR = OPERATOR(flows.<=), RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR flows.>= (LEFTARG = flows.meter_serial, RIGHTARG = flows.meter_serial, FUNCTION = flows.meter_serial_ge,
  COMMUTATOR = OPERATOR(flows.<=), NEGATOR = OPERATOR(flows.<), RESTRICT = scalargesel, JOIN = scalargejoinsel);
CREATE OPERATOR CLASS flows.meter_serial_ops DEFAULT FOR TYPE flows.meter_serial USING btree AS
  OPERATOR 1 flows.<, OPERATOR 2 flows.<=, OPERATOR 3 flows.=, OPERATOR 4 flows.>=, OPERATOR 5 flows.>,
  FUNCTION 1 flows.meter_serial_cmp(flows.meter_serial, flows.meter_serial);
CREATE OPERATOR CLASS flows.meter_serial_hash_ops DEFAULT FOR TYPE flows.meter_serial USING hash AS
  OPERATOR 1 flows.=,
  FUNCTION 1 flows.meter_serial_hash(flows.meter_serial),
  FUNCTION 2 flows.meter_serial_hash_extended(flows.meter_serial, bigint);
-- Text in and out goes through the validating input function.
-- Not implicit: without flows on the search_path, serial = 'eml…' must fail
-- loudly rather than compare un-normalised text.
CREATE CAST (flows.meter_serial AS text) WITH INOUT AS ASSIGNMENT;
CREATE CAST (text AS flows.meter_serial) WITH INOUT AS ASSIGNMENT;
CREATE CAST (varchar AS flows.meter_serial) WITH INOUT AS ASSIGNMENT;

-- flows.prepay_token ---------------------------------------------------------
CREATE TYPE flows.prepay_token;
CREATE FUNCTION flows.prepay_token_in(cstring) RETURNS flows.prepay_token
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'prepay_token_in';
-- STABLE, not IMMUTABLE: what it prints depends on flows.reveal_tokens.
CREATE FUNCTION flows.prepay_token_out(flows.prepay_token) RETURNS cstring
  STABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'prepay_token_out';
CREATE FUNCTION flows.prepay_token_recv(internal) RETURNS flows.prepay_token
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'prepay_token_recv';
CREATE FUNCTION flows.prepay_token_send(flows.prepay_token) RETURNS bytea
  STABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'prepay_token_send';
CREATE TYPE flows.prepay_token (
  INPUT = flows.prepay_token_in, OUTPUT = flows.prepay_token_out,
  RECEIVE = flows.prepay_token_recv, SEND = flows.prepay_token_send,
  INTERNALLENGTH = 16, ALIGNMENT = char, STORAGE = plain, CATEGORY = 'U'
);
COMMENT ON TYPE flows.prepay_token IS
  'A 20-digit prepay top-up token. Printed masked (last 4 digits); the worker reads the digits with flows.prepay_token_digits().';

CREATE FUNCTION flows.prepay_token_eq(flows.prepay_token, flows.prepay_token) RETURNS boolean IMMUTABLE STRICT PARALLEL SAFE LANGUAGE internal AS 'uuid_eq';
CREATE FUNCTION flows.prepay_token_ne(flows.prepay_token, flows.prepay_token) RETURNS boolean IMMUTABLE STRICT PARALLEL SAFE LANGUAGE internal AS 'uuid_ne';
CREATE FUNCTION flows.prepay_token_lt(flows.prepay_token, flows.prepay_token) RETURNS boolean IMMUTABLE STRICT PARALLEL SAFE LANGUAGE internal AS 'uuid_lt';
CREATE FUNCTION flows.prepay_token_le(flows.prepay_token, flows.prepay_token) RETURNS boolean IMMUTABLE STRICT PARALLEL SAFE LANGUAGE internal AS 'uuid_le';
CREATE FUNCTION flows.prepay_token_gt(flows.prepay_token, flows.prepay_token) RETURNS boolean IMMUTABLE STRICT PARALLEL SAFE LANGUAGE internal AS 'uuid_gt';
CREATE FUNCTION flows.prepay_token_ge(flows.prepay_token, flows.prepay_token) RETURNS boolean IMMUTABLE STRICT PARALLEL SAFE LANGUAGE internal AS 'uuid_ge';
CREATE FUNCTION flows.prepay_token_cmp(flows.prepay_token, flows.prepay_token) RETURNS integer IMMUTABLE STRICT PARALLEL SAFE LANGUAGE internal AS 'uuid_cmp';
CREATE FUNCTION flows.prepay_token_hash(flows.prepay_token) RETURNS integer IMMUTABLE STRICT PARALLEL SAFE LANGUAGE internal AS 'uuid_hash';
CREATE FUNCTION flows.prepay_token_hash_extended(flows.prepay_token, bigint) RETURNS bigint IMMUTABLE STRICT PARALLEL SAFE LANGUAGE internal AS 'uuid_hash_extended';

CREATE OPERATOR flows.= (LEFTARG = flows.prepay_token, RIGHTARG = flows.prepay_token, FUNCTION = flows.prepay_token_eq,
  COMMUTATOR = OPERATOR(flows.=), NEGATOR = OPERATOR(flows.<>), RESTRICT = eqsel, JOIN = eqjoinsel, HASHES, MERGES);
CREATE OPERATOR flows.<> (LEFTARG = flows.prepay_token, RIGHTARG = flows.prepay_token, FUNCTION = flows.prepay_token_ne,
  COMMUTATOR = OPERATOR(flows.<>), NEGATOR = OPERATOR(flows.=), RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR flows.< (LEFTARG = flows.prepay_token, RIGHTARG = flows.prepay_token, FUNCTION = flows.prepay_token_lt,
  COMMUTATOR = OPERATOR(flows.>), NEGATOR = OPERATOR(flows.>=), RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR flows.<= (LEFTARG = flows.prepay_token, RIGHTARG = flows.prepay_token, FUNCTION = flows.prepay_token_le,
  COMMUTATOR = OPERATOR(flows.>=), NEGATOR = OPERATOR(flows.>), RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR flows.> (LEFTARG = flows.prepay_token, RIGHTARG = flows.prepay_token, FUNCTION = flows.prepay_token_gt,
  COMMUTATOR = OPERATOR(flows.<), NEGATOR = OPERATOR(flows.<=), RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR flows.>= (LEFTARG = flows.prepay_token, RIGHTARG = flows.prepay_token, FUNCTION = flows.prepay_token_ge,
  COMMUTATOR = OPERATOR(flows.<=), NEGATOR = OPERATOR(flows.<), RESTRICT = scalargesel, JOIN = scalargejoinsel);
CREATE OPERATOR CLASS flows.prepay_token_ops DEFAULT FOR TYPE flows.prepay_token USING btree AS
  OPERATOR 1 flows.<, OPERATOR 2 flows.<=, OPERATOR 3 flows.=, OPERATOR 4 flows.>=, OPERATOR 5 flows.>,
  FUNCTION 1 flows.prepay_token_cmp(flows.prepay_token, flows.prepay_token);
CREATE OPERATOR CLASS flows.prepay_token_hash_ops DEFAULT FOR TYPE flows.prepay_token USING hash AS
  OPERATOR 1 flows.=,
  FUNCTION 1 flows.prepay_token_hash(flows.prepay_token),
  FUNCTION 2 flows.prepay_token_hash_extended(flows.prepay_token, bigint);
CREATE CAST (text AS flows.prepay_token) WITH INOUT AS ASSIGNMENT;
CREATE CAST (varchar AS flows.prepay_token) WITH INOUT AS ASSIGNMENT;

CREATE FUNCTION flows.prepay_token_digits(flows.prepay_token) RETURNS text
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'prepay_token_digits';
COMMENT ON FUNCTION flows.prepay_token_digits(flows.prepay_token) IS
  'All 20 digits of a token, for the worker that sends it to the meter. Executable by flows_worker only.';
REVOKE ALL ON FUNCTION flows.prepay_token_digits(flows.prepay_token) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION flows.prepay_token_digits(flows.prepay_token) TO flows_worker;
CREATE FUNCTION flows.prepay_token_masked(flows.prepay_token) RETURNS text
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'prepay_token_masked';
COMMENT ON FUNCTION flows.prepay_token_masked(flows.prepay_token) IS
  'The token as people see it: all but the last 4 digits masked, whatever flows.reveal_tokens says.';

-- flows.tariff ---------------------------------------------------------------
CREATE TYPE flows.tariff;
CREATE FUNCTION flows.tariff_in(cstring) RETURNS flows.tariff
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'tariff_in';
CREATE FUNCTION flows.tariff_out(flows.tariff) RETURNS cstring
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'tariff_out';
CREATE FUNCTION flows.tariff_recv(internal) RETURNS flows.tariff
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'tariff_recv';
CREATE FUNCTION flows.tariff_send(flows.tariff) RETURNS bytea
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'tariff_send';
CREATE TYPE flows.tariff (
  INPUT = flows.tariff_in, OUTPUT = flows.tariff_out,
  RECEIVE = flows.tariff_recv, SEND = flows.tariff_send,
  INTERNALLENGTH = 32, ALIGNMENT = int4, STORAGE = plain, CATEGORY = 'U'
);
COMMENT ON TYPE flows.tariff IS
  'A meter tariff (standing charge, unit rates per element, prepayment amounts, optional activation_datetime) that a meter can store; text form is its JSON.';
CREATE FUNCTION flows.tariff_eq(flows.tariff, flows.tariff) RETURNS boolean
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'tariff_eq';
CREATE FUNCTION flows.tariff_ne(flows.tariff, flows.tariff) RETURNS boolean
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'tariff_ne';
CREATE FUNCTION flows.tariff_hash(flows.tariff) RETURNS integer
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'tariff_hash';
CREATE OPERATOR flows.= (LEFTARG = flows.tariff, RIGHTARG = flows.tariff, FUNCTION = flows.tariff_eq,
  COMMUTATOR = OPERATOR(flows.=), NEGATOR = OPERATOR(flows.<>), RESTRICT = eqsel, JOIN = eqjoinsel, HASHES);
CREATE OPERATOR flows.<> (LEFTARG = flows.tariff, RIGHTARG = flows.tariff, FUNCTION = flows.tariff_ne,
  COMMUTATOR = OPERATOR(flows.<>), NEGATOR = OPERATOR(flows.=), RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR CLASS flows.tariff_hash_ops DEFAULT FOR TYPE flows.tariff USING hash AS
  OPERATOR 1 flows.=, FUNCTION 1 flows.tariff_hash(flows.tariff);
-- The JSON API keeps working: tariffs_active->>'unit_rate_element_a' casts implicitly.
CREATE CAST (flows.tariff AS jsonb) WITH INOUT AS IMPLICIT;
CREATE CAST (jsonb AS flows.tariff) WITH INOUT AS ASSIGNMENT;
CREATE CAST (json AS flows.tariff) WITH INOUT AS ASSIGNMENT;
CREATE CAST (text AS flows.tariff) WITH INOUT AS ASSIGNMENT;

CREATE FUNCTION flows.tariff_activation(flows.tariff) RETURNS timestamptz
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'tariff_activation';
COMMENT ON FUNCTION flows.tariff_activation(flows.tariff) IS 'When a future tariff takes effect; NULL for an active tariff.';
CREATE FUNCTION flows.tariff_amount(flows.tariff, field text) RETURNS numeric
  IMMUTABLE STRICT PARALLEL SAFE LANGUAGE C AS 'MODULE_PATHNAME', 'tariff_amount';
COMMENT ON FUNCTION flows.tariff_amount(flows.tariff, text) IS
  'One amount of a tariff in GBP, by its JSON key (standing_charge, unit_rate_element_a, ...).';
