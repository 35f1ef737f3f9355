//! Independent replications: the same scenario and policy under different seeds, summarized as
//! a mean with a 95% confidence interval per headline figure (Student's t, since ten runs are
//! too few for the normal approximation).

use serde::Serialize;

use crate::report::Report;

/// Two-sided 95% quantiles of Student's t for 1..=30 degrees of freedom (standard tables, e.g.
/// NIST/SEMATECH e-Handbook of Statistical Methods, section 1.3.6.7.2).
const T95: [f64; 30] = [
    12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
    2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
    2.052, 2.048, 2.045, 2.042,
];

/// The t quantile for `df` degrees of freedom (same tables: 2.021 at 40, 2.000 at 60, 1.980 at
/// 120, 1.960 beyond).
fn t95(df: usize) -> f64 {
    match df {
        0 => f64::NAN,
        1..=30 => T95[df - 1],
        31..=40 => 2.021,
        41..=60 => 2.000,
        61..=120 => 1.980,
        _ => 1.960,
    }
}

/// A figure's mean over replications and the half-width of its 95% confidence interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// Mean.
    pub mean: f64,
    /// Half-width of the 95% confidence interval of the mean (0 for one run).
    pub ci95: f64,
}

impl Estimate {
    /// Of independent observations `xs`.
    pub fn of(xs: &[f64]) -> Estimate {
        let n = xs.len();
        if n == 0 {
            return Estimate {
                mean: f64::NAN,
                ci95: f64::NAN,
            };
        }
        let mean = xs.iter().sum::<f64>() / n as f64;
        if n == 1 {
            return Estimate { mean, ci95: 0.0 };
        }
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        Estimate {
            mean,
            ci95: t95(n - 1) * (var / n as f64).sqrt(),
        }
    }
}

/// The headline figures of replicated runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Runs.
    pub replications: usize,
    /// Their seeds.
    pub seeds: Vec<u64>,
    /// Electricity cost over each run's window.
    pub cost: Estimate,
    /// Cost per million tokens.
    pub cost_per_million_tokens: Estimate,
    /// Facility energy, kWh.
    pub facility_kwh: Estimate,
    /// CO2, kg.
    pub carbon_kg: Estimate,
    /// Share of requests within their SLOs.
    pub slo_met_fraction: Estimate,
    /// Requests.
    pub requests: Estimate,
}

impl Summary {
    /// Of `runs` (one per seed).
    pub fn of(runs: &[Report]) -> Summary {
        let est =
            |f: &dyn Fn(&Report) -> f64| Estimate::of(&runs.iter().map(f).collect::<Vec<_>>());
        Summary {
            replications: runs.len(),
            seeds: runs.iter().map(|r| r.seed).collect(),
            cost: est(&|r| r.energy.cost),
            cost_per_million_tokens: est(&|r| r.cost_per_million_tokens),
            facility_kwh: est(&|r| r.energy.facility_kwh),
            carbon_kg: est(&|r| r.energy.carbon_kg),
            slo_met_fraction: est(&|r| r.requests.slo_met_fraction),
            requests: est(&|r| r.requests.total as f64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_is_students_t_on_the_standard_error() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, sample variance 32/7, t(7) = 2.365.
        let e = Estimate::of(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(e.mean, 5.0);
        let expected = 2.365 * (32.0 / 7.0 / 8.0_f64).sqrt();
        assert!(
            (e.ci95 - expected).abs() < 1e-12,
            "{} vs {expected}",
            e.ci95
        );
        assert_eq!(
            Estimate::of(&[3.0]),
            Estimate {
                mean: 3.0,
                ci95: 0.0
            }
        );
        assert_eq!(t95(200), 1.960);
    }
}
