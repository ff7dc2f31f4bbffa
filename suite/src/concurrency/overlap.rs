//! How much a history's operations overlapped in time: the evidence that a pass means something.
//!
//! A checker that passes a history in which no two requests were ever in flight together has
//! shown nothing about concurrency. [`overlap`] counts the pairs of operations whose windows
//! intersect (touching ends do not count), the pairs of turns among them (real contention for
//! the version), and the most operations in flight at once, so that tests and summaries can
//! assert that the workload really raced.
//!
//! Counting pairs naively is quadratic; instead the invocation and return instants are sorted
//! separately and merged: when an operation starts, every operation started before it and not
//! yet returned overlaps it. `O(n log n)`.

use super::history::{History, Nanos};

/// Overlap measures of one history.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Overlap {
    /// Pairs of operations whose windows intersect.
    pub pairs: u64,
    /// Pairs of turns (writes; AMP messages) whose windows intersect.
    pub turn_pairs: u64,
    /// The most operations in flight at one instant.
    pub max_in_flight: usize,
}

/// Overlapping pairs and peak concurrency among windows `[start, end)`.
fn sweep(mut starts: Vec<Nanos>, mut ends: Vec<Nanos>) -> (u64, usize) {
    starts.sort_unstable();
    ends.sort_unstable();
    let (mut pairs, mut peak, mut ended) = (0u64, 0usize, 0usize);
    for (started_before, &s) in starts.iter().enumerate() {
        while ended < ends.len() && ends[ended] <= s {
            ended += 1;
        }
        let in_flight = started_before.saturating_sub(ended);
        pairs += in_flight as u64;
        peak = peak.max(in_flight + 1);
    }
    (pairs, peak)
}

/// Measures how much the operations of `history` overlapped. Windows are taken as recorded
/// (an indeterminate operation ends when its client gave up); an empty window counts as one
/// nanosecond.
pub fn overlap(history: &History) -> Overlap {
    let window = |o: &super::history::Operation| (o.invoked, o.returned.max(o.invoked + 1));
    let (starts, ends): (Vec<_>, Vec<_>) = history.ops.iter().map(window).unzip();
    let (pairs, max_in_flight) = sweep(starts, ends);
    let (starts, ends): (Vec<_>, Vec<_>) = history
        .ops
        .iter()
        .filter(|o| o.op.is_write())
        .map(window)
        .unzip();
    let (turn_pairs, _) = sweep(starts, ends);
    Overlap {
        pairs,
        turn_pairs,
        max_in_flight,
    }
}

#[cfg(test)]
mod tests {
    use super::sweep;

    #[test]
    fn counts_intersecting_pairs_only() {
        // [0,10) [5,15) [10,20) [30,40): pairs (0,1) and (1,2); [0,10) and [10,20) only touch.
        let (pairs, peak) = sweep(vec![0, 5, 10, 30], vec![10, 15, 20, 40]);
        assert_eq!((pairs, peak), (2, 2));
    }

    #[test]
    fn nested_windows() {
        let (pairs, peak) = sweep(vec![0, 1, 2], vec![100, 3, 4]);
        assert_eq!((pairs, peak), (3, 3));
    }
}
