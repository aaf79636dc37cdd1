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
}
