-- End to end, the time-series pipeline: a profile log read through the
-- simulator lands as profile points, and the worker (flows.refresh_interval
-- = 1 s here) derives half-hourly rows and refreshes the roll-ups by itself.
\set ON_ERROR_STOP 1
SELECT plan(4);

SELECT (flows_api.request_meter_read('EML2200000006', ARRAY['profile_log'])).id AS profile \gset
SELECT is((e2e.finished(:profile)).status, 'succeeded', 'a profile log read succeeds');
SELECT ok(e2e.eventually($$SELECT count(*) >= 40 FROM flows.register_interval_hh h
                            JOIN flows.meter_registers r ON r.register_id = h.register_id
                            JOIN flows.meter_registry m ON m.id = r.meter_id
                           WHERE m.serial::text = 'EML2200000006' AND h.import_quality = 'actual'$$),
  'the worker derived actual half-hourly rows from the profile points');
SELECT ok(e2e.eventually($$SELECT NOT EXISTS (SELECT FROM flows.hh_invalidations) AND NOT EXISTS (SELECT FROM flows.rollup_invalidations)$$),
  'and refreshed the roll-ups: nothing is left pending');
SELECT is((SELECT sum(total_import_kwh) FROM flows.esco_interval_hh),
          (SELECT sum(import_kwh) FROM flows.register_interval_hh),
  'the ESCO roll-up (read fresh) sums every half hour');

SELECT * FROM finish();
