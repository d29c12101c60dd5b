//! Random floats for exactness tests: every bit pattern a finite f64 can have, from a fixed
//! seed so that a failure replays, and the extremes no random draw should be trusted to give.

use btdb::synth::Rng;

/// Random bits from a fixed seed (btdb's own SplitMix64), so that a failure replays.
pub struct Bits(Rng);

impl Bits {
    pub fn new(seed: u64) -> Self {
        Self(Rng::new(seed))
    }

    /// A finite f64 of random bits: every exponent equally likely, so extremes are common.
    pub fn finite(&mut self) -> f64 {
        loop {
            let v = f64::from_bits(self.0.next_u64());
            if v.is_finite() {
                return v;
            }
        }
    }
}

/// Values every run of the test carries, whatever the seed gives.
pub const EXTREMES: &[f64] = &[
    0.0,
    -0.0,
    f64::MAX,
    -f64::MAX,
    f64::MIN_POSITIVE,
    -f64::MIN_POSITIVE,
    // The smallest subnormal, and the largest.
    5e-324,
    -5e-324,
    f64::from_bits(0x000f_ffff_ffff_ffff),
    // A float the default JSON parser reads one unit in the last place off.
    11_099.605_836_499_999,
    0.1 + 0.2,
    1.7e308,
    -1.7e308,
    // 2^53 + 2: past the integers a float holds exactly.
    9_007_199_254_740_994.0,
];
