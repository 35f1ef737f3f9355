//! Token economics: what a kWh becomes once it is turned into tokens.
//!
//! `value uplift = revenue of the tokens one kWh makes / price of that kWh`
//! `             = (tokens per facility kWh / 1e6 x price per million tokens) / tariff`.
//!
//! Every input is explicit, so a claim such as the source article's "converting electricity into
//! tokens raises its value about 22-fold" becomes a statement about joules per token, PUE, how busy
//! the accelerators are, the tariff and the token price (see the crate docs for the worked case).

use crate::power::JOULES_PER_KWH;

/// The assumptions behind one cost-per-token and uplift figure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Economics {
    /// IT energy per output token while the replica is busy, J.
    pub joules_per_token_busy: f64,
    /// Fraction of time the replica is busy (0..1]; idle time still draws idle power.
    pub busy_fraction: f64,
    /// IT power of the replica when idle over its power when busy (idle_w / tdp_w).
    pub idle_power_ratio: f64,
    /// Power usage effectiveness of the hub.
    pub pue: f64,
    /// Electricity price, currency units per kWh.
    pub tariff_per_kwh: f64,
    /// Token price, currency units per million output tokens.
    pub price_per_million_tokens: f64,
}

impl Economics {
    /// IT energy per output token averaged over busy and idle time, J:
    /// `J_busy x (u + (1 - u) x idle/TDP) / u` for busy fraction `u`.
    pub fn joules_per_token_it(&self) -> f64 {
        let u = self.busy_fraction.clamp(1e-9, 1.0);
        self.joules_per_token_busy * (u + (1.0 - u) * self.idle_power_ratio) / u
    }

    /// Facility energy per output token, J.
    pub fn joules_per_token_facility(&self) -> f64 {
        self.joules_per_token_it() * self.pue
    }

    /// Output tokens per facility kWh.
    pub fn tokens_per_kwh(&self) -> f64 {
        JOULES_PER_KWH / self.joules_per_token_facility()
    }

    /// Electricity cost per million output tokens, currency units.
    pub fn cost_per_million_tokens(&self) -> f64 {
        1e6 / self.tokens_per_kwh() * self.tariff_per_kwh
    }

    /// Revenue of the tokens one kWh makes over the price of the kWh.
    pub fn value_uplift(&self) -> f64 {
        self.price_per_million_tokens / self.cost_per_million_tokens()
    }
}

/// Default token price for value-uplift figures, yuan per million output tokens.
///
/// DeepSeek's published R1 output price, US$2.19 per million tokens
/// (`data/facts/deepseek_serving_day.json`), at an assumed 7.2 yuan per US dollar.
pub const DEFAULT_PRICE_YUAN_PER_MILLION_TOKENS: f64 = 2.19 * 7.2;
