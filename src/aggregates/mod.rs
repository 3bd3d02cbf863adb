//! Aggregates where the domain adds meaning; the state and maths live in
//! flows-energy, this is the glue (state in the aggregate's memory context,
//! combine and serialization for parallel plans).

pub(crate) mod completeness;
pub(crate) mod energy;
mod state;
pub(crate) mod tariff_cost;
