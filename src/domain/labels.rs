//! Enums whose values have a Chinese name on screen, stated once per value: [`labelled!`]
//! declares the enum and its `label()` together, and where the value is stored or sent it gives
//! serde its name from the same statement. Three forms, by how the value is written down:
//!
//! - `codes`: a stable ASCII code on the wire and in the database (`docs/record-format.md`),
//!   the Chinese name read too, as the spelling of schema-1 records: `Intake = "intake" /
//!   "收件中"`. Relabelling such a value keeps the old name after a bar, so that schema-1 records
//!   still read: `Intake = "intake" / "收件" | "收件中"`;
//! - `named`: the Chinese name is the stored name: `Waiting = "等候"`;
//! - `shown`: only shown (serde, if derived, keeps the Rust name): `A = "A岗"`;
//! - `tagged`: like `named`, for values that carry fields (`BCovering { .. } = "B岗顶岗"`); its
//!   `label` takes `&self`.
//!
//! A small macro of our own rather than strum (already built for ratatui): strum's messages and
//! serde's aliases would still name each value twice.

/// Declares an enum of unit values with their Chinese names; see the module documentation.
macro_rules! labelled {
    (codes: $(#[$meta:meta])* $vis:vis enum $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = $code:literal / $label:literal $(| $old:literal)*),* $(,)?
    }) => {
        $(#[$meta])*
        $vis enum $name {
            $($(#[$vmeta])* #[serde(rename = $code, alias = $label $(, alias = $old)*)] $variant,)*
        }
        $crate::domain::labels::label_fn!($name { $($variant => $label),* });
    };
    (named: $(#[$meta:meta])* $vis:vis enum $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = $label:literal),* $(,)?
    }) => {
        $(#[$meta])*
        $vis enum $name {
            $($(#[$vmeta])* #[serde(rename = $label)] $variant,)*
        }
        $crate::domain::labels::label_fn!($name { $($variant => $label),* });
    };
    (shown: $(#[$meta:meta])* $vis:vis enum $name:ident {
        $($(#[$vmeta:meta])* $variant:ident = $label:literal),* $(,)?
    }) => {
        $(#[$meta])*
        $vis enum $name {
            $($(#[$vmeta])* $variant,)*
        }
        $crate::domain::labels::label_fn!($name { $($variant => $label),* });
    };
    (tagged: $(#[$meta:meta])* $vis:vis enum $name:ident {
        $($(#[$vmeta:meta])* $variant:ident $({ $($fields:tt)* })? = $label:literal),* $(,)?
    }) => {
        $(#[$meta])*
        $vis enum $name {
            $($(#[$vmeta])* #[serde(rename = $label)] $variant $({ $($fields)* })?,)*
        }
        $crate::domain::labels::label_ref_fn!($name { $($variant => $label),* });
    };
}

macro_rules! label_ref_fn {
    ($name:ident { $($variant:ident => $label:literal),* }) => {
        impl $name {
            /// The Chinese name, for the screen and paper.
            pub fn label(&self) -> &'static str {
                match self {
                    $(Self::$variant { .. } => $label,)*
                }
            }
        }
    };
}

macro_rules! label_fn {
    ($name:ident { $($variant:ident => $label:literal),* }) => {
        impl $name {
            /// The Chinese name, for the screen and paper.
            pub fn label(self) -> &'static str {
                match self {
                    $(Self::$variant => $label,)*
                }
            }
        }
    };
}

pub(crate) use {label_fn, label_ref_fn, labelled};

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    labelled! { codes:
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        enum Coded {
            /// A doc comment stays on the value.
            First = "first" / "第一",
            Second = "second" / "第二" | "次",
        }
    }

    labelled! { named:
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        enum Named { Waiting = "等候" }
    }

    #[test]
    fn one_statement_gives_the_label_the_code_and_the_old_spelling() {
        assert_eq!(Coded::Second.label(), "第二");
        assert_eq!(serde_json::to_string(&Coded::Second).unwrap(), "\"second\"");
        assert_eq!(serde_json::from_str::<Coded>("\"second\"").unwrap(), Coded::Second);
        assert_eq!(serde_json::from_str::<Coded>("\"第二\"").unwrap(), Coded::Second, "old records read");
        assert_eq!(serde_json::from_str::<Coded>("\"次\"").unwrap(), Coded::Second, "and a label relabelled since");
        assert_eq!(Named::Waiting.label(), "等候");
        assert_eq!(serde_json::to_string(&Named::Waiting).unwrap(), "\"等候\"");
    }
}
