//! Anonymisation of sector statistics shown to institutions (C9): a table of cells, each the sum
//! of some institutions' contributions, with its row, column and grand totals, is published only
//! where no cell — and nothing derivable from what is published — rests on fewer than `k`
//! institutions or is dominated by its largest few contributors.
//!
//! Three rules, all from the policy's `[sharing]`:
//! - **threshold**: a cell needs contributions from at least `anonymity_k` institutions;
//! - **dominance** (n, p): a cell is withheld when its `top_n` largest contributors make up more
//!   than `max_percent` of its value;
//! - **complementary suppression**: in a line (row, column, the row of column totals, the column
//!   of row totals) whose total is published, the withheld cells together are recomputable as
//!   "total minus the published cells"; so that sum must itself pass both rules, else more cells
//!   of the line (the smallest first) are withheld, and when none is left, the line's total.
//!
//! Cells with no contribution at all are structural zeros: published as 0, they say nothing about
//! any institution. No I/O: plain values in, the published table with reasons out.

use std::collections::BTreeMap;

use crate::DominanceRule;

/// The rules of one publication.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AnonymityRule {
    pub k: u32,
    pub dominance: DominanceRule,
}

impl AnonymityRule {
    pub fn of(policy: &crate::Policy) -> AnonymityRule {
        AnonymityRule {
            k: policy.sharing.anonymity_k,
            dominance: policy.sharing.dominance,
        }
    }

    /// Whether an aggregate of these contributions (institution -> value, values ≥ 0) may be
    /// published on its own.
    pub fn safe(&self, contributions: &BTreeMap<i64, f64>) -> Option<Withheld> {
        let present: Vec<f64> = contributions
            .values()
            .copied()
            .filter(|v| *v > 0.0)
            .collect();
        if present.len() < self.k as usize {
            return Some(Withheld::TooFewInstitutions);
        }
        let total: f64 = present.iter().sum();
        let mut sorted = present;
        sorted.sort_by(|a, b| b.total_cmp(a));
        let top: f64 = sorted.iter().take(self.dominance.top_n as usize).sum();
        if total > 0.0 && top * 100.0 > self.dominance.max_percent * total {
            return Some(Withheld::Dominated);
        }
        None
    }
}

/// Why a cell is not published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Withheld {
    /// Fewer than k institutions contributed.
    TooFewInstitutions,
    /// The largest contributors make up most of it.
    Dominated,
    /// Withheld so that another withheld cell cannot be recomputed from the totals.
    Complementary,
}

/// One cell of the input: each institution's contribution (summed when it appears twice).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    pub contributions: BTreeMap<i64, f64>,
}

impl Cell {
    pub fn add(&mut self, institution: i64, value: f64) {
        *self.contributions.entry(institution).or_insert(0.0) += value.max(0.0);
    }

    pub fn value(&self) -> f64 {
        self.contributions.values().sum()
    }

    fn merge(&mut self, other: &Cell) {
        for (i, v) in &other.contributions {
            *self.contributions.entry(*i).or_insert(0.0) += v;
        }
    }

    fn is_empty(&self) -> bool {
        self.contributions.values().all(|v| *v <= 0.0)
    }
}

/// A published cell: its value, or why it is withheld; and how many institutions it rests on
/// (shown only with a published value).
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub value: Option<f64>,
    pub withheld: Option<Withheld>,
    pub institutions: usize,
}

/// The table as published: cells `[row][column]`, row totals, column totals, grand total.
#[derive(Debug, Clone, PartialEq)]
pub struct PublishedTable {
    pub cells: Vec<Vec<Published>>,
    pub row_totals: Vec<Published>,
    pub column_totals: Vec<Published>,
    pub total: Published,
}

/// A position (row, column) in the extended grid.
type Pos = (usize, usize);

/// A line of the extended grid: its member positions and its total's position.
type Line = (Vec<Pos>, Pos);

/// Positions in the extended grid: cells, then a column of row totals (index `cols`), a row of
/// column totals (index `rows`), and the grand total at (`rows`, `cols`).
struct Grid {
    rows: usize,
    cols: usize,
    cells: Vec<Vec<Cell>>,
    withheld: Vec<Vec<Option<Withheld>>>,
}

