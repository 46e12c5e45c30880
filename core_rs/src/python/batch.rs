//! Batch work without the GIL, split over the machine's cores.

use crate::error::{catch, Error};

/// `f` over `items` on up to `available_parallelism` threads, results in input order;
/// the first error (in input order) wins, and a panic is an internal error.
pub fn par_map<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> Result<R, Error> + Sync,
) -> Result<Vec<R>, Error> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(items.len().max(1));
    let chunk = items.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || catch(|| part.iter().map(f).collect::<Result<Vec<R>, Error>>())))
            .collect();
        let mut out = Vec::with_capacity(items.len());
        for h in handles {
            out.extend(h.join().unwrap_or_else(|_| Err(Error::internal("engine fault in a batch worker")))?);
        }
        Ok(out)
    })
}
