-- End to end, when things go wrong: a busy meter, a mediator that goes away
-- and comes back, deadlines, unknown outcomes of writes, permanent refusals.
\set ON_ERROR_STOP 1
SELECT plan(16);

-- Busy: retried with backoff, then done.
SELECT e2e.sim('fault EML2200000004 busy once') AS ignored \gset
SELECT (flows_api.request_meter_read('EML2200000004', ARRAY['csq'])).id AS busy \gset
SELECT results_eq(format('SELECT status::text, attempts FROM e2e.finished(%s)', :busy),
  $$VALUES ('succeeded', 2)$$, 'a busy meter is retried and the read succeeds on the second attempt');

-- The mediator goes away, and comes back.
SELECT e2e.sim('stop') AS ignored \gset
SELECT (flows_api.request_meter_read('EML2200000005', ARRAY['prepay_balance'])).id AS down \gset
SELECT results_eq(format($$SELECT status::text, error->>'class' FROM e2e.failed_once(%s)$$, :down),
  $$VALUES ('queued', 'retryable')$$, 'with the mediator down the command waits to be retried');
SELECT is((SELECT health::text FROM flows.meter_shadows s JOIN flows.meter_registry m ON m.id = s.meter_id WHERE m.serial::text = 'EML2200000005'),
  'unhealthy', 'the meter is unhealthy meanwhile');
SELECT e2e.sim('start') AS ignored \gset
SELECT is((e2e.finished(:down)).status, 'succeeded', 'once the mediator is back the command succeeds');
SELECT results_eq($$SELECT h.health::text FROM flows.meter_health_history h JOIN flows.meter_registry m ON m.id = h.meter_id
                     WHERE m.serial::text = 'EML2200000005' ORDER BY h.timestamp$$,
  $$VALUES ('unhealthy'), ('healthy')$$, 'both health transitions are in meter_health_history');

-- A slow meter: the call hits the deadline and the read is tried again.
SELECT e2e.sim('fault EML2200000006 slow:4000 once') AS ignored \gset
SELECT (flows_api.request_meter_read('EML2200000006', ARRAY['csq'])).id AS slow \gset
-- (The simulated meter, like a real one, stays busy with the slow exchange
-- after the caller gave up, so the second attempt may find it busy too.)
SELECT results_eq(format('SELECT status::text, attempts > 1 FROM e2e.finished(%s)', :slow),
  $$VALUES ('succeeded', true)$$, 'a read past its deadline is retried until it succeeds');

-- A token whose send outcome is unknown: applied by the meter, error to us.
-- The next attempt verifies (transaction count rose) and does not resend.
SELECT e2e.sim('fault EML2200000007 drop_after_write once') AS ignored \gset
SELECT (flows_api.push_token('EML2200000007', '55556666777788880150')).id AS unk \gset
SELECT results_eq(format($$SELECT status::text, attempts, result->>'applied_earlier' FROM e2e.finished(%s)$$, :unk),
  $$VALUES ('succeeded', 2, 'true')$$, 'an unknown outcome is verified on the next attempt, not resent');
SELECT is((e2e.sim_state('EML2200000007')->'shadow'->'tokens'->>'received_count')::int, 1, 'the meter received the token exactly once');
SELECT is(e2e.balance('EML2200000007'), 6.5::numeric(12,5), 'the balance rose once');
SELECT is((SELECT status::text FROM flows.prepay_topups WHERE command_id = :unk), 'completed', 'the top-up is completed');

-- An idempotent write whose outcome is unknown is simply written again.
SELECT e2e.sim('fault EML2200000006 eof once') AS ignored \gset
SELECT (flows_api.request_meter_write('EML2200000006', 'load_switch_write', '{"setting": "no_button_prepay_mode"}')).id AS ls \gset
SELECT results_eq(format('SELECT status::text, attempts FROM e2e.finished(%s)', :ls),
  $$VALUES ('succeeded', 2)$$, 'an interrupted load switch write is written again');

-- A meter the mediator does not know: permanent, not retried.
INSERT INTO flows.meter_registry (serial, name, esco_id) SELECT 'EML2299999999', 'not at the mediator', id FROM flows.escos WHERE code = 'WLCE';
SELECT (flows_api.request_meter_read('EML2299999999', ARRAY['csq'])).id AS nf \gset
SELECT results_eq(format($$SELECT status::text, attempts, error->>'code' FROM e2e.finished(%s)$$, :nf),
  $$VALUES ('failed', 1, 'NOT_FOUND')$$, 'an unknown meter at the mediator fails at once');
SELECT is((SELECT health::text FROM flows.meter_shadows s JOIN flows.meter_registry m ON m.id = s.meter_id WHERE m.serial::text = 'EML2299999999'),
  'unhealthy', '... and is unhealthy');

-- The worker's health view.
SELECT ok((SELECT last_tick_at > now() - interval '30 seconds' FROM flows.worker_health), 'the worker ticked recently');
SELECT is((SELECT in_flight FROM flows.worker_health), 0, 'nothing is left in flight');
SELECT ok((SELECT recent_errors IS NOT NULL FROM flows.worker_health), 'recent errors are visible');

SELECT * FROM finish();