impl Grid {
    /// The lines of the extended grid: each is its member positions and its total's position.
    fn lines(&self) -> Vec<Line> {
        let mut out = Vec::new();
        for r in 0..=self.rows {
            out.push(((0..self.cols).map(|c| (r, c)).collect(), (r, self.cols)));
        }
        for c in 0..=self.cols {
            out.push(((0..self.rows).map(|r| (r, c)).collect(), (self.rows, c)));
        }
        out
    }
}

/// Applies the threshold, dominance and complementary suppression to a table of `cells[row][col]`.
pub fn protect(rule: &AnonymityRule, cells: &[Vec<Cell>]) -> PublishedTable {
    let rows = cells.len();
    let cols = cells.first().map_or(0, Vec::len);
    // The extended grid with totals.
    let mut ext: Vec<Vec<Cell>> = vec![vec![Cell::default(); cols + 1]; rows + 1];
    for (r, row) in cells.iter().enumerate() {
        for c in 0..cols {
            let cell = row.get(c).cloned().unwrap_or_default();
            ext[r][cols].merge(&cell);
            ext[rows][c].merge(&cell);
            ext[rows][cols].merge(&cell);
            ext[r][c] = cell;
        }
    }
    let withheld: Vec<Vec<Option<Withheld>>> = ext
        .iter()
        .map(|row| {
            row.iter()
                .map(|cell| {
                    if cell.is_empty() {
                        None
                    } else {
                        rule.safe(&cell.contributions)
                    }
                })
                .collect()
        })
        .collect();
    let mut grid = Grid {
        rows,
        cols,
        cells: ext,
        withheld,
    };
    let lines = grid.lines();
    loop {
        let mut changed = false;
        for (members, total) in &lines {
            if grid.withheld[total.0][total.1].is_some() {
                continue;
            }
            let hidden: Vec<(usize, usize)> = members
                .iter()
                .copied()
                .filter(|(r, c)| grid.withheld[*r][*c].is_some() && !grid.cells[*r][*c].is_empty())
                .collect();
            if hidden.is_empty() {
                continue;
            }
            let mut union = Cell::default();
            for (r, c) in &hidden {
                union.merge(&grid.cells[*r][*c]);
            }
            if rule.safe(&union.contributions).is_none() {
                continue;
            }
            // Withhold the smallest published, non-empty member; else the line's total.
            let next = members
                .iter()
                .copied()
                .filter(|(r, c)| grid.withheld[*r][*c].is_none() && !grid.cells[*r][*c].is_empty())
                .min_by(|a, b| {
                    grid.cells[a.0][a.1]
                        .value()
                        .total_cmp(&grid.cells[b.0][b.1].value())
                        .then(a.cmp(b))
                });
            let (r, c) = next.unwrap_or(*total);
            grid.withheld[r][c] = Some(Withheld::Complementary);
            changed = true;
        }
        if !changed {
            break;
        }
    }
    let out = |r: usize, c: usize| -> Published {
        let cell = &grid.cells[r][c];
        match grid.withheld[r][c] {
            Some(w) => Published {
                value: None,
                withheld: Some(w),
                institutions: 0,
            },
            None => Published {
                value: Some(cell.value()),
                withheld: None,
                institutions: cell.contributions.values().filter(|v| **v > 0.0).count(),
            },
        }
    };
    PublishedTable {
        cells: (0..rows)
            .map(|r| (0..cols).map(|c| out(r, c)).collect())
            .collect(),
        row_totals: (0..rows).map(|r| out(r, cols)).collect(),
        column_totals: (0..cols).map(|c| out(rows, c)).collect(),
        total: out(rows, cols),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule() -> AnonymityRule {
        AnonymityRule {
            k: 3,
            dominance: DominanceRule {
                top_n: 2,
                max_percent: 90.0,
            },
        }
    }

    fn cell(parts: &[(i64, f64)]) -> Cell {
        let mut c = Cell::default();
        for (i, v) in parts {
            c.add(*i, *v);
        }
        c
    }

    #[test]
    fn threshold_and_dominance() {
        let r = rule();
        assert_eq!(
            r.safe(&cell(&[(1, 5.0), (2, 5.0)]).contributions),
            Some(Withheld::TooFewInstitutions)
        );
        assert_eq!(
            r.safe(&cell(&[(1, 50.0), (2, 45.0), (3, 5.0)]).contributions),
            Some(Withheld::Dominated)
        );
        assert_eq!(
            r.safe(&cell(&[(1, 40.0), (2, 40.0), (3, 20.0)]).contributions),
            None
        );
    }

    #[test]
    fn a_lone_withheld_cell_takes_a_partner_in_its_row() {
        // Row 0: one cell of a single institution, two safe cells; its total is safe.
        let a = cell(&[(1, 4.0)]);
        let b = cell(&[(2, 10.0), (3, 10.0), (4, 10.0)]);
        let c = cell(&[(5, 20.0), (6, 20.0), (7, 20.0)]);
        let t = protect(&rule(), &[vec![a, b, c]]);
        assert_eq!(t.cells[0][0].withheld, Some(Withheld::TooFewInstitutions));
        assert_eq!(t.cells[0][1].withheld, Some(Withheld::Complementary));
        assert!(t.cells[0][2].value.is_some());
        assert!(t.row_totals[0].value.is_some());
    }

    /// A seeded generator, so the property test needs no extra crate and every run is the same.
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % n.max(1)
        }
    }

    /// Property: for random tables, no published cell with contributors rests on fewer than k
    /// institutions or breaks dominance, and in every line whose total is published, the withheld
    /// cells together (what "total minus published" recomputes) pass both rules too.
    #[test]
    fn nothing_published_or_derivable_breaks_the_rules() {
        let mut g = Lcg(0x005e_ed15);
        for case in 0..3000 {
            let k = 2 + g.next(3) as u32;
            let rule = AnonymityRule {
                k,
                dominance: DominanceRule {
                    top_n: 1 + g.next(2) as u32,
                    max_percent: [60.0, 75.0, 90.0][g.next(3) as usize],
                },
            };
            let rows = 1 + g.next(5) as usize;
            let cols = 1 + g.next(5) as usize;
            let institutions = 1 + g.next(10) as i64;
            let mut cells = vec![vec![Cell::default(); cols]; rows];
            for row in cells.iter_mut() {
                for c in row.iter_mut() {
                    for i in 0..institutions {
                        if g.next(3) == 0 {
                            let big = g.next(4) == 0;
                            c.add(i, (1 + g.next(if big { 1000 } else { 20 })) as f64);
                        }
                    }
                }
            }
            let t = protect(&rule, &cells);
            // Rebuild the extended grid to check against.
            let mut ext = vec![vec![Cell::default(); cols + 1]; rows + 1];
            for r in 0..rows {
                for c in 0..cols {
                    let x = cells[r][c].clone();
                    ext[r][cols].merge(&x);
                    ext[rows][c].merge(&x);
                    ext[rows][cols].merge(&x);
                    ext[r][c] = x;
                }
            }
            let published = |r: usize, c: usize| -> &Published {
                if r == rows && c == cols {
                    &t.total
                } else if r == rows {
                    &t.column_totals[c]
                } else if c == cols {
                    &t.row_totals[r]
                } else {
                    &t.cells[r][c]
                }
            };
            for (r, ext_row) in ext.iter().enumerate() {
                for (c, cell) in ext_row.iter().enumerate() {
                    let p = published(r, c);
                    if p.value.is_some() && !cell.is_empty() {
                        assert_eq!(
                            rule.safe(&cell.contributions),
                            None,
                            "case {case}: published cell ({r}, {c}) breaks the rules"
                        );
                    }
                }
            }
            let grid = Grid {
                rows,
                cols,
                cells: Vec::new(),
                withheld: Vec::new(),
            };
            for (members, total) in grid.lines() {
                if published(total.0, total.1).value.is_none() {
                    continue;
                }
                let mut union = Cell::default();
                let mut any = false;
                for (r, c) in members {
                    if published(r, c).value.is_none() {
                        union.merge(&ext[r][c]);
                        any = true;
                    }
                }
                if any && !union.is_empty() {
                    assert_eq!(
                        rule.safe(&union.contributions),
                        None,
                        "case {case}: withheld cells of a line are recomputable from its total"
                    );
                }
            }
        }
    }
}
