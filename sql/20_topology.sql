-- Topology: who owns what (ESCO → site → property), how it is fed
-- (feeder → service head → meter) and what is metered (register → circuit).
-- Every row reaches its ESCO through foreign keys.

CREATE TABLE flows.mediators (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_.-]{0,62}$'),
  address text NOT NULL CHECK (address ~ '^(https?://)?[^\s/]+:[0-9]{1,5}$'),
  tls_ca_pem text,
  tls_client_cert_pem text,
  tls_client_key_pem text,
  tls_server_name text,
  max_concurrency integer NOT NULL DEFAULT 4 CHECK (max_concurrency BETWEEN 1 AND 1000),
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT mediators_tls_pair CHECK ((tls_client_cert_pem IS NULL) = (tls_client_key_pem IS NULL))
);
COMMENT ON TABLE flows.mediators IS 'gRPC mediator servers that relay EMOP messages to meters.';
COMMENT ON COLUMN flows.mediators.address IS 'host:port (or http(s)://host:port) of the mediator''s gRPC endpoint.';
COMMENT ON COLUMN flows.mediators.tls_server_name IS 'TLS target-name override when the certificate does not name the address.';

CREATE TABLE flows.escos (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  code text NOT NULL UNIQUE CONSTRAINT escos_code_format CHECK (code ~ '^[A-Z][A-Z0-9]{1,15}$'),
  name text NOT NULL CHECK (btrim(name) <> ''),
  default_mediator_id uuid REFERENCES flows.mediators (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE flows.escos IS 'Energy service companies: the operators that own sites and meters.';
COMMENT ON COLUMN flows.escos.code IS 'Short upper-case code, e.g. WLCE.';

CREATE TABLE flows.sites (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  esco_id uuid NOT NULL REFERENCES flows.escos (id),
  name text NOT NULL CHECK (btrim(name) <> ''),
  location text,
  capacity_kw numeric(12, 3) CHECK (capacity_kw >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (esco_id, name)
);
COMMENT ON TABLE flows.sites IS 'Sites (microgrids) of an ESCO; sites_new in the original platform.';

CREATE TABLE flows.properties (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  plot text NOT NULL UNIQUE CHECK (plot ~ '^[A-Z0-9]+(-[A-Z0-9]+)+$'),
  site_id uuid NOT NULL REFERENCES flows.sites (id),
  address text,
  type flows.property_type NOT NULL DEFAULT 'residential',
  supply_meter_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE flows.properties IS 'Properties (plots) on a site.';
COMMENT ON COLUMN flows.properties.plot IS 'Plot reference, upper-case, e.g. WL-01.';

CREATE TABLE flows.feeder_registry (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  site_id uuid NOT NULL REFERENCES flows.sites (id),
  name text NOT NULL CHECK (btrim(name) <> ''),
  substation text,
  rating_amps numeric(8, 2) CHECK (rating_amps > 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (site_id, name)
);
COMMENT ON TABLE flows.feeder_registry IS 'Low-voltage feeders, from a substation, on a site.';

CREATE TABLE flows.service_head_registry (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name text NOT NULL UNIQUE CHECK (btrim(name) <> ''),
  phase smallint NOT NULL CONSTRAINT service_head_phase_range CHECK (phase BETWEEN 1 AND 3),
  type flows.service_head_type NOT NULL,
  feeder_id uuid NOT NULL REFERENCES flows.feeder_registry (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE flows.service_head_registry IS 'Service heads (supply points) fed by a feeder.';
COMMENT ON COLUMN flows.service_head_registry.phase IS 'Phase the service head is connected to: 1, 2 or 3.';

CREATE TABLE flows.meter_registry (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  serial flows.meter_serial NOT NULL UNIQUE,
  name text,
  ip_address inet,
  hardware flows.meter_hardware,
  mode flows.meter_mode NOT NULL DEFAULT 'active',
  esco_id uuid NOT NULL REFERENCES flows.escos (id),
  single_meter_app boolean NOT NULL DEFAULT false,
  daylight_savings_correction_enabled boolean NOT NULL DEFAULT true,
  mediator_id uuid REFERENCES flows.mediators (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ON flows.meter_registry (esco_id);
COMMENT ON TABLE flows.meter_registry IS 'Emlite prepayment meters: configuration. Live state is in meter_shadows.';
COMMENT ON COLUMN flows.meter_registry.mediator_id IS 'The mediator that serves this meter; NULL falls back to its ESCO''s default mediator.';

ALTER TABLE flows.properties
  ADD FOREIGN KEY (supply_meter_id) REFERENCES flows.meter_registry (id) ON DELETE SET NULL;

CREATE TABLE flows.properties_service_head (
  property_id uuid NOT NULL REFERENCES flows.properties (id) ON DELETE CASCADE,
  service_head_id uuid NOT NULL REFERENCES flows.service_head_registry (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (property_id, service_head_id)
);
CREATE INDEX ON flows.properties_service_head (service_head_id);
COMMENT ON TABLE flows.properties_service_head IS 'Which service heads supply which properties (many to many).';

CREATE TABLE flows.service_head_meter (
  service_head_id uuid NOT NULL REFERENCES flows.service_head_registry (id) ON DELETE CASCADE,
  meter_id uuid NOT NULL REFERENCES flows.meter_registry (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (service_head_id, meter_id)
);
CREATE INDEX ON flows.service_head_meter (meter_id);
COMMENT ON TABLE flows.service_head_meter IS 'Which meters a service head feeds.';

CREATE TABLE flows.meter_registers (
  register_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  meter_id uuid NOT NULL REFERENCES flows.meter_registry (id) ON DELETE CASCADE,
  element flows.register_element NOT NULL,
  status flows.register_status NOT NULL DEFAULT 'enabled',
  direction_reversed boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
-- One enabled register per element of a meter; replaced ones are history.
CREATE UNIQUE INDEX meter_registers_one_enabled_per_element
  ON flows.meter_registers (meter_id, element) WHERE status = 'enabled';
COMMENT ON TABLE flows.meter_registers IS 'Consumption registers of a meter: SINGLE, or A (day) and B (night) on twin-element meters.';
COMMENT ON COLUMN flows.meter_registers.direction_reversed IS 'Import and export are swapped (e.g. some solar installs).';

CREATE TABLE flows.circuits (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  type flows.circuit_type NOT NULL,
  site_id uuid NOT NULL REFERENCES flows.sites (id),
  name text NOT NULL CHECK (btrim(name) <> ''),
  rating_amps numeric(8, 2) CHECK (rating_amps > 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (site_id, name)
);
COMMENT ON TABLE flows.circuits IS 'Circuits (power, heat, solar) on a site, fed by registers.';

CREATE TABLE flows.circuit_register (
  circuit_id uuid NOT NULL REFERENCES flows.circuits (id) ON DELETE CASCADE,
  register_id uuid NOT NULL REFERENCES flows.meter_registers (register_id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (circuit_id, register_id)
);
CREATE INDEX ON flows.circuit_register (register_id);
COMMENT ON TABLE flows.circuit_register IS 'Which registers make up a circuit.';

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['mediators', 'escos', 'sites', 'properties', 'feeder_registry',
    'service_head_registry', 'meter_registry', 'meter_registers', 'circuits']
  LOOP
    EXECUTE format('CREATE TRIGGER touch_updated_at BEFORE UPDATE ON flows.%I
                    FOR EACH ROW EXECUTE FUNCTION flows.touch_updated_at()', t);
  END LOOP;
END
$$;
