-- Finalize: pg_dump keeps every configuration and data row, the API schema
-- is readable, and PostgREST reloads its schema cache.

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['mediators', 'escos', 'sites', 'properties', 'feeder_registry',
    'service_head_registry', 'meter_registry', 'properties_service_head', 'service_head_meter',
    'meter_registers', 'circuits', 'circuit_register', 'meter_shadows',
    'register_import', 'register_export', 'register_interval_hh', 'meter_prepay_balance',
    'meter_voltage', 'meter_3p_voltage', 'meter_csq', 'meter_health_history', 'meter_event_log',
    'commands', 'prepay_topups', 'retention_policies']
  LOOP
    PERFORM pg_catalog.pg_extension_config_dump(format('flows.%I', t)::regclass, '');
  END LOOP;
END
$$;

REVOKE ALL ON SCHEMA flows FROM PUBLIC;
REVOKE ALL ON SCHEMA flows_api FROM PUBLIC;
GRANT USAGE ON SCHEMA flows TO flows_worker;

NOTIFY pgrst, 'reload schema';
