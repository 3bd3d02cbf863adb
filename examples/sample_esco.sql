-- A sample ESCO to try Flows with: Waterlilies Community Energy (WLCE), one
-- site, two feeders, ten plots, ten meters (eight single element, two twin
-- element) with their registers and circuits. Safe to load twice.
BEGIN;
INSERT INTO flows.escos (code, name) VALUES ('WLCE', 'Waterlilies Community Energy')
ON CONFLICT (code) DO NOTHING;

INSERT INTO flows.sites (esco_id, name, location, capacity_kw)
SELECT id, 'Waterlilies', 'Waterlilies, Leicestershire', 250 FROM flows.escos WHERE code = 'WLCE'
ON CONFLICT (esco_id, name) DO NOTHING;

INSERT INTO flows.feeder_registry (site_id, name, substation, rating_amps)
SELECT s.id, f.name, 'Waterlilies SS', 400
  FROM flows.sites s, (VALUES ('WL-F1'), ('WL-F2')) f(name)
 WHERE s.name = 'Waterlilies'
ON CONFLICT (site_id, name) DO NOTHING;

INSERT INTO flows.service_head_registry (name, phase, type, feeder_id)
SELECT format('WL-SH-%s', lpad(i::text, 2, '0')), 1 + (i - 1) % 3, 'network_owned',
       (SELECT id FROM flows.feeder_registry WHERE name = CASE WHEN i <= 5 THEN 'WL-F1' ELSE 'WL-F2' END)
  FROM generate_series(1, 10) i
ON CONFLICT (name) DO NOTHING;

INSERT INTO flows.meter_registry (serial, name, hardware, esco_id)
SELECT format('EML22000000%s', lpad(i::text, 2, '0')), format('WL-%s', lpad(i::text, 2, '0')),
       (CASE WHEN i > 8 THEN 'C1.w' ELSE 'B1.w' END)::flows.meter_hardware,
       (SELECT id FROM flows.escos WHERE code = 'WLCE')
  FROM generate_series(1, 10) i
ON CONFLICT (serial) DO NOTHING;

INSERT INTO flows.properties (plot, site_id, address, supply_meter_id)
SELECT format('WL-%s', lpad(i::text, 2, '0')), (SELECT id FROM flows.sites WHERE name = 'Waterlilies'),
       format('%s Lily Lane', i),
       (SELECT id FROM flows.meter_registry WHERE name = format('WL-%s', lpad(i::text, 2, '0')))
  FROM generate_series(1, 10) i
ON CONFLICT (plot) DO NOTHING;

INSERT INTO flows.properties_service_head (property_id, service_head_id)
SELECT p.id, h.id FROM flows.properties p JOIN flows.service_head_registry h ON h.name = replace(p.plot, 'WL-', 'WL-SH-')
ON CONFLICT DO NOTHING;

INSERT INTO flows.service_head_meter (service_head_id, meter_id)
SELECT h.id, m.id FROM flows.meter_registry m JOIN flows.service_head_registry h ON h.name = replace(m.name, 'WL-', 'WL-SH-')
ON CONFLICT DO NOTHING;

INSERT INTO flows.meter_registers (meter_id, element)
SELECT m.id, e.element::flows.register_element
  FROM flows.meter_registry m
 CROSS JOIN LATERAL unnest(CASE WHEN m.hardware = 'C1.w' THEN ARRAY['A', 'B'] ELSE ARRAY['SINGLE'] END) e(element)
 WHERE m.esco_id = (SELECT id FROM flows.escos WHERE code = 'WLCE')
ON CONFLICT DO NOTHING;

INSERT INTO flows.circuits (type, site_id, name)
SELECT 'power', s.id, 'Plot power' FROM flows.sites s WHERE s.name = 'Waterlilies'
ON CONFLICT (site_id, name) DO NOTHING;

INSERT INTO flows.circuit_register (circuit_id, register_id)
SELECT c.id, r.register_id FROM flows.circuits c, flows.meter_registers r
 WHERE c.name = 'Plot power'
ON CONFLICT DO NOTHING;
COMMIT;
