-- Half-hourly derivation (DOMAIN.md rules 1, 3–8, 10): from reads and
-- profile points through flows.refresh_hh() into register_interval_hh and
-- register_events, incrementally, equal to a derivation from scratch.
BEGIN;
SELECT plan(26);
\ir fixtures.psql

CREATE TEMP TABLE ids AS SELECT
  '00000000-0000-0000-0000-000000000101'::uuid AS single,
  '00000000-0000-0000-0000-000000000201'::uuid AS twin_a,
  '00000000-0000-0000-0000-000000000202'::uuid AS twin_b;

-- Rule 5: a span's advance spread linearly in real time, rounded by cumulative boundary.
INSERT INTO flows.register_import (register_id, timestamp, read_kwh)
SELECT single, t, v FROM ids, (VALUES ('2025-01-01 00:10+00'::timestamptz, 100.0), ('2025-01-01 01:10+00', 101.0),
                                      ('2025-01-01 02:00+00', 103.0)) r(t, v);
SELECT is((SELECT count(*)::integer FROM flows.hh_invalidations), 1, 'an insert statement logs one changed range per channel');
SELECT results_eq($$SELECT channels, periods, events FROM flows.refresh_hh()$$, $$VALUES (1, 4, 0)$$,
  'refresh_hh derives the channel''s half hours');
SELECT results_eq($$SELECT timestamp, import_kwh, import_quality::text, import_partial, export_kwh
                      FROM flows.register_interval_hh h, ids WHERE h.register_id = ids.single ORDER BY 1$$,
  $$VALUES ('2025-01-01 00:00+00'::timestamptz, 0.333333::numeric, 'estimated', true, NULL::numeric),
           ('2025-01-01 00:30+00', 0.500000, 'estimated', false, NULL),
           ('2025-01-01 01:00+00', 0.966667, 'estimated', false, NULL),
           ('2025-01-01 01:30+00', 1.200000, 'estimated', false, NULL)$$,
  'apportioned linearly; the first half hour is partial; estimated quality');
SELECT is((SELECT sum(import_kwh) FROM flows.register_interval_hh h, ids WHERE h.register_id = ids.single), 3.000000,
  'the rows sum exactly to the register advance');
SELECT results_eq($$SELECT * FROM flows.refresh_hh()$$, $$VALUES (0, 0, 0)$$, 'nothing changed, nothing to do');

-- Late read between two others: only the affected half hours change, energy is conserved.
SELECT flows.record_register_read(single, true, '2025-01-01 00:40+00', 100.2) FROM ids;
SELECT flows.record_register_read(single, true, '2025-01-01 00:40+00', 100.2) FROM ids;
SELECT is((SELECT count(*)::integer FROM flows.register_import r, ids WHERE r.register_id = ids.single), 4,
  'the same read twice is one read');
SELECT throws_ok($$SELECT flows.record_register_read(single, true, '2025-01-01 00:40+00', 100.3) FROM ids$$,
  '23505', NULL, 'a different value at the same instant is a conflict, refused');
SELECT lives_ok($$SELECT * FROM flows.refresh_hh()$$, 'late read re-derived');
SELECT results_eq($$SELECT timestamp, import_kwh FROM flows.register_interval_hh h, ids WHERE h.register_id = ids.single ORDER BY 1$$,
  $$VALUES ('2025-01-01 00:00+00'::timestamptz, 0.133333::numeric), ('2025-01-01 00:30+00', 0.600000),
           ('2025-01-01 01:00+00', 1.066667), ('2025-01-01 01:30+00', 1.200000)$$,
  'a late read is placed where it belongs');

-- Rule 7: profile points are authoritative; a read inside a period they bound is superseded.
SELECT flows.record_profile_points(twin_a, 'import', ARRAY['2025-02-01 00:00+00', '2025-02-01 00:30+00', '2025-02-01 01:00+00']::timestamptz[],
                                   ARRAY[10.0, 10.5, 11.25]) FROM ids;
INSERT INTO flows.register_import (register_id, timestamp, read_kwh)
SELECT twin_a, t, v FROM ids, (VALUES ('2025-02-01 00:45+00'::timestamptz, 10.9), ('2025-02-01 01:20+00', 11.5)) r(t, v);
SELECT lives_ok($$SELECT * FROM flows.refresh_hh()$$, 'profile points derived');
SELECT results_eq($$SELECT timestamp, import_kwh, import_quality::text, import_partial
                      FROM flows.register_interval_hh h, ids WHERE h.register_id = ids.twin_a ORDER BY 1$$,
  $$VALUES ('2025-02-01 00:00+00'::timestamptz, 0.500000::numeric, 'actual', false),
           ('2025-02-01 00:30+00', 0.750000, 'actual', false),
           ('2025-02-01 01:00+00', 0.250000, 'estimated', true)$$,
  'profile-bounded half hours are actual; the read at 00:45 is superseded; the tail is estimated and partial');
SELECT throws_ok($$SELECT flows.record_profile_points(twin_a, 'import', ARRAY['2025-02-01 01:10+00'::timestamptz], ARRAY[11.3]) FROM ids$$,
  '23514', 'record_profile_points: at[1] = 2025-02-01 01:10:00+00 is not on a half-hour boundary',
  'a profile point off the half-hour grid is refused');

-- Rule 4: rollover with the register maximum configured per register; reversal otherwise.
INSERT INTO flows.register_import (register_id, timestamp, read_kwh)
SELECT twin_b, t, v FROM ids, (VALUES ('2025-03-01 00:00+00'::timestamptz, 99990.0), ('2025-03-01 01:00+00', 10.0),
                                      ('2025-03-01 02:00+00', 12.0)) r(t, v);
