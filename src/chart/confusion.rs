//! The final test's confusion matrix as the page draws it: a cell per (true digit, predicted
//! digit) with its count, its share of the true digit's row (row-normalised, so a rare digit's
//! mistakes show as plainly as a common one's), and a shade on the accuracy views' viridis ramp.
//! Shares are shaded on a log scale: the diagonal holds ~99 % of each row and the mistakes a
//! fraction of a percent, and on a linear ramp every mistake would look alike. The one-line
//! summary is the matrix's text alternative.

use super::accuracy_scale::ramp;
use crate::data::mnist::CLASSES;
use crate::protocol::TestReport;

/// The smallest share the ramp tells apart from none (one image in ten thousand).
const SMALLEST_SHARE: f64 = 1e-4;

#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub truth: u8,
    pub predicted: u8,
    pub count: u32,
    /// `count` over the true digit's test images.
    pub share: f64,
    /// `#rrggbb`, white for an empty cell.
    pub fill: String,
    /// Whether the count is written in white (on the dark end of the ramp).
    pub light_text: bool,
}

/// The 100 cells, row by true digit.
pub fn cells(report: &TestReport) -> Vec<Cell> {
    let mut cells = Vec::with_capacity(CLASSES * CLASSES);
    for truth in 0..CLASSES {
        let row: u32 = (0..CLASSES).map(|p| report.count(truth, p)).sum();
        for predicted in 0..CLASSES {
            let count = report.count(truth, predicted);
            let share = if row == 0 { 0.0 } else { count as f64 / row as f64 };
            let t = shade(share);
            let fill = if count == 0 { "#ffffff".to_string() } else { ramp(t) };
            cells.push(Cell { truth: truth as u8, predicted: predicted as u8, count, share, fill, light_text: count > 0 && t > 0.55 });
        }
    }
    cells
}

/// Where a share sits on the ramp: log-scaled from one in ten thousand (0) to all (1).
pub fn shade(share: f64) -> f64 {
    if share <= 0.0 {
        return 0.0;
    }
    (share.max(SMALLEST_SHARE) / SMALLEST_SHARE).ln() / (1.0 / SMALLEST_SHARE).ln()
}

/// The most frequent mistake: (true digit, predicted digit, count), None if there is none.
pub fn worst_mistake(report: &TestReport) -> Option<(u8, u8, u32)> {
    let mut worst = None;
    for truth in 0..CLASSES {
        for predicted in (0..CLASSES).filter(|&p| p != truth) {
            let count = report.count(truth, predicted);
            if count > 0 && worst.is_none_or(|(_, _, c)| count > c) {
                worst = Some((truth as u8, predicted as u8, count));
            }
        }
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(confusion: Vec<u32>) -> TestReport {
        TestReport { test_accuracy: 0.0, test_loss: 0.0, train_images: 0, epochs: 1, confusion, misclassified: vec![] }
    }

    #[test]
    fn rows_are_normalised_and_mistakes_stand_out_from_empty_cells() {
        let mut confusion = vec![0; 100];
        confusion[0] = 990; // 0 read as 0
        confusion[9] = 10; // 0 read as 9
        confusion[11] = 5; // a rarer 1, all right
        let cells = cells(&report(confusion.clone()));
        assert_eq!(cells.len(), 100);
        assert_eq!((cells[9].truth, cells[9].predicted, cells[9].count), (0, 9, 10));
        assert!((cells[9].share - 0.01).abs() < 1e-12 && (cells[11].share - 1.0).abs() < 1e-12);
        assert_eq!(cells[1].fill, "#ffffff", "no image: no colour");
        assert_ne!(cells[9].fill, "#ffffff", "a 1 % mistake is visibly shaded");
        assert!(shade(0.01) > 0.4 && shade(0.01) < shade(0.99) && shade(1.0) == 1.0);
        assert!(cells[0].light_text && !cells[9].light_text);
        assert_eq!(worst_mistake(&report(confusion)), Some((0, 9, 10)));
        assert_eq!(worst_mistake(&report(vec![0; 100])), None);
    }
}
