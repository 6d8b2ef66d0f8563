//! The QR code of a letter's verification URL, as a square of dark and light modules that the
//! PDF draws as filled rectangles and the print page as an SVG path (no image formats needed).

use qrcode::{Color, EcLevel, QrCode};

/// A QR code's modules, row by row; `width` modules a side, without the quiet zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrModules {
    /// Modules per side.
    pub width: usize,
    dark: Vec<bool>,
}

impl QrModules {
    /// The code of `text` at error-correction level M (about 15% of it may be damaged and the
    /// code still reads); `None` if the text is too long for a QR code.
    pub fn encode(text: &str) -> Option<QrModules> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).ok()?;
        Some(QrModules {
            width: code.width(),
            dark: code
                .to_colors()
                .into_iter()
                .map(|c| c == Color::Dark)
                .collect(),
        })
    }

    /// Whether the module at column `x`, row `y` is dark.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.width && self.dark.get(y * self.width + x).copied().unwrap_or(false)
    }

    /// The dark runs of each row as `(x, y, length)`: one rectangle per run keeps a drawing small.
    pub fn runs(&self) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::new();
        for y in 0..self.width {
            let mut x = 0;
            while x < self.width {
                if self.is_dark(x, y) {
                    let start = x;
                    while x < self.width && self.is_dark(x, y) {
                        x += 1;
                    }
                    out.push((start, y, x - start));
                } else {
                    x += 1;
                }
            }
        }
        out
    }

    /// An SVG drawing of the code with a four-module quiet zone, one path of unit rectangles.
    pub fn to_svg(&self, label: &str) -> String {
        let side = self.width + 8;
        let mut d = String::new();
        for (x, y, len) in self.runs() {
            d.push_str(&format!("M{} {}h{len}v1h-{len}z", x + 4, y + 4));
        }
        format!(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {side} {side}\" width=\"{px}\" height=\"{px}\" role=\"img\" aria-label=\"{label}\" shape-rendering=\"crispEdges\"><rect width=\"{side}\" height=\"{side}\" fill=\"#fff\"/><path fill=\"#000\" d=\"{d}\"/></svg>",
            px = side * 3,
            label = crate::html::escape(label),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_verification_url_encodes_with_finder_patterns() {
        let q =
            QrModules::encode("https://haechi.example/verify?number=FSC-NAL-2026-0001").unwrap();
        assert!(q.width >= 21 && (q.width - 21) % 4 == 0);
        // The top-left finder pattern: a dark 7x7 ring around a light ring and a dark 3x3 core.
        assert!((0..7).all(|i| q.is_dark(i, 0) && q.is_dark(0, i) && q.is_dark(6, i)));
        assert!(!q.is_dark(1, 1) && q.is_dark(2, 2) && q.is_dark(4, 4));
        let dark: usize = q.runs().iter().map(|r| r.2).sum();
        assert_eq!(
            dark,
            (0..q.width)
                .flat_map(|y| (0..q.width).map(move |x| (x, y)))
                .filter(|(x, y)| q.is_dark(*x, *y))
                .count()
        );
        assert!(q.to_svg("QR").starts_with("<svg"));
    }
}
