//! Spreadsheet formula injection (CSV injection): a cell that begins with `=`, `+`, `-`, `@`, a
//! tab or a carriage return is run as a formula by Excel, LibreOffice and Google Sheets when the
//! exported file is opened. Every CSV Haechi writes passes its cells through [`escape`], which
//! prefixes such a cell with a single quote (OWASP's rule); every CSV Haechi reads passes them
//! through [`unescape`], so an exported file imports back to the same values.
//!
//! The rule is reversible: a value is "risky" when, after any leading single quotes, it begins
//! with one of the trigger characters; only risky values gain the quote, and a cell loses its
//! first quote only when what follows it is risky. So `'=x` (a value that already began with a
//! quote) is written `''=x` and read back as `'=x`.

/// Characters that make a spreadsheet read a cell as a formula (OWASP "CSV Injection").
pub const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

fn risky(v: &str) -> bool {
    v.trim_start_matches('\'').starts_with(TRIGGERS)
}

/// The cell to write for `value`: unchanged, or with a leading `'` when a spreadsheet would
/// otherwise read it as a formula.
pub fn escape(value: &str) -> std::borrow::Cow<'_, str> {
    if risky(value) {
        std::borrow::Cow::Owned(format!("'{value}"))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

/// The value a cell written by [`escape`] stands for.
pub fn unescape(cell: &str) -> &str {
    match cell.strip_prefix('\'') {
        Some(rest) if risky(rest) => rest,
        _ => cell,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(value: &str, cell: &str) {
        assert_eq!(escape(value), cell, "escape({value:?})");
        assert_eq!(unescape(cell), value, "unescape({cell:?})");
    }

    #[test]
    fn formula_cells_gain_a_quote_and_read_back() {
        check(
            "=HYPERLINK(\"http://x\",\"y\")",
            "'=HYPERLINK(\"http://x\",\"y\")",
        );
        check("+82-2-1234-5678", "'+82-2-1234-5678");
        check("-5", "'-5");
        check("@SUM(A1)", "'@SUM(A1)");
        check("\tx", "'\tx");
        check("\rx", "'\rx");
        check("'=x", "''=x");
        check("''+x", "'''+x");
    }

    #[test]
    fn ordinary_cells_are_unchanged() {
        for v in [
            "",
            "KB국민은행",
            "1234",
            "a=b",
            "'quoted",
            "'",
            "x-1",
            "2026-03-01",
        ] {
            check(v, v);
        }
    }
}
