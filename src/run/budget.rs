//! Spending limits for a run: requests, tokens and estimated cost.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::model::Usage;

/// The price of one model, in the user's currency per million tokens.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Price {
    /// Price per 1,000,000 input (prompt) tokens.
    pub input_per_million: f64,
    /// Price per 1,000,000 output (generated) tokens.
    pub output_per_million: f64,
}

impl Price {
    /// A price from its two rates per million tokens.
    pub fn per_million(input: f64, output: f64) -> Self {
        Price {
            input_per_million: input,
            output_per_million: output,
        }
    }

    /// The estimated cost of `usage` at this price.
    pub fn cost(&self, usage: &Usage) -> f64 {
        (usage.input_tokens as f64 * self.input_per_million
            + usage.output_tokens as f64 * self.output_per_million)
            / 1_000_000.0
    }
}

/// Limits on what one call of [`crate::run::Runner::run`] may spend.
///
/// Every limit counts the requests made by this call only: records taken over
/// from a journal on resume cost nothing. The runner checks the limits before
/// it starts each request and stops taking new work once one is reached. The
/// request limit is exact (requests are counted when they start); tokens and
/// cost are only known when a response arrives, so requests already in flight
/// when a token or cost limit is reached still finish and may overshoot it by
/// at most what `concurrency - 1` requests spend.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// At most this many requests (failed ones included). A request is one
    /// call to the client: retries inside a retry wrapper count once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_requests: Option<u64>,
    /// At most this many tokens, input and output together, as reported by
    /// the providers. Responses without usage count zero.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
    /// At most this estimated cost, computed from reported usage and
    /// [`Budget::prices`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_cost: Option<f64>,
    /// Prices by model label ([`crate::model::ClientInfo::model`]). Every model
    /// of the run needs one when [`Budget::max_cost`] is set.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub prices: BTreeMap<String, Price>,
}

impl Budget {
    /// No limit at all.
    pub fn unlimited() -> Self {
        Budget::default()
    }

    /// Sets the request limit.
    #[must_use]
    pub fn with_max_requests(mut self, n: u64) -> Self {
        self.max_requests = Some(n);
        self
    }

    /// Sets the token limit.
    #[must_use]
    pub fn with_max_tokens(mut self, n: u64) -> Self {
        self.max_tokens = Some(n);
        self
    }

    /// Sets the cost limit.
    #[must_use]
    pub fn with_max_cost(mut self, cost: f64) -> Self {
        self.max_cost = Some(cost);
        self
    }

    /// Sets the price of `model`.
    #[must_use]
    pub fn with_price(mut self, model: impl Into<String>, price: Price) -> Self {
        self.prices.insert(model.into(), price);
        self
    }

    /// Checks that every model has a price when a cost limit is set, and that
    /// the limits are sane.
    pub(crate) fn validate<'a>(&self, models: impl IntoIterator<Item = &'a str>) -> Result<()> {
        if let Some(max) = self.max_cost {
            if !max.is_finite() || max < 0.0 {
                return Err(Error::Config(format!(
                    "budget max_cost must be a finite non-negative number, got {max}"
                )));
            }
            for model in models {
                if !self.prices.contains_key(model) {
                    return Err(Error::Config(format!(
                        "budget has a cost limit but no price for model `{model}`"
                    )));
                }
            }
        }
        for (model, p) in &self.prices {
            let ok = |x: f64| x.is_finite() && x >= 0.0;
            if !ok(p.input_per_million) || !ok(p.output_per_million) {
                return Err(Error::Config(format!(
                    "price for model `{model}` must be finite and non-negative"
                )));
            }
        }
        Ok(())
    }
}

/// Which limit stopped a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BudgetLimit {
    /// [`Budget::max_requests`].
    Requests,
    /// [`Budget::max_tokens`].
    Tokens,
    /// [`Budget::max_cost`].
    Cost,
}

impl fmt::Display for BudgetLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BudgetLimit::Requests => "request limit",
            BudgetLimit::Tokens => "token limit",
            BudgetLimit::Cost => "cost limit",
        })
    }
}

/// What one run has spent so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Spent {
    /// Requests started.
    pub requests: u64,
    /// Tokens reported (input plus output).
    pub tokens: u64,
    /// Estimated cost; zero for models without a price.
    pub cost: f64,
}

/// Tracks spending against a [`Budget`].
#[derive(Debug, Clone)]
pub(crate) struct Tracker {
    budget: Budget,
    spent: Spent,
}

impl Tracker {
    pub(crate) fn new(budget: Budget) -> Self {
        Tracker {
            budget,
            spent: Spent::default(),
        }
    }

    /// The limit that forbids starting another request, if any.
    pub(crate) fn exhausted(&self) -> Option<BudgetLimit> {
        let b = &self.budget;
        if b.max_requests.is_some_and(|m| self.spent.requests >= m) {
            return Some(BudgetLimit::Requests);
        }
        if b.max_tokens.is_some_and(|m| self.spent.tokens >= m) {
            return Some(BudgetLimit::Tokens);
        }
        if b.max_cost.is_some_and(|m| self.spent.cost >= m) {
            return Some(BudgetLimit::Cost);
        }
        None
    }

    /// Counts a request that is about to start.
    pub(crate) fn start_request(&mut self) {
        self.spent.requests += 1;
    }

    /// Counts the usage of a finished request of `model`.
    pub(crate) fn add_usage(&mut self, model: &str, usage: Option<&Usage>) {
        let Some(usage) = usage else { return };
        self.spent.tokens += usage.input_tokens + usage.output_tokens;
        if let Some(price) = self.budget.prices.get(model) {
            self.spent.cost += price.cost(usage);
        }
    }

    pub(crate) fn spent(&self) -> Spent {
        self.spent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cost_per_million() {
        // 1500 input tokens at 2.0/M = 0.003; 500 output at 8.0/M = 0.004.
        let p = Price::per_million(2.0, 8.0);
        let c = p.cost(&Usage {
            input_tokens: 1500,
            output_tokens: 500,
        });
        assert!((c - 0.007).abs() < 1e-12, "{c}");
    }

    #[test]
    fn tracker_stops_at_each_limit() {
        let mut t = Tracker::new(Budget::unlimited().with_max_requests(2));
        assert_eq!(t.exhausted(), None);
        t.start_request();
        t.start_request();
        assert_eq!(t.exhausted(), Some(BudgetLimit::Requests));

        let mut t = Tracker::new(
            Budget::unlimited()
                .with_max_cost(0.01)
                .with_price("m", Price::per_million(1000.0, 0.0)),
        );
        t.add_usage(
            "m",
            Some(&Usage {
                input_tokens: 9,
                output_tokens: 0,
            }),
        );
        assert_eq!(t.exhausted(), None, "0.009 < 0.01");
        t.add_usage(
            "m",
            Some(&Usage {
                input_tokens: 2,
                output_tokens: 5,
            }),
        );
        assert_eq!(t.exhausted(), Some(BudgetLimit::Cost), "0.011 >= 0.01");
        assert_eq!(t.spent().tokens, 16);
    }

    #[test]
    fn cost_limit_needs_prices() {
        let b = Budget::unlimited().with_max_cost(1.0);
        let err = b.validate(["a"]).unwrap_err().to_string();
        assert!(err.contains("no price for model `a`"), "{err}");
    }
}
