//! RFC 8785 JSON Canonicalization Scheme (JCS), and a strict JSON reader for signed files.
//!
//! The signature of a letter covers the JCS bytes of its `letter` object, so this module must be
//! exact: object members sorted by their names' UTF-16 code units, no insignificant whitespace,
//! strings escaped as ECMAScript `JSON.stringify` does, numbers in ECMAScript's shortest
//! round-trip form. It must not guess: duplicate member names (forbidden by I-JSON, which JCS
//! requires) are an error in [`parse_strict`] rather than "last one wins", because two verifiers
//! that resolve duplicates differently could show two different letters for one signature.
//!
//! No I/O here: bytes in, bytes out.

use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why a value could not be canonicalised.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JcsError {
    /// JCS numbers are IEEE-754 doubles; NaN and infinities have no JSON form.
    #[error("number at {path} is not finite and has no JSON form")]
    NonFiniteNumber {
        /// JSON path (`$.a.b[2]`) of the offending number.
        path: String,
    },
}

impl JcsError {
    /// Stable machine-readable code.
    pub fn code(&self) -> &'static str {
        match self {
            JcsError::NonFiniteNumber { .. } => "jcs.non_finite_number",
        }
    }
}

/// The canonical (RFC 8785) bytes of a JSON value.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, JcsError> {
    let mut out = Vec::with_capacity(256);
    let mut path = String::from("$");
    write_value(value, &mut out, &mut path)?;
    Ok(out)
}

/// Parse JSON text and return its canonical bytes, rejecting duplicate member names.
pub fn canonicalize_str(text: &str) -> Result<Vec<u8>, CanonicalizeError> {
    let value = parse_strict(text.as_bytes()).map_err(CanonicalizeError::Parse)?;
    canonicalize(&value).map_err(CanonicalizeError::Jcs)
}

/// Error of [`canonicalize_str`]: either the text is not (I-)JSON or the value has no JCS form.
#[derive(Debug, thiserror::Error)]
pub enum CanonicalizeError {
    /// The input is not JSON, or repeats a member name.
    #[error("{0}")]
    Parse(serde_json::Error),
    /// The value cannot be canonicalised.
    #[error(transparent)]
    Jcs(JcsError),
}

fn write_value(value: &Value, out: &mut Vec<u8>, path: &mut String) -> Result<(), JcsError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, out, path)?,
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                write_value(item, out, path)?;
                path.truncate(len);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            // serde_json's map order depends on a cargo feature (sorted by UTF-8 bytes, or
            // insertion order with `preserve_order`); JCS wants UTF-16 code-unit order, which
            // differs from UTF-8 order for characters above U+FFFF, so sort here, always.
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
            out.push(b'{');
            for (i, (name, member)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(name, out);
                out.push(b':');
                let len = path.len();
                path.push('.');
                path.push_str(name);
                write_value(member, out, path)?;
                path.truncate(len);
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_number(n: &Number, out: &mut Vec<u8>, path: &str) -> Result<(), JcsError> {
    // Every JSON number is an IEEE-754 double in JCS, so integers beyond 2^53 round exactly as
    // they would in ECMAScript; going through f64 is the specified behaviour, not a shortcut.
    let f = if let Some(i) = n.as_i64() {
        i as f64
    } else if let Some(u) = n.as_u64() {
        u as f64
    } else {
        n.as_f64().unwrap_or(f64::NAN)
    };
    let text = format_number(f).map_err(|_| JcsError::NonFiniteNumber {
        path: path.to_owned(),
    })?;
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

/// A double in ECMAScript's `Number.prototype.toString` form, as JCS requires
/// (`-0` prints as `0`; NaN and infinities are errors).
pub fn format_number(f: f64) -> Result<String, JcsError> {
    if !f.is_finite() {
        return Err(JcsError::NonFiniteNumber {
            path: "$".to_owned(),
        });
    }
    if f == 0.0 {
        return Ok("0".to_owned());
    }
    let mut buf = ryu_js::Buffer::new();
    Ok(buf.format_finite(f).to_owned())
}

fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    for ch in s.chars() {
        match ch {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{08}' => out.extend_from_slice(b"\\b"),
            '\u{09}' => out.extend_from_slice(b"\\t"),
            '\u{0A}' => out.extend_from_slice(b"\\n"),
            '\u{0C}' => out.extend_from_slice(b"\\f"),
            '\u{0D}' => out.extend_from_slice(b"\\r"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut tmp = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
            }
        }
    }
    out.push(b'"');
}

/// Parse JSON bytes into a [`Value`], failing on duplicate member names and trailing data.
///
/// The error carries serde_json's line and column of the offending place.
pub fn parse_strict(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue.deserialize(&mut de)?;
    de.end()?;
    Ok(value)
}

struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(StrictVisitor)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("number is not finite"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(name) = access.next_key::<String>()? {
            if map.contains_key(&name) {
                return Err(de::Error::custom(format!(
                    "duplicate member name {name:?} (I-JSON forbids it)"
                )));
            }
            let value = access.next_value_seed(StrictValue)?;
            map.insert(name, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expect: &str) {
        let got = canonicalize_str(input).unwrap();
        assert_eq!(String::from_utf8(got).unwrap(), expect, "input: {input}");
    }

    #[test]
    fn scalars_and_escapes() {
        check("  null ", "null");
        check("[true,false]", "[true,false]");
        check(r#""\u00e9\u0001\u001f\/""#, "\"é\\u0001\\u001f/\"");
        check(r#""\b\f\n\r\t\"\\""#, r#""\b\f\n\r\t\"\\""#);
        check(r#""\u20ac\ud83d\ude00""#, "\"€😀\"");
        check("-0", "0");
        check("-0.0", "0");
        check("1E2", "100");
        check("9007199254740993", "9007199254740992");
    }

    #[test]
    fn duplicate_names_are_rejected() {
        let err = parse_strict(br#"{"a":1,"b":{"c":1,"c":2}}"#).unwrap_err();
        assert!(
            err.to_string().contains("duplicate member name \"c\""),
            "{err}"
        );
        assert_eq!(err.line(), 1);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let deep = "[".repeat(100_000) + &"]".repeat(100_000);
        let err = parse_strict(deep.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("recursion limit"), "{err}");
    }

    #[test]
    fn trailing_data_is_rejected() {
        assert!(parse_strict(b"{} {}").is_err());
    }
}
