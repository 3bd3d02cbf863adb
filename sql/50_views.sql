-- Views users rely on (DOMAIN.md "Views and aggregates users rely on").
-- security_invoker: row-level security of the caller applies through them.

CREATE VIEW flows.meter_shadows_tariffs WITH (security_invoker = true) AS
SELECT s.*,
       m.serial,
       flows.tariff_amount(s.tariffs_active, 'standing_charge') AS active_standing_charge,
       flows.tariff_amount(s.tariffs_active, 'unit_rate_element_a') AS active_unit_rate_a,
       flows.tariff_amount(s.tariffs_active, 'unit_rate_element_b') AS active_unit_rate_b,
       flows.tariff_amount(s.tariffs_active, 'prepayment_emergency_credit') AS active_prepayment_emergency_credit,
       flows.tariff_amount(s.tariffs_active, 'prepayment_ecredit_availability') AS active_prepayment_ecredit_availability,
       flows.tariff_amount(s.tariffs_active, 'prepayment_debt_recovery_rate') AS active_prepayment_debt_recovery_rate,
       flows.tariff_amount(s.tariffs_future, 'standing_charge') AS future_standing_charge,
       flows.tariff_amount(s.tariffs_future, 'unit_rate_element_a') AS future_unit_rate_a,
       flows.tariff_amount(s.tariffs_future, 'unit_rate_element_b') AS future_unit_rate_b,
       flows.tariff_amount(s.tariffs_future, 'prepayment_emergency_credit') AS future_prepayment_emergency_credit,
       flows.tariff_amount(s.tariffs_future, 'prepayment_ecredit_availability') AS future_prepayment_ecredit_availability,
       flows.tariff_amount(s.tariffs_future, 'prepayment_debt_recovery_rate') AS future_prepayment_debt_recovery_rate,
       flows.tariff_activation(s.tariffs_future) AS future_activation_datetime
  FROM flows.meter_shadows s
  JOIN flows.meter_registry m ON m.id = s.meter_id;
COMMENT ON VIEW flows.meter_shadows_tariffs IS 'Meter shadows with every tariff field unpacked into typed columns.';

CREATE VIEW flows.meters_low_balance WITH (security_invoker = true) AS
SELECT m.id AS meter_id, m.serial, m.name, e.code AS esco, s.balance, s.emergency_credit,
       s.balance_updated_at, t.threshold
  FROM flows.meter_registry m
  JOIN flows.escos e ON e.id = m.esco_id
  JOIN flows.meter_shadows s ON s.meter_id = m.id
 CROSS JOIN LATERAL (SELECT flows.setting_numeric('flows.low_balance_threshold', 5.0) AS threshold) t
 WHERE m.mode = 'active' AND s.balance < t.threshold;
COMMENT ON VIEW flows.meters_low_balance IS
  'Active meters whose balance is below flows.low_balance_threshold (GBP, default 5).';

CREATE VIEW flows.meters_offline_recently WITH (security_invoker = true) AS
SELECT m.id AS meter_id, m.serial, m.name, e.code AS esco, s.last_online_at AS last_online,
       now() - s.last_online_at AS offline_for, s.health, s.health_details
  FROM flows.meter_registry m
  JOIN flows.escos e ON e.id = m.esco_id
  JOIN flows.meter_shadows s ON s.meter_id = m.id
 WHERE m.mode = 'active'
   AND s.last_online_at < now() - flows.setting_interval('flows.offline_after', '3 hours')
   AND s.last_online_at >= now() - flows.setting_interval('flows.offline_recent_window', '7 days');
COMMENT ON VIEW flows.meters_offline_recently IS
  'Active meters not heard from for flows.offline_after (default 3 hours) that were online within flows.offline_recent_window (default 7 days).';
