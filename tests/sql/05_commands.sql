-- The command queue and the RPCs, at the SQL level (no worker involved:
-- the transaction is never committed, so the worker never sees these rows).
-- Claiming and completing are driven by calling the worker's functions.
BEGIN;
SELECT plan(46);
\ir fixtures.psql
INSERT INTO flows.mediators (id, name, address, max_concurrency)
VALUES ('00000000-0000-0000-0000-00000000aaaa', 'sim', '127.0.0.1:1', 2);
UPDATE flows.escos SET default_mediator_id = '00000000-0000-0000-0000-00000000aaaa';
INSERT INTO flows.meter_registry (id, serial, name, esco_id, mode)
VALUES ('00000000-0000-0000-0000-0000000000c9', 'EML2200000099', 'twin', '00000000-0000-0000-0000-0000000000e1', 'passive');

-- bad inputs are refused and queue nothing
SELECT throws_ok($$SELECT flows_api.push_token('EML9999999999', '12345678901234567890')$$, 'P0002',
  'unknown meter EML9999999999', 'unknown meter');
SELECT throws_ok($$SELECT flows_api.push_token('EML2200000099', '12345678901234567890')$$, '55000',
  'meter EML2200000099 is passive (a digital twin) and is never contacted', 'passive meter');
SELECT throws_ok($$SELECT flows_api.push_token('EML2137580826', '1234')$$, '22P02', NULL, 'malformed token');
SELECT throws_ok($$SELECT flows_api.request_meter_read('EML2137580826', ARRAY['csq', 'balance_of_power'])$$, '22023',
  'operation "balance_of_power" is not a meter read', 'unknown read');
SELECT throws_ok($$SELECT flows_api.request_meter_read('EML2137580826', ARRAY['prepay_enabled_write'])$$, '22023',
  'operation "prepay_enabled_write" is not a meter read', 'a write is not a read');
SELECT throws_ok($$SELECT flows_api.request_meter_write('EML2137580826', 'tariffs_future_write', '{}')$$, '22023', NULL,
  'tariff writes go through set_future_tariff');
SELECT throws_ok($$SELECT flows_api.set_future_tariff('EML2137580826', '{"standing_charge": 0.5, "unit_rate_element_a": 2, "unit_rate_element_b": 0.1, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25, "activation_datetime": "2099-01-01T00:00:00Z"}')$$,
  '22003', 'tariff field "unit_rate_element_a" = 2: must be at most 1 GBP', 'tariff out of range');
SELECT throws_ok($$SELECT flows_api.set_future_tariff('EML2137580826', '{"standing_charge": 0.5, "unit_rate_element_a": 0.2, "unit_rate_element_b": 0.1, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25}')$$,
  '22023', 'tariff field "activation_datetime" is required for a future tariff', 'a future tariff needs its activation');