SELECT lives_ok($$SELECT * FROM flows.refresh_hh()$$, 'drop derived');
SELECT results_eq($$SELECT kind::text, previous_kwh, new_kwh, advance_kwh FROM flows.register_events e, ids WHERE e.register_id = ids.twin_b$$,
  $$VALUES ('reversal', 99990.0000::numeric, 10.0000::numeric, 0.000000::numeric)$$,
  'without a register maximum a drop is a reversal, with an event');
SELECT is((SELECT sum(import_kwh) FROM flows.register_interval_hh h, ids WHERE h.register_id = ids.twin_b), 2.000000,
  'a reversal span has 0 kWh rows; later advances are measured from the new value');
SELECT is((SELECT count(*)::integer FROM flows.register_interval_hh h, ids WHERE h.register_id = ids.twin_b AND import_kwh = 0), 2,
  'the reversal span''s half hours are present with 0 kWh');
UPDATE flows.meter_registers SET register_max_kwh = 99999.9999, rollover_margin_kwh = 100 FROM ids WHERE register_id = ids.twin_b;
SELECT lives_ok($$SELECT * FROM flows.refresh_hh()$$, 'a changed register maximum re-derives the register');
SELECT results_eq($$SELECT kind::text, advance_kwh FROM flows.register_events e, ids WHERE e.register_id = ids.twin_b$$,
  $$VALUES ('rollover', 19.999900::numeric)$$, 'the drop is now a rollover: (max - previous) + new');
SELECT is((SELECT sum(import_kwh) FROM flows.register_interval_hh h, ids WHERE h.register_id = ids.twin_b), 21.999900,
  'rollover energy is apportioned like any advance');
SELECT throws_ok($$UPDATE flows.meter_registers SET rollover_margin_kwh = 5 WHERE register_max_kwh IS NULL$$,
  '23514', NULL, 'a rollover margin needs a register maximum');

-- Rule 8: meter exchange. The old register takes no point after T, the new none before.
INSERT INTO flows.meter_registry (id, serial, name, hardware, esco_id)
VALUES ('00000000-0000-0000-0000-0000000000c3', 'EML2200000003', 'WL-01 replacement', 'B1.w', '00000000-0000-0000-0000-0000000000e1');
INSERT INTO flows.meter_registers (register_id, meter_id, element)
VALUES ('00000000-0000-0000-0000-000000000301', '00000000-0000-0000-0000-0000000000c3', 'SINGLE');
INSERT INTO flows.register_import (register_id, timestamp, read_kwh)
SELECT single, t, v FROM ids, (VALUES ('2025-01-02 00:00+00'::timestamptz, 110.0), ('2025-01-02 02:00+00', 150.0)) r(t, v);
INSERT INTO flows.register_import (register_id, timestamp, read_kwh)
VALUES ('00000000-0000-0000-0000-000000000301', '2025-01-02 00:30+00', 999.0), -- before the exchange: ignored
       ('00000000-0000-0000-0000-000000000301', '2025-01-02 02:00+00', 2.0);
INSERT INTO flows.register_exchanges (old_register_id, new_register_id, exchanged_at, old_final_import_kwh, new_initial_import_kwh)
SELECT single, '00000000-0000-0000-0000-000000000301', '2025-01-02 01:00+00', 120.0, 0.0 FROM ids;
SELECT lives_ok($$SELECT * FROM flows.refresh_hh()$$, 'exchange derived');
SELECT results_eq($$SELECT h.register_id = ids.single, timestamp, import_kwh FROM flows.register_interval_hh h, ids
                     WHERE h.timestamp >= '2025-01-02' AND h.timestamp < '2025-01-03' ORDER BY 2, 1$$,
  $$VALUES (true, '2025-01-02 00:00+00'::timestamptz, 5.000000::numeric), (true, '2025-01-02 00:30+00', 5.000000),
           (false, '2025-01-02 01:00+00', 1.000000), (false, '2025-01-02 01:30+00', 1.000000)$$,
  'final and initial values are reads at T: each register keeps its own side');
SELECT results_eq($$SELECT direction::text, kind::text, previous_kwh FROM flows.register_events e, ids
                     WHERE e.register_id = ids.single AND kind = 'exchange' ORDER BY 1$$,
  $$VALUES ('export', 'exchange', NULL::numeric), ('import', 'exchange', 120.0000)$$,
  'one exchange event per direction, on the old register');
SELECT ok((SELECT status = 'replaced' FROM flows.meter_registers r, ids WHERE r.register_id = ids.single)
          AND EXISTS (SELECT FROM flows.circuit_register WHERE register_id = '00000000-0000-0000-0000-000000000301'),
  'the old register is replaced and the new one joins its circuits');

-- Incremental equals from scratch: every channel re-derived over all time.
SELECT results_eq(
  $$SELECT register_id, timestamp, import_kwh, import_quality, import_partial FROM flows.register_interval_hh
     WHERE import_kwh IS NOT NULL ORDER BY 1, 2$$,
  $$SELECT r.register_id, d.at, d.kwh::numeric(14, 6), d.quality, d.partial
      FROM flows.meter_registers r, LATERAL flows.derive_channel(r.register_id, 'import', '1990-01-01', '2100-01-01') d
     WHERE d.kind = 'hh' ORDER BY 1, 2$$,
  'the incremental result equals a derivation from scratch');

SELECT throws_ok($$SELECT * FROM flows.refresh_hh(0)$$, '22023', NULL, 'max_channels below 1 is refused');

SELECT * FROM finish();
ROLLBACK;
