//! The spatial index: an R-tree (rstar, bulk-loaded) over the envelopes of one layer's vintage. It only
//! finds candidates; exact geometry tests run on the candidates.

use rstar::primitives::{GeomWithData, Rectangle};
use geo::Rect;
use rstar::{RTree, AABB};

/// A box as an envelope `[minx, maxx, miny, maxy]`, the order of the index's entries and of GeoPackage's
/// R-trees.
pub fn envelope(b: Rect<f64>) -> [f64; 4] {
    [b.min().x, b.max().x, b.min().y, b.max().y]
}

fn entry(fid: i64, e: [f64; 4]) -> GeomWithData<Rectangle<[f64; 2]>, i64> {
    GeomWithData::new(Rectangle::from_corners([e[0], e[2]], [e[1], e[3]]), fid)
}

/// An R-tree of (envelope, fid).
pub struct LayerIndex {
    tree: RTree<GeomWithData<Rectangle<[f64; 2]>, i64>>,
}

impl LayerIndex {
    /// Bulk-load from (fid, `[minx, maxx, miny, maxy]`).
    pub fn build(envelopes: &[(i64, [f64; 4])]) -> LayerIndex {
        LayerIndex { tree: RTree::bulk_load(envelopes.iter().map(|(fid, e)| entry(*fid, *e)).collect()) }
    }

    /// Bulk-load from boxes whose ids are their positions; a `None` (an empty geometry) is left out.
    pub fn of_boxes(boxes: &[Option<Rect<f64>>]) -> LayerIndex {
        LayerIndex::build(&boxes.iter().enumerate().filter_map(|(i, b)| b.map(|b| (i as i64, envelope(b)))).collect::<Vec<_>>())
    }

    /// Add an entry. Queries answer in fid order whatever the tree's shape, so an index patched entry by
    /// entry answers as one bulk-loaded from the same entries.
    pub fn insert(&mut self, fid: i64, b: Rect<f64>) {
        self.tree.insert(entry(fid, envelope(b)));
    }

    /// Remove the entry (fid, box) if present; true if it was.
    pub fn remove(&mut self, fid: i64, b: Rect<f64>) -> bool {
        self.tree.remove(&entry(fid, envelope(b))).is_some()
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
        let r = |x0: f64, x1: f64, y0: f64, y1: f64| Rect::new((x0, y0), (x1, y1));
        assert!(idx.remove(2, r(10.0, 20.0, 0.0, 10.0)));
        assert!(!idx.remove(2, r(10.0, 20.0, 0.0, 10.0)), "already gone");
        assert!(!idx.remove(1, r(0.0, 9.0, 0.0, 10.0)), "an entry is removed only with its own box");
        idx.insert(2, r(12.0, 20.0, 0.0, 10.0));
        idx.insert(3, r(50.0, 60.0, 50.0, 60.0));
        // by position: 0 and 1 are 1's and 2's boxes, 2 is empty, 3 is 3's box
        let loaded = LayerIndex::of_boxes(&[None, Some(r(0.0, 10.0, 0.0, 10.0)), Some(r(12.0, 20.0, 0.0, 10.0)), Some(r(50.0, 60.0, 50.0, 60.0))]);
        for b in [[0.0, 0.0, 100.0, 100.0], [10.0, 0.0, 11.0, 5.0], [11.0, 0.0, 55.0, 55.0], [30.0, 30.0, 40.0, 40.0]] {
            assert_eq!(idx.in_box(b[0], b[1], b[2], b[3]), loaded.in_box(b[0], b[1], b[2], b[3]), "{b:?}");
        }
        assert_eq!(idx.in_box(0.0, 0.0, 100.0, 100.0), vec![1, 2, 3]);
        assert_eq!(idx.len(), 3);
    }
}
