//! flows_ext: the Flows meter data platform inside PostgreSQL. This file only
//! wires modules together, registers settings at load time and orders the
//! install SQL; the domain lives in `sql/` and the modules below.

use pgrx::prelude::*;

pub(crate) mod aggregates;
mod api;
mod energy;
mod hh;
mod hh_changes;
mod numeric;
mod queue;
mod settings;
mod types;
mod worker;

pgrx::pg_module_magic!();

// The install script is plain SQL, reviewed as SQL, in this order.
pgrx::extension_sql_file!("../sql/00_bootstrap.sql", name = "bootstrap", bootstrap);
pgrx::extension_sql_file!(
    "../sql/10_types.sql",
    name = "types",
    requires = ["bootstrap"]
);
pgrx::extension_sql_file!(
    "../sql/20_topology.sql",
    name = "topology",
    requires = ["types"]
);
pgrx::extension_sql_file!(
    "../sql/30_shadows.sql",
    name = "shadows",
    requires = ["topology"]
);
pgrx::extension_sql_file!(
    "../sql/40_timeseries.sql",
    name = "timeseries",
    requires = ["shadows"]
);
pgrx::extension_sql_file!(
    "../sql/45_fanout.sql",
    name = "fanout",
    requires = ["timeseries"]
);
pgrx::extension_sql_file!("../sql/50_views.sql", name = "views", requires = ["fanout"]);
pgrx::extension_sql_file!(
    "../sql/60_commands.sql",
    name = "commands",
    requires = [
        "views",
        api::operations::check_meter_operation,
        worker::wake::wake_worker_at_commit
    ]
);
pgrx::extension_sql_file!(
    "../sql/65_results.sql",
    name = "results",
    requires = ["commands"]
);
pgrx::extension_sql_file!(
    "../sql/70_api.sql",
    name = "api",
    requires = [
        "results",
        api::operations::meter_operation_kind,
        api::operations::meter_operations
    ]
);
pgrx::extension_sql_file!(
    "../sql/80_energy.sql",
    name = "energy",
    requires = [
        "api",
        energy::settlement_periods,
        energy::settlement_period_start
    ]
);
pgrx::extension_sql_file!(
    "../sql/82_energy_agg.sql",
    name = "energy_agg",
    requires = ["energy"]
);
pgrx::extension_sql_file!(
    "../sql/83_completeness_agg.sql",
    name = "completeness_agg",
    requires = ["energy_agg"]
);
pgrx::extension_sql_file!(
    "../sql/84_tariff_cost.sql",
    name = "tariff_cost",
    requires = ["completeness_agg"]
);
pgrx::extension_sql_file!(
    "../sql/85_retention.sql",
    name = "retention",
    requires = ["tariff_cost"]
);
pgrx::extension_sql_file!(
    "../sql/86_hh.sql",
    name = "hh",
    requires = ["retention", hh::derive_hh]
);
pgrx::extension_sql_file!(
    "../sql/87_rollups.sql",
    name = "rollups",
    requires = ["hh", energy::settlement_date]
);
pgrx::extension_sql_file!("../sql/88_vee.sql", name = "vee", requires = ["rollups"]);
pgrx::extension_sql_file!(
    "../sql/89_grafana.sql",
    name = "grafana",
    requires = ["vee"]
);
// 0.3.0: profile logs as days, one derivation call per register.
pgrx::extension_sql_file!(
    "../sql/91_profile_days.sql",
    name = "profile_days",
    requires = ["grafana"]
);
pgrx::extension_sql_file!("../sql/90_finalize.sql", name = "finalize", finalize);

#[pg_guard]
pub extern "C-unwind" fn _PG_init() {
    settings::register();
    if unsafe { pg_sys::process_shared_preload_libraries_in_progress } {
        worker::register();
    }
}

// pgrx calls the #[pg_test]s as SQL functions in a schema named `tests`,
// which must be an inline module here; the tests themselves are in tests.rs.
#[cfg(any(test, feature = "pg_test"))]
#[pg_schema]
mod tests {
    include!("tests.rs");
}

/// Required by `cargo pgrx test`.
#[cfg(test)]
pub mod pg_test {
    pub fn setup(_options: Vec<&str>) {}

    pub fn postgresql_conf_options() -> Vec<&'static str> {
        vec![]
    }
}
