//! A macro for the one-byte enumerations of the protocol (transfer type, execution policy,
//! reject code): named known values, any other byte kept as `Other` so nothing is lost, and a
//! JSON form that is the snake_case name or, for other bytes, the number.

macro_rules! byte_code {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal => $json:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
            /// A value this version does not name, kept as it was on the wire.
            Other(u8),
        }

        impl $name {
            /// The wire byte.
            pub fn to_u8(self) -> u8 {
                match self {
                    $( $name::$variant => $value, )+
                    $name::Other(v) => v,
                }
            }

            /// From the wire byte; bytes this version does not name become `Other`.
            pub fn from_u8(v: u8) -> Self {
                match v {
                    $( $value => $name::$variant, )+
                    other => $name::Other(other),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                match self {
                    $( $name::$variant => s.serialize_str($json), )+
                    $name::Other(v) => s.serialize_u8(*v),
                }
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                #[derive(serde::Deserialize)]
                #[serde(untagged)]
                enum Form<'a> {
                    Number(u8),
                    Name(std::borrow::Cow<'a, str>),
                }
                match Form::deserialize(d)? {
                    Form::Number(v) => Ok($name::from_u8(v)),
                    Form::Name(name) => match name.as_ref() {
                        $( $json => Ok($name::$variant), )+
                        other => Err(serde::de::Error::custom(format!(
                            concat!("unknown ", stringify!($name), " {:?} (expected one of: ",
                                $( $json, " ", )+ "or a number 0-255)"),
                            other
                        ))),
                    },
                }
            }
        }
    };
}

byte_code! {
    /// What the requester wants to do with the quote (request TLV 4).
    pub enum TransferType {
        /// 0: not set; tapd cannot classify such a request.
        Unspecified = 0 => "unspecified",
        /// 1: the requester pays an invoice with the asset: a **sell** request.
        PayInvoice = 1 => "pay_invoice",
        /// 2: the requester receives a payment in the asset: a **buy** request.
        RecvPayment = 2 => "recv_payment",
    }
}

byte_code! {
    /// How a quote must be filled (request TLV 31, v0.8+).
    pub enum ExecutionPolicy {
        /// 0: immediate or cancel; the default when absent.
        ImmediateOrCancel = 0 => "ioc",
        /// 1: fill or kill: the whole maximum or nothing.
        FillOrKill = 1 => "fok",
    }
}

byte_code! {
    /// Why a quote was rejected (reject TLV 5 code byte).
    pub enum RejectCode {
        /// 0: generic; tapd's `NewRejectErr` always uses it.
        Unspecified = 0 => "unspecified",
        /// 1: the price oracle is unavailable.
        PriceOracleUnavailable = 1 => "price_oracle_unavailable",
        /// 2: the minimum fill cannot be met (v0.8+).
        MinFillNotMet = 2 => "min_fill_not_met",
        /// 3: the rate limit is violated (v0.8+).
        PriceBoundMiss = 3 => "price_bound_miss",
        /// 4: fill-or-kill is not viable at the rate (v0.8+).
        FokNotViable = 4 => "fok_not_viable",
        /// 5: the fill exceeds the maximum (v0.8+).
        FillExceedsMax = 5 => "fill_exceeds_max",
    }
}

impl RejectCode {
    /// The message text tapd sends with this code.
    pub fn default_message(self) -> &'static str {
        match self {
            RejectCode::PriceOracleUnavailable => "price oracle unavailable",
            RejectCode::MinFillNotMet => "minimum fill not met",
            RejectCode::PriceBoundMiss => "rate limit constraint violated",
            RejectCode::FokNotViable => "FOK not viable at accepted rate",
            RejectCode::FillExceedsMax => "fill exceeds max amount",
            RejectCode::Unspecified | RejectCode::Other(_) => "unknown reject error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip_and_json() {
        for v in 0..=255u8 {
            assert_eq!(TransferType::from_u8(v).to_u8(), v);
            assert_eq!(ExecutionPolicy::from_u8(v).to_u8(), v);
            assert_eq!(RejectCode::from_u8(v).to_u8(), v);
        }
        assert_eq!(
            serde_json::to_string(&TransferType::RecvPayment).unwrap(),
            "\"recv_payment\""
        );
        assert_eq!(
            serde_json::to_string(&ExecutionPolicy::Other(7)).unwrap(),
            "7"
        );
        assert_eq!(
            serde_json::from_str::<ExecutionPolicy>("\"fok\"").unwrap(),
            ExecutionPolicy::FillOrKill
        );
        assert_eq!(
            serde_json::from_str::<RejectCode>("3").unwrap(),
            RejectCode::PriceBoundMiss
        );
        let err = serde_json::from_str::<TransferType>("\"buy\"").unwrap_err();
        assert!(err.to_string().contains("pay_invoice"), "{err}");
    }
}
