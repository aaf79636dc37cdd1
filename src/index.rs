//! The spatial index: an R-tree (rstar, bulk-loaded) over the envelopes of one layer's vintage. It only
//! finds candidates; exact geometry tests run on the candidates.

use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};

/// An R-tree of (envelope, fid).
pub struct LayerIndex {
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, i64>>,
}

impl LayerIndex {
    /// Bulk-load from (fid, `[minx, maxx, miny, maxy]`).
    pub fn build(envelopes: &[(i64, [f64; 4])]) -> LayerIndex {
        let items = envelopes
            .iter()
            .map(|(fid, e)| GeomWithData::new(Rectangle::from_corners([e[0], e[2]], [e[1], e[3]]), *fid))
            .collect();
        LayerIndex { tree: RTree::bulk_load(items) }
    }

    /// Add an entry (fid, `[minx, maxx, miny, maxy]`). Queries answer in fid order whatever the tree's
    /// shape, so an index patched entry by entry answers as one bulk-loaded from the same entries.
    pub fn insert(&mut self, fid: i64, e: [f64; 4]) {
        self.tree.insert(GeomWithData::new(Rectangle::from_corners([e[0], e[2]], [e[1], e[3]]), fid));
    }

    /// Remove the entry (fid, envelope) if present; true if it was.
    pub fn remove(&mut self, fid: i64, e: [f64; 4]) -> bool {
        self.tree.remove(&GeomWithData::new(Rectangle::from_corners([e[0], e[2]], [e[1], e[3]]), fid)).is_some()
    }

    /// fids whose envelope contains the point.
    pub fn at_point(&self, x: f64, y: f64) -> Vec<i64> {
        let p = AABB::from_point([x, y]);
        let mut v: Vec<i64> = self.tree.locate_in_envelope_intersecting(&p).map(|g| g.data).collect();
        v.sort_unstable();
        v
    }

    /// fids whose envelope intersects the box.
    pub fn in_box(&self, min_x: f64, min_y: f64, max_x: f64, max_y: f64) -> Vec<i64> {
        let b = AABB::from_corners([min_x, min_y], [max_x, max_y]);
        let mut v: Vec<i64> = self.tree.locate_in_envelope_intersecting(&b).map(|g| g.data).collect();
        v.sort_unstable();
        v
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.tree.size()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.tree.size() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exactly_the_boxes_that_touch() {
        let idx = LayerIndex::build(&[(1, [0.0, 10.0, 0.0, 10.0]), (2, [10.0, 20.0, 0.0, 10.0]), (3, [50.0, 60.0, 50.0, 60.0])]);
        assert_eq!(idx.at_point(5.0, 5.0), vec![1]);
        assert_eq!(idx.at_point(10.0, 5.0), vec![1, 2]);
        assert_eq!(idx.in_box(15.0, 5.0, 55.0, 55.0), vec![2, 3]);
        assert!(idx.at_point(30.0, 30.0).is_empty());
        assert_eq!(idx.len(), 3);
    }

    #[test]
    fn an_index_patched_entry_by_entry_answers_as_one_loaded_from_the_same_entries() {
        let mut idx = LayerIndex::build(&[(1, [0.0, 10.0, 0.0, 10.0]), (2, [10.0, 20.0, 0.0, 10.0])]);
        assert!(idx.remove(2, [10.0, 20.0, 0.0, 10.0]));
        assert!(!idx.remove(2, [10.0, 20.0, 0.0, 10.0]), "already gone");
        assert!(!idx.remove(1, [0.0, 9.0, 0.0, 10.0]), "an entry is removed only with its own box");
        idx.insert(2, [12.0, 20.0, 0.0, 10.0]);
        idx.insert(3, [50.0, 60.0, 50.0, 60.0]);
        let loaded = LayerIndex::build(&[(3, [50.0, 60.0, 50.0, 60.0]), (1, [0.0, 10.0, 0.0, 10.0]), (2, [12.0, 20.0, 0.0, 10.0])]);
        for b in [[0.0, 0.0, 100.0, 100.0], [10.0, 0.0, 11.0, 5.0], [11.0, 0.0, 55.0, 55.0], [30.0, 30.0, 40.0, 40.0]] {
            assert_eq!(idx.in_box(b[0], b[1], b[2], b[3]), loaded.in_box(b[0], b[1], b[2], b[3]), "{b:?}");
        }
        assert_eq!(idx.in_box(0.0, 0.0, 100.0, 100.0), vec![1, 2, 3]);
        assert_eq!(idx.len(), 3);
    }
}
