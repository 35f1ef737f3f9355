//! The time series of a run: one row per hub per accounting step, and `timeseries.csv`.

use serde::Serialize;

use super::Report;

/// One hub's time step (a row of `timeseries.csv`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepRow {
    /// Step start, s since the scenario start.
    pub t_s: f64,
    /// Hub name.
    pub hub: String,
    /// Mean facility power, MW.
    pub power_mw: f64,
    /// Mean green power used, MW.
    pub green_mw: f64,
    /// Mean grid power, MW.
    pub grid_mw: f64,
    /// Mean tariff paid over the step, per kWh.
    pub tariff: f64,
    /// Electricity cost of the step.
    pub cost: f64,
    /// CO2 of the step, kg.
    pub carbon_kg: f64,
    /// Mean fraction of replicas busy.
    pub utilization: f64,
    /// Requests waiting at the step's end.
    pub queue: u32,
    /// Local green supply available in the step's hour, MW (used or not).
    pub green_available_mw: f64,
}

impl Report {
    /// `timeseries.csv`: header and one row per hub per step, units in the column names
    /// (`currency` as the scenario gives it, e.g. CNY: `tariff_cny_per_kwh`, `cost_cny`), quoted
    /// where a value needs it (a hub name with a comma).
    pub fn timeseries_csv(&self, currency: &str) -> String {
        let cur = currency.to_ascii_lowercase();
        let mut w = csv::Writer::from_writer(Vec::new());
        let header = [
            "t_s".to_owned(),
            "hub".to_owned(),
            "power_mw".to_owned(),
            "green_mw".to_owned(),
            "grid_mw".to_owned(),
            format!("tariff_{cur}_per_kwh"),
            format!("cost_{cur}"),
            "carbon_kg".to_owned(),
            "utilization".to_owned(),
            "queue_requests".to_owned(),
            "green_available_mw".to_owned(),
        ];
        // Writing to memory cannot fail; a failure would only lose the rows after it.
        let _ = w.write_record(&header);
        for r in &self.timeseries {
            let _ = w.write_record([
                r.t_s.to_string(),
                r.hub.clone(),
                format!("{:.9}", r.power_mw),
                format!("{:.9}", r.green_mw),
                format!("{:.9}", r.grid_mw),
                format!("{:.6}", r.tariff),
                format!("{:.9}", r.cost),
                format!("{:.9}", r.carbon_kg),
                format!("{:.6}", r.utilization),
                r.queue.to_string(),
                format!("{:.9}", r.green_available_mw),
            ]);
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}
