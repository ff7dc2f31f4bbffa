//! Structured-field dictionaries (RFC 8941) read strictly, for `Signature-Input`, `Signature` and
//! `Content-Digest`.
//!
//! RFC 8941 resolves a repeated dictionary key or parameter by keeping the last one. For
//! security headers that is an ambiguity an attacker can exploit (a proxy and the Tool may read
//! different values), so the profile rejects repeats instead. `sfv`'s own parsed types would hide
//! them, hence this small visitor that records every key as it is read.

use std::cell::RefCell;
use std::convert::Infallible;
use std::fmt;

use sfv::visitor::{
    DictionaryVisitor, EntryVisitor, InnerListVisitor, ItemVisitor, ParameterVisitor,
};
use sfv::{BareItemFromInput, KeyRef, Parser, Version};

/// A bare item, owned.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Integer(i64),
    Decimal(f64),
    String(String),
    Token(String),
    Bytes(Vec<u8>),
    Bool(bool),
}

/// Parameters in the order they were written.
pub(crate) type Params = Vec<(String, Value)>;

/// A dictionary member: an item or an inner list, each with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Member {
    Item(Value, Params),
    InnerList(Vec<(Value, Params)>, Params),
}

/// A dictionary in the order it was written.
pub(crate) type Dictionary = Vec<(String, Member)>;

#[derive(Debug)]
struct Repeated(String);

impl fmt::Display for Repeated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "repeated key {:?}", self.0)
    }
}

impl std::error::Error for Repeated {}

/// Why a header value is not an acceptable dictionary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SfError {
    /// A dictionary key appears twice.
    RepeatedKey(String),
    /// A parameter appears twice on one item or inner list.
    RepeatedParameter(String),
    /// Not an RFC 8941 dictionary.
    Syntax(String),
}

impl fmt::Display for SfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RepeatedKey(k) => write!(f, "repeated dictionary key {k:?}"),
            Self::RepeatedParameter(k) => write!(f, "repeated parameter {k:?}"),
            Self::Syntax(m) => write!(f, "{m}"),
        }
    }
}

type Seen<'a> = &'a RefCell<Option<SfError>>;

/// Parses `input` as an RFC 8941 dictionary, rejecting repeated keys at every level.
pub(crate) fn parse_dictionary(input: &str) -> Result<Dictionary, SfError> {
    let seen = RefCell::new(None);
    let mut out = DictVisitor {
        entries: Vec::new(),
        seen: &seen,
    };
    let parsed = Parser::new(input)
        .with_version(Version::Rfc8941)
        .parse_dictionary_with_visitor(&mut out);
    let entries = out.entries;
    if let Some(repeat) = seen.into_inner() {
        return Err(repeat);
    }
    parsed.map_err(|e| SfError::Syntax(e.to_string()))?;
    Ok(entries)
}

fn owned(v: BareItemFromInput<'_>) -> Option<Value> {
    Some(match v {
        BareItemFromInput::Integer(i) => Value::Integer(i64::from(i)),
        BareItemFromInput::Decimal(d) => Value::Decimal(f64::from(d)),
        BareItemFromInput::String(s) => Value::String(s.as_str().to_owned()),
        BareItemFromInput::Token(t) => Value::Token(t.as_str().to_owned()),
        BareItemFromInput::ByteSequence(b) => Value::Bytes(b),
        BareItemFromInput::Boolean(b) => Value::Bool(b),
        // Not produced in RFC 8941 mode.
        BareItemFromInput::Date(_) | BareItemFromInput::DisplayString(_) => return None,
    })
}

struct DictVisitor<'s> {
    entries: Dictionary,
    seen: Seen<'s>,
}

fn repeated(seen: Seen<'_>, e: SfError, key: String) -> Repeated {
    seen.borrow_mut().get_or_insert(e);
    Repeated(key)
}

impl<'de> DictionaryVisitor<'de> for &mut DictVisitor<'_> {
    type Out = ();
    type Error = Repeated;

    fn entry(&mut self, key: &'de KeyRef) -> Result<impl EntryVisitor<'de>, Self::Error> {
        let key = key.as_str().to_owned();
        let seen = self.seen;
        if self.entries.iter().any(|(k, _)| *k == key) {
            return Err(repeated(seen, SfError::RepeatedKey(key.clone()), key));
        }
        self.entries
            .push((key, Member::Item(Value::Bool(true), Vec::new())));
        let slot = self.entries.last_mut().map(|(_, m)| m);
        Ok(slot.map(|slot| EntrySlot { slot, seen }))
    }

    fn finish(self) -> Result<(), Self::Error> {
        Ok(())
    }
}

struct EntrySlot<'a> {
    slot: &'a mut Member,
    seen: Seen<'a>,
}

impl<'de, 'a> EntryVisitor<'de> for EntrySlot<'a> {
    type Error = Infallible;