SELECT throws_like($$SELECT flows_api.set_future_tariff('EML2137580826', format('{"standing_charge": 0.5, "unit_rate_element_a": 0.2, "unit_rate_element_b": 0.1, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25, "activation_datetime": "%s"}', to_char(now() + interval '1 hour', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'))::jsonb)$$,
  '%less than 24 hours ahead', 'activation at least 24 h ahead');
SELECT is((SELECT count(*)::int FROM flows.commands) + (SELECT count(*)::int FROM flows.prepay_topups), 0, 'nothing was queued or recorded');

-- requests
SELECT is((flows_api.push_token('EML2137580826', '1111 2222 3333 4444 5555', 'pay-1')).status, 'queued', 'a token push is queued');
SELECT is((flows_api.push_token('EML2137580826', '11112222333344445555', 'pay-1')).id,
          (SELECT id FROM flows.commands WHERE idempotency_key = 'pay-1'), 'a retried request returns the same command');
SELECT throws_ok($$SELECT flows_api.push_token('EML2137580826', '11112222333344445555')$$, '23505', NULL,
  'the same token is never accepted twice for a meter');
SELECT throws_ok($$SELECT flows_api.push_token('EML2137580826', '99998888777766665555', 'pay-1')$$, '23505',
  'idempotency key "pay-1" was already used for another request', 'a key reused for another request is refused');
SELECT is((SELECT args FROM flows.commands WHERE idempotency_key = 'pay-1'),
  jsonb_build_object('topup_id', (SELECT id FROM flows.prepay_topups)), 'the command carries no token digits');
SELECT is((SELECT count(*)::int FROM flows_api.request_meter_read('EML2137580826', ARRAY['csq', 'prepay_balance'])), 2,
  'one command per read');
SELECT is((SELECT count(*)::int FROM flows.commands WHERE operation IN ('csq', 'prepay_balance')), 2,
  '... and exactly one queued per read');
SELECT is((flows_api.set_future_tariff('EML2207642296', '{"standing_charge": 0.5, "unit_rate_element_a": 0.2345, "unit_rate_element_b": 0.1, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25, "activation_datetime": "2099-04-01T00:00:00Z"}')).args,
  '{"standing_charge": "0.5", "unit_rate_element_a": "0.2345", "unit_rate_element_b": "0.1", "prepayment_emergency_credit": "15", "prepayment_ecredit_availability": "5", "prepayment_debt_recovery_rate": "0.25", "activation_datetime": "2099-04-01T00:00:00+00:00"}'::jsonb,
  'a tariff command carries exact decimal strings');
SELECT is((SELECT count(*)::int FROM flows_api.set_future_tariff_for_esco('WLCE', '{"standing_charge": 0.5, "unit_rate_element_a": 0.2, "unit_rate_element_b": 0.1, "prepayment_emergency_credit": 15, "prepayment_ecredit_availability": 5, "prepayment_debt_recovery_rate": 0.25, "activation_datetime": "2099-04-01T00:00:00Z"}')),
  2, 'one tariff command per active meter of the ESCO (the passive twin is skipped)');
SELECT is((SELECT count(*)::int FROM flows.commands WHERE operation = 'tariffs_future_write'), 3,
  '... and exactly one queued per meter');

-- claiming: FIFO per meter, one in flight per meter, mediator cap
CREATE TEMP TABLE claim1 AS SELECT jsonb_array_elements(flows.worker_claim(10, '1 minute')) AS c;
SELECT is((SELECT count(*)::int FROM claim1), 2, 'two meters, mediator cap 2: two commands claimed');
SELECT is((SELECT c->>'operation' FROM claim1 WHERE c->>'serial' = 'EML2137580826'), 'prepay_send_token',
  'each meter''s oldest command comes first');
SELECT is((SELECT c->'args'->>'token' FROM claim1 WHERE c->>'serial' = 'EML2137580826'), '11112222333344445555',
  'the worker gets the token digits at claim time');
SELECT is((SELECT count(*)::int FROM flows.commands WHERE status = 'running'), 2, 'claimed commands are running');
SELECT is(jsonb_array_length(flows.worker_claim(10, '1 minute')), 0, 'nothing more while each meter has one in flight');
SELECT is((SELECT status::text FROM flows.prepay_topups), 'sending', 'the top-up is being sent');
SELECT throws_ok($$UPDATE flows.commands SET status = 'running', lease_expires_at = now()
                    WHERE id = (SELECT max(id) FROM flows.commands WHERE meter_id = '00000000-0000-0000-0000-0000000000c1')$$,
  '23505', NULL, 'the database itself refuses a second running command for a meter');

-- completing: success lands in the domain, retryable failure backs off, permanent fails
SELECT lives_ok(format($$SELECT flows.worker_complete('[{"id": %s, "status": "succeeded", "result": {"balance_before": "3.5", "balance_after": "13.5", "transaction_count_before": 4, "transaction_count_after": 5, "applied": true}}]', '2 seconds')$$,
  (SELECT c->>'id' FROM claim1 WHERE c->>'serial' = 'EML2137580826')), 'a token result is recorded');
SELECT results_eq($$SELECT status::text, balance_before, balance_after FROM flows.prepay_topups$$,
  $$VALUES ('completed', 3.5::numeric(12,5), 13.5::numeric(12,5))$$, 'the top-up completed with both balances');
SELECT results_eq($$SELECT balance, health::text FROM flows.meter_shadows WHERE meter_id = '00000000-0000-0000-0000-0000000000c1'$$,
  $$VALUES (13.5::numeric(12,5), 'healthy')$$, 'the shadow has the new balance and the meter is healthy');
SELECT is((SELECT count(*)::int FROM flows.meter_prepay_balance WHERE meter_id = '00000000-0000-0000-0000-0000000000c1'), 1,
  'the balance change fanned out to meter_prepay_balance');
SELECT ok((SELECT min(next_attempt_at) >= now() + interval '2 seconds' FROM flows.commands
            WHERE meter_id = '00000000-0000-0000-0000-0000000000c1' AND status = 'queued'),
  'the meter''s next command waits for the spacing');
SELECT lives_ok(format($$SELECT flows.worker_complete('[{"id": %s, "status": "failed", "class": "retryable", "code": "RESOURCE_EXHAUSTED", "message": "Meter EML2207642296 is busy (timeout)", "partial": {}, "retry_at": "%s"}]')$$,
  (SELECT c->>'id' FROM claim1 WHERE c->>'serial' = 'EML2207642296'), now() + interval '1 minute'), 'a retryable failure is recorded');
SELECT results_eq($$SELECT status::text, attempts, error->>'code' FROM flows.commands WHERE id = (SELECT (c->>'id')::bigint FROM claim1 WHERE c->>'serial' = 'EML2207642296')$$,
  $$VALUES ('queued', 1, 'RESOURCE_EXHAUSTED')$$, '... it is queued again with the error kept');
SELECT ok((SELECT next_attempt_at > now() + interval '50 seconds' FROM flows.commands WHERE id = (SELECT (c->>'id')::bigint FROM claim1 WHERE c->>'serial' = 'EML2207642296')),
  '... after its backoff');
SELECT results_eq($$SELECT health::text, csq FROM flows.meter_shadows WHERE meter_id = '00000000-0000-0000-0000-0000000000c2'$$,
  $$VALUES ('unhealthy', NULL::smallint)$$, 'a meter that did not answer is unhealthy, csq cleared');
SELECT is((SELECT count(*)::int FROM flows.meter_health_history WHERE meter_id = '00000000-0000-0000-0000-0000000000c2' AND health = 'unhealthy'), 1,
  'the transition is in meter_health_history');

-- dead after max attempts; leases recovered
UPDATE flows.commands SET attempts = max_attempts - 1, next_attempt_at = now() - interval '1 second'
 WHERE id = (SELECT (c->>'id')::bigint FROM claim1 WHERE c->>'serial' = 'EML2207642296');
UPDATE flows.commands SET next_attempt_at = now() - interval '1 second' WHERE status = 'queued';
CREATE TEMP TABLE claim2 AS SELECT jsonb_array_elements(flows.worker_claim(10, '-1 second')) AS c;
SELECT is((SELECT count(*)::int FROM claim2), 2, 'the next commands are claimed (with an already expired lease)');
SELECT is(flows.worker_recover_leases(), 2, 'expired leases are recovered');
SELECT results_eq($$SELECT status::text FROM flows.commands WHERE id = (SELECT (c->>'id')::bigint FROM claim1 WHERE c->>'serial' = 'EML2207642296')$$,
  $$VALUES ('dead')$$, 'a command out of attempts is dead');

-- cancel and status
SELECT is((flows_api.cancel_command((SELECT max(id) FROM flows.commands WHERE status = 'queued'))).status, 'cancelled', 'a queued command can be cancelled');
SELECT throws_ok(format('SELECT flows_api.cancel_command(%s)', (SELECT max(id) FROM flows.commands WHERE status = 'dead')), '55000', NULL,
  'a finished command cannot be cancelled');
SELECT throws_ok($$SELECT flows_api.command_status(-1)$$, 'P0002', 'unknown command -1', 'unknown command');
SELECT throws_like(format('SELECT flows.wait_for_command(%s)', (SELECT min(id) FROM flows.commands)), '%only after COMMIT',
  'waiting on an uncommitted command says why it would never finish');

-- purge keeps ledger-linked commands
UPDATE flows.commands SET finished_at = now() - interval '60 days' WHERE finished_at IS NOT NULL;
SELECT is(flows.purge_commands('30 days', 1), 1, 'purge works in bounded batches');
SELECT ok((SELECT count(*) FROM flows.commands c JOIN flows.prepay_topups t ON t.command_id = c.id) = 1,
  'commands of top-ups are kept with their ledger row');

SELECT * FROM finish();
ROLLBACK;
