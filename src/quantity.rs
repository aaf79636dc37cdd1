//! Physical quantities as types: an area in square metres (with its hectare and 亩 views), a volume in
//! cubic metres, and a water quantity in 万 m³. Each adds, subtracts and sums with its own kind only, and
//! is written to JSON as a bare number in its unit (the field names say the unit: `area_m2`, `volume_m3`).

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Mul, Neg, Sub, SubAssign};

use serde::{Deserialize, Serialize};

macro_rules! quantity {
    ($(#[$doc:meta])* $name:ident, $unit:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default, Serialize, Deserialize, schemars::JsonSchema)]
        #[serde(transparent)]
        #[schemars(transparent)]
        pub struct $name(pub f64);

        impl $name {
            /// Zero.
            pub const ZERO: $name = $name(0.0);

            /// The absolute value.
            pub fn abs(self) -> $name {
                $name(self.0.abs())
            }
        }

        impl Add for $name {
            type Output = $name;
            fn add(self, o: $name) -> $name {
                $name(self.0 + o.0)
            }
        }

        impl Sub for $name {
            type Output = $name;
            fn sub(self, o: $name) -> $name {
                $name(self.0 - o.0)
            }
        }

        impl AddAssign for $name {
            fn add_assign(&mut self, o: $name) {
                self.0 += o.0;
            }
        }

        impl SubAssign for $name {
            fn sub_assign(&mut self, o: $name) {
                self.0 -= o.0;
            }
        }

        impl Neg for $name {
            type Output = $name;
            fn neg(self) -> $name {
                $name(-self.0)
            }
        }

        impl Mul<f64> for $name {
            type Output = $name;
            fn mul(self, k: f64) -> $name {
                $name(self.0 * k)
            }
        }

        impl Sum for $name {
            fn sum<I: Iterator<Item = $name>>(it: I) -> $name {
                $name(it.map(|q| q.0).sum())
            }
        }

        impl<'a> Sum<&'a $name> for $name {
            fn sum<I: Iterator<Item = &'a $name>>(it: I) -> $name {
                $name(it.map(|q| q.0).sum())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match f.precision() {
                    Some(p) => write!(f, "{:.*} {}", p, self.0, $unit),
                    None => write!(f, "{:.2} {}", self.0, $unit),
                }
            }
        }
    };
}

quantity!(
    /// An area, m².
    SquareMetres,
    "m²"
);
quantity!(
    /// A volume, m³ (forest stock volume 蓄积量).
    CubicMetres,
    "m³"
);
quantity!(
    /// A water quantity, 万 m³ (10 000 m³), the unit of water statistics.
    WanCubicMetres,
    "万m³"
);

impl SquareMetres {
    /// Square metres in one 亩.
    pub const PER_MU: f64 = 2000.0 / 3.0;
    /// Square metres in one hectare (公顷).
    pub const PER_HECTARE: f64 = 10_000.0;

    /// An area of `ha` hectares.
    pub fn from_hectares(ha: f64) -> SquareMetres {
        SquareMetres(ha * Self::PER_HECTARE)
    }

    /// The area in hectares.
    pub fn hectares(self) -> f64 {
        self.0 / Self::PER_HECTARE
    }

    /// The area in 亩.
    pub fn mu(self) -> f64 {
        self.0 / Self::PER_MU
    }
}

impl CubicMetres {
    /// Volume per hectare of `area` (m³/公顷), None on no area.
    pub fn per_hectare(self, area: SquareMetres) -> Option<f64> {
        (area.0 > 0.0).then(|| self.0 / area.0 * SquareMetres::PER_HECTARE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_add_sum_convert_and_serialise_as_bare_numbers() {
        let a = [SquareMetres(6000.0), SquareMetres(4000.0)];
        let total: SquareMetres = a.iter().sum();
        assert_eq!(total, SquareMetres(10_000.0));
        assert_eq!(total.hectares(), 1.0);
        assert!((total.mu() - 15.0).abs() < 1e-12);
        assert_eq!(SquareMetres::from_hectares(2.5), SquareMetres(25_000.0));
        assert_eq!(total - a[0] + -a[1], SquareMetres::ZERO);
        assert_eq!(format!("{total}"), "10000.00 m²");
        assert_eq!(format!("{:.0}", CubicMetres(12.4)), "12 m³");
        assert_eq!(CubicMetres(300.0).per_hectare(SquareMetres(20_000.0)), Some(150.0));
        assert_eq!(CubicMetres(300.0).per_hectare(SquareMetres::ZERO), None);
        assert_eq!(serde_json::to_string(&WanCubicMetres(1.5)).unwrap(), "1.5");
        assert_eq!(serde_json::from_str::<SquareMetres>("2.0").unwrap(), SquareMetres(2.0));
    }
}
