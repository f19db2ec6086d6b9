//! The machine's limits a run must fit in: open files (one socket per VU
//! per origin) and memory maps (about six per live instance). Raises the
//! soft file limit to the hard one, and refuses with the remedy a run that
//! cannot fit — before anything starts.

use crate::Error;

/// Files the process needs besides VU sockets (binary, cache, stdio, epoll…).
const FILES_RESERVED: u64 = 256;
/// Memory maps per live VU with the pooling allocator and no copy-on-write
/// memory image (measured 4.0 at 10,000 VUs; `cargo xtask bench`), plus
/// slack for guests with a second memory.
const MAPS_PER_VU: u64 = 5;
const MAPS_RESERVED: u64 = 4096;

/// Checks that `vus` VUs (each with one connection) fit this machine.
pub fn ensure_room_for(vus: u32) -> Result<(), Error> {
    let vus = u64::from(vus);
    let files = raise_file_limit();
    let needed = vus + FILES_RESERVED;
    if let Some(limit) = files
        && needed > limit
    {
        return Err(Error::Limit(format!(
            "{vus} VUs need about {needed} open files but the limit is {limit}: raise it (`ulimit -n {needed}` or LimitNOFILE) or run fewer VUs per process"
        )));
    }
    if let Some(max_maps) = max_map_count() {
        let needed = vus * MAPS_PER_VU + MAPS_RESERVED;
        if needed > max_maps {
            return Err(Error::Limit(format!(
                "{vus} VUs need about {needed} memory maps but vm.max_map_count is {max_maps}: raise it (`sysctl -w vm.max_map_count={}`) or run fewer VUs per process",
                needed.next_power_of_two()
            )));
        }
    }
    Ok(())
}

/// Raises the soft open-files limit to the hard one; returns the new limit.
fn raise_file_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(err) => {
            tracing::debug!("cannot read or raise the open-files limit: {err}");
            None
        }
    }
}

fn max_map_count() -> Option<u64> {
    std::fs::read_to_string("/proc/sys/vm/max_map_count").ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_run_fits_and_a_huge_one_is_refused_with_a_remedy() {
        assert!(ensure_room_for(10).is_ok());
        let err = ensure_room_for(u32::MAX).unwrap_err().to_string();
        assert!(err.contains("open files") || err.contains("vm.max_map_count"), "{err}");
        assert!(err.contains("raise it"), "{err}");
    }
}