    fn item(self) -> Result<impl ItemVisitor<'de>, Self::Error> {
        Ok(ItemSlot {
            slot: self.slot,
            seen: self.seen,
        })
    }

    fn inner_list(self) -> Result<impl InnerListVisitor<'de>, Self::Error> {
        *self.slot = Member::InnerList(Vec::new(), Vec::new());
        Ok(ListSlot {
            slot: self.slot,
            seen: self.seen,
        })
    }
}

struct ItemSlot<'a> {
    slot: &'a mut Member,
    seen: Seen<'a>,
}

impl<'de, 'a> ItemVisitor<'de> for ItemSlot<'a> {
    type Out = ();
    type Error = Repeated;

    fn bare_item(
        self,
        bare_item: BareItemFromInput<'de>,
    ) -> Result<impl ParameterVisitor<'de, Out = ()>, Self::Error> {
        let value = owned(bare_item).unwrap_or(Value::Bool(false));
        *self.slot = Member::Item(value, Vec::new());
        let params = match self.slot {
            Member::Item(_, p) | Member::InnerList(_, p) => p,
        };
        Ok(ParamSlot {
            params,
            seen: self.seen,
        })
    }
}

struct ListSlot<'a> {
    slot: &'a mut Member,
    seen: Seen<'a>,
}

impl<'de, 'a> InnerListVisitor<'de> for ListSlot<'a> {
    type Error = Infallible;

    fn item(&mut self) -> Result<impl ItemVisitor<'de>, Self::Error> {
        let items = match self.slot {
            Member::InnerList(items, _) => Some(items),
            Member::Item(..) => None,
        };
        let seen = self.seen;
        Ok(items.map(|items| ListItemSlot { items, seen }))
    }

    fn finish(self) -> Result<impl ParameterVisitor<'de>, Self::Error> {
        let params = match self.slot {
            Member::Item(_, p) | Member::InnerList(_, p) => p,
        };
        Ok(ParamSlot {
            params,
            seen: self.seen,
        })
    }
}

struct ListItemSlot<'a> {
    items: &'a mut Vec<(Value, Params)>,
    seen: Seen<'a>,
}

impl<'de, 'a> ItemVisitor<'de> for ListItemSlot<'a> {
    type Out = ();
    type Error = Repeated;

    fn bare_item(
        self,
        bare_item: BareItemFromInput<'de>,
    ) -> Result<impl ParameterVisitor<'de, Out = ()>, Self::Error> {
        let value = owned(bare_item).unwrap_or(Value::Bool(false));
        self.items.push((value, Vec::new()));
        let params = self.items.last_mut().map(|(_, p)| p);
        let seen = self.seen;
        Ok(UnitOut(params.map(|params| ParamSlot { params, seen })))
    }
}

/// Adapts `Option<ParamSlot>` (whose `Out` is `Option<()>`) to `Out = ()`.
struct UnitOut<'a>(Option<ParamSlot<'a>>);

impl<'de, 'a> ParameterVisitor<'de> for UnitOut<'a> {
    type Out = ();
    type Error = Repeated;

    fn parameter(
        &mut self,
        key: &'de KeyRef,
        value: BareItemFromInput<'de>,
    ) -> Result<(), Self::Error> {
        match &mut self.0 {
            Some(p) => p.parameter(key, value),
            None => Ok(()),
        }
    }

    fn finish(self) -> Result<(), Self::Error> {
        Ok(())
    }
}

struct ParamSlot<'a> {
    params: &'a mut Params,
    seen: Seen<'a>,
}

impl<'de, 'a> ParameterVisitor<'de> for ParamSlot<'a> {
    type Out = ();
    type Error = Repeated;

    fn parameter(
        &mut self,
        key: &'de KeyRef,
        value: BareItemFromInput<'de>,
    ) -> Result<(), Self::Error> {
        let key = key.as_str().to_owned();
        if self.params.iter().any(|(k, _)| *k == key) {
            return Err(repeated(
                self.seen,
                SfError::RepeatedParameter(key.clone()),
                key,
            ));
        }
        let value = owned(value).unwrap_or(Value::Bool(false));
        self.params.push((key, value));
        Ok(())
    }

    fn finish(self) -> Result<(), Self::Error> {
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_signature_input() {
        let d = parse_dictionary(r#"sig1=("@method" "@target-uri");created=1;keyid="k""#).unwrap();
        assert_eq!(d.len(), 1);
        let Member::InnerList(items, params) = &d[0].1 else {
            panic!("not a list")
        };
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].0, Value::String("@method".into()));
        assert_eq!(params[0], ("created".into(), Value::Integer(1)));
    }

    #[test]
    fn rejects_repeats() {
        assert_eq!(
            parse_dictionary("a=1, a=2"),
            Err(SfError::RepeatedKey("a".into()))
        );
        assert_eq!(
            parse_dictionary("a=1;x;x"),
            Err(SfError::RepeatedParameter("x".into()))
        );
        assert!(parse_dictionary("a=(1;x;x)").is_err());
        assert!(parse_dictionary("a=(1 2);p=1;p=2").is_err());
        assert!(parse_dictionary("a=1, b=:AAAA:").is_ok());
        assert!(parse_dictionary("a=@1").is_err(), "dates are RFC 9651 only");
    }
}
