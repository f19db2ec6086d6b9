//! Execution segments (k6's idea, for running one test from several
//! machines): `--segment i/n` owns every n-th VU and every n-th scheduled
//! iteration, starting at the i-th. Pure arithmetic; it never starts VUs.
//!
//! Striping by index keeps the math exact: the n segments of a count add
//! up to that count, and no VU or iteration belongs to two segments.

use std::fmt;
use std::str::FromStr;

/// The share `index`/`count` of a test (1-based). `1/1` is the whole test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    index: u32,
    count: u32,
}

impl Default for Segment {
    fn default() -> Self {
        Segment::WHOLE
    }
}

impl Segment {
    /// The whole test.
    pub const WHOLE: Segment = Segment { index: 1, count: 1 };

    /// Segment `index` of `count` (1 ≤ index ≤ count).
    pub fn new(index: u32, count: u32) -> Option<Segment> {
        (count >= 1 && (1..=count).contains(&index)).then_some(Segment { index, count })
    }

    /// Whether item `k` (0-based: a VU's index, a scheduled iteration's number) is this segment's.
    pub fn owns(&self, k: u64) -> bool {
        k % u64::from(self.count) == u64::from(self.index - 1)
    }

    /// How many of items `0..total` this segment owns.
    pub fn share(&self, total: u64) -> u64 {
        let offset = u64::from(self.index - 1);
        if total <= offset { 0 } else { (total - offset).div_ceil(u64::from(self.count)) }
    }

    /// The items of `0..total` this segment owns, in order.
    pub fn owned(&self, total: u64) -> impl Iterator<Item = u64> + use<> {
        (u64::from(self.index - 1)..total).step_by(self.count as usize)
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Segment {
    type Err = String;

    fn from_str(text: &str) -> Result<Segment, String> {
        let invalid = || format!("invalid segment {text:?}: use i/n with 1 ≤ i ≤ n, e.g. 2/4");
        let (index, count) = text.split_once('/').ok_or_else(invalid)?;
        let (index, count) =
            (index.trim().parse().map_err(|_| invalid())?, count.trim().parse().map_err(|_| invalid())?);
        Segment::new(index, count).ok_or_else(invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_partition_every_count() {
        for count in 1..=7u32 {
            for total in 0..50u64 {
                let segments: Vec<Segment> = (1..=count).map(|i| Segment::new(i, count).unwrap()).collect();
                assert_eq!(segments.iter().map(|s| s.share(total)).sum::<u64>(), total, "{count} segments of {total}");
                for k in 0..total {
                    assert_eq!(segments.iter().filter(|s| s.owns(k)).count(), 1, "item {k} of {total}");
                }
                for s in &segments {
                    let owned: Vec<u64> = s.owned(total).collect();
                    assert_eq!(owned.len() as u64, s.share(total));
                    assert!(owned.iter().all(|&k| s.owns(k)));
                }
            }
        }
    }

    #[test]
    fn segments_parse_like_the_flag() {
        assert_eq!("2/4".parse::<Segment>(), Ok(Segment::new(2, 4).unwrap()));
        assert_eq!("1/1".parse::<Segment>(), Ok(Segment::WHOLE));
        for bad in ["0/3", "4/3", "1/0", "1", "a/b", "-1/2"] {
            assert!(bad.parse::<Segment>().unwrap_err().contains(bad), "{bad}");
        }
    }
}
