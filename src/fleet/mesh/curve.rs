//! A proxy's growth from the mesh bends: each service it sees adds its ports per revision at
//! the service's update rate until GC holds the service at its cap, then adds nothing.
//!
//! So the ports a proxy gains in `t` days are `sum_s w_s min(rate_s t, headroom_s)`: piecewise
//! linear, rising, flat after the last service reaches its cap (or rising for ever where a
//! policy keeps every revision). [`Curve::time_to`] inverts it: the days until the proxy has
//! gained a given number of ports, or none when the caps stop it short.

/// One service as one proxy sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Piece {
    /// Ports (or revisions) each new revision of the service adds to the proxy.
    pub weight: f64,
    /// Revisions created per day.
    pub rate: f64,
    /// Revisions the service may still gain before GC holds it (infinite: no cap).
    pub headroom: f64,
}

impl Piece {
    /// Days until the service reaches its cap (infinite when it never does).
    fn days_to_cap(&self) -> f64 {
        self.headroom / self.rate
    }

    fn grows(&self) -> bool {
        self.weight > 0.0 && self.rate > 0.0 && self.headroom > 0.0
    }
}

/// The ports a proxy gains over time.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Curve {
    /// The growing pieces, soonest capped first.
    pieces: Vec<Piece>,
}

impl Curve {
    /// The curve of these services (pieces that cannot grow are dropped).
    pub fn new(pieces: impl IntoIterator<Item = Piece>) -> Curve {
        let mut pieces: Vec<Piece> = pieces.into_iter().filter(Piece::grows).collect();
        pieces.sort_by(|a, b| a.days_to_cap().total_cmp(&b.days_to_cap()));
        Curve { pieces }
    }

    /// Ports gained after `days`.
    pub fn at(&self, days: f64) -> f64 {
        self.pieces.iter().map(|p| p.weight * (p.rate * days).min(p.headroom)).sum()
    }

    /// Ports gained once every service is at its cap (infinite when one has none).
    pub fn plateau(&self) -> f64 {
        self.pieces.iter().map(|p| p.weight * p.headroom).sum()
    }

    /// Ports gained per day now.
    pub fn slope(&self) -> f64 {
        self.pieces.iter().map(|p| p.weight * p.rate).sum()
    }

    /// Days until the proxy has gained `amount`; `None` when the caps hold it below.
    pub fn time_to(&self, amount: f64) -> Option<f64> {
        if amount <= 0.0 {
            return Some(0.0);
        }
        let (mut slope, mut level, mut t) = (self.slope(), 0.0, 0.0);
        for p in &self.pieces {
            let end = p.days_to_cap();
            let reached = level + slope * (end - t);
            if reached >= amount {
                break;
            }
            // Past this piece's cap: it stops adding.
            level = reached;
            t = end;
            slope -= p.weight * p.rate;
        }
        // Rounding may leave a tiny slope after the last cap: flat is flat.
        (slope > 1e-12 * self.slope()).then(|| t + (amount - level) / slope)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_curve_bends_at_each_cap_and_inverts_by_hand() {
        // Two services: 8 ports a revision at 2 a day for 5 more revisions (capped at day
        // 2.5), and 8 ports at 1 a day for 10 more (capped at day 10).
        let c = Curve::new([
            Piece { weight: 8.0, rate: 1.0, headroom: 10.0 },
            Piece { weight: 8.0, rate: 2.0, headroom: 5.0 },
            Piece { weight: 8.0, rate: 0.0, headroom: 5.0 },
        ]);
        // By hand: 24 ports a day to day 2.5 (60), then 8 a day to day 10 (120), then flat.
        assert_eq!((c.slope(), c.at(2.5), c.at(10.0), c.at(99.0), c.plateau()), (24.0, 60.0, 120.0, 120.0, 120.0));
        assert_eq!(c.time_to(48.0), Some(2.0));
        assert_eq!(c.time_to(60.0), Some(2.5));
        assert_eq!(c.time_to(100.0), Some(2.5 + 40.0 / 8.0));
        assert_eq!(c.time_to(120.0), Some(10.0));
        assert_eq!(c.time_to(120.5), None);
        assert_eq!(c.time_to(0.0), Some(0.0));
        // No cap: straight on.
        let open = Curve::new([Piece { weight: 7.0, rate: 2.0, headroom: f64::INFINITY }]);
        assert_eq!((open.time_to(1400.0), open.plateau()), (Some(100.0), f64::INFINITY));
        assert_eq!(Curve::default().time_to(1.0), None);
    }
}
